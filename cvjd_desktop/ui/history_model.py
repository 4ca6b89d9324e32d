"""The history table: ledger rows fetched a page at a time, off the GUI thread.

A ledger may hold millions of rows, so the model never asks how many there are
before showing the first page: it loads ``page_size`` rows, and Qt's views ask for
more (``canFetchMore``/``fetchMore``) as the user scrolls to the end. Every query
runs on a ``BackgroundCall`` (newest request wins), so a page that answers a filter
or sort order that is no longer current is dropped. Sorting is a re-query with ``order_by``, so
the order is the database's, not only that of the loaded rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from cvjd_desktop.ui.background import BackgroundCall
from cvjd_desktop.ui.formatting import format_cost, format_duration, format_tokens
from cvjd_desktop.usage.records import to_utc

if TYPE_CHECKING:
    from cvjd_desktop.usage import CallRecord, Ledger, RowFilter

Index = QModelIndex | QPersistentModelIndex


def format_time(ts: datetime) -> str:
    """UTC, like the date filters, the chart's days and ``cvjd usage``."""
    return to_utc(ts).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Column:
    title: str
    field: str
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("Time (UTC)", "ts"),
    Column("Provider", "provider"),
    Column("Model", "model"),
    Column("Kind", "kind"),
    Column("File", "file_name"),
    Column("Status", "status"),
    Column("Total", "total_tokens", numeric=True),
    Column("Cost", "cost_usd", numeric=True),
    Column("Prompt", "prompt_tokens", numeric=True),
    Column("Completion", "completion_tokens", numeric=True),
    Column("Cached", "cached_tokens", numeric=True),
    Column("Reasoning", "reasoning_tokens", numeric=True),
    Column("Duration", "duration_ms", numeric=True),
    Column("Error", "error"),
)

RecordRole = Qt.ItemDataRole.UserRole + 1


class HistoryTableModel(QAbstractTableModel):
    """Ledger rows matching a ``RowFilter``, loaded lazily.

    Signals:
        loading_changed(bool): a page query started or ended.
        failed(str): a query raised; the message is for the status line.
        page_loaded(int): rows now loaded, after each page.
    """

    loading_changed = Signal(bool)
    failed = Signal(str)
    page_loaded = Signal(int)

    def __init__(
        self,
        ledger: Ledger,
        page_size: int = 200,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._ledger = ledger
        self._query = BackgroundCall(self)
        self._query.succeeded.connect(self._on_page)
        self._query.failed.connect(self._on_error)
        self._page_size = page_size
        self._rows: list[CallRecord] = []
        self._filters: RowFilter | None = None
        self._order_by = "ts"
        self._descending = True
        self._fetching = False
        self._exhausted = True

    # --- what callers read ----------------------------------------------------

    @property
    def rows_loaded(self) -> int:
        return len(self._rows)

    @property
    def exhausted(self) -> bool:
        """True once the last page came back short: every matching row is loaded."""
        return self._exhausted

    @property
    def loading(self) -> bool:
        return self._fetching

    @property
    def filters(self) -> RowFilter | None:
        return self._filters

    @property
    def order(self) -> tuple[str, bool]:
        return self._order_by, self._descending

    def record(self, row: int) -> CallRecord:
        return self._rows[row]

    # --- querying ---------------------------------------------------------------

    def set_filters(self, filters: RowFilter) -> None:
        self._filters = filters
        self._reload()

    def stop(self) -> None:
        """Drop and wait for a page query in flight (the window is closing).

        ``set_filters`` starts afresh afterwards.
        """
        self._query.cancel()
        self._query.wait()
        self._fetching = False
        self._exhausted = True

    def _reload(self) -> None:
        self._query.cancel()
        self.beginResetModel()
        self._rows = []
        self._exhausted = False
        self._fetching = False
        self.endResetModel()
        self._fetch_page()

    def _fetch_page(self) -> None:
        if self._fetching or self._exhausted or self._filters is None:
            return
        self._fetching = True
        self.loading_changed.emit(True)
        ledger, filters = self._ledger, self._filters
        offset, limit = len(self._rows), self._page_size
        order_by, descending = self._order_by, self._descending

        def query() -> list[CallRecord]:
            return ledger.query_rows(
                filters, offset=offset, limit=limit, order_by=order_by, descending=descending
            )

        self._query.submit(query)

    def _on_page(self, page: list[CallRecord]) -> None:
        self._fetching = False
        if len(page) < self._page_size:
            self._exhausted = True
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()
        self.loading_changed.emit(False)
        self.page_loaded.emit(len(self._rows))

    def _on_error(self, exc: BaseException) -> None:
        self._fetching = False
        self._exhausted = True
        self.loading_changed.emit(False)
        self.failed.emit(getattr(exc, "message", None) or f"Query failed: {exc}")

    # --- QAbstractTableModel -----------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and not self._exhausted and not self._fetching

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid():
            self._fetch_page()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self._order_by = COLUMNS[column].field
        self._descending = order == Qt.SortOrder.DescendingOrder
        if self._filters is not None:
            self._reload()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            column = COLUMNS[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.title
            if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.ToolTipRole and column.field == "ts":
                return "When the call was made, in UTC like the date filters"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column.field)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.field == "file_name":
                return record.file_path or record.file_name
            if column.field == "error" and record.error:
                return record.error
            if column.field == "cost_usd":
                return record.price_source or None
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == RecordRole:
            return record
        return None

    @staticmethod
    def _display(record: CallRecord, field: str) -> str:
        value = getattr(record, field, None)
        if field == "ts":
            return format_time(value) if isinstance(value, datetime) else ""
        if field == "cost_usd":
            return format_cost(value, record.price_source)
        if field == "duration_ms":
            return format_duration(value)
        if field.endswith("_tokens"):
            return format_tokens(value)
        if field == "error":
            return " ".join(str(value or "").split())
        return "" if value is None else str(value)
