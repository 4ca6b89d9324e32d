"""Per-(UTC day, model) totals for the history chart, from the ledger's public API.

The ledger groups by one key at a time, so this asks for the per-model totals and
then each model's per-day totals (each one a query the ledger answers from its daily
rollup, cheap even over a million rows). Calls whose model was never known cannot be
selected by a model filter; their days are what remains of all calls once every
named model is taken away. No Qt here: it runs on a worker thread.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cvjd_desktop.usage.records import NO_MODEL, RowFilter, UsageTotals

if TYPE_CHECKING:
    from cvjd_desktop.usage import Ledger

# Every summed field: a field added to UsageTotals is subtracted too.
_COUNTS = tuple(f.name for f in dataclasses.fields(UsageTotals) if f.name != "key")


def _minus(total: UsageTotals, part: UsageTotals) -> UsageTotals:
    values = {name: getattr(total, name) - getattr(part, name) for name in _COUNTS}
    return UsageTotals(key=total.key, **values)


def totals_by_day_and_model(
    ledger: Ledger, filters: RowFilter | None = None
) -> list[tuple[str, str, UsageTotals]]:
    """``(day "YYYY-MM-DD", model, totals)`` for every day and model with calls, sorted."""
    filters = filters or RowFilter()
    rows: list[tuple[str, str, UsageTotals]] = []
    named: dict[str, UsageTotals] = {}
    has_unknown = False
    for group in ledger.totals(by="model", filters=filters):
        if group.key == NO_MODEL:
            has_unknown = True
            continue
        for day in ledger.totals(by="day", filters=dataclasses.replace(filters, model=group.key)):
            rows.append((day.key, group.key, day))
            if day.key in named:
                named[day.key].add(day)
            else:
                named[day.key] = dataclasses.replace(day)
    if has_unknown:
        for day in ledger.totals(by="day", filters=filters):
            rest = _minus(day, named[day.key]) if day.key in named else day
            if rest.calls > 0:
                rows.append((day.key, NO_MODEL, rest))
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows
