"""Spending limits, checked against the ledger before and after every call.

Periods are UTC: "daily" is the current UTC day from 00:00, "monthly" the current
UTC calendar month from the 1st at 00:00. Using UTC everywhere keeps a budget, the
ledger's day grouping and ``cvjd usage --by day`` in agreement whatever the machine's
time zone (a user east of Greenwich sees the day roll over in their morning).

What counts:

- **Tokens**: every recorded call's ``total_tokens``, failed ones included, plus, before
  a call, the caller's estimate of this call's prompt (``llm.base.estimate_tokens``
  over the system prompt, schema and document: about four characters a token, erring
  high). The answer's length is not guessed.
- **USD**: the known recorded costs (unknown-priced calls cannot be counted, but do
  count towards token limits), plus this call's prompt estimate priced at the
  model's input price when that price is known. A call priced "local" (Ollama)
  spends no money, so USD limits never refuse it; token limits do.

``before_call`` refuses at 100% (``BudgetExceededError``, naming the limit and how to
raise it) and warns from 80%; ``after_call`` only warns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cvjd_desktop.config import PROVIDER_LABELS, Budget
from cvjd_desktop.errors import BudgetExceededError
from cvjd_desktop.schemas import TokenUsage
from cvjd_desktop.usage.ledger import Ledger
from cvjd_desktop.usage.prices import SOURCE_LOCAL, price_call
from cvjd_desktop.usage.records import to_utc

WARN_AT = 0.8

Unit = Literal["usd", "tokens"]


@dataclass(frozen=True)
class Limit:
    """One number to stay under: a budget has up to two (USD and tokens)."""

    period: Literal["daily", "monthly"]
    unit: Unit
    amount: float
    provider: str | None

    def describe(self) -> str:
        """``daily OpenAI budget of $1.00``."""
        who = f"{PROVIDER_LABELS.get(self.provider, self.provider)} " if self.provider else ""
        return f"{self.period} {who}budget of {_amount(self.unit, self.amount)}"

    def how_to_raise(self) -> str:
        flag = f"--{self.period}-{'usd' if self.unit == 'usd' else 'tokens'} N"
        provider = f" --provider {self.provider}" if self.provider else ""
        return f"raise it in Preferences > Budgets or with `cvjd budget set {flag}{provider}`"

    def fraction(self, used: float) -> float:
        if self.amount <= 0:
            return 1.0
        return used / self.amount


def limits_of(budgets: list[Budget], provider: str | None = None) -> list[Limit]:
    """The limits that apply to a call to ``provider`` (all of them when None)."""
    found: list[Limit] = []
    for budget in budgets:
        if provider is not None and budget.provider not in (None, provider):
            continue
        if budget.usd is not None:
            found.append(Limit(budget.period, "usd", budget.usd, budget.provider))
        if budget.tokens is not None:
            found.append(Limit(budget.period, "tokens", budget.tokens, budget.provider))
    return found


def period_start(period: str, now: datetime) -> datetime:
    now = to_utc(now)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.replace(day=1) if period == "monthly" else start


def _amount(unit: Unit, value: float) -> str:
    if unit == "tokens":
        return f"{round(value):,} tokens"
    if 0 < value < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def _used_phrase(limit: Limit, used: float) -> str:
    when = "today" if limit.period == "daily" else "this month"
    verb = "spent" if limit.unit == "usd" else "used"
    return f"{_amount(limit.unit, used)} {verb} {when}"


_Memo = dict[tuple[str, str | None], tuple[float, int]]


def _used(ledger: Ledger, limit: Limit, now: datetime, memo: _Memo) -> float:
    """Recorded use in the limit's current period (one query per period and provider)."""
    key = (limit.period, limit.provider)
    if key not in memo:
        memo[key] = ledger.spend(period_start(limit.period, now), provider=limit.provider)
    usd, tokens = memo[key]
    return usd if limit.unit == "usd" else tokens


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _percent(fraction: float) -> int:
    """Rounded down, so 79.6% never reads as a warning-level "80%"."""
    return int(fraction * 100)


