"""Run a slow callable (a ledger query, say) off the GUI thread, newest request wins.

Views that re-query on every change (the usage panel after each call, the history
window as filters change) need three things a bare ``QThreadPool.start`` does not
give: the result back on the GUI thread, answers to superseded requests dropped so
an old query never overwrites a newer one, and requests coalesced so a burst of
refreshes runs one query, not a queue of them.

Usage::

    self._query = BackgroundCall(self)
    self._query.succeeded.connect(self._show)
    self._query.failed.connect(self._show_error)
    self._query.submit(lambda: ledger.totals(by="model"))
    ...
    self._query.shutdown()  # before the owner goes away (closeEvent)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class BackgroundCall(QObject):
    """One kind of background request whose newest answer is the only one that counts.

    At most one call runs at a time (queries of one view never compete for the same
    database); a request made while one runs replaces any request still waiting, and
    the running one's answer is dropped as stale.

    Signals:
        succeeded(result): the newest request's return value, on the GUI thread.
        failed(exception): the newest request raised; the exception object.
        busy_changed(bool): a call started or the last one finished.
    """

    succeeded = Signal(object)
    failed = Signal(object)
    busy_changed = Signal(bool)
    # Emitted from the worker; this object lives on the GUI thread, so the
    # connection to _on_done is queued there. Args: generation, result, error.
    _done = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._generation = 0
        self._running = False
        self._pending: Callable[[], Any] | None = None
        self._closed = False
        self._done.connect(self._on_done)

    @property
    def busy(self) -> bool:
        return self._running

    def submit(self, fn: Callable[[], Any]) -> int:
        """Ask for ``fn()`` to run off the GUI thread; returns the request's generation.

        ``fn`` runs on a worker thread: it must not touch widgets, and whatever it
        reads must be safe to read from another thread (the ledger is).
        """
        if self._closed:
            return self._generation
        self._generation += 1
        if not self._running:
            self._start(fn)
            self.busy_changed.emit(True)
        else:
            self._pending = fn
        return self._generation

    def cancel(self) -> None:
        """Drop the answer of whatever runs or waits; nothing will be emitted for it."""
        self._generation += 1
        self._pending = None

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop accepting requests and wait for a running call; True if none is left.

        Call it before the owner is destroyed so no worker outlives the object that
        would receive its answer.
        """
        self._closed = True
        self.cancel()
        return self._pool.waitForDone(timeout_ms)

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the running call is done (tests, shutdown); True if it is."""
        return self._pool.waitForDone(timeout_ms)

    def _start(self, fn: Callable[[], Any]) -> None:
        generation = self._generation
        done = self._done

        def run() -> None:
            try:
                result, error = fn(), None
            except Exception as exc:  # delivered to the GUI thread, not lost in a worker
                result, error = None, exc
            try:
                done.emit(generation, result, error)
            except RuntimeError:  # the owner was destroyed without shutdown()
                log.debug("background result dropped: receiver deleted")

        self._running = True
        # A plain callable: Qt owns the runnable, so nothing here frees it early.
        self._pool.start(run)

    @Slot(int, object, object)
    def _on_done(self, generation: int, result: Any, error: Any) -> None:
        self._running = False
        pending, self._pending = self._pending, None
        if pending is not None and not self._closed:
            self._start(pending)
        else:
            self.busy_changed.emit(False)
        if generation != self._generation or self._closed:
            return
        if error is not None:
            self.failed.emit(error)
        else:
            self.succeeded.emit(result)
