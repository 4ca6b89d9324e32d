"""Test-only targets for ``ProcessReader``, run in its child process.

They live in a module of their own, not in a test file, because the child imports a
target by name: importing a test module there would pull in pytest and Qt.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cvjd_desktop.documents import Document, read_document

SLOW_READ_S = 60.0
"""Far longer than any test waits: a read that only a cancel or a shutdown ends."""


def crash_on_crash_files(path: str, max_bytes: int) -> Document:
    """Dies like a parser hitting a malicious file, for files named ``crash*``."""
    if Path(path).name.startswith("crash"):
        os._exit(70)
    return read_document(path, max_bytes=max_bytes)


def slow_read(path: str, max_bytes: int) -> Document:
    """A read stuck in C code (a pathological PDF): it ignores everything but a kill."""
    time.sleep(SLOW_READ_S)
    return read_document(path, max_bytes=max_bytes)
