"""What one call cost, decided once, at call time, and frozen into its ledger row.

Order of precedence:

1. **The user's overrides file** (``config.price_overrides_path()``, JSON, USD per
   million tokens)::

       {
         "models":    {"my-model": {"input": 0.5, "cached_input": 0.1, "output": 1.5}},
         "providers": {"openai": {"gpt-4o-mini": {"input": 0.2, "output": 0.8}}},
         "hosts":     {"llm.internal:8000": {"my-model": {"input": 0, "output": 0}}}
       }

   ``hosts`` (keyed by the base URL's ``host:port``, or just ``host``) beats
   ``providers`` beats ``models``. Model names match case-insensitively.
   ``cached_input`` defaults to ``input``. A broken file or entry is skipped with a
   logged warning, never a crash. Overrides apply to Ollama too (a paid remote host).
2. **Ollama**: $0, source "local": the user's own hardware.
3. **genai-prices**, offline, from the snapshot bundled with the package (no
   download; ``start_price_updates`` is the only thing that fetches, and only when
   the user allowed it). An OpenAI-compatible base URL that genai-prices knows
   (OpenRouter, Groq, Together, ...) is priced as that provider; any other base URL
   as the provider the user picked, so a proxy serving ``gpt-4o-mini`` costs what
   OpenAI charges, while a self-hosted ``llama3`` is simply not found.
4. Otherwise the cost is **unknown** (None, source "unknown"), never $0.

Token semantics (OpenAI's, which our TokenUsage keeps): ``prompt_tokens`` includes
the cached ones, and ``completion_tokens`` already includes the reasoning ones. So
cached tokens are billed at the cache-read price and the rest of the prompt at the
input price (genai-prices' ``input_tokens`` likewise includes ``cache_read_tokens``),
and reasoning tokens are billed as output exactly once, inside ``completion_tokens``.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cvjd_desktop import config
from cvjd_desktop.schemas import TokenUsage
from cvjd_desktop.usage.records import to_utc

log = logging.getLogger(__name__)

SOURCE_GENAI = "genai-prices"
SOURCE_OVERRIDE = "override"
SOURCE_LOCAL = "local"
SOURCE_UNKNOWN = "unknown"

_OPENAI_HOSTS = ("api.openai.com",)


@dataclass(frozen=True)
class PriceQuote:
    """A call's cost in USD (None when unknown) and where the price came from."""

    cost_usd: float | None
    source: str

    @classmethod
    def unknown(cls) -> PriceQuote:
        return cls(None, SOURCE_UNKNOWN)


@dataclass(frozen=True)
class OverridePrice:
    """USD per million tokens."""

    input: float
    cached_input: float
    output: float

    def cost(self, prompt: int, cached: int, completion: int) -> float:
        cached = min(cached, prompt)
        return (
            (prompt - cached) * self.input + cached * self.cached_input + completion * self.output
        ) / 1_000_000


@dataclass(frozen=True)
class Overrides:
    models: dict[str, OverridePrice]
    providers: dict[str, dict[str, OverridePrice]]
    hosts: dict[str, dict[str, OverridePrice]]

    def find(self, model: str, provider: str, base_url: str | None) -> OverridePrice | None:
        model = model.lower()
        tables: list[dict[str, OverridePrice]] = []
        if base_url:
            parts = urlsplit(base_url)
            for host in (parts.netloc.lower(), (parts.hostname or "").lower()):
                if host in self.hosts:
                    tables.append(self.hosts[host])
        if provider.lower() in self.providers:
            tables.append(self.providers[provider.lower()])
        tables.append(self.models)
        for table in tables:
            if model in table:
                return table[model]
        return None


EMPTY_OVERRIDES = Overrides({}, {}, {})


# --- the overrides file --------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], Overrides]] = {}


