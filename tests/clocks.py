"""A settable clock for the study tests (a module of its own: ``conftest`` is ambiguous once tests/e2e is collected)."""


class Clock:
    """Calling it gives ``now``; a test moves time by setting ``now``."""

    def __init__(self, start) -> None:
        self.now = start

    def __call__(self):
        return self.now
