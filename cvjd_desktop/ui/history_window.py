"""The usage history window: every ledger row, filtered, totalled, charted, exported.

It answers "what did this range cost, and which model was worth it?". Filters turn
into one ``RowFilter`` that every part shares: the lazily loaded table, the totals
line, the per-model summary and the chart, so they always agree with each other and
with ``cvjd usage`` for the same range. Dates are UTC days, as in the ledger and the
CLI. Every query runs off the GUI thread; a new filter supersedes queries in flight.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QFont, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop.ui.background import BackgroundCall
from cvjd_desktop.ui.formatting import format_cost_total, format_tokens, plural
from cvjd_desktop.ui.history_chart import UsageChart
from cvjd_desktop.ui.history_export import ExportCancelled, export_csv
from cvjd_desktop.ui.history_model import HistoryTableModel
from cvjd_desktop.ui.history_queries import totals_by_day_and_model
from cvjd_desktop.usage.records import STATUSES, RowFilter

if TYPE_CHECKING:
    from cvjd_desktop.usage import Ledger, UsageTotals

PRESETS = (
    ("today", "Today"),
    ("7days", "Last 7 days"),
    ("month", "This month"),
    ("all", "All time"),
    ("custom", "Custom range"),
)
SUMMARY_COLUMNS = (
    "Model",
    "Calls",
    "Failed",
    "Prompt",
    "Completion",
    "Total",
    "Cached",
    "Reasoning",
    "Cost",
)


def utc_today() -> date:
    return datetime.now(UTC).date()


def preset_range(preset: str, today: date) -> tuple[date | None, date | None]:
    """First and last UTC day a preset covers (both inclusive); None = unbounded."""
    if preset == "today":
        return today, today
    if preset == "7days":
        return today - timedelta(days=6), today
    if preset == "month":
        return today.replace(day=1), today
    return None, None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class HistoryWindow(QMainWindow):
    """Browse the usage ledger.

    Signals:
        totals_ready: the totals line and the per-model summary show the filters.
        chart_ready: the chart shows the filters.
        export_finished(str): an export ended; the message says how.
    """

    totals_ready = Signal()
    chart_ready = Signal()
    export_finished = Signal(str)
    _export_progress = Signal(int)  # emitted from the export worker, queued here

    def __init__(self, ledger: Ledger, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setWindowTitle("Usage history")
        self.setObjectName("HistoryWindow")
        self.resize(1100, 720)
        self._ledger = ledger
        self._filters = RowFilter()
        self._range: tuple[date | None, date | None] = (None, None)
        self._export_cancel: threading.Event | None = None
        self._closed = False

        self.model = HistoryTableModel(ledger, parent=self)
        self._totals_call = BackgroundCall(self)
        self._chart_call = BackgroundCall(self)
        self._choices_call = BackgroundCall(self)
        self._export_call = BackgroundCall(self)
        self._totals_call.succeeded.connect(self._show_totals)
        self._chart_call.succeeded.connect(self._show_chart)
        self._choices_call.succeeded.connect(self._show_choices)
        self._export_call.succeeded.connect(self._export_done)
        for call in (self._totals_call, self._chart_call, self._choices_call):
            call.failed.connect(self._query_failed)
        self._export_call.failed.connect(self._export_failed)
        self._export_progress.connect(self._show_export_progress)
        self.model.failed.connect(self._query_failed)
        self.model.page_loaded.connect(self._update_loaded)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.apply_filters)

        self._build_filters()
        self._build_body()
        self._build_actions()
        self.statusBar().showMessage("Loading…")

        self.preset_box.blockSignals(True)
        self._set_preset("month")
        self.preset_box.blockSignals(False)
        self.refresh_choices()
        self._preset_changed()  # fills the dates and runs the first queries

    # --- building ------------------------------------------------------------------

    def _build_filters(self) -> None:
        self.preset_box = QComboBox()
        for key, label in PRESETS:
            self.preset_box.addItem(label, key)
        self.preset_box.setAccessibleName("Date range")
        self.preset_box.currentIndexChanged.connect(self._preset_changed)
        self.from_edit = self._date_edit("From (UTC)")
        self.to_edit = self._date_edit("To (UTC), inclusive")

        self.provider_box = self._choice_box("All providers", "Provider")
        self.model_box = self._choice_box("All models", "Model")
        self.kind_box = self._choice_box("All kinds", "Kind")
        self.status_box = self._choice_box("Any status", "Status")
        for status in STATUSES:
            self.status_box.addItem(status, status)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search file names")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Search file names")
        self.search_edit.textChanged.connect(self._filters_edited)

        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write every row matching the filters to a CSV file")
        self.export_button.clicked.connect(self._ask_export)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.setToolTip("Show the selected row's source file in its folder")
        self.open_folder_button.setEnabled(False)
        self.open_folder_button.clicked.connect(self.open_selected_folder)

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Range:"))
        row1.addWidget(self.preset_box)
        row1.addWidget(self.from_edit)
        row1.addWidget(QLabel("to"))
        row1.addWidget(self.to_edit)
        row1.addSpacing(12)
        row1.addWidget(self.search_edit, 1)
        row2 = QHBoxLayout()
        for box in (self.provider_box, self.model_box, self.kind_box, self.status_box):
            row2.addWidget(box, 1)
        row2.addStretch(0)
        row2.addWidget(self.open_folder_button)
        row2.addWidget(self.export_button)

        self.totals_label = QLabel()
        self.totals_label.setObjectName("historyTotals")
        self.totals_label.setWordWrap(True)
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.totals_label.font())
        font.setBold(True)
        self.totals_label.setFont(font)

        self._filter_panel = QWidget()
        layout = QVBoxLayout(self._filter_panel)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.totals_label)

    def _date_edit(self, name: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setAccessibleName(name)
        edit.setToolTip(name)
        edit.setDate(QDate.currentDate())
        edit.dateChanged.connect(self._filters_edited)
        return edit

    def _choice_box(self, everything: str, name: str) -> QComboBox:
        box = QComboBox()
        box.addItem(everything, None)
        box.setAccessibleName(name)
        box.setToolTip(name)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(10)
        box.currentIndexChanged.connect(self.apply_filters)
        return box

    def _build_body(self) -> None:
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((150, 70, 140, 45, 200, 75, 80, 110, 80, 85, 70, 80, 75)):
            self.table.setColumnWidth(column, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.open_selected_folder())
        self.table.setAccessibleName("Calls")

        self.summary = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.summary.setHorizontalHeaderLabels(SUMMARY_COLUMNS)
        self.summary.verticalHeader().setVisible(False)
        self.summary.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.summary.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.summary.setAccessibleName("Totals per model")

        self.chart = UsageChart()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.summary, "By model")
        self.tabs.addTab(self.chart, "Chart")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._filter_panel)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    def _build_actions(self) -> None:
        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh)
        close = QAction("Close", self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        self.addActions([refresh, close])

    # --- filters -------------------------------------------------------------------

    def _set_preset(self, key: str) -> None:
        self.preset_box.setCurrentIndex(self.preset_box.findData(key))

    def _preset_changed(self) -> None:
        key = self.preset_box.currentData()
        custom = key == "custom"
        self.from_edit.setEnabled(custom)
        self.to_edit.setEnabled(custom)
        if not custom:
            first, last = preset_range(key, utc_today())
            for edit, day in ((self.from_edit, first), (self.to_edit, last)):
                edit.blockSignals(True)
                edit.setDate(QDate(day) if day else QDate(utc_today()))
                edit.blockSignals(False)
        self.apply_filters()

    def set_custom_range(self, first: date, last: date) -> None:
        """Show ``first``..``last`` (UTC days, inclusive)."""
        self.preset_box.blockSignals(True)
        self._set_preset("custom")
        self.preset_box.blockSignals(False)
        self.from_edit.setEnabled(True)
        self.to_edit.setEnabled(True)
        for edit, day in ((self.from_edit, first), (self.to_edit, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(day))
            edit.blockSignals(False)
        self.apply_filters()

    def set_preset(self, key: str) -> None:
        """Select a preset: "today", "7days", "month", "all" or "custom"."""
        self._set_preset(key)

    def _filters_edited(self) -> None:
        self._debounce.start()

    def current_filters(self) -> RowFilter:
        key = self.preset_box.currentData()
        if key == "custom":
            first: date | None = self.from_edit.date().toPython()
            last: date | None = self.to_edit.date().toPython()
            if first and last and last < first:
                first, last = last, first
        else:
            first, last = preset_range(key, utc_today())
        self._range = (first, last)
        search = self.search_edit.text().strip()
        return RowFilter(
            since=day_start(first) if first else None,
            until=day_start(last + timedelta(days=1)) if last else None,
            provider=self.provider_box.currentData(),
            model=self.model_box.currentData(),
            kind=self.kind_box.currentData(),
            status=self.status_box.currentData(),
            search=search or None,
        )

    @property
    def filters(self) -> RowFilter:
        return self._filters

    def apply_filters(self) -> None:
        """Re-query the table, totals and chart for the filters now shown."""
        if self._closed:
            return
        self._debounce.stop()
        self._filters = filters = self.current_filters()
        self.model.set_filters(filters)
        ledger = self._ledger
        self._totals_call.submit(
            lambda: (ledger.grand_total(filters), ledger.totals(by="model", filters=filters))
        )
        self._chart_call.submit(lambda: totals_by_day_and_model(ledger, filters))
        self.statusBar().showMessage("Loading…")

    def refresh(self) -> None:
        """Reload everything, e.g. after new calls were recorded."""
        self.refresh_choices()
        self.apply_filters()

    def refresh_choices(self) -> None:
        ledger = self._ledger
        self._choices_call.submit(
            lambda: {name: ledger.distinct(name) for name in ("provider", "model", "kind")}
        )

    def _show_choices(self, choices: dict[str, list[Any]]) -> None:
        boxes = {"provider": self.provider_box, "model": self.model_box, "kind": self.kind_box}
        for name, box in boxes.items():
            current = box.currentData()
            box.blockSignals(True)
            while box.count() > 1:
                box.removeItem(1)
            for value in choices.get(name, []):
                if value is not None:
                    box.addItem(str(value), value)
            index = box.findData(current) if current is not None else 0
            if index < 0:  # keep a filter the ledger no longer has, so the view is honest
                box.addItem(str(current), current)
                index = box.count() - 1
            box.setCurrentIndex(index)
            box.blockSignals(False)

    def select_choice(self, box: QComboBox, value: str | None) -> None:
        """Set a filter box to ``value`` (adding it if the ledger has not listed it)."""
        index = box.findData(value) if value is not None else 0
        if index < 0:
            box.addItem(str(value), value)
            index = box.count() - 1
        box.setCurrentIndex(index)

    # --- results -------------------------------------------------------------------

    def _show_totals(self, result: tuple[UsageTotals, list[UsageTotals]]) -> None:
        grand, by_model = result
        self.grand_total = grand
        self.model_totals = by_model
        tokens = format_tokens(grand.total_tokens)
        parts = [
            plural(grand.calls, "call"),
            f"{grand.failed:,} failed",
            f"{tokens} tokens ({format_tokens(grand.prompt_tokens)} prompt, "
            f"{format_tokens(grand.completion_tokens)} completion)",
            format_cost_total(grand.known_cost_usd, grand.unknown_cost_calls),
        ]
        self.totals_label.setText("  ·  ".join(parts))

        self.summary.setSortingEnabled(False)
        self.summary.setRowCount(len(by_model) + (1 if by_model else 0))
        for row, totals in enumerate([*by_model, grand] if by_model else []):
            is_total = row == len(by_model)
            cells = [
                "Total" if is_total else totals.key,
                f"{totals.calls:,}",
                f"{totals.failed:,}",
                format_tokens(totals.prompt_tokens),
                format_tokens(totals.completion_tokens),
                format_tokens(totals.total_tokens),
                format_tokens(totals.cached_tokens),
                format_tokens(totals.reasoning_tokens),
                format_cost_total(totals.known_cost_usd, totals.unknown_cost_calls),
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if is_total:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.summary.setItem(row, column, item)
        self.summary.resizeColumnsToContents()
        self.summary.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._update_loaded(self.model.rows_loaded)
        self.totals_ready.emit()

    def _show_chart(self, rows: list[tuple[str, str, UsageTotals]]) -> None:
        first, last = self._range
        if first is not None and last is None:
            last = utc_today()
        self.chart.set_data(rows, first, last)
        self.chart_ready.emit()

    def _update_loaded(self, loaded: int) -> None:
        grand = getattr(self, "grand_total", None)
        if grand is None:
            return
        if self.model.exhausted or loaded >= grand.calls:
            self.statusBar().showMessage(f"Showing all {plural(grand.calls, 'row')}")
        else:
            self.statusBar().showMessage(
                f"Showing {loaded:,} of {grand.calls:,} rows (scroll for more)"
            )

    def _query_failed(self, exc: object) -> None:
        message = getattr(exc, "message", None) or str(exc)
        self.statusBar().showMessage(f"Could not read the usage ledger: {message}")

    # --- open folder -----------------------------------------------------------------

    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _folder_of(self, row: int | None) -> Path | None:
        if row is None or row >= self.model.rows_loaded:
            return None
        file_path = self.model.record(row).file_path
        if not file_path:
            return None
        folder = Path(file_path).parent
        return folder if folder.is_dir() else None

    def _selection_changed(self) -> None:
        row = self.selected_row()
        folder = self._folder_of(row)
        self.open_folder_button.setEnabled(folder is not None)
        if row is not None and folder is None:
            self.open_folder_button.setToolTip("The source file's folder no longer exists")
        else:
            self.open_folder_button.setToolTip("Show the selected row's source file in its folder")

    def open_selected_folder(self) -> bool:
        folder = self._folder_of(self.selected_row())
        if folder is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        menu = QMenu(self)
        action = menu.addAction("Open containing folder")
        action.setEnabled(self._folder_of(index.row()) is not None)
        action.triggered.connect(self.open_selected_folder)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    # --- export ------------------------------------------------------------------------

    def _ask_export(self) -> None:
        if self._export_cancel is not None:
            self._export_cancel.set()
            return
        stamp = utc_today().isoformat()
        path, _ = QFileDialog.getSaveFileName(
            self, "Export usage to CSV", f"cvjd-usage-{stamp}.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """Write every row matching the current filters to ``path``, off the GUI thread."""
        from cvjd_desktop.config import get_api_key

        ledger, filters = self._ledger, self._filters
        cancel = threading.Event()
        self._export_cancel = cancel
        progress = self._export_progress

        def run() -> tuple[int, Path]:
            written = export_csv(
                ledger,
                filters,
                path,
                order_by="ts",
                descending=False,  # oldest first: rows recorded meanwhile cannot shift pages
                secret=get_api_key("openai"),
                cancel=cancel,
                progress=progress.emit,
            )
            return written, path

        self.export_button.setText("Cancel export")
        self.statusBar().showMessage(f"Exporting to {path.name}…")
        self._export_call.submit(run)

    def _show_export_progress(self, written: int) -> None:
        if self._export_cancel is not None:
            self.statusBar().showMessage(f"Exporting… {written:,} rows written")

    def _export_ended(self, message: str) -> None:
        self._export_cancel = None
        self.export_button.setText("Export CSV…")
        self.statusBar().showMessage(message)
        self.export_finished.emit(message)

    def _export_done(self, result: tuple[int, Path]) -> None:
        written, path = result
        self._export_ended(f"Exported {plural(written, 'row')} to {path}")

    def _export_failed(self, exc: object) -> None:
        if isinstance(exc, ExportCancelled):
            self._export_ended("Export cancelled; no file was written")
        else:
            self._export_ended(f"Export failed: {exc}")

    # --- closing -------------------------------------------------------------------------

    def _calls(self) -> tuple[BackgroundCall, ...]:
        return (self._totals_call, self._chart_call, self._choices_call, self._export_call)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop queries and exports and wait for them, so no worker outlives the window.

        The window stays usable: the main window may show it again, and then it
        re-reads the ledger.
        """
        self._closed = True
        self._debounce.stop()
        if self._export_cancel is not None:
            self._export_cancel.set()
        self.model.stop()
        for call in self._calls():
            call.cancel()
        for call in self._calls():
            call.wait()
        if self._export_cancel is not None:
            self._export_ended("Export cancelled; no file was written")
        super().closeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._closed:
            self._closed = False
            self.refresh()
