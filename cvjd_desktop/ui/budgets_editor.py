"""Edit spending limits: daily or monthly, in USD and/or tokens, overall or per provider.

Each row becomes a ``config.Budget``. An empty amount means "no limit of that kind";
a row with neither amount is refused, since it would limit nothing and look like it
does. Checking happens in the engine (``usage.budgets``); this only edits the list.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop.config import PROVIDERS, Budget

COLUMNS = ("Period", "Provider", "Limit (USD)", "Limit (tokens)")
PERIODS = (("daily", "Daily"), ("monthly", "Monthly"))
PROVIDER_LABELS = {"ollama": "Ollama", "openai": "OpenAI"}


class BudgetsEditor(QWidget):
    """A table of budgets with add and remove."""

    def __init__(self, budgets: list[Budget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = QLabel(
            "At 80% of a limit a warning appears; at 100% new extractions are refused "
            "until the period ends or the limit is raised. Days and months are UTC."
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Budgets")
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self.add_budget(Budget(period="daily")))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.error_label = QLabel()
        self.error_label.setObjectName("fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.error_label)
        self.set_budgets(budgets)

    def set_budgets(self, budgets: list[Budget]) -> None:
        self.table.setRowCount(0)
        self.error_label.clear()
        for budget in budgets:
            self.add_budget(budget)

    def add_budget(self, budget: Budget) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        period = QComboBox()
        for key, label in PERIODS:
            period.addItem(label, key)
        period.setCurrentIndex(period.findData(budget.period))
        provider = QComboBox()
        provider.addItem("All providers", None)
        for name in PROVIDERS:
            provider.addItem(PROVIDER_LABELS.get(name, name), name)
        provider.setCurrentIndex(provider.findData(budget.provider))
        self.table.setCellWidget(row, 0, period)
        self.table.setCellWidget(row, 1, provider)
        usd_text = "" if budget.usd is None else f"{budget.usd:f}".rstrip("0").rstrip(".")
        tokens_text = "" if budget.tokens is None else f"{budget.tokens:,}"
        for column, text in ((2, usd_text), (3, tokens_text)):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        return row

    def remove_selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        current = self.table.currentRow()
        if not rows and current >= 0:
            rows = {current}
        for row in sorted(rows, reverse=True):
            self.table.removeRow(row)

    def set_cell(self, row: int, column: int, text: str) -> None:
        item = self.table.item(row, column)
        if item is not None:
            item.setText(text)

    def budgets(self) -> tuple[list[Budget] | None, str | None]:
        """The budgets in the table, or an error naming the first bad row."""
        result: list[Budget] = []
        for row in range(self.table.rowCount()):
            period = self.table.cellWidget(row, 0)
            provider = self.table.cellWidget(row, 1)
            assert isinstance(period, QComboBox) and isinstance(provider, QComboBox)
            usd_text = (self.table.item(row, 2) or QTableWidgetItem()).text().strip()
            tokens_text = (self.table.item(row, 3) or QTableWidgetItem()).text().strip()
            where = f"Row {row + 1}"
            usd: float | None = None
            tokens: int | None = None
            if usd_text:
                try:
                    usd = float(usd_text.lstrip("$").replace(",", ""))
                except ValueError:
                    return None, f"{where}: the USD limit must be a number, like 5 or 2.50."
                if not usd >= 0 or usd == float("inf"):
                    return None, f"{where}: the USD limit must be zero or more."
            if tokens_text:
                try:
                    tokens = int(tokens_text.replace(",", "").replace("_", ""))
                except ValueError:
                    return None, f"{where}: the token limit must be a whole number."
                if tokens < 0:
                    return None, f"{where}: the token limit must be zero or more."
            if usd is None and tokens is None:
                return None, f"{where}: give a USD limit, a token limit, or both."
            result.append(
                Budget(
                    period=period.currentData(),
                    usd=usd,
                    tokens=tokens,
                    provider=provider.currentData(),
                )
            )
        return result, None

    def validate(self) -> list[Budget] | None:
        budgets, error = self.budgets()
        self.error_label.setText(error or "")
        return budgets
