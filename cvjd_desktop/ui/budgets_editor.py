"""Edit spending limits: daily or monthly, in USD and/or tokens, overall or per provider.

Each row becomes a ``config.Budget``. An empty amount means "no limit of that kind";
a row with neither amount is refused, since it would limit nothing and look like it
does. Checking happens in the engine (``usage.budgets``); this only edits the list.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHeaderView, QTableWidgetItem, QWidget

from cvjd_desktop.config import PROVIDER_LABELS, PROVIDERS, Budget
from cvjd_desktop.ui.table_editor import TableEditor, number_item

COLUMNS = ("Period", "Provider", "Limit (USD)", "Limit (tokens)")
PERIODS = (("daily", "Daily"), ("monthly", "Monthly"))


class BudgetsEditor(TableEditor):
    """A table of budgets with add and remove."""

    def __init__(self, budgets: list[Budget], parent: QWidget | None = None) -> None:
        super().__init__(
            "At 80% of a limit a warning appears; at 100% new extractions are refused "
            "until the period ends or the limit is raised. Days and months are UTC.",
            COLUMNS,
            "Budgets",
            parent,
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.add_button.clicked.connect(lambda: self.add_budget(Budget(period="daily")))
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
            self.table.setItem(row, column, number_item(text))
        return row

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
