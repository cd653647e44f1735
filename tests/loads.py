"""Two first calls of a loader at once, for the loaders' tests (a module of its own: ``conftest`` is ambiguous once
tests/e2e is collected)."""

import threading
import time


def two_first_calls_at_once(monkeypatch, cls, call) -> tuple[list, list]:
    """``call()`` from two threads at once, with ``cls.load`` replaced by a slow fake: (the arguments the fake was
    loaded with, each time; what each caller got)."""
    calls = []

    def slow_load(*args):
        calls.append(args)
        time.sleep(0.3)  # the other caller asks meanwhile
        return object()

    monkeypatch.setattr(cls, "load", staticmethod(slow_load))
    got = []
    threads = [threading.Thread(target=lambda: got.append(call())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls, got
