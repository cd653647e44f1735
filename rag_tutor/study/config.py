"""Every tunable of the study tools, with its default and the reason for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudyConfig:
    # --- quizzes ---
    quiz_questions: int = 10  # questions in a quiz when the learner gives no number
    max_quiz_questions: int = 50  # longer requests are cut to this
    tf_share: float = 0.2  # share of true/false items in a quiz (where the topic has glossary terms)
    short_share: float = 0.2  # share of short-answer items (fill in the blank, name the term)
    distractors: int = 3  # wrong options per multiple-choice question
    max_distractor_similarity: float = 0.97  # passages this close are near duplicates: both could be right
    distractor_max_share: float = 0.2  # a term named in more topic passages than this is an umbrella ("generative model") that fits many definitions
    same_topic_bonus: float = 0.1  # added to the cosine of a same-topic neighbour: the most plausible distractors
    related_bonus: float = 0.05  # added for a term listed under the answer's Related terms
    # --- key facts (cards and fill-in-the-blank items from the topic documents) ---
    fact_min_chars: int = 50  # shorter sentences rarely state a fact on their own
    fact_max_chars: int = 240  # longer ones make unreadable cards
    facts_per_section: int = 1  # key-fact cards per document section
    cloze_max_share: float = 0.1  # a term named in more topic passages than this is too common to be worth a blank
    # --- grading typed answers ---
    fuzzy_ratio: float = 0.85  # difflib ratio accepted for a typed term (typos); numbers must match exactly
    recall_good: float = 0.7  # cosine of a typed definition to the card's back that counts as Good
    recall_hard: float = 0.5  # ... as Hard (below: Again)
    recall_good_words: float = 0.4  # without the embedder: share of the back's content words typed, for Good
    recall_hard_words: float = 0.2  # ... for Hard
    # --- flashcards ---
    new_cards_per_session: int = 20  # unseen cards added to a topic review
    desired_retention: float = 0.9  # FSRS target probability of recall at the due date
    fsrs_fuzzing: bool = True  # FSRS spreads due dates a little so cards learnt together do not stay bunched
    # --- learning path and progress ---
    resource_sections: int = 2  # reading-list sections shown per topic
    resource_min_similarity: float = 0.3  # below this a reading-list section is not about the topic
    quiz_window: int = 20  # latest quiz answers per topic that count towards mastery
    quiz_confidence: int = 5  # answers needed before the quiz score counts fully
    recent_scores: int = 5  # finished quizzes listed by /progress
    default_learner: str = "default"  # profile used when no --learner is given
    db_name: str = "progress.db"  # file under Settings.home
    busy_timeout_ms: int = 10_000  # how long a writer waits for another process's transaction
