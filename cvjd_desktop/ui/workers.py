"""Background work for the window: extraction tasks and small off-thread calls.

Every task speaks the same small signal vocabulary (``started``, ``progress``,
``succeeded``, ``failed``, ``finished``) so the job list, the usage panel and the
status bar subscribe to any of them the same way. Tasks run on bounded
``QThreadPool``s, one per provider, because a local Ollama serves one request at a
time well while OpenAI is happy with several.

Signals are emitted from pool threads and received by ``QObject``s living in the
GUI thread through explicitly queued connections: the GUI thread never reads a
file, never waits on HTTP and never runs the engine.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from cvjd_desktop.config import PROVIDERS, Settings
from cvjd_desktop.errors import CvjdError
from cvjd_desktop.schemas import ExtractionResult

log = logging.getLogger(__name__)

QUEUED = Qt.ConnectionType.QueuedConnection
PROGRESS_INTERVAL_S = 0.1
"""At most ten progress signals a second per task: a streaming model emits per token."""

ExtractFn = Callable[..., ExtractionResult]
ProviderFactory = Callable[[str, Settings], Any]


class TaskSignals(QObject):
    """The signals of one task. Lives in the GUI thread; emitted from the worker.

    Signals:
        started(job_id)
        progress(job_id, stage, tokens): engine stage name and tokens generated so far.
        succeeded(job_id, result)
        failed(job_id, result): ``result.status == "error"``; ``error_kind`` says why.
        finished(job_id): always last, after succeeded or failed.
    """

    started = Signal(int)
    progress = Signal(int, str, int)
    succeeded = Signal(int, object)
    failed = Signal(int, object)
    finished = Signal(int)


def source_name(source: Any) -> str:
    """What a result's ``file`` field holds for a path or a pasted document."""
    if isinstance(source, Path):
        return str(source)
    return str(getattr(source, "name", None) or getattr(source, "path", None) or "pasted text")


def error_result(
    source: Any,
    kind: str,
    provider: str,
    model: str | None,
    exc: BaseException,
    *,
    error_kind: str | None = None,
) -> ExtractionResult:
    """An error result for a fault outside the engine (the engine itself never raises)."""
    message = exc.message if isinstance(exc, CvjdError) else f"Internal error: {exc}"
    return ExtractionResult(
        file=source_name(source),
        kind=kind if kind in ("cv", "jd") else "cv",
        status="error",
        error=" ".join(message.split()) or type(exc).__name__,
        error_kind=error_kind or getattr(exc, "kind", "internal"),
        provider=provider,
        model=model,
    )


