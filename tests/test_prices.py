"""Pricing a call: genai-prices offline, cached tokens, overrides, Ollama, unknowns."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices.data import providers as genai_providers
from genai_prices.types import ModelPrice

from cvjd_desktop import config
from cvjd_desktop.schemas import TokenUsage
from cvjd_desktop.usage import CallRecord, Ledger, PriceQuote, price_call
from cvjd_desktop.usage.prices import load_overrides, start_price_updates


def table_price(provider_id: str, model_id: str) -> ModelPrice:
    """The model's price straight from genai-prices' bundled data, not its calculator."""
    provider = next(p for p in genai_providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    assert isinstance(model.prices, ModelPrice), "expected a plain (unconditional) price"
    return model.prices


def by_hand(price: ModelPrice, prompt: int, cached: int, completion: int) -> float:
    """Uncached input, cached input (at the input price if no cache price), output."""
    per_million = Decimal(1_000_000)
    cache_read = price.cache_read_mtok if price.cache_read_mtok is not None else price.input_mtok
    cost = (
        (prompt - cached) * price.input_mtok + cached * cache_read + completion * price.output_mtok
    ) / per_million
    return float(cost)


def usage(model: str | None = "gpt-4o-mini", **kw: int | None) -> TokenUsage:
    counts: dict[str, int | None] = {"prompt_tokens": 12_345, "completion_tokens": 678}
    counts.update(kw)
    return TokenUsage(model=model, provider="openai", **counts)  # type: ignore[arg-type]


def write_overrides(data: object) -> Path:
    path = config.price_overrides_path()
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_gpt_4o_mini_matches_the_price_table() -> None:
    price = table_price("openai", "gpt-4o-mini")
    quote = price_call(usage(), "openai")
    assert quote.source == "genai-prices"
    assert quote.cost_usd == pytest.approx(by_hand(price, 12_345, 0, 678), rel=1e-12)
    assert quote.cost_usd > 0


def test_cached_tokens_are_billed_at_the_cache_read_price() -> None:
    price = table_price("openai", "gpt-4o-mini")
    assert price.cache_read_mtok < price.input_mtok
    quote = price_call(usage(cached_tokens=10_000), "openai")
    assert quote.cost_usd == pytest.approx(by_hand(price, 12_345, 10_000, 678), rel=1e-12)
    assert quote.cost_usd < price_call(usage(), "openai").cost_usd  # type: ignore[operator]


def test_reasoning_tokens_are_output_billed_once() -> None:
    """OpenAI's completion_tokens already include the reasoning tokens."""
    plain = price_call(usage(completion_tokens=900), "openai")
    reasoning = price_call(usage(completion_tokens=900, reasoning_tokens=600), "openai")
    assert reasoning == plain


def test_dated_model_name_is_priced_like_its_alias() -> None:
    dated = price_call(usage("gpt-4o-mini-2024-07-18"), "openai")
    assert dated.cost_usd == pytest.approx(price_call(usage(), "openai").cost_usd)


def test_unknown_model_has_an_unknown_cost_never_zero() -> None:
    assert price_call(usage("my-finetune-7b"), "openai") == PriceQuote(None, "unknown")
    assert price_call(usage(None), "openai") == PriceQuote(None, "unknown")
    self_hosted = price_call(usage("llama3"), "openai", base_url="http://10.0.0.5:8000/v1")
    assert self_hosted == PriceQuote(None, "unknown")


def test_missing_token_count_makes_a_paid_call_unknown() -> None:
    assert price_call(usage(prompt_tokens=None), "openai").cost_usd is None


def test_compatible_proxy_is_priced_as_openai() -> None:
    """A base URL genai-prices does not know is priced as the provider the user picked."""
    proxied = price_call(usage(), "openai", base_url="http://127.0.0.1:8123/v1")
    assert proxied == price_call(usage(), "openai")


