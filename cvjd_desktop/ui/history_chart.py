"""Tokens or cost per day over the filtered range, stacked by model.

Fed by per-(day, model) totals from the ledger. Days without calls are drawn as
empty bars so the x axis is a true calendar; ranges longer than ``MAX_DAYS`` are
bucketed by month, since hundreds of hair-thin bars say nothing. Beyond
``MAX_MODELS`` models the smallest are folded into "other" to keep the legend
readable. Hovering a bar segment shows its model, bucket and value.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop.ui.formatting import format_tokens, format_usd

if TYPE_CHECKING:
    from cvjd_desktop.usage import UsageTotals

Metric = Literal["tokens", "cost"]
MAX_DAYS = 92
MAX_MODELS = 8
OTHER = "other"


def _bucket_keys(first: date, last: date) -> tuple[list[str], bool]:
    """Every bucket from ``first`` to ``last``: days, or months for long ranges."""
    if (last - first).days + 1 <= MAX_DAYS:
        days = (last - first).days + 1
        return [(first + timedelta(days=i)).isoformat() for i in range(days)], False
    keys = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys, True


def _value(totals: UsageTotals, metric: Metric) -> float:
    if metric == "tokens":
        return float(totals.total_tokens)
    return float(totals.known_cost_usd)


class UsageChart(QWidget):
    """A stacked bar chart with a tokens/cost switch and hover values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str, UsageTotals]] = []
        self._range: tuple[date | None, date | None] = (None, None)
        self.categories: list[str] = []
        self.by_month = False
        self.values: dict[str, list[float]] = {}
        self.unknown_cost_calls = 0
        self.hover_text = ""

        self.metric_box = QComboBox()
        self.metric_box.addItem("Tokens", "tokens")
        self.metric_box.addItem("Cost (USD)", "cost")
        self.metric_box.setAccessibleName("Chart metric")
        self.metric_box.currentIndexChanged.connect(self._rebuild)
        self.note = QLabel()
        self.note.setObjectName("chartNote")
        self.note.setWordWrap(True)

        self.chart = QChart()
        self.chart.legend().setVisible(True)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.layout().setContentsMargins(0, 0, 0, 0)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumHeight(160)

        self.empty = QLabel("No calls in this range.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)

        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.metric_box)
        top.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)

    @property
    def metric(self) -> Metric:
        return "cost" if self.metric_box.currentData() == "cost" else "tokens"

    def set_metric(self, metric: Metric) -> None:
        self.metric_box.setCurrentIndex(self.metric_box.findData(metric))

    def series(self) -> QStackedBarSeries | None:
        for series in self.chart.series():
            if isinstance(series, QStackedBarSeries):
                return series
        return None

    def set_data(
        self,
        rows: list[tuple[str, str, UsageTotals]],
        first: date | None = None,
        last: date | None = None,
    ) -> None:
        """Show ``(day, model, totals)`` rows over ``first``..``last`` (defaults: the data)."""
        self._rows = rows
        self._range = (first, last)
        self._rebuild()

    def _rebuild(self) -> None:
        metric = self.metric
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        self.values = {}
        self.categories = []
        self.hover_text = ""
        self.unknown_cost_calls = sum(t.unknown_cost_calls for _, _, t in self._rows)
        if not self._rows:
            self.stack.setCurrentWidget(self.empty)
            self.note.setText("")
            return

        days = sorted(date.fromisoformat(day) for day, _, _ in self._rows)
        first = self._range[0] or days[0]
        last = self._range[1] or days[-1]
        first, last = min(first, days[0]), max(last, days[-1])
        self.categories, self.by_month = _bucket_keys(first, last)
        position = {key: i for i, key in enumerate(self.categories)}

        per_model: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(self.categories))
        for day, model, totals in self._rows:
            key = day[:7] if self.by_month else day
            per_model[model][position[key]] += _value(totals, metric)
        ranked = sorted(per_model, key=lambda m: (-sum(per_model[m]), m))
        if len(ranked) > MAX_MODELS:
            other = [0.0] * len(self.categories)
            for model in ranked[MAX_MODELS - 1 :]:
                other = [a + b for a, b in zip(other, per_model[model], strict=True)]
            ranked = ranked[: MAX_MODELS - 1]
            self.values = {m: per_model[m] for m in ranked}
            self.values[OTHER] = other
        else:
            self.values = {m: per_model[m] for m in ranked}

        series = QStackedBarSeries()
        for model, values in self.values.items():
            bar_set = QBarSet(model)
            bar_set.append(values)
            bar_set.hovered.connect(
                lambda status, index, name=model: self._on_hover(status, index, name)
            )
            series.append(bar_set)
        self.chart.addSeries(series)

        axis_x = QBarCategoryAxis()
        axis_x.append([self._label(key) for key in self.categories])
        axis_x.setLabelsAngle(-60 if len(self.categories) > 14 else 0)
        axis_y = QValueAxis()
        axis_y.setLabelFormat("$%.2f" if metric == "cost" else "%.0f")
        peak = max((sum(col) for col in zip(*self.values.values(), strict=True)), default=0.0)
        axis_y.setRange(0, peak * 1.05 if peak > 0 else 1)
        axis_y.applyNiceNumbers()
        self.chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_x)
        series.attachAxis(axis_y)

        unit = "month" if self.by_month else "day"
        title = "Cost" if metric == "cost" else "Tokens"
        self.chart.setTitle(f"{title} per {unit} (UTC), by model")
        note = ""
        if metric == "cost" and self.unknown_cost_calls:
            note = (
                f"{self.unknown_cost_calls:,} calls have an unknown price and are not "
                "in these bars."
            )
        self.note.setText(note)
        self.stack.setCurrentWidget(self.view)

    def _label(self, key: str) -> str:
        if self.by_month:
            return key
        if len(self.categories) > 5:
            return key[5:]  # MM-DD: the year is in the range filter and the tooltip
        return key

    def describe(self, model: str, index: int) -> str:
        """What hovering ``model``'s segment at bucket ``index`` says."""
        value = self.values[model][index]
        bucket_total = sum(values[index] for values in self.values.values())
        shown, total = self._amount(value), self._amount(bucket_total)
        return f"{model}\n{self.categories[index]}: {shown}\nAll models: {total}"

    def _amount(self, value: float) -> str:
        if self.metric == "cost":
            return format_usd(value)
        return f"{format_tokens(round(value))} tokens"

    def _on_hover(self, status: bool, index: int, model: str) -> None:
        if not status:
            QToolTip.hideText()
            return
        self.hover_text = self.describe(model, index)
        QToolTip.showText(QCursor.pos(), self.hover_text, self.view)