def close_quietly(provider: Any) -> None:
    """Close a provider's HTTP client (sockets of a cancelled stream included)."""
    close = getattr(provider, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        log.debug("closing provider %r failed", provider, exc_info=True)


class ExtractionTask(QRunnable):
    """Runs one ``extract`` call in a pool thread and reports by signals.

    ``cancel()`` sets the task's event; the engine checks it while reading and
    while waiting on the model, so a running task ends within a second with
    ``error_kind == "cancelled"``. A task cancelled before it starts ends at once.
    """

    def __init__(
        self,
        job_id: int,
        source: Any,
        kind: str,
        provider: str,
        model: str,
        *,
        settings: Settings,
        extract: ExtractFn,
        make_provider: ProviderFactory,
        ledger: Any = None,
        budget: Any = None,
        reader: Any = None,
        release_provider: Callable[[Any], None] = close_quietly,
    ) -> None:
        super().__init__()
        # The runner keeps a reference until ``finished`` arrives; Qt must not delete
        # the C++ side under it.
        self.setAutoDelete(False)
        self.job_id = job_id
        self.source = source
        self.kind = kind
        self.provider = provider
        self.model = model
        self.settings = settings
        self._extract = extract
        self._make_provider = make_provider
        self._ledger = ledger
        self._budget = budget
        self._reader = reader
        self._release_provider = release_provider
        self.cancel_event = threading.Event()
        self.signals = TaskSignals()
        self._last_progress = (0.0, "")

    def cancel(self) -> None:
        self.cancel_event.set()

    def _on_progress(self, progress: Any) -> None:
        stage = str(getattr(progress, "stage", progress))
        tokens = int(getattr(progress, "tokens", 0) or 0)
        now = time.monotonic()
        last_time, last_stage = self._last_progress
        if stage == last_stage and now - last_time < PROGRESS_INTERVAL_S:
            return
        self._last_progress = (now, stage)
        self.signals.progress.emit(self.job_id, stage, tokens)

    def run(self) -> None:
        self.signals.started.emit(self.job_id)
        try:
            if self.cancel_event.is_set():
                result = error_result(
                    self.source,
                    self.kind,
                    self.provider,
                    self.model,
                    CvjdError("Cancelled before it started"),
                    error_kind="cancelled",
                )
            else:
                provider = self._make_provider(self.provider, self.settings)
                more: dict[str, Any] = {}
                if self._reader is not None:
                    more["reader"] = functools.partial(self._reader.read, cancel=self.cancel_event)
                try:
                    result = self._extract(
                        self.source,
                        self.kind,
                        provider,
                        self.model,
                        ledger=self._ledger,
                        budget=self._budget,
                        cancel=self.cancel_event,
                        on_progress=self._on_progress,
                        **more,
                    )
                finally:
                    self._release_provider(provider)
        except Exception as exc:  # the engine promises not to raise; a bug must not hang a row
            log.exception("extraction task %s failed outside the engine", self.job_id)
            result = error_result(self.source, self.kind, self.provider, self.model, exc)
        if result.status == "ok":
            self.signals.succeeded.emit(self.job_id, result)
        else:
            self.signals.failed.emit(self.job_id, result)
        self.signals.finished.emit(self.job_id)


class ExtractionRunner(QObject):
    """Owns one bounded pool per provider and the tasks in flight.

    The caller decides *what* runs next (the job queue); the runner only starts a
    task when its provider has a free slot, forwards the task signals, and knows how
    to cancel and to wait at shutdown.

    ``reader`` (optional) is passed to the engine to read files, with each task's
    cancel event: the window's reads run in a child process (``reader_process``).

    Signals: the same vocabulary as ``TaskSignals``, for every task.
    """

    started = Signal(int)
    progress = Signal(int, str, int)
    succeeded = Signal(int, object)
    failed = Signal(int, object)
    finished = Signal(int)

    def __init__(
        self,
        settings: Settings,
        *,
        extract: ExtractFn,
        make_provider: ProviderFactory,
        ledger: Any = None,
        budget: Any = None,
        reader: Any = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._extract = extract
        self.reader = reader
        self._make_provider = make_provider
        self.ledger = ledger
        self.budget = budget
        self.pools: dict[str, QThreadPool] = {name: QThreadPool(self) for name in PROVIDERS}
        self._tasks: dict[int, ExtractionTask] = {}
        # One provider per name, shared by its pool's tasks (providers are thread-safe):
        # building one costs 25-40 ms of TLS set-up, and a shared one keeps its
        # connections alive between files. Replaced ones are closed at shutdown, since
        # a task may still be using them.
        self._providers: dict[str, Any] = {}
        self._retired: list[Any] = []
        self._providers_lock = threading.Lock()
        self.settings = settings
        self.apply_settings(settings)

    def apply_settings(self, settings: Settings, budget: Any = None) -> None:
        self.settings = settings
        with self._providers_lock:
            self._retired += self._providers.values()
            self._providers.clear()
        if budget is not None:
            self.budget = budget
        for name, pool in self.pools.items():
            pool.setMaxThreadCount(settings.concurrency_for(name))

    def _shared_provider(self, name: str, settings: Settings) -> Any:
        """Called from pool threads: the provider for ``name``, built on first use."""
        with self._providers_lock:
            provider = self._providers.get(name)
            if provider is None:
                provider = self._make_provider(name, settings)
                self._providers[name] = provider
            return provider

    def _close_providers(self) -> None:
        with self._providers_lock:
            providers = [*self._providers.values(), *self._retired]
            self._providers.clear()
            self._retired.clear()
        for provider in providers:
            close_quietly(provider)

    def capacity(self, provider: str) -> int:
        return self.settings.concurrency_for(provider)

    def running(self, provider: str | None = None) -> int:
        return sum(1 for t in self._tasks.values() if provider in (None, t.provider))

    def has_slot(self, provider: str) -> bool:
        return self.running(provider) < self.capacity(provider)

    def is_running(self, job_id: int) -> bool:
        return job_id in self._tasks

    def submit(self, job_id: int, source: Any, kind: str, provider: str, model: str) -> None:
        task = ExtractionTask(
            job_id,
            source,
            kind,
            provider,
            model,
            settings=self.settings.model_copy(deep=True),
            extract=self._extract,
            make_provider=self._shared_provider,
            ledger=self.ledger,
            budget=self.budget,
            reader=self.reader,
            release_provider=lambda _provider: None,  # shared: closed at shutdown
        )
        s = task.signals
        s.started.connect(self._on_started, QUEUED)
        s.progress.connect(self._on_progress, QUEUED)
        s.succeeded.connect(self._on_succeeded, QUEUED)
        s.failed.connect(self._on_failed, QUEUED)
        s.finished.connect(self._on_finished, QUEUED)
        self._tasks[job_id] = task
        self.pools[provider].start(task)

    def cancel(self, job_id: int) -> bool:
        task = self._tasks.get(job_id)
        if task is None:
            return False
        task.cancel()
        return True

    def cancel_all(self) -> int:
        for task in self._tasks.values():
            task.cancel()
        return len(self._tasks)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Cancel everything and wait, at most ``timeout_ms`` in all, for the pools.

        Returns False when a task is still running at the deadline (the engine did not
        honour the cancel); the caller logs it and exits anyway.
        """
        self.cancel_all()
        if self.reader is not None:
            self.reader.shutdown()  # a read in progress is abandoned, its child stopped
        deadline = time.monotonic() + timeout_ms / 1000
        done = True
        for pool in self.pools.values():
            left = max(0, int((deadline - time.monotonic()) * 1000))
            done = pool.waitForDone(left) and done
        if done:
            self._close_providers()
        return done

    @Slot(int)
    def _on_started(self, job_id: int) -> None:
        self.started.emit(job_id)

    @Slot(int, str, int)
    def _on_progress(self, job_id: int, stage: str, tokens: int) -> None:
        self.progress.emit(job_id, stage, tokens)

    @Slot(int, object)
    def _on_succeeded(self, job_id: int, result: object) -> None:
        self.succeeded.emit(job_id, result)

    @Slot(int, object)
    def _on_failed(self, job_id: int, result: object) -> None:
        self.failed.emit(job_id, result)

    @Slot(int)
    def _on_finished(self, job_id: int) -> None:
        self._tasks.pop(job_id, None)
        self.finished.emit(job_id)


class CallSignals(QObject):
    """Signals of a ``CallTask``: ``succeeded(token, value)`` or ``failed(token, exc)``."""

    succeeded = Signal(int, object)
    failed = Signal(int, object)
    finished = Signal(int)


class CallTask(QRunnable):
    """Runs one plain function off the GUI thread (listing models, walking folders)."""

    def __init__(self, token: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.token = token
        self._fn = fn
        self.signals = CallSignals()

    def run(self) -> None:
        try:
            value = self._fn()
        except Exception as exc:
            self.signals.failed.emit(self.token, exc)
        else:
            self.signals.succeeded.emit(self.token, value)
        self.signals.finished.emit(self.token)


class CallRunner(QObject):
    """Runs ``CallTask``s on its own small pool and keeps them alive until they end.

    Each call gets a token; ``on_done(value)`` / ``on_error(exc)`` run in the GUI
    thread. Callers compare tokens to drop answers that a newer request superseded.

    Unlike ``background.BackgroundCall`` (one call at a time, newest answer only),
    every call here runs and is answered: the job controller must not lose a drop
    that came while another folder was being walked, and the model picker must not
    wait behind a listing that hangs until its timeout.
    """

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._next = 0
        self._tasks: dict[int, tuple[CallTask, Callable[[Any], None], Callable[[Any], None]]] = {}

    def call(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Any], None],
    ) -> int:
        self._next += 1
        task = CallTask(self._next, fn)
        task.signals.succeeded.connect(self._on_succeeded, QUEUED)
        task.signals.failed.connect(self._on_failed, QUEUED)
        task.signals.finished.connect(self._on_finished, QUEUED)
        self._tasks[self._next] = (task, on_done, on_error)
        self.pool.start(task)
        return self._next

    def busy(self) -> bool:
        return bool(self._tasks)

    @Slot(int, object)
    def _on_succeeded(self, token: int, value: object) -> None:
        if entry := self._tasks.get(token):
            entry[1](value)

    @Slot(int, object)
    def _on_failed(self, token: int, exc: object) -> None:
        if entry := self._tasks.get(token):
            entry[2](exc)

    @Slot(int)
    def _on_finished(self, token: int) -> None:
        self._tasks.pop(token, None)
