"""Budgets: warn from 80%, refuse at 100% with a message that says how to raise them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cvjd_desktop.config import Budget
from cvjd_desktop.errors import BudgetExceededError
from cvjd_desktop.schemas import TokenUsage
from cvjd_desktop.usage import BudgetGuard, CallRecord, Ledger, budget_status, price_call

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger() as led:
        yield led


def spend(
    ledger: Ledger,
    *,
    usd: float | None = 0.0,
    tokens: int = 0,
    provider: str = "openai",
    at: datetime = NOW - timedelta(hours=1),
) -> None:
    ledger.record(
        CallRecord(
            provider=provider,
            model="gpt-4o-mini" if provider == "openai" else "llama3.2:3b",
            status="ok",
            prompt_tokens=tokens,
            completion_tokens=0,
            total_tokens=tokens,
            cost_usd=usd,
            ts=at,
        )
    )


def guard(ledger: Ledger, *budgets: Budget) -> BudgetGuard:
    return BudgetGuard(ledger, list(budgets), now=lambda: NOW)


def test_refuses_at_100_percent_naming_the_limit_and_the_way_out(ledger: Ledger) -> None:
    spend(ledger, usd=0.60)
    spend(ledger, usd=0.42)
    g = guard(ledger, Budget(period="daily", usd=1.0, provider="openai"))
    with pytest.raises(BudgetExceededError) as info:
        g.before_call("openai", "gpt-4o-mini", 0)
    assert info.value.message == (
        "Daily OpenAI budget of $1.00 reached ($1.02 spent today); raise it in "
        "Preferences > Budgets or with `cvjd budget set --daily-usd N --provider openai`"
    )
    assert info.value.kind == "budget"


def test_warns_from_80_percent(ledger: Ledger) -> None:
    spend(ledger, usd=0.82)
    g = guard(ledger, Budget(period="daily", usd=1.0, provider="openai"))
    assert g.before_call("openai", "gpt-4o-mini", 0) == [
        "82% of the daily OpenAI budget of $1.00 used"
    ]
    assert g.after_call("openai") == ["82% of the daily OpenAI budget of $1.00 used"]


def test_below_80_percent_is_silent(ledger: Ledger) -> None:
    spend(ledger, usd=0.79)
    g = guard(ledger, Budget(period="daily", usd=1.0))
    assert g.before_call("openai", "gpt-4o-mini", 0) == []
    assert g.after_call("openai") == []


def test_monthly_token_budget_counts_every_provider_and_the_estimate(ledger: Ledger) -> None:
    spend(ledger, tokens=500_000, provider="openai", at=NOW - timedelta(days=8))
    spend(ledger, tokens=300_000, provider="ollama")
    spend(ledger, tokens=999_999, at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))  # last month
    g = guard(ledger, Budget(period="monthly", tokens=1_000_000))
    assert g.before_call("ollama", "llama3.2:3b", 20_000) == [
        "82% of the monthly budget of 1,000,000 tokens used"
    ]
    assert g.after_call("ollama") == ["80% of the monthly budget of 1,000,000 tokens used"]
    with pytest.raises(BudgetExceededError) as info:
        g.before_call("openai", "gpt-4o-mini", 200_000)
    assert info.value.message == (
        "Monthly budget of 1,000,000 tokens would be reached by this call (800,000 tokens "
        "used this month, about 200,000 tokens more for this one); raise it in "
        "Preferences > Budgets or with `cvjd budget set --monthly-tokens N`"
    )


def test_periods_are_the_utc_day_and_the_utc_month(ledger: Ledger) -> None:
    spend(ledger, usd=5.0, at=datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC))
    spend(ledger, usd=0.1, at=datetime(2026, 3, 10, 0, 0, tzinfo=UTC))
    g = guard(ledger, Budget(period="daily", usd=4.0), Budget(period="monthly", usd=10.0))
    assert g.before_call("openai", "gpt-4o-mini", 0) == []
    spend(ledger, usd=3.0)  # today 3.1 of 4 (77%), this month 8.1 of 10
    assert g.before_call("openai", "gpt-4o-mini", 0) == ["81% of the monthly budget of $10.00 used"]
    spend(ledger, usd=0.9)
    with pytest.raises(
        BudgetExceededError, match=r"^Daily budget of \$4.00 reached \(\$4.00 spent"
    ):
        g.before_call("openai", "gpt-4o-mini", 0)


def test_provider_budget_leaves_other_providers_alone(ledger: Ledger) -> None:
    spend(ledger, usd=2.0, tokens=10_000)
    g = guard(ledger, Budget(period="daily", usd=1.0, provider="openai"))
    assert g.before_call("ollama", "llama3.2:3b", 1_000) == []
    with pytest.raises(BudgetExceededError):
        g.before_call("openai", "gpt-4o-mini", 1_000)


def test_usd_budget_never_refuses_a_free_local_call(ledger: Ledger) -> None:
    spend(ledger, usd=2.0)
    g = guard(ledger, Budget(period="daily", usd=1.0))
    assert g.before_call("ollama", "llama3.2:3b", 5_000) == []
    with pytest.raises(BudgetExceededError):
        g.before_call("openai", "gpt-4o-mini", 5_000)


def test_usd_estimate_prices_the_prompt(ledger: Ledger) -> None:
    prompt = 100_000
    cost = price_call(TokenUsage(prompt_tokens=prompt, model="gpt-4o-mini"), "openai").cost_usd
    assert cost is not None and cost > 0
    g = guard(ledger, Budget(period="daily", usd=cost * 0.99))
    with pytest.raises(BudgetExceededError, match="would be reached by this call"):
        g.before_call("openai", "gpt-4o-mini", prompt)
    assert g.before_call("openai", "unknown-model-xyz", prompt) == []  # unknown price: no estimate


def test_after_call_says_when_a_limit_is_reached(ledger: Ledger) -> None:
    spend(ledger, usd=1.5)
    g = guard(ledger, Budget(period="daily", usd=1.0, provider="openai"))
    assert g.after_call("openai") == [
        "Daily OpenAI budget of $1.00 reached ($1.50 spent today); "
        "further extractions will be refused"
    ]


def test_zero_limit_refuses_everything_it_covers(ledger: Ledger) -> None:
    g = guard(ledger, Budget(period="daily", tokens=0))
    with pytest.raises(BudgetExceededError, match="budget of 0 tokens reached"):
        g.before_call("ollama", "llama3.2:3b", 10)


def test_budget_status_for_the_cli(ledger: Ledger) -> None:
    spend(ledger, usd=0.25, tokens=1_000)
    spend(ledger, usd=0.5, tokens=3_000, at=datetime(2026, 3, 1, tzinfo=UTC))
    status = budget_status(
        ledger,
        [Budget(period="daily", usd=1.0, tokens=4_000, provider="openai"),
         Budget(period="monthly", usd=2.0)],
        now=NOW,
    )  # fmt: skip
    assert status == [
        {
            "period": "daily",
            "provider": "openai",
            "unit": "usd",
            "limit": 1.0,
            "used": pytest.approx(0.25),
            "fraction": pytest.approx(0.25),
            "since": "2026-03-10T00:00:00+00:00",
        },
        {
            "period": "daily",
            "provider": "openai",
            "unit": "tokens",
            "limit": 4_000,
            "used": 1_000,
            "fraction": 0.25,
            "since": "2026-03-10T00:00:00+00:00",
        },
        {
            "period": "monthly",
            "provider": None,
            "unit": "usd",
            "limit": 2.0,
            "used": pytest.approx(0.75),
            "fraction": pytest.approx(0.375),
            "since": "2026-03-01T00:00:00+00:00",
        },
    ]
