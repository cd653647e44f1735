"""Study tools: flashcards, quizzes, the learning path and saved progress."""
