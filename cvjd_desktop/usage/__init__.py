"""The usage ledger: every provider call recorded, priced, aggregated and budgeted.

Public API (other layers import only these names from ``cvjd_desktop.usage``):

- ``Ledger(path)``: the SQLite ledger. ``record(CallRecord) -> int`` commits one row
  before returning; ``totals(by=..., since=..., until=..., **filters) ->
  list[UsageTotals]``; ``query_rows(filters, offset, limit, order_by)`` and
  ``count_rows(filters)`` for the history window; ``spend(since, provider)``;
  ``recovered_from`` tells where a corrupt ledger was moved on open.
- ``price_call(usage, provider, base_url=None) -> PriceQuote``: cost frozen at call time.
- ``BudgetGuard(ledger, budgets)``: ``before_call(provider, estimated_tokens)`` raises
  ``BudgetExceededError`` at 100% and returns warnings at 80%; ``after_call(provider)``
  returns warnings.
"""
