"""The live usage panel: tokens and money per model, this session or all time.

It keeps no tally of its own. Every ``refresh()`` re-reads the ledger (off the GUI
thread, newest request wins), so what it shows is what ``cvjd usage`` and the
history window show, and it cannot drift from them. A model whose price is unknown
shows "—", never $0, and the total says how many calls it could not price.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop.errors import CvjdError
from cvjd_desktop.ui.background import BackgroundCall
from cvjd_desktop.ui.formatting import (
    UNKNOWN,
    format_cost_total,
    format_tokens,
    format_usd,
    plural,
)
from cvjd_desktop.usage import Ledger, RowFilter, UsageTotals

log = logging.getLogger(__name__)

HEADERS = ("Model", "Calls", "Prompt", "Completion", "Total", "Cost")
SCOPES = ("session", "all")


def short_cost(totals: UsageTotals) -> str:
    """A cost that fits a table cell and still never passes unknown off as $0.

    ``$0.0123``; ``—`` when no call of the group had a known price; ``≥ $0.0123``
    when some had (the tooltip and the summary line say how many were unknown).
    """
    if not totals.unknown_cost_calls:
        return format_usd(totals.known_cost_usd)
    if totals.unknown_cost_calls >= totals.calls and not totals.known_cost_usd:
        return UNKNOWN
    return f"≥ {format_usd(totals.known_cost_usd)}"


def session_cost(totals: UsageTotals) -> float | None:
    """The known part of a session's cost; None when every call had an unknown price."""
    if totals.calls and totals.unknown_cost_calls >= totals.calls:
        return None
    return totals.known_cost_usd


@dataclass(frozen=True)
class UsageSnapshot:
    """What one refresh read from the ledger."""

    scope: str
    rows: list[UsageTotals]
    total: UsageTotals
    session: UsageTotals


class UsageTableModel(QAbstractTableModel):
    """Per-model rows plus a bold total row that always stays last."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[UsageTotals] = []
        self._total: UsageTotals | None = None

    def set_totals(self, rows: list[UsageTotals], total: UsageTotals) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._total = total if rows else None
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._rows) + (1 if self._total is not None else 0)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignLeft if section == 0 else Qt.AlignmentFlag.AlignRight
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None

    def totals_at(self, row: int) -> UsageTotals | None:
        if 0 <= row < len(self._rows):
            return self._rows[row]
        if row == len(self._rows):
            return self._total
        return None

    def is_total_row(self, row: int) -> bool:
        return self._total is not None and row == len(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        totals = self.totals_at(index.row())
        if totals is None:
            return None
        column, is_total = index.column(), self.is_total_row(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(totals, column, is_total)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(totals, column, is_total)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == 0:
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and is_total:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{HEADERS[column]}: {_cell(totals, column, is_total)}"
        return None


_HEADER_TIPS = (
    "The model as the provider reported it",
    "Provider calls, failed ones included",
    "Input tokens sent to the model",
    "Output tokens the model generated",
    "Prompt plus completion tokens",
    "Cost in US dollars at the price in force when each call was made",
)


def _cell(totals: UsageTotals, column: int, is_total: bool) -> str:
    if column == 0:
        return "Total" if is_total else totals.key
    if column == 1:
        return f"{totals.calls:,}"
    if column == 2:
        return format_tokens(totals.prompt_tokens)
    if column == 3:
        return format_tokens(totals.completion_tokens)
    if column == 4:
        return format_tokens(totals.total_tokens)
    return short_cost(totals)


def _tooltip(totals: UsageTotals, column: int, is_total: bool) -> str:
    if column == 0:
        return "All models" if is_total else totals.key
    if column == 1:
        return f"{totals.succeeded:,} succeeded, {totals.failed:,} failed"
    if column in (2, 3, 4):
        split = (
            f"{format_tokens(totals.prompt_tokens)} prompt + "
            f"{format_tokens(totals.completion_tokens)} completion tokens"
        )
        if totals.cached_tokens or totals.reasoning_tokens:
            split += (
                f"\n{format_tokens(totals.cached_tokens)} prompt tokens were cached, "
                f"{format_tokens(totals.reasoning_tokens)} completion tokens were reasoning"
            )
        return split
    if column == 5:
        return format_cost_total(totals.known_cost_usd, totals.unknown_cost_calls)
    return ""


class _UsageTable(QTableView):
    """Numbers sized to their contents; the model name gets the rest.

    When the dock is too narrow for every column, the prompt and completion columns
    fold away (the Total cell's tooltip still splits them) before the names become
    unreadable; past that, the table scrolls sideways.
    """

    FOLDABLE = (2, 3)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.fit_columns()

    _fitting = False

    def fit_columns(self) -> None:
        model = self.model()
        if model is None or self._fitting:
            return
        self._fitting = True
        try:
            self._fit(model)
        finally:
            self._fitting = False

    def _fit(self, model: Any) -> None:
        header = self.horizontalHeader()
        # A model reset re-creates the sections lazily; lay them out now, or the
        # sizes set below are overwritten by the defaults afterwards.
        self.executeDelayedItemsLayout()
        header.executeDelayedItemsLayout()
        columns = range(1, model.columnCount())
        for column in self.FOLDABLE:  # hidden sections measure as zero
            self.setColumnHidden(column, False)
        for column in columns:  # resizeColumnToContents can undercut the header text
            size = max(self.sizeHintForColumn(column), header.sectionSizeHint(column))
            header.resizeSection(column, size)
        floor = self.fontMetrics().horizontalAdvance("llama3.2:3b") + 16
        wanted = max(self.sizeHintForColumn(0), header.sectionSizeHint(0))
        width = self.viewport().width()
        full = sum(header.sectionSize(c) for c in columns)
        fold = full + min(floor, wanted) > width
        for column in self.FOLDABLE:
            self.setColumnHidden(column, fold)
        others = sum(header.sectionSize(c) for c in columns if not self.isColumnHidden(c))
        header.resizeSection(0, max(min(floor, wanted), width - others))


class _Banner(QFrame):
    """A dismissable budget message at the top of the panel.

    Uses the tool-tip palette roles: every theme makes those stand out from the
    window while staying readable, so no colour is hard-coded.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
        self.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.level = ""
        self._icon = QLabel(self)
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._text = QLabel(self)
        self._text.setWordWrap(True)
        self._text.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._close = QToolButton(self)
        self._close.setAutoRaise(True)
        self._close.setText("✕")
        self._close.setToolTip("Dismiss")
        self._close.setAccessibleName("Dismiss budget message")
        self._close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, level: str) -> None:
        self.level = level
        icon = {
            "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
            "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
        }.get(level, QStyle.StandardPixmap.SP_MessageBoxCritical)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, self)
        self._icon.setPixmap(self.style().standardIcon(icon, None, self).pixmap(size, size))
        font = self._text.font()
        font.setBold(level == "refused")
        self._text.setFont(font)
        self._text.setText(text)
        self.setAccessibleName(f"Budget {level}: {text}")
        self.show()

    def text(self) -> str:
        return self._text.text()


