"""Errors meant for people: each message is one sentence saying what is wrong and what to do."""


class RagTutorError(Exception):
    """Base class; the CLI prints ``error: <message>`` and exits non-zero."""

    exit_code = 1


class ConfigError(RagTutorError):
    exit_code = 2


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


class EmptyQuestionError(RagTutorError):
    exit_code = 2
