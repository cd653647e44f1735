"""embedder.loaded_once: one load per set of arguments, however they are written (no model needed)."""

from rag_tutor.embedder import loaded_once


def test_a_loader_runs_once_per_set_of_arguments_however_they_are_written():
    calls = []

    @loaded_once
    def load(package: str, directory: str = "shipped", *, quiet: bool = False) -> tuple:
        calls.append((package, directory, quiet))
        return package, directory, quiet

    assert load("kettle") is load("kettle", "shipped") is load(package="kettle", directory="shipped")
    assert load("kettle", quiet=True) == ("kettle", "shipped", True)  # a keyword-only argument is part of the key
    assert load("kettle", quiet=True) is load("kettle", "shipped", quiet=True)
    assert calls == [("kettle", "shipped", False), ("kettle", "shipped", True)]
