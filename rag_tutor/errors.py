"""Errors meant for people: each message is one sentence saying what is wrong and what to do.

Every error class carries the command's exit code; the README lists them in one table:

| code | meaning |
| --- | --- |
| 0 | done |
| 1 | an unexpected failure (the message says what failed) |
| 2 | bad input: command-line arguments, a setting, a batch file, an empty question |
| 3 | the index is missing or damaged |
| 4 | another rebuild of the index is running |
| 5 | a model, the LoRA adapter or a voice is missing or unusable |
| 6 | the index was built, but some corpus files were skipped |
| 7 | a study tool or podcast cannot be made for this request |
| 8 | the learner data cannot be used (read-only or full disk, corrupt or newer database) |
| 9 | `status`: the index is out of date with the corpus |
| 130 | interrupted |
"""


class RagTutorError(Exception):
    """Base class; the CLI prints ``error: <message>`` and exits non-zero."""

    exit_code = 1


class InputError(RagTutorError):
    """Something the user typed or passed cannot be used."""

    exit_code = 2


class ConfigError(InputError):
    pass


class CorpusError(RagTutorError):
    exit_code = 2


class IndexMissingError(RagTutorError):
    exit_code = 3


class IndexCorruptError(RagTutorError):
    exit_code = 3


class IndexLockedError(RagTutorError):
    exit_code = 4


class ModelMissingError(RagTutorError):
    exit_code = 5


class EmptyQuestionError(InputError):
    pass


SKIPPED_FILES_EXIT = 6  # `index`: built, but some files could not be used
STALE_INDEX_EXIT = 9  # `status`: the corpus changed since the index was built
