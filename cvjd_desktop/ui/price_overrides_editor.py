"""Edit the price overrides file as a table: one row per (scope, model) price.

The file's format belongs to ``cvjd_desktop.usage.prices`` (USD per million tokens
in three tables: ``models`` for any provider, ``providers.<name>``, and
``hosts.<host:port>`` for one OpenAI-compatible server). Here a row's "Applies to"
cell picks the table: empty for any provider, ``openai`` or ``ollama`` for a
provider, anything else for a host. The file is rewritten only when the table was
changed, so a hand-formatted file survives opening the dialog; a file that is not
valid JSON is never overwritten (the user is sent to fix it in an editor).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHeaderView, QPushButton, QTableWidgetItem, QWidget

from cvjd_desktop import config
from cvjd_desktop.ui.table_editor import TableEditor, number_item

COLUMNS = ("Applies to", "Model", "Input $/M", "Cached input $/M", "Output $/M")
PROVIDER_SCOPES = ("openai", "ollama")
EMPTY_FILE = {"models": {}, "providers": {}, "hosts": {}}


def _number_text(value: Any) -> str:
    """A price as typed: ``0.5``, ``2``, never ``5e-05``."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.9f}".rstrip("0").rstrip(".")
    return str(value)


def rows_from_file(data: dict[str, Any]) -> list[tuple[str, str, Any, Any, Any]]:
    """``(scope, model, input, cached_input, output)`` rows from the file's tables."""
    rows: list[tuple[str, str, Any, Any, Any]] = []

    def add(scope: str, table: Any) -> None:
        if not isinstance(table, dict):
            return
        for model, price in table.items():
            if isinstance(price, dict):
                rows.append(
                    (
                        scope,
                        str(model),
                        price.get("input"),
                        price.get("cached_input"),
                        price.get("output"),
                    )
                )

    add("", data.get("models", {}))
    for section in ("providers", "hosts"):
        tables = data.get(section, {})
        if isinstance(tables, dict):
            for scope, table in tables.items():
                add(str(scope), table)
    return rows


class PriceOverridesEditor(TableEditor):
    """The overrides table with add, remove and "open the file"."""

    def __init__(self, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(
            "Prices in US dollars per million tokens, for models the built-in price list "
            "does not know or prices you negotiated. Leave “Applies to” empty for any "
            "provider, or name a provider (openai, ollama) or a server (host:port). "
            "Empty cached input means the input price. Calls already recorded keep "
            "the price they had.",
            COLUMNS,
            "Price overrides",
            parent,
        )
        self.path = path or config.price_overrides_path()
        self.dirty = False
        self._extra: dict[str, Any] = {}
        self.file_broken = False
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._changed)
        self.add_button.clicked.connect(lambda: self.add_row())
        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip(str(self.path))
        self.open_button.clicked.connect(self.open_file)
        self.buttons.addWidget(self.open_button)
        self.reload()

    # --- reading -----------------------------------------------------------------------

    def reload(self) -> None:
        """Fill the table from the file (a missing file is an empty table)."""
        self.file_broken = False
        self.error_label.clear()
        data: dict[str, Any] = {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("the file is not a JSON object")
            data = raw
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.file_broken = True
            self.error_label.setText(
                f"The price overrides file cannot be read ({exc}). Fix it with “Open file…”; "
                "the table will not overwrite it."
            )
        self._extra = {k: v for k, v in data.items() if k not in EMPTY_FILE}
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for row in rows_from_file(data):
            self._append(*(_number_text(v) if i >= 2 else v for i, v in enumerate(row)))
        self.table.blockSignals(False)
        self.table.setEnabled(not self.file_broken)
        self.add_button.setEnabled(not self.file_broken)
        self.remove_button.setEnabled(not self.file_broken)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.dirty = False

    def _append(self, *cells: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate(cells):
            item = number_item(text) if column >= 2 else QTableWidgetItem(text)
            self.table.setItem(row, column, item)
        return row

    # --- editing -----------------------------------------------------------------------

    def add_row(self, *cells: str) -> int:
        """Append a row (empty, or ``scope, model, input, cached, output``); returns it."""
        texts = [*cells, *[""] * (len(COLUMNS) - len(cells))]
        self.table.blockSignals(True)
        row = self._append(*texts)
        self.table.blockSignals(False)
        self.dirty = True
        if not cells:
            self.table.setCurrentCell(row, 1)
            self.table.editItem(self.table.item(row, 1))
        return row

    def remove_selected(self) -> list[int]:
        removed = super().remove_selected()
        if removed:
            self.dirty = True
        return removed

    def _changed(self) -> None:
        self.dirty = True
        self.error_label.clear()

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def to_data(self) -> tuple[dict[str, Any] | None, str | None]:
        """The file's content for the table, or an error naming the first bad row."""
        data: dict[str, Any] = {"models": {}, "providers": {}, "hosts": {}, **self._extra}
        seen: set[tuple[str, str]] = set()
        for row in range(self.table.rowCount()):
            scope, model = self._cell(row, 0), self._cell(row, 1)
            texts = [self._cell(row, c) for c in (2, 3, 4)]
            if not model and not any(texts) and not scope:
                continue  # an empty row left by "Add"
            where = f"Row {row + 1}"
            if not model:
                return None, f"{where}: a model name is needed."
            prices: dict[str, float] = {}
            for key, text in zip(("input", "cached_input", "output"), texts, strict=True):
                if not text and key == "cached_input":
                    continue
                try:
                    value = float(text)
                except ValueError:
                    label = COLUMNS[2 + ("input", "cached_input", "output").index(key)]
                    return None, f"{where}: {label} must be a number (USD per million tokens)."
                if not math.isfinite(value) or value < 0:
                    return None, f"{where}: prices must be zero or more."
                prices[key] = value
            identity = (scope.lower(), model.lower())
            if identity in seen:
                return None, f"{where}: {model} is listed twice for the same scope."
            seen.add(identity)
            if not scope:
                data["models"][model] = prices
            elif scope.lower() in PROVIDER_SCOPES:
                data["providers"].setdefault(scope.lower(), {})[model] = prices
            else:
                data["hosts"].setdefault(scope.lower(), {})[model] = prices
        for section in ("providers", "hosts"):
            if not data[section]:
                del data[section]
        return data, None

    def validate(self) -> bool:
        if self.file_broken or not self.dirty:
            return True
        _data, error = self.to_data()
        self.error_label.setText(error or "")
        return error is None

    def save(self) -> bool:
        """Write the file if the table changed; False (with a message) when invalid."""
        if self.file_broken or not self.dirty:
            return True
        data, error = self.to_data()
        if error is not None or data is None:
            self.error_label.setText(error or "")
            return False
        config.atomic_write_text(self.path, json.dumps(data, indent=2) + "\n")
        self.dirty = False
        return True

    def open_file(self) -> bool:
        """Open the file in the user's editor, creating an empty one if needed."""
        if not self.path.exists():
            config.atomic_write_text(self.path, json.dumps(EMPTY_FILE, indent=2) + "\n")
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
