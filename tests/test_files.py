"""Files and folders written whole or not at all."""

import numpy as np
import pytest

from rag_tutor.files import staging_path, write_atomically, write_folder_atomically


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_a_file_is_written_from_bytes_text_or_a_function(tmp_path):
    write_atomically(tmp_path / "a.bin", b"\x00\x01")
    write_atomically(tmp_path / "sub" / "b.txt", "café")  # its folder is made
    write_atomically(tmp_path / "c.npz", lambda tmp: np.savez(tmp, x=np.arange(3)))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "b.txt").read_text(encoding="utf-8") == "café"
    assert np.load(tmp_path / "c.npz")["x"].tolist() == [0, 1, 2]  # savez kept the name: it ends in .npz
    assert leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "weights.json"
    write_atomically(target, "old")

    def half(tmp):
        tmp.write_text("half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(target, half)
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_folder_is_replaced_whole_and_a_failed_fill_keeps_the_old_one(tmp_path):
    target = tmp_path / "adapter"

    def fill(text):
        def write(folder):
            (folder / "weights").write_text(text)
            if text == "broken":
                raise RuntimeError("training stopped")
        return write

    write_folder_atomically(target, fill("v1"))
    (target / "stale").write_text("from v1 only")
    write_folder_atomically(target, fill("v2"))
    assert sorted(p.name for p in target.iterdir()) == ["weights"]  # the old folder's files are gone
    assert (target / "weights").read_text() == "v2"
    with pytest.raises(RuntimeError):
        write_folder_atomically(target, fill("broken"))
    assert (target / "weights").read_text() == "v2"
    assert leftovers(tmp_path) == []


def test_the_staging_name_is_hidden_beside_the_target_and_unique(tmp_path):
    target = tmp_path / "cache.npz"
    first, second = staging_path(target), staging_path(target)
    assert first.parent == tmp_path and first.name.startswith(".") and first.suffix == ".npz"
    assert first != second