class UsagePanel(QWidget):
    """Per-model tokens and cost from the ledger, with budget messages on top.

    Signals:
        totals_changed(session_cost, unknown_calls): after each refresh, this
            session's known cost in USD (None when every call had an unknown price)
            and how many calls could not be priced; the status bar shows them with
            ``format_cost_total``.
        refreshed(): a refresh finished and the table shows its result.
    """

    totals_changed = Signal(object, int)
    refreshed = Signal()

    def __init__(self, ledger: Ledger, session_start: datetime, parent: QWidget | None = None):
        super().__init__(parent)
        self._ledger = ledger
        self._session_start = session_start
        self._scope = "session"
        self._snapshot: UsageSnapshot | None = None

        self._query = BackgroundCall(self)
        self._query.succeeded.connect(self._show_snapshot)
        self._query.failed.connect(self._show_failure)

        self._banner = _Banner(self)

        self._session_button = self._scope_button("This session", "Calls since the app started")
        self._all_button = self._scope_button("All time", "Every call in the usage ledger")
        self._scopes = QButtonGroup(self)
        self._scopes.setExclusive(True)
        self._scopes.addButton(self._session_button)
        self._scopes.addButton(self._all_button)
        self._scopes.buttonToggled.connect(self._scope_toggled)

        refresh = QToolButton(self)
        refresh.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        refresh.setAutoRaise(True)
        refresh.setToolTip("Read the usage ledger again")
        refresh.setAccessibleName("Refresh usage")
        refresh.clicked.connect(self.refresh)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(0)
        bar.addWidget(self._session_button)
        bar.addWidget(self._all_button)
        bar.addStretch(1)
        bar.addWidget(refresh)

        self._model = UsageTableModel(self)
        self._table = _UsageTable(self)
        self._table.setModel(self._model)
        self._table.setAccessibleName("Usage per model")
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._table.setAlternatingRowColors(True)
        self._table.setShowGrid(False)
        self._table.setWordWrap(False)
        self._table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._table.verticalHeader().hide()
        self._table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self._table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(36)

        self._empty = QLabel(self)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._empty.setMargin(12)

        self._stack = QStackedWidget(self)
        self._stack.addWidget(self._empty)
        self._stack.addWidget(self._table)

        self._summary = QLabel(self)
        self._summary.setWordWrap(True)
        self._summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._summary.setAccessibleName("Usage total")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._banner)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self._summary)

        self._session_button.setChecked(True)  # sets the empty text and refreshes

    # --- public API ------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Re-read the ledger off the GUI thread; the newest request's answer is shown."""
        ledger, scope, since = self._ledger, self._scope, self._session_start

        def query() -> UsageSnapshot:
            session = ledger.grand_total(RowFilter(since=since))
            if scope == "session":
                rows = ledger.totals(by="model", filters=RowFilter(since=since))
                total = session
            else:
                rows = ledger.totals(by="model", filters=RowFilter())
                total = ledger.grand_total(RowFilter())
            return UsageSnapshot(scope=scope, rows=rows, total=total, session=session)

        self._query.submit(query)

    def show_budget_message(self, text: str, level: str) -> None:
        """Show a budget warning ("warning") or refusal ("refused") until dismissed."""
        self._banner.show_message(text, level)

    def set_scope(self, scope: str) -> None:
        """ "session" or "all"; the toggle follows and a refresh starts."""
        if scope not in SCOPES:
            raise ValueError(f"unknown usage scope {scope!r}; choose one of {SCOPES}")
        button = self._session_button if scope == "session" else self._all_button
        button.setChecked(True)

    def scope(self) -> str:
        return self._scope

    def snapshot(self) -> UsageSnapshot | None:
        """The last ledger read that the table shows."""
        return self._snapshot

    def displayed_rows(self) -> list[list[str]]:
        """The table's text, total row last (tests and accessibility checks read it)."""
        return [
            [self._model.index(r, c).data() for c in range(self._model.columnCount())]
            for r in range(self._model.rowCount())
        ]

    def summary_text(self) -> str:
        return self._summary.text()

    def banner_text(self) -> str:
        return self._banner.text() if self._banner.isVisibleTo(self) else ""

    def banner_level(self) -> str:
        return self._banner.level if self._banner.isVisibleTo(self) else ""

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Wait for a running ledger read; call before the window closes the ledger."""
        return self._query.shutdown(timeout_ms)

    # --- internals -------------------------------------------------------------------

    def _scope_button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setToolTip(tip)
        button.setAccessibleName(f"Show usage: {text.lower()}")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    @Slot(object, bool)
    def _scope_toggled(self, button: Any, checked: bool) -> None:
        font = button.font()
        font.setBold(checked)  # some styles draw a checked tool button barely differently
        button.setFont(font)
        if not checked:
            return
        self._scope = "session" if button is self._session_button else "all"
        self._set_empty_text()
        self.refresh()

    def _set_empty_text(self) -> None:
        self._empty.setText(
            "No calls yet this session.\nUsage appears here as files are processed."
            if self._scope == "session"
            else "The usage ledger is empty.\nEvery model call will be counted here."
        )

    @Slot(object)
    def _show_snapshot(self, snap: UsageSnapshot) -> None:
        if snap.scope != self._scope:  # a toggle raced the read; the next read follows
            return
        self._snapshot = snap
        self._stack.setCurrentWidget(self._table if snap.rows else self._empty)
        self._model.set_totals(snap.rows, snap.total)
        self._table.fit_columns()
        self._summary.setText(self._summary_for(snap) if snap.rows else "")
        self._summary.setVisible(bool(snap.rows))
        self.totals_changed.emit(session_cost(snap.session), snap.session.unknown_cost_calls)
        self.refreshed.emit()

    @staticmethod
    def _summary_for(snap: UsageSnapshot) -> str:
        total = snap.total
        label = "This session" if snap.scope == "session" else "All time"
        parts = [
            plural(total.calls, "call"),
            f"{total.failed:,} failed" if total.failed else None,
            f"{format_tokens(total.total_tokens)} tokens",
            format_cost_total(total.known_cost_usd, total.unknown_cost_calls),
        ]
        return f"{label}: " + " · ".join(p for p in parts if p)

    @Slot(object)
    def _show_failure(self, error: BaseException) -> None:
        message = error.message if isinstance(error, CvjdError) else str(error)
        log.error("usage panel could not read the ledger: %s", message)
        self._banner.show_message(f"Could not read the usage ledger: {message}", "error")
