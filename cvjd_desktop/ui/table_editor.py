"""The frame of the Preferences tables (budgets, price overrides).

An explanation above, an editable table, Add and Remove under it, and one line for
the first error found. What a row means, and how it is checked, belongs to the
subclass.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

ERROR_STYLE = "color: #c0392b;"


def number_item(text: str) -> QTableWidgetItem:
    """A cell for an amount: right-aligned, so digits line up."""
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class TableEditor(QWidget):
    """A table with Add and Remove; ``buttons`` takes any further buttons.

    The subclass connects ``add_button`` (what a new row holds is its business) and
    sets the columns' resize modes.
    """

    def __init__(
        self,
        intro: str,
        columns: Sequence[str],
        accessible_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        intro_label = QLabel(intro)
        intro_label.setWordWrap(True)
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(list(columns))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAccessibleName(accessible_name)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.error_label = QLabel()
        self.error_label.setObjectName("fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)

        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.add_button)
        self.buttons.addWidget(self.remove_button)
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(self.buttons)
        layout.addWidget(self.error_label)

    def remove_selected(self) -> list[int]:
        """Remove the selected rows, or else the current one; returns the rows removed."""
        rows = {index.row() for index in self.table.selectedIndexes()}
        current = self.table.currentRow()
        if not rows and current >= 0:
            rows = {current}
        removed = sorted(rows, reverse=True)
        for row in removed:
            self.table.removeRow(row)
        return removed
