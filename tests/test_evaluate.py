from types import SimpleNamespace

from rag_tutor.answer import Answer, Citation
from rag_tutor.evaluate import Record, Report, first_source_holds, mid_chat


def q(id_, kind, history=()):
    return {"id": id_, "kind": kind, "question": f"question {id_}", "history": list(history)}


def test_each_out_of_scope_question_follows_the_nearest_opening_course_question():
    questions = [q(1, "out_of_scope"), q(2, "in_scope"), q(3, "follow_up", ["question 2"]), q(4, "out_of_scope"),
                 q(5, "in_scope", ["question 2"]), q(6, "out_of_scope")]
    later = mid_chat(questions)
    assert [(x["id"], x["history"]) for x in later] == [(1, ["question 2"]), (4, ["question 2"]),
                                                         (6, ["question 2"])]
    assert questions[0]["history"] == []  # the set itself is unchanged


def test_a_set_without_course_questions_has_no_mid_chat_copies():
    assert mid_chat([q(1, "out_of_scope"), q(2, "follow_up", ["x"])]) == []


def answer(*cited: str, declined: bool = False) -> Answer:
    citations = [Citation(n, f"corpus/{n}.md", "Kettles", "Boiling", text) for n, text in enumerate(cited, 1)]
    return Answer("How fast does a kettle boil?", "A kettle boils in three minutes [2].", declined, citations, [])


def test_the_first_source_holds_the_answer_only_when_the_passage_cited_first_does():
    slow, fast = "A stove takes ten minutes.", "An electric kettle boils a litre in three minutes."
    assert first_source_holds(answer(fast, slow), ["three minutes"]) is True
    assert first_source_holds(answer(slow, fast), ["three minutes"]) is False  # the answer sits in [2]
    assert first_source_holds(answer(fast, declined=True), ["three minutes"]) is None
    assert first_source_holds(answer(), ["three minutes"]) is None
    assert first_source_holds(answer(fast), []) is None


def test_a_report_counts_the_first_source_beside_the_answer_times():
    """Two rows of one report from different parts of each answer: which source is cited first, and how soon the
    first words came (no model: a support check that finds no support stands in for the tutor's)."""
    slow, fast = "A stove takes ten minutes.", "An electric kettle boils a litre in three minutes."
    question = {"id": 1, "kind": "in_scope", "question": "How fast?", "history": [], "answers": ["three minutes"]}
    records = [Record(question, answer(fast, slow)), Record(question, answer(slow, fast))]
    for record, first_token_s in zip(records, (0.25, 0.35)):
        record.answer.timings = {"first_token_s": first_token_s}
    unsupported = SimpleNamespace(checker=SimpleNamespace(support=lambda sentence, text: SimpleNamespace(score=0.0)),
                                  settings=SimpleNamespace(support_threshold=0.55))
    metrics = Report(records).metrics(unsupported)
    assert metrics["first_source_holds"] == 0.5
    assert metrics["median_first_token_s"] == 0.3
