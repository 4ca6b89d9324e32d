"""The usage ledger: every provider call recorded, priced, aggregated and budgeted.

Other layers import only these names from ``cvjd_desktop.usage``:

- ``Ledger(path=None)``: the SQLite ledger (``db.py`` says why WAL + FULL sync,
  epoch-ms timestamps and a daily rollup). ``record(CallRecord) -> int`` commits one
  row before returning; ``totals(by, filters)``, ``grand_total(filters)``,
  ``query_rows(filters, offset=, limit=, order_by=, descending=)``,
  ``count_rows(filters)``, ``distinct(column)``, ``spend(since, until, provider)``,
  ``backup_and_clear()``; ``recovered_from`` tells where a corrupt ledger was moved.
- ``CallRecord``, ``RowFilter``, ``UsageTotals``: plain values in and out.
- ``price_call(usage, provider, base_url=None) -> PriceQuote``: the cost frozen into
  the row (overrides file, then Ollama $0 "local", then genai-prices offline, else
  unknown).
- ``BudgetGuard(ledger, budgets)``: ``before_call(provider, model, estimate)`` raises
  ``BudgetExceededError`` at 100% and returns warnings from 80%;
  ``after_call(provider)`` returns warnings. ``budget_status`` for ``cvjd budget show``.
"""

from cvjd_desktop.usage.budgets import BudgetGuard, budget_status
from cvjd_desktop.usage.ledger import Ledger
from cvjd_desktop.usage.prices import PriceQuote, price_call
from cvjd_desktop.usage.records import CallRecord, RowFilter, UsageTotals

__all__ = [
    "BudgetGuard",
    "CallRecord",
    "Ledger",
    "PriceQuote",
    "RowFilter",
    "UsageTotals",
    "budget_status",
    "price_call",
]
