"""How numbers, money and durations read everywhere in the window.

One module so the job list, the result view, the usage panel and the history window
never disagree on how a cost or a token count looks. Pure functions, no Qt: they are
trivially testable and usable from item models.

An unknown value is shown as an em dash, never as zero: a price we do not know is
not a free call.
"""

from __future__ import annotations

UNKNOWN = "—"

# Where a price came from, as the ledger records it, and how the user should read it.
_LOCAL_SOURCES = {"local", "ollama"}


def format_tokens(n: int | None) -> str:
    """``12,345``; ``—`` when the provider did not report the count."""
    if n is None:
        return UNKNOWN
    return f"{n:,}"


def format_usd(usd: float) -> str:
    """Dollars with enough digits to see a cheap call: ``$0.0123``, ``$0.000150``, ``$12.34``.

    Cents are the wrong unit for LLM calls: most cost a fraction of one, so rounding to
    cents would show a day of work as ``$0.00``.
    """
    if usd == 0:
        return "$0.00"
    sign = "-" if usd < 0 else ""
    value = abs(usd)
    if value >= 1:
        return f"{sign}${value:,.2f}"
    if value >= 0.0001:
        return f"{sign}${value:.4f}"
    return f"{sign}${value:.6f}"


def format_cost(usd: float | None, source: str | None = None) -> str:
    """One call's (or one group's) cost; ``—`` when the price is unknown.

    Args:
        usd: the cost in US dollars, ``None`` when the model's price is unknown.
        source: where the price came from; a local model reads ``$0.00 (local)`` so
            nobody wonders whether the zero is a bug.
    """
    if usd is None:
        return UNKNOWN
    if source and source.lower() in _LOCAL_SOURCES and usd == 0:
        return "$0.00 (local)"
    return format_usd(usd)


def format_cost_total(known_usd: float | None, unknown_calls: int) -> str:
    """A total that is honest about calls it cannot price.

    ``$0.0123``, ``$0.0123 + 2 calls of unknown price``, or, when nothing known was
    spent, ``— (2 calls of unknown price)``.
    """
    known = known_usd or 0.0
    if unknown_calls <= 0:
        return format_usd(known)
    calls = "1 call" if unknown_calls == 1 else f"{unknown_calls:,} calls"
    if known == 0:
        return f"{UNKNOWN} ({calls} of unknown price)"
    return f"{format_usd(known)} + {calls} of unknown price"


def format_duration(ms: int | float | None) -> str:
    """``850 ms``, ``2.4 s``, ``3 min 5 s``, ``1 h 2 min``; ``—`` when unknown."""
    if ms is None or ms < 0:
        return UNKNOWN
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def format_months(months: float | None) -> str:
    """Experience as people say it: ``6 months``, ``3 years``, ``1 year 6 months``."""
    if months is None or months < 0:
        return UNKNOWN
    total = round(months)
    years, rest = divmod(total, 12)
    parts = []
    if years:
        parts.append("1 year" if years == 1 else f"{years} years")
    if rest or not years:
        parts.append("1 month" if rest == 1 else f"{rest} months")
    return " ".join(parts)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 call``, ``3 calls``, with thousands separators."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