def load_overrides(path: Path | None = None) -> Overrides:
    """The overrides in ``path``; re-read only when the file changes.

    A missing file means no overrides; a broken one is ignored with a warning logged
    once per version of the file, so the user's mistake never stops an extraction.
    """
    path = path or config.price_overrides_path()
    try:
        st = path.stat()
    except OSError:
        return EMPTY_OVERRIDES
    stamp = (st.st_mtime_ns, st.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        overrides = _parse_overrides(raw, path)
    except (OSError, ValueError) as exc:
        log.warning("price overrides file %s ignored: %s", path, exc)
        overrides = EMPTY_OVERRIDES
    with _cache_lock:
        _cache[path] = (stamp, overrides)
    return overrides


def _parse_overrides(raw: Any, path: Path) -> Overrides:
    if not isinstance(raw, dict):
        raise ValueError("expected a JSON object with a 'models' table")
    unknown = set(raw) - {"models", "providers", "hosts"}
    if unknown:
        log.warning("price overrides file %s: unknown keys ignored: %s", path, sorted(unknown))
    models = _parse_table(raw.get("models", {}), "models", path)
    providers = {
        str(name).lower(): _parse_table(table, f"providers.{name}", path)
        for name, table in _as_dict(raw.get("providers", {}), "providers", path).items()
    }
    hosts = {
        str(name).lower(): _parse_table(table, f"hosts.{name}", path)
        for name, table in _as_dict(raw.get("hosts", {}), "hosts", path).items()
    }
    return Overrides(models, providers, hosts)


def _as_dict(value: Any, where: str, path: Path) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    log.warning("price overrides file %s: %s is not an object; ignored", path, where)
    return {}


def _parse_table(table: Any, where: str, path: Path) -> dict[str, OverridePrice]:
    result: dict[str, OverridePrice] = {}
    for model, entry in _as_dict(table, where, path).items():
        try:
            result[str(model).lower()] = _parse_price(entry)
        except ValueError as exc:
            log.warning("price overrides file %s: %s.%s ignored: %s", path, where, model, exc)
    return result


def _parse_price(entry: Any) -> OverridePrice:
    if not isinstance(entry, dict):
        raise ValueError("expected an object like {'input': 0.5, 'output': 1.5}")

    def number(key: str, default: float | None = None) -> float:
        value = entry.get(key, default)
        if value is None:
            raise ValueError(f"'{key}' is missing")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"'{key}' must be a number of USD per million tokens")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"'{key}' must be zero or more")
        return float(value)

    input_price = number("input")
    return OverridePrice(
        input=input_price,
        cached_input=number("cached_input", input_price),
        output=number("output"),
    )


# --- pricing a call ------------------------------------------------------------------


def price_call(
    usage: TokenUsage,
    provider: str,
    *,
    base_url: str | None = None,
    overrides_path: Path | None = None,
    at: datetime | None = None,
) -> PriceQuote:
    """The cost of one call, by the precedence in the module docstring.

    ``at`` is when the call was made (prices with dates use it; default now). A
    prompt or completion count the provider left out makes a priced call's cost
    unknown: guessing would put a made-up number in the ledger.
    """
    model = usage.model
    if model:
        override = load_overrides(overrides_path).find(model, provider, base_url)
        if override is not None:
            if usage.prompt_tokens is None or usage.completion_tokens is None:
                return PriceQuote.unknown()
            cost = override.cost(usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens)
            return PriceQuote(cost, SOURCE_OVERRIDE)
    if provider == "ollama":
        return PriceQuote(0.0, SOURCE_LOCAL)
    if not model or usage.prompt_tokens is None or usage.completion_tokens is None:
        return PriceQuote.unknown()
    known = genai_cost(model, provider, base_url, usage, at)
    return PriceQuote.unknown() if known is None else PriceQuote(known, SOURCE_GENAI)


def genai_cost(
    model: str, provider: str, base_url: str | None, usage: TokenUsage, at: datetime | None
) -> float | None:
    """genai-prices' total for the call, or None when it does not know the model."""
    import genai_prices

    prompt = usage.prompt_tokens or 0
    cached = min(usage.cached_tokens, prompt)
    counts: dict[str, int] = {"input_tokens": prompt, "output_tokens": usage.completion_tokens or 0}
    if cached:
        counts["cache_read_tokens"] = cached
    when = to_utc(at) if at is not None else None
    api_url = _known_api_url(base_url)
    try:
        if api_url is not None:
            result = genai_prices.calc_price(
                genai_prices.Usage(**counts),
                model,
                provider_api_url=api_url,
                genai_request_timestamp=when,
            )
        else:
            result = genai_prices.calc_price(
                genai_prices.Usage(**counts),
                model,
                provider_id=provider,
                genai_request_timestamp=when,
            )
    except LookupError:
        return None
    except Exception:  # a bug or a data quirk in the price table: unknown, not a crash
        log.exception("genai-prices failed for %s/%s", provider, model)
        return None
    return float(result.total_price)


def _known_api_url(base_url: str | None) -> str | None:
    """``base_url`` when genai-prices knows it as some provider's API (not OpenAI's own).

    Otherwise None, and the call is priced as the provider the user picked.
    """
    if not base_url or urlsplit(base_url).hostname in _OPENAI_HOSTS:
        return None
    from genai_prices.data_snapshot import get_snapshot

    try:
        get_snapshot().find_provider(None, None, base_url)
    except LookupError:
        return None
    return base_url


def start_price_updates(settings: config.Settings) -> Any | None:
    """Start genai-prices' hourly background refresh, only if the user allowed it.

    Returns the running ``genai_prices.UpdatePrices`` (call ``stop()`` on quit), or
    None when updates are off: then no price request ever leaves the machine.
    """
    if not settings.allow_price_updates:
        return None
    import genai_prices

    updater = genai_prices.UpdatePrices()
    updater.start(wait=False)
    return updater
