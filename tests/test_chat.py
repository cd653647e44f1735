import pytest

from rag_tutor.chat import Conversation


class FakeTutor:
    """Records what the conversation passes on; the real pipeline is tested in test_answer_llm.py."""

    def __init__(self):
        self.calls = []

    def stream(self, question, history):
        self.calls.append((question, history))
        return iter([f"answer to {question}"])


class NoStudy:
    def handle(self, line):
        return None


def test_questions_build_the_history_and_new_clears_it():
    tutor = FakeTutor()
    chat = Conversation(tutor, study=NoStudy())
    chat.send("What is a VAE?")
    chat.send("Who introduced it?")
    assert tutor.calls[1] == ("Who introduced it?", ["What is a VAE?"])
    assert "new conversation" in chat.send("/new").text
    chat.send("What is a GAN?")
    assert tutor.calls[2] == ("What is a GAN?", [])


def test_commands_help_quit_unknown_and_empty():
    chat = Conversation(FakeTutor(), study=NoStudy())
    help_text = chat.send("/help").text
    assert "/new" in help_text and "/quiz" in help_text and "/flashcards" in help_text
    assert chat.send("/quit").quit
    unknown = chat.send("/dance")
    assert "Unknown command /dance" in unknown.text and "/help" in unknown.text and "/quiz" in unknown.text
    assert "Type a question" in chat.send("   ").text


def test_a_long_line_is_cut_to_the_limit_with_a_notice_never_dropped():
    from rag_tutor.config import load_settings

    limit = load_settings(env={}).max_question_chars
    tutor = FakeTutor()
    chat = Conversation(tutor, study=NoStudy(), max_chars=limit)
    pasted = "Explain the reverse process. " + "noise " * 900
    reply = chat.send(pasted)
    asked = tutor.calls[-1][0]
    assert 0 < len(asked) <= limit and asked.startswith("Explain the reverse process.")
    assert reply.notices == [f"Your question was {len(pasted.strip()):,} characters long; only the first "
                             f"{limit:,} were used."]
    assert chat.send("What is a VAE?").notices == []


@pytest.mark.model
def test_terminal_chat_streams_answers_with_sources(cli, course_index):
    r = cli("chat", "--index-dir", course_index.index_dir,
            input="Explain the forward noising process of diffusion models.\n/help\n/quit\n", timeout=600)
    assert r.returncode == 0, r.stderr
    assert "tutor>" in r.stdout and "Sources:" in r.stdout and "[1]" in r.stdout
    assert "Commands:" in r.stdout


@pytest.mark.model
def test_terminal_chat_resume_continues_the_last_conversation(cli, course_index, tmp_path):
    env = {"RAG_TUTOR_HOME": str(tmp_path / "home")}
    first = cli("chat", "--index-dir", course_index.index_dir, "--extractive", env=env,
                input="What's a variational autoencoder?\n/quiz vae 2\n/quit\n", timeout=600)
    assert first.returncode == 0, first.stderr
    again = cli("chat", "--resume", "--index-dir", course_index.index_dir, "--extractive", env=env,
                input="Who introduced it?\n/quit\n", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "Resuming \"What's a variational autoencoder?\"" in again.stdout
    assert "Resuming your unfinished quiz at question 1/2" in again.stdout  # the quiz, at the same question
    follow_up = again.stdout.split("tutor> ")[-1]  # answered with the resumed history: "it" is the VAE
    assert "Kingma" in follow_up and "Sources:" in follow_up, follow_up


@pytest.mark.model
def test_quiz_in_the_chat_keeps_its_place_across_a_question(course_retriever, tmp_path):
    from dataclasses import replace

    from rag_tutor.answer import Tutor

    settings = replace(course_retriever.settings, home=tmp_path / "home")
    tutor = Tutor(settings, retriever=course_retriever)
    chat = Conversation(tutor)
    first = chat.send("quiz me on GANs")
    assert first.study is not None and first.study.question is not None
    asked = chat.send("What is a GAN?")  # a normal question mid-quiz goes to the tutor
    assert asked.stream is not None and asked.study is None
    graded = chat.send(first.study.question.answer)  # the correct option's text (or short answer)
    assert graded.study is not None and graded.study.feedback is not None and graded.study.feedback.correct


@pytest.mark.model
def test_a_resumed_chat_continues_its_quiz_at_the_same_question_and_its_follow_ups(course_retriever, tmp_path):
    from dataclasses import replace

    from rag_tutor.answer import Tutor

    settings = replace(course_retriever.settings, home=tmp_path / "home")
    tutor = Tutor(settings, retriever=course_retriever)
    chat = Conversation(tutor, remember=True)
    asked = chat.send("What's a variational autoencoder?")
    assert asked.stream is not None
    first = chat.send("/quiz vae 3")
    graded = chat.send(first.study.question.answer if not first.study.question.options
                       else "ABCD"[first.study.question.answer_index])
    assert graded.study.feedback.correct and graded.study.number == 2
    waiting = graded.study.question
    chat.study.close()

    later = Conversation(Tutor(settings, retriever=course_retriever), remember=True)  # as after a restart
    resumed = later.resume()
    assert resumed.chat.id == chat.chat_id
    assert resumed.study.question == waiting and resumed.study.number == 2  # the same question, asked again
    assert "Resuming your unfinished quiz at question 2/3" in resumed.study.text
    assert later.history == ["What's a variational autoencoder?"]
    follow = later.study.handle("Who introduced it?")  # mid-quiz, a question still goes to the tutor
    assert follow is None
    assert later.tutor.retriever.understand("Who introduced it?", later.history).resolved == \
        "Who introduced a variational autoencoder?"


@pytest.mark.model
def test_a_resumed_chat_continues_its_flashcard_review(course_retriever, tmp_path):
    from dataclasses import replace

    from rag_tutor.answer import Tutor

    settings = replace(course_retriever.settings, home=tmp_path / "home")
    chat = Conversation(Tutor(settings, retriever=course_retriever), remember=True)
    shown = chat.send("/flashcards vae")
    assert shown.study.card is not None
    rated = chat.send("good")
    card, number = rated.study.card, rated.study.number
    assert number == 2
    chat.study.close()

    later = Conversation(Tutor(settings, retriever=course_retriever), remember=True)
    resumed = later.resume()
    assert resumed.study.card == card and resumed.study.number == number
    assert later.send("good").study.feedback.rating == "good"


@pytest.mark.model
def test_an_off_topic_question_after_a_course_conversation_is_declined_as_in_a_fresh_chat(course_retriever):
    from rag_tutor.answer import Tutor

    tutor = Tutor(course_retriever.settings, retriever=course_retriever)
    chat = Conversation(tutor, study=NoStudy())
    for line in ("What's a variational autoencoder?", "How is the ELBO used to train it?", "Who introduced it?"):
        chat.send(line)  # the history a learner builds (the answers themselves are not needed here)
    for question in ("How long should I knead dough for sourdough bread?", "What's the weather like today?",
                     "Any good tips for my garden tomatoes?"):
        after = chat.send(question).stream
        list(after)
        fresh = tutor.ask(question, [])
        assert fresh.declined and after.answer.declined, question
        assert after.answer.answer == fresh.answer and after.answer.suggestions == fresh.suggestions
    follow = tutor.retrieve("Why does it need the reparameterization trick?", chat.history[:3])
    assert follow.query.uses_history and "ELBO" in follow.query.resolved  # a real follow-up still resolves