class BudgetGuard:
    """Checks the settings' budgets against the ledger around each call.

    Args:
        ledger: where recorded use is read from.
        budgets: ``Settings.budgets``.
        now: the clock (tests pass a fixed one); aware UTC or naive UTC.
        base_url, overrides_path: passed to ``price_call`` when estimating what the
            prompt of the next call will cost.
    """

    def __init__(
        self,
        ledger: Ledger,
        budgets: list[Budget],
        *,
        now: Callable[[], datetime] | None = None,
        base_url: str | None = None,
        overrides_path: Path | None = None,
    ) -> None:
        self.ledger = ledger
        self.budgets = list(budgets)
        self._now = now or (lambda: datetime.now(UTC))
        self._base_url = base_url
        self._overrides_path = overrides_path

    def before_call(self, provider: str, model: str, estimated_prompt_tokens: int) -> list[str]:
        """Raise ``BudgetExceededError`` if this call would reach a limit; else warnings."""
        limits = limits_of(self.budgets, provider)
        if not limits:
            return []
        quote = price_call(
            TokenUsage(
                prompt_tokens=estimated_prompt_tokens,
                completion_tokens=0,
                model=model,
                provider=provider,
            ),
            provider,
            base_url=self._base_url,
            overrides_path=self._overrides_path,
        )
        now = self._now()
        memo: _Memo = {}
        warnings: list[str] = []
        for limit in limits:
            if limit.unit == "usd":
                if quote.source == SOURCE_LOCAL:
                    continue  # no money changes hands
                extra = quote.cost_usd or 0.0
            else:
                extra = float(estimated_prompt_tokens)
            used = _used(self.ledger, limit, now, memo)
            projected = used + extra
            if projected >= limit.amount:
                raise BudgetExceededError(_refusal(limit, used, extra))
            fraction = limit.fraction(projected)
            if fraction >= WARN_AT:
                warnings.append(f"{_percent(fraction)}% of the {limit.describe()} used")
        return warnings

    def after_call(self, provider: str) -> list[str]:
        """Warnings once the call is recorded: at 80%, and when a limit is now reached."""
        now = self._now()
        memo: _Memo = {}
        warnings: list[str] = []
        for limit in limits_of(self.budgets, provider):
            used = _used(self.ledger, limit, now, memo)
            fraction = limit.fraction(used)
            if fraction >= 1.0:
                warnings.append(
                    f"{_capitalized(limit.describe())} reached "
                    f"({_used_phrase(limit, used)}); further extractions will be refused"
                )
            elif fraction >= WARN_AT:
                warnings.append(f"{_percent(fraction)}% of the {limit.describe()} used")
        return warnings


def _refusal(limit: Limit, used: float, extra: float) -> str:
    text = _capitalized(limit.describe())
    if used >= limit.amount:
        return f"{text} reached ({_used_phrase(limit, used)}); {limit.how_to_raise()}"
    return (
        f"{text} would be reached by this call ({_used_phrase(limit, used)}, about "
        f"{_amount(limit.unit, extra)} more for this one); {limit.how_to_raise()}"
    )


def budget_status(
    ledger: Ledger, budgets: list[Budget], now: datetime | None = None
) -> list[dict[str, Any]]:
    """One entry per limit for ``cvjd budget show`` and the preferences dialog.

    Keys: ``period``, ``provider`` (None = all), ``unit`` ("usd" | "tokens"),
    ``limit``, ``used``, ``fraction`` (1.0 for a zero limit), ``since`` (ISO UTC).
    """
    now = to_utc(now) if now is not None else datetime.now(UTC)
    memo: _Memo = {}
    status = []
    for limit in limits_of(budgets):
        used = _used(ledger, limit, now, memo)
        status.append(
            {
                "period": limit.period,
                "provider": limit.provider,
                "unit": limit.unit,
                "limit": limit.amount,
                "used": used,
                "fraction": limit.fraction(used),
                "since": period_start(limit.period, now).isoformat(),
            }
        )
    return status
