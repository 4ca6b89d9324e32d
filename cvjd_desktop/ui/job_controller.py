"""The job queue: what runs next, and what a row's status becomes.

The window owns one ``JobController``. It turns drops, opened files and pasted text
into ``Job`` rows, starts queued jobs on the current provider while that provider's
pool has a free slot (so a job's kind stays editable until it really starts, and the
model picked last is the one used), and turns task signals into row states. Folder
walks happen off the GUI thread.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from cvjd_desktop.schemas import ExtractionResult
from cvjd_desktop.ui.formatting import plural
from cvjd_desktop.ui.job_model import Job, JobTableModel
from cvjd_desktop.ui.messages import MessageBus
from cvjd_desktop.ui.workers import CallRunner, ExtractionRunner

STAGE_STATUS = {
    "reading": "reading",
    "waiting": "waiting",
    "generating": "generating",
    "recording": "recording",
}

Choice = Callable[[], tuple[str, str, str | None]]
"""Returns (provider, model, reason) where reason says why nothing can start yet:
None when jobs may start, "" to wait quietly (the model list is loading), or a
message that fails the jobs (no model and the provider cannot be reached)."""


def expand_paths(
    paths: Iterable[Path],
    supported: Callable[[], Iterable[str]],
    walk: Callable[[list[Path]], list[Path]],
) -> tuple[list[Path], list[Path], list[Path]]:
    """Split a drop into (files to queue, unsupported files, folders without any).

    Runs off the GUI thread: it stats files and walks folders. A dropped file with a
    supported extension is queued even if it is already gone, so its row says so.
    """
    suffixes = {s.lower() for s in supported()}
    found: list[Path] = []
    skipped: list[Path] = []
    empty: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = walk([path])
            found.extend(inside)
            if not inside:
                empty.append(path)
        elif path.suffix.lower() in suffixes:
            found.append(path)
        else:
            skipped.append(path)
    return found, skipped, empty


class JobController(QObject):
    """Queue, start, cancel, retry and remove jobs.

    Signals:
        job_finished(job_id, result): a job ended (any outcome), after its row updated.
        counts_changed(): the number of queued/running/finished jobs changed.
        budget_message(text, level): a budget warning ("warning") or refusal ("refused").
    """

    job_finished = Signal(int, object)
    counts_changed = Signal()
    budget_message = Signal(str, str)

    def __init__(
        self,
        model: JobTableModel,
        runner: ExtractionRunner,
        choice: Choice,
        messages: MessageBus,
        *,
        walk: Callable[[list[Path]], list[Path]],
        supported: Callable[[], Iterable[str]],
        document_from_text: Callable[[str, str], Any],
        guess_kind: Callable[[str], str | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.runner = runner
        self._choice = choice
        self.messages = messages
        self._walk = walk
        self._supported = supported
        self._document_from_text = document_from_text
        self._guess_kind = guess_kind
        self._calls = CallRunner(max_threads=1, parent=self)
        self._paste_no = itertools.count(1)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.model.tick)
        runner.started.connect(self._on_started)
        runner.progress.connect(self._on_progress)
        runner.succeeded.connect(self._on_result)
        runner.failed.connect(self._on_result)
        runner.finished.connect(self._on_finished)

    # --- adding -----------------------------------------------------------------------

    def add_paths(self, paths: list[Path], kind: str) -> None:
        """Queue dropped or opened files and folders (expanded off the GUI thread)."""
        walk, supported = self._walk, self._supported
        self._calls.call(
            lambda: expand_paths(paths, supported, walk),
            lambda found: self._add_expanded(found, kind),
            lambda exc: self.messages.error(f"Could not read the drop: {exc}"),
        )

    def _add_expanded(self, expanded: tuple[list[Path], list[Path], list[Path]], kind: str) -> None:
        found, skipped, empty = expanded
        self.add_files(found, kind)
        notes = []
        if found:
            notes.append(f"Added {plural(len(found), 'file')}")
        if skipped:
            names = ", ".join(p.name for p in skipped[:3]) + ("…" if len(skipped) > 3 else "")
            exts = " ".join(sorted(self._supported()))
            notes.append(
                f"skipped {plural(len(skipped), 'unsupported file')} ({names}); supported: {exts}"
            )
        if empty:
            notes.append(f"no supported files in {', '.join(p.name for p in empty[:3])}")
        if not found:
            self.messages.warning("Nothing added: " + "; ".join(notes[0:] or ["empty drop"]))
        else:
            self.messages.info("; ".join(notes))

    def add_files(self, paths: list[Path], kind: str) -> list[Job]:
        """Queue files already known to exist and be supported (command line, tests)."""
        jobs = [Job(name=path.name, source=path, kind=kind) for path in paths]
        self.model.add(jobs)
        self._changed()
        self.pump()
        return jobs

    def add_text(self, text: str, kind: str = "auto") -> Job | None:
        """Queue pasted or dragged text; "auto" guesses the kind locally from the words."""
        text = text.strip()
        if not text:
            self.messages.warning("The clipboard holds no text to extract")
            return None
        if kind == "auto":
            kind = self._guess_kind(text) or "auto"
        first_line = " ".join(text.splitlines()[0].split())[:40]
        name = f"Pasted text {next(self._paste_no)}: {first_line}"
        try:
            document = self._document_from_text(text, name)
        except Exception as exc:  # EmptyFileError and friends: say it, add nothing
            self.messages.warning(getattr(exc, "message", str(exc)))
            return None
        job = Job(name=name, source=document, kind=kind)
        self.model.add([job])
        self._changed()
        self.pump()
        return job

    # --- running ----------------------------------------------------------------------

    def pump(self) -> None:
        """Start queued jobs, in table order, while the chosen provider has a free slot."""
        provider, model, reason = self._choice()
        if reason == "":
            return
        for job in self.model.jobs():
            if job.status != "queued":
                continue
            if reason is not None or not model:
                message = reason or "No model is chosen; pick one in the toolbar"
                job.provider = provider
                self._finish(job, self._local_failure(job, provider, message, "unavailable"))
                continue
            if not self.runner.has_slot(provider):
                break
            self.model.update(
                job,
                status="starting",
                provider=provider,
                model=model,
                started_at=time.monotonic(),
                live_tokens=0,
            )
            self.runner.submit(job.id, job.source, job.kind, provider, model)
        self._changed()

    def _on_started(self, job_id: int) -> None:
        job = self.model.job(job_id)
        if job is not None and job.status == "starting":
            self.model.update(job, status="reading")

    def _on_progress(self, job_id: int, stage: str, tokens: int) -> None:
        job = self.model.job(job_id)
        status = STAGE_STATUS.get(stage)
        if job is None or status is None or not job.running or job.status == "cancelling":
            return
        self.model.update(job, status=status, live_tokens=tokens or job.live_tokens)

    def _on_result(self, job_id: int, result: ExtractionResult) -> None:
        job = self.model.job(job_id)
        if job is None:
            return  # removed while it ran; its usage is in the ledger all the same
        self._finish(job, result)

    def _on_finished(self, job_id: int) -> None:
        self.pump()

    def _finish(self, job: Job, result: ExtractionResult | None, status: str | None = None) -> None:
        if status is None and result is not None:
            status = {"cancelled": "cancelled", "budget": "refused"}.get(
                result.error_kind or "", "done" if result.status == "ok" else "failed"
            )
        if result is not None and result.error_kind == "budget" and result.error:
            self.budget_message.emit(result.error, "refused")
        if result is not None:
            for warning in result.warnings:
                if "budget" in warning.lower():
                    self.budget_message.emit(warning, "warning")
        self.model.update(job, status=status, result=result, finished_at=time.monotonic())
        self._changed()
        self.job_finished.emit(job.id, result)

    def _local_failure(self, job: Job, provider: str, message: str, kind: str) -> ExtractionResult:
        return ExtractionResult(
            file=job.name,
            kind=job.kind if job.kind in ("cv", "jd") else "cv",
            status="error",
            error=message.splitlines()[0],
            error_kind=kind,
            provider=provider,
        )

    # --- user actions -----------------------------------------------------------------

    def cancel(self, job_ids: Iterable[int]) -> int:
        """Cancel jobs: queued ones at once, running ones within a second."""
        count = 0
        for job_id in job_ids:
            job = self.model.job(job_id)
            if job is None:
                continue
            if job.status == "queued":
                self._finish(job, None, "cancelled")
                count += 1
            elif job.running and self.runner.cancel(job_id):
                self.model.update(job, status="cancelling")
                count += 1
        self._changed()
        return count

    def cancel_all(self) -> int:
        """Empty the queue first, then cancel what runs (so nothing new starts)."""
        jobs = self.model.jobs()
        queued = [j.id for j in jobs if j.status == "queued"]
        running = [j.id for j in jobs if j.running]
        return self.cancel(queued) + self.cancel(running)

    def retry_failed(self) -> int:
        retried = 0
        for job in self.model.jobs():
            if job.status in ("failed", "cancelled", "refused"):
                self.model.update(
                    job,
                    status="queued",
                    result=None,
                    provider=None,
                    model=None,
                    live_tokens=0,
                    started_at=None,
                    finished_at=None,
                )
                retried += 1
        self.pump()
        return retried

    def remove(self, job_ids: Iterable[int]) -> None:
        ids = set(job_ids)
        for job_id in ids:
            self.runner.cancel(job_id)
        self.model.remove(ids)
        self._changed()

    def clear_finished(self) -> None:
        self.model.remove({j.id for j in self.model.jobs() if j.finished})
        self._changed()

    def active(self) -> int:
        """Jobs queued or running: what closing the window would abandon."""
        return sum(1 for j in self.model.jobs() if j.status == "queued" or j.running)

    def _changed(self) -> None:
        running = any(j.running for j in self.model.jobs())
        if running and not self._clock.isActive():
            self._clock.start()
        elif not running:
            self._clock.stop()
        self.counts_changed.emit()
