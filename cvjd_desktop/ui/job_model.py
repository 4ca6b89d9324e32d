"""The job list: one row per file (or pasted text) and what became of it.

A ``Job`` is plain data owned by ``JobTableModel``; the controller changes jobs only
through the model's methods so every change repaints the right cells. Status words
are the user's vocabulary (queued, reading, waiting for the model, generating N
tokens, done, failed, cancelled, refused by budget), never the engine's codes.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QStyle, QStyledItemDelegate, QWidget

from cvjd_desktop.config import PROVIDER_LABELS
from cvjd_desktop.schemas import ExtractionResult
from cvjd_desktop.ui.formatting import format_cost, format_duration, format_tokens

KIND_LABELS = {"cv": "CV", "jd": "Job description", "auto": "Guess"}
KIND_SHORT = {"cv": "CV", "jd": "JD", "auto": "?"}
RUNNING = ("starting", "reading", "waiting", "generating", "recording", "cancelling")
FINISHED = ("done", "failed", "cancelled", "refused")
ModelIndex = QModelIndex | QPersistentModelIndex

_ids = itertools.count(1)


@dataclass
class Job:
    """One file on its way through the engine."""

    name: str
    source: Any
    """A ``Path``, or a ``documents.Document`` for pasted text."""
    kind: str
    """"cv", "jd" or "auto"; fixed once the job starts."""
    id: int = field(default_factory=lambda: next(_ids))
    provider: str | None = None
    model: str | None = None
    status: str = "queued"
    live_tokens: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    result: ExtractionResult | None = None

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def path(self) -> Path | None:
        return self.source if isinstance(self.source, Path) else None

    def status_text(self) -> str:
        if self.status == "generating":
            return (
                f"Generating · {self.live_tokens:,} tokens" if self.live_tokens else "Generating…"
            )
        if self.status == "failed" and self.result and self.result.error:
            return f"Failed: {self.result.error}"
        return STATUS_TEXT[self.status]

    def elapsed_ms(self) -> float | None:
        if self.result is not None and self.result.duration_ms:
            return self.result.duration_ms
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return (end - self.started_at) * 1000


STATUS_TEXT = {
    "queued": "Queued",
    "starting": "Starting…",
    "reading": "Reading the file…",
    "waiting": "Waiting for the model…",
    "generating": "Generating…",
    "recording": "Recording usage…",
    "cancelling": "Cancelling…",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "refused": "Refused by budget",
}

_STATUS_ICON = {
    "queued": QStyle.StandardPixmap.SP_FileIcon,
    "done": QStyle.StandardPixmap.SP_DialogApplyButton,
    "failed": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "cancelled": QStyle.StandardPixmap.SP_DialogCancelButton,
    "refused": QStyle.StandardPixmap.SP_MessageBoxWarning,
}


class JobTableModel(QAbstractTableModel):
    """Rows of ``Job``s; the kind column is editable while a job is queued."""

    NAME, KIND, MODEL, STATUS, TOKENS, COST, TIME = range(7)
    HEADERS = ("Name", "Kind", "Model", "Status", "Tokens", "Cost", "Time")
    TOOLTIPS = (
        "The file (or pasted text) being extracted",
        "CV or job description; double-click to change it while the job is queued",
        "The provider and model the job used (provider/model)",
        "Where the job is",
        "Prompt + completion tokens the provider reported",
        "What the call cost, at the price in force when it was made",
        "How long the extraction took",
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []

    # --- Qt model API ---------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.TOOLTIPS[section]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        editable = index.isValid() and index.column() == self.KIND
        if editable and self._jobs[index.row()].status == "queued":
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, col)
        if role == Qt.ItemDataRole.EditRole and col == self.KIND:
            return job.kind
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(job, col)
        if role == Qt.ItemDataRole.DecorationRole and col == self.STATUS:
            return self._status_icon(job)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (self.TOKENS, self.COST, self.TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return job.id
        return None

    def setData(self, index: ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() != self.KIND:
            return False
        job = self._jobs[index.row()]
        if job.status != "queued" or value not in KIND_LABELS or value == job.kind:
            return False
        job.kind = value
        self.dataChanged.emit(index, index)
        return True

    # --- cells ----------------------------------------------------------------------

    def _display(self, job: Job, col: int) -> str:
        result = job.result
        if col == self.NAME:
            return job.name
        if col == self.KIND:
            kind = result.kind if result is not None and job.kind == "auto" else job.kind
            return KIND_SHORT.get(kind, kind)
        if col == self.MODEL:
            model = (result.model if result else None) or job.model
            if not job.provider:
                return ""
            return f"{job.provider}/{model}" if model else job.provider
        if col == self.STATUS:
            return job.status_text()
        if col == self.TOKENS:
            if result is not None:
                return format_tokens(result.token_usage.total_tokens)
            return format_tokens(job.live_tokens) if job.live_tokens else ""
        if col == self.COST:
            if result is None:
                return ""
            if result.provider == "ollama" and result.cost_usd in (None, 0):
                return format_cost(0.0, "local")
            return format_cost(result.cost_usd, result.price_source)
        if col == self.TIME:
            ms = job.elapsed_ms()
            return "" if ms is None else format_duration(ms)
        return ""

    def _tooltip(self, job: Job, col: int) -> str | None:
        result = job.result
        if col == self.NAME:
            return str(job.path) if job.path else job.name
        if col == self.STATUS:
            if result is not None and result.error:
                return result.error
            if result is not None and result.warnings:
                return "\n".join(result.warnings)
            return job.status_text()
        if col == self.TOKENS and result is not None:
            u = result.token_usage
            return (
                f"prompt {format_tokens(u.prompt_tokens)} + completion "
                f"{format_tokens(u.completion_tokens)} = {format_tokens(u.total_tokens)}"
            )
        if col == self.COST and result is not None:
            if result.provider == "ollama" and result.cost_usd in (None, 0):
                return "Runs on this computer: no charge"
            if result.cost_usd is None and result.provider != "ollama":
                return "The price of this model is unknown; the tokens are recorded"
            return f"Price source: {result.price_source or 'unknown'}"
        if col == self.KIND:
            label = KIND_LABELS.get(job.kind, job.kind)
            if job.status == "queued":
                return f"{label}; double-click to change it before the job starts"
            return label
        if col == self.MODEL and job.provider:
            model = (result.model if result else None) or job.model
            return f"{PROVIDER_LABELS.get(job.provider, job.provider)} · {model or 'no model'}"
        return None

    def _status_icon(self, job: Job) -> Any:
        pixmap = _STATUS_ICON.get(job.status)
        if pixmap is None:
            pixmap = QStyle.StandardPixmap.SP_BrowserReload
        return QApplication.style().standardIcon(pixmap)

    # --- jobs -----------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def job(self, job_id: int) -> Job | None:
        return next((j for j in self._jobs if j.id == job_id), None)

    def job_at(self, row: int) -> Job | None:
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def row_of(self, job_id: int) -> int:
        return next((i for i, j in enumerate(self._jobs) if j.id == job_id), -1)

    def add(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        first = len(self._jobs)
        self.beginInsertRows(QModelIndex(), first, first + len(jobs) - 1)
        self._jobs.extend(jobs)
        self.endInsertRows()

    def remove(self, job_ids: set[int]) -> None:
        for row in reversed(range(len(self._jobs))):
            if self._jobs[row].id in job_ids:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._jobs[row]
                self.endRemoveRows()

    def update(self, job: Job, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(job, key, value)
        row = self.row_of(job.id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def tick(self) -> None:
        """Repaint the time column of running rows (a live clock while they run)."""
        for row, job in enumerate(self._jobs):
            if job.running:
                index = self.index(row, self.TIME)
                self.dataChanged.emit(index, index)

    def counts(self) -> dict[str, int]:
        counts = {"queued": 0, "running": 0, "done": 0, "failed": 0, "total": len(self._jobs)}
        for job in self._jobs:
            if job.status == "queued":
                counts["queued"] += 1
            elif job.running:
                counts["running"] += 1
            elif job.status == "done":
                counts["done"] += 1
            else:
                counts["failed"] += 1
        return counts


class KindDelegate(QStyledItemDelegate):
    """A CV / job description combo for the kind column of a queued job."""

    def createEditor(self, parent: QWidget, option: Any, index: ModelIndex) -> QWidget:
        combo = QComboBox(parent)
        combo.setAccessibleName("Kind")
        for kind in ("cv", "jd"):
            combo.addItem(KIND_LABELS[kind], kind)
        combo.activated.connect(lambda _i: self.commitData.emit(combo))
        return combo

    def setEditorData(self, editor: QWidget, index: ModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentIndex(max(editor.findData(index.data(Qt.ItemDataRole.EditRole)), 0))

    def setModelData(self, editor: QWidget, model: Any, index: ModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class ElideRightDelegate(QStyledItemDelegate):
    """Status messages read from the start ("Failed: the PDF is…"), unlike file names."""

    def initStyleOption(self, option: Any, index: ModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight
