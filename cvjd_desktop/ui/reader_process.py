"""Documents are read in a child process, not in the window's worker threads.

Reading and cleaning a long PDF is CPU-bound Python and PyMuPDF that keeps the GIL
per page; in a worker thread it made the GUI thread lose the GIL race for ~100 ms at
a time (BENCHMARKS.md, GUI responsiveness). In a child process it competes for a
core only. The child is started with "spawn" (never fork a process that has Qt and
threads), on the first read, and a child that dies on a malicious file costs that
file a clear error and a new child, not the window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvjd_desktop.errors import CorruptFileError, DocumentError

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from cvjd_desktop.documents import Document

log = logging.getLogger(__name__)

POLL_S = 0.05
"""How often a waiting read looks at its job's cancel event."""

MAX_WORKERS = 1
"""One child: two read no faster on a 2-core machine and each holds ~130 MB (PyMuPDF)."""
TERMINATE_WAIT_S = 0.5
READ_TIMEOUT_S = 120.0
"""A file that takes longer is stuck (a pathological PDF): its child is killed."""


class ReadCancelledError(DocumentError):
    """The job was cancelled while its file was being read; nothing was sent."""

    kind = "cancelled"


def _read_document(path: str, max_bytes: int) -> Document:
    from cvjd_desktop.documents import read_document

    return read_document(path, max_bytes=max_bytes)


class ProcessReader:
    """``read(path, max_bytes=..., cancel=...)`` runs the target in a child process.

    Thread-safe: the window's extraction threads share one instance. ``target`` must
    be a module-level function (it is pickled by name); tests inject others.
    """

    def __init__(
        self,
        target: Callable[[str, int], Any] = _read_document,
        *,
        max_workers: int = MAX_WORKERS,
        timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        self._target = target
        self._max_workers = max_workers
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        """Whether a child pool exists (it is created on the first read)."""
        return self._pool is not None

    def child_pids(self) -> list[int]:
        """The child processes now running (for tests and memory figures)."""
        pool = self._pool
        procs = dict(getattr(pool, "_processes", None) or {}) if pool else {}
        return [pid for pid, proc in procs.items() if proc.is_alive()]

    def read(
        self,
        path: Path | str,
        *,
        max_bytes: int = 50 * 1024 * 1024,
        cancel: threading.Event | None = None,
    ) -> Document:
        """Read ``path`` in the child; raises only ``DocumentError`` subclasses."""
        from concurrent.futures.process import BrokenProcessPool

        name = Path(path).name or str(path)
        pool = self._get_pool()
        try:
            future: Future[Document] = pool.submit(self._target, str(path), max_bytes)
        except (BrokenProcessPool, RuntimeError):  # broken, or shut down meanwhile
            self._discard(pool)
            if self._closed:
                raise ReadCancelledError(f"{name}: cancelled while it was read") from None
            raise CorruptFileError(f"{name} could not be read: the reader stopped") from None
        deadline = time.monotonic() + self._timeout_s
        while True:
            if time.monotonic() > deadline:
                # Only a kill stops code stuck inside the parser; the next read gets
                # a fresh child.
                self._discard(pool)
                raise CorruptFileError(
                    f"{name} could not be read in {self._timeout_s:g} s; the file may be "
                    "damaged or built to stall readers"
                )
            if cancel is not None and cancel.is_set():
                # A running read cannot be interrupted; the child finishes it and
                # the result is dropped. A queued one never starts.
                future.cancel()
                raise ReadCancelledError(f"{name}: cancelled while it was read")
            try:
                return future.result(timeout=POLL_S)
            except TimeoutError:
                continue
            except DocumentError:
                raise
            except BrokenProcessPool:
                self._discard(pool)
                if self._closed:
                    raise ReadCancelledError(f"{name}: cancelled while it was read") from None
                log.error("the document reader process died while reading %s", name)
                raise CorruptFileError(
                    f"{name} could not be read: the reader crashed on it (damaged or "
                    "malicious file?)"
                ) from None
            except Exception as exc:  # read_document promises DocumentError only
                log.exception("reading %s in the reader process failed", name)
                raise CorruptFileError(f"{name} could not be read: {exc}") from None

    def shutdown(self) -> None:
        """Stop the child at once (a read in progress is abandoned); never blocks long."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            _stop(pool)

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise ReadCancelledError("the window is closing")
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(
                    self._max_workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Forget a broken pool so the next read starts a fresh child."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(TERMINATE_WAIT_S)
        if proc.is_alive():
            proc.kill()
            proc.join(TERMINATE_WAIT_S)
