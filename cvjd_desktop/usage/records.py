"""The plain values the ledger takes and gives: one call, a row filter, a group's totals.

They carry no SQL and no behaviour beyond conversions, so the UI's item models, the
CLI and the budget guard can build and read them without touching SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvjd_desktop.schemas import TokenUsage
    from cvjd_desktop.usage.prices import PriceQuote

STATUSES = ("ok", "error", "cancelled")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000


def to_utc(ts: datetime) -> datetime:
    """Aware UTC for any datetime; a naive one is taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def to_ms(ts: datetime) -> int:
    """Epoch milliseconds: integer arithmetic, so no float rounding moves a row's day."""
    return (to_utc(ts) - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


@dataclass
class CallRecord:
    """One provider call as the ledger keeps it, failed and cancelled ones included.

    ``cost_usd`` is the price in force when the call was made: it is stored, never
    recomputed, so later price changes or overrides do not rewrite history.
    ``ts`` is kept to the millisecond.
    """

    provider: str
    model: str | None
    status: str  # "ok" | "error" | "cancelled"
    prompt_tokens: int | None = 0  # None = the provider did not report it
    completion_tokens: int | None = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None  # None = unknown price
    price_source: str | None = None  # "genai-prices" | "override" | "local" | "unknown"
    kind: str | None = None  # "cv" | "jd"
    file_name: str | None = None
    file_path: str | None = None
    file_sha256: str | None = None
    error_kind: str | None = None
    error: str | None = None
    duration_ms: int = 0
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None

    @classmethod
    def from_usage(
        cls, usage: TokenUsage, quote: PriceQuote, *, status: str, **kw: Any
    ) -> CallRecord:
        """Build a row from a provider's TokenUsage and the quote priced for it.

        ``provider`` and ``model`` default to what the usage names; any other field
        of the record can be given as a keyword.
        """
        provider = kw.pop("provider", None) or usage.provider
        if not provider:
            raise ValueError("a call record needs a provider")
        model = kw.pop("model", None) or usage.model
        return cls(
            provider=provider,
            model=model,
            status=status,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost_usd=quote.cost_usd,
            price_source=quote.source,
            **kw,
        )


@dataclass
class RowFilter:
    """Which rows a report or the history window looks at. Every field narrows."""

    since: datetime | None = None  # inclusive; naive = UTC
    until: datetime | None = None  # exclusive
    provider: str | None = None
    model: str | None = None
    kind: str | None = None
    status: str | None = None
    search: str | None = None  # case-insensitive substring of file_name


NO_MODEL = "(unknown)"
"""The group key of calls whose model was never known."""

_TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


@dataclass
class UsageTotals:
    """Sums over one group of calls (a model, a provider, a UTC day, or everything).

    ``failed`` counts every call that did not succeed (errors and cancellations), so
    ``calls == succeeded + failed``. Token sums count a count the provider left out
    as 0. ``known_cost_usd`` sums the calls whose price was known;
    ``unknown_cost_calls`` says how many were not, and then ``cost_usd`` is None:
    a partial sum shown as the cost would understate it.
    """

    key: str
    calls: int = 0
    succeeded: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    known_cost_usd: float = 0.0
    unknown_cost_calls: int = 0

    @property
    def cost_usd(self) -> float | None:
        return None if self.unknown_cost_calls else self.known_cost_usd

    def add(self, other: UsageTotals) -> None:
        """Fold ``other`` into this group (used to merge partial-range sums)."""
        self.calls += other.calls
        self.succeeded += other.succeeded
        self.failed += other.failed
        for name in _TOKEN_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.known_cost_usd += other.known_cost_usd
        self.unknown_cost_calls += other.unknown_cost_calls

    def to_dict(self, by: str) -> dict[str, Any]:
        """The ``cvjd usage --json`` shape, keyed by ``by`` ("model", "provider", "day")."""
        return {
            by: self.key,
            "calls": self.calls,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": self.cost_usd,
            "unknown_cost_calls": self.unknown_cost_calls,
        }