def test_known_api_host_is_priced_as_that_provider() -> None:
    groq = table_price("groq", "llama-3.1-8b-instant")
    quote = price_call(
        usage("llama-3.1-8b-instant"), "openai", base_url="https://api.groq.com/openai/v1"
    )
    assert quote.source == "genai-prices"
    assert quote.cost_usd == pytest.approx(by_hand(groq, 12_345, 0, 678), rel=1e-12)
    cached = price_call(
        usage("llama-3.1-8b-instant", cached_tokens=5_000),
        "openai",
        base_url="https://api.groq.com/openai/v1",
    )
    assert cached.cost_usd == pytest.approx(by_hand(groq, 12_345, 5_000, 678), rel=1e-12)


def test_ollama_is_local_and_free() -> None:
    llama = TokenUsage(
        model="llama3.2:3b", provider="ollama", prompt_tokens=None, completion_tokens=5
    )
    assert price_call(llama, "ollama") == PriceQuote(0.0, "local")


def test_overrides_win_over_genai_prices() -> None:
    path = write_overrides(
        {
            "models": {
                "GPT-4o-mini": {"input": 1.0, "cached_input": 0.5, "output": 2.0},
                "my-model": {"input": 3.0, "output": 6.0},
            },
            "providers": {"openai": {"my-model": {"input": 4.0, "output": 8.0}}},
            "hosts": {"llm.internal:8000": {"my-model": {"input": 5.0, "output": 10.0}}},
        }
    )
    quote = price_call(usage(cached_tokens=2_345), "openai", overrides_path=path)
    assert quote.source == "override"
    assert quote.cost_usd == pytest.approx((10_000 * 1.0 + 2_345 * 0.5 + 678 * 2.0) / 1e6)
    # Default path is the config folder's file; cached_input defaults to input.
    mine = usage("my-model", cached_tokens=45)
    assert price_call(mine, "openai").cost_usd == pytest.approx((12_345 * 4.0 + 678 * 8.0) / 1e6)
    hosted = price_call(mine, "openai", base_url="http://llm.internal:8000/v1")
    assert hosted.cost_usd == pytest.approx((12_345 * 5.0 + 678 * 10.0) / 1e6)
    other_host = price_call(mine, "openai", base_url="http://elsewhere:8000/v1")
    assert other_host.cost_usd == pytest.approx((12_345 * 4.0 + 678 * 8.0) / 1e6)
    remote_ollama = price_call(usage("my-model"), "ollama")
    assert remote_ollama == PriceQuote(pytest.approx((12_345 * 3.0 + 678 * 6.0) / 1e6), "override")


def test_broken_overrides_file_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = config.price_overrides_path()
    path.write_text("{not json", encoding="utf-8")
    assert price_call(usage(), "openai").source == "genai-prices"
    assert "price overrides file" in caplog.text
    assert "ignored" in caplog.text


def test_bad_entries_are_skipped_good_ones_kept(caplog: pytest.LogCaptureFixture) -> None:
    write_overrides(
        {
            "models": {
                "neg": {"input": -1, "output": 1},
                "text": {"input": "cheap", "output": 1},
                "no-output": {"input": 1},
                "fine": {"input": 1, "output": 1},
            },
            "providers": ["not", "an", "object"],
        }
    )
    overrides = load_overrides()
    assert sorted(overrides.models) == ["fine"]
    assert overrides.providers == {}
    assert caplog.text.count("ignored") == 4


def test_edited_overrides_file_is_reread() -> None:
    path = write_overrides({"models": {"my-model": {"input": 1, "output": 1}}})
    first = price_call(usage("my-model"), "openai").cost_usd
    path.write_text(json.dumps({"models": {"my-model": {"input": 2, "output": 2}}}))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert price_call(usage("my-model"), "openai").cost_usd == pytest.approx(2 * first)


def test_new_prices_never_rewrite_recorded_history() -> None:
    with Ledger() as ledger:
        quote = price_call(usage(), "openai")
        ledger.record(CallRecord.from_usage(usage(), quote, status="ok", kind="cv"))
        write_overrides({"models": {"gpt-4o-mini": {"input": 100, "output": 100}}})
        assert price_call(usage(), "openai").source == "override"
        (row,) = ledger.query_rows()
        assert (row.cost_usd, row.price_source) == (quote.cost_usd, "genai-prices")
        assert ledger.grand_total().cost_usd == pytest.approx(quote.cost_usd)


def test_no_price_updates_unless_allowed() -> None:
    assert start_price_updates(config.Settings()) is None
