"""Guards against Qt binding bugs that would crash the app in the field.

PySide6 6.12.0 drops a reference to ``True`` on every ``Signal.emit()``; on Python
3.11 (no immortal objects) the interpreter aborts with "bool_dealloc" after a few
thousand emits, i.e. after a batch of a few hundred files. pyproject.toml excludes
that release; this test fails loudly (instead of crashing) if a similar build
slips back in.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(int)


def test_signal_emit_keeps_bool_refcounts(qapp) -> None:
    emitter = _Emitter()
    received: list[int] = []
    emitter.ping.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.ping.emit(i)
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert len(received) == 200
    assert after == before
