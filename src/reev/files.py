"""Writing files that other processes read while they change (session files, run records, the
response cache, fork snapshots, benchmark files the API edits).

One way for all of them: the text goes to a temporary file in the same directory, which is then
renamed over the target (`os.replace`), so a reader sees the old file or the new one, never a
torn one. Knows nothing of what the files hold, so every layer may use it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace `path` with `text` (UTF-8) in one step; `mode` sets the file's permissions (a
    temporary file is created 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
