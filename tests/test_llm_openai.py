"""OpenAIProvider through the real ``openai`` SDK against a server speaking OpenAI's API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from cvjd_desktop.errors import (
    AuthenticationError,
    CancelledError,
    InvalidOutputError,
    ModelNotFoundError,
    OutputTruncatedError,
    ProviderRequestError,
    ProviderServerError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from cvjd_desktop.llm.openai_provider import (
    OpenAIProvider,
    forget_server_quirks,
    is_chat_model,
)
from cvjd_desktop.llm.output import strict_json_schema
from cvjd_desktop.schemas import CV, JobDescription, TokenUsage
from tests import provider_calls
from tests.fakes import FAKE_OPENAI_KEY, SAMPLE_CV, SAMPLE_JD, FakeOpenAI, Fault
from tests.fakes.openai_server import error_body
from tests.provider_calls import FAST_RETRIES, unused_port

MODEL = "gpt-4o-mini"
extract = partial(provider_calls.extract, model=MODEL)


@pytest.fixture(autouse=True)
def _fresh_quirks() -> Iterator[None]:
    # Ports are reused between tests; what one fake rejected must not leak.
    forget_server_quirks()
    yield
    forget_server_quirks()


@pytest.fixture
def provider(fake_openai: FakeOpenAI) -> Iterator[OpenAIProvider]:
    with OpenAIProvider(
        fake_openai.base_url, FAKE_OPENAI_KEY, timeout=5, retry_policy=FAST_RETRIES
    ) as p:
        yield p


def test_exact_usage_with_cached_and_reasoning_tokens(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.prompt_tokens, fake_openai.completion_tokens = 2345, 678
    fake_openai.cached_tokens, fake_openai.reasoning_tokens = 1024, 256
    fake_openai.reported_model = "gpt-4o-mini-2024-07-18"
    seen: list[int] = []
    result = extract(provider, on_progress=seen.append)
    assert result.data == CV.model_validate(SAMPLE_CV)
    assert result.usage == TokenUsage(
        prompt_tokens=2345,
        completion_tokens=678,
        total_tokens=3023,
        model="gpt-4o-mini-2024-07-18",
        provider="openai",
        cached_tokens=1024,
        reasoning_tokens=256,
    )
    assert result.warnings == []
    assert seen == list(range(1, fake_openai.stream_pieces + 1))
    rec = fake_openai.chat_requests[-1]
    assert rec.headers["authorization"] == f"Bearer {FAKE_OPENAI_KEY}"
    assert rec.body["stream"] is True
    assert rec.body["stream_options"] == {"include_usage": True}
    assert rec.body["temperature"] == 0
    fmt = rec.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == strict_json_schema(CV)


def test_jd_and_reasoning_model_gets_no_temperature(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    result = extract(provider, schema=JobDescription, model="o3-mini")
    assert isinstance(result.data, JobDescription)
    assert result.data.hiringOrganization == SAMPLE_JD["hiringOrganization"]
    assert "temperature" not in fake_openai.chat_requests[-1].body


def test_strict_schema_lists_every_property_and_forbids_extras() -> None:
    def walk(node: Any) -> int:
        checked = 0
        if isinstance(node, dict):
            if "properties" in node:
                assert node["additionalProperties"] is False
                assert node["required"] == list(node["properties"])
                checked += 1
            assert not ("$ref" in node and len(node) > 1)
            checked += sum(walk(v) for v in node.values())
        elif isinstance(node, list):
            checked += sum(walk(v) for v in node)
        return checked

    assert walk(strict_json_schema(CV)) >= 8
    assert walk(strict_json_schema(JobDescription)) >= 4


def test_json_mode_fallback_is_used_and_remembered(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.supports_json_schema = False
    first = extract(provider, schema=JobDescription)
    second = extract(provider)
    assert first.data.title == SAMPLE_JD["title"]  # type: ignore[attr-defined]
    assert second.data == CV.model_validate(SAMPLE_CV)
    formats = [r.body["response_format"]["type"] for r in fake_openai.chat_requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    system = fake_openai.chat_requests[-1].body["messages"][0]["content"]
    assert system.startswith("Extract the CV.") and '"basics"' in system
    assert first.usage.prompt_tokens == fake_openai.prompt_tokens


def test_json_mode_also_rejected_is_a_request_error_not_a_loop(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.supports_json_schema = False
    body = error_body("response_format json_object is not supported", "invalid_request_error")
    fake_openai.enqueue(Fault.status(400, body=body), times=2)
    with pytest.raises(ProviderRequestError, match="json_object is not supported"):
        extract(provider)
    assert len(fake_openai.chat_requests) == 2


def test_temperature_rejection_is_remembered(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    body = error_body(
        "Unsupported value: 'temperature' does not support 0 with this model.",
        "invalid_request_error",
        "unsupported_value",
        "temperature",
    )
    fake_openai.enqueue(Fault.status(400, body=body))
    extract(provider)
    extract(provider)
    sent = ["temperature" in r.body for r in fake_openai.chat_requests]
    assert sent == [True, False, False]


def test_missing_usage_is_unknown_and_said(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.enqueue(Fault.no_prompt_count())
    result = extract(provider)
    assert result.usage.prompt_tokens is None
    assert result.usage.completion_tokens is None
    assert any("reported no token usage" in w for w in result.warnings)


def test_rejected_key_is_never_echoed(fake_openai: FakeOpenAI) -> None:
    wrong = "sk-wrong-but-secret-0123456789"
    with OpenAIProvider(fake_openai.base_url, wrong, timeout=5) as p:
        with pytest.raises(AuthenticationError) as err:
            extract(p)
        assert "rejected the API key (401)" in err.value.message
        with pytest.raises(AuthenticationError) as err2:
            p.list_models()
    for e in (err.value, err2.value):
        assert wrong not in e.message and wrong not in str(e)
        assert "0123456789" not in e.message
        assert e.usage.total_tokens == 0
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {wrong}"


@pytest.mark.parametrize("code", [401, 500, 400])
def test_key_echoed_in_an_error_body_is_scrubbed(
    fake_openai: FakeOpenAI, provider: OpenAIProvider, code: int
) -> None:
    fake_openai.enqueue(Fault.echo_key(code), times=4)
    with pytest.raises((AuthenticationError, ProviderServerError, ProviderRequestError)) as err:
        extract(provider)
    assert fake_openai.requests[-1].headers["authorization"].endswith(FAKE_OPENAI_KEY)
    assert FAKE_OPENAI_KEY not in str(err.value)
    assert FAKE_OPENAI_KEY not in repr(err.value.args)
    if code != 401:
        assert "***" in str(err.value)  # the server's message is kept, key masked


def test_model_not_available_to_key(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        extract(provider, model="gpt-9")
    assert (
        err.value.message == f"model gpt-9 is not available to this key at {fake_openai.base_url}"
    )
    assert err.value.usage.total_tokens == 0


def test_base_url_without_v1_is_explained(fake_openai: FakeOpenAI) -> None:
    p = OpenAIProvider(fake_openai.url, FAKE_OPENAI_KEY, timeout=5)
    with p, pytest.raises(ProviderRequestError, match="check the base URL"):
        extract(p)


def test_not_reachable() -> None:
    base = f"http://127.0.0.1:{unused_port()}/v1"
    with OpenAIProvider(base, FAKE_OPENAI_KEY, timeout=2) as p:
        with pytest.raises(ProviderUnavailableError) as err:
            extract(p)
        with pytest.raises(ProviderUnavailableError):
            p.list_models()
    assert err.value.message.startswith(f"OpenAI is not reachable at {base}")


def test_official_api_without_key_fails_before_any_request() -> None:
    p = OpenAIProvider("https://api.openai.com/v1", None, timeout=2)
    with p, pytest.raises(AuthenticationError, match="no OpenAI API key"):
        extract(p)


def test_timeout_holds_on_a_server_that_never_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Fault.hang())
    with OpenAIProvider(fake_openai.base_url, FAKE_OPENAI_KEY, timeout=0.5) as p:
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError) as err:
            extract(p)
    assert time.monotonic() - started < 3
    assert "timed out after 0.5 s" in err.value.message
    assert len(fake_openai.chat_requests) == 1


def test_cancel_while_the_server_hangs(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.enqueue(Fault.hang())
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(CancelledError) as err:
        extract(provider, cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 1.2
    assert err.value.usage.total_tokens == 0


def test_rate_limit_honours_retry_after(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.enqueue(Fault.rate_limited("0.3"), Fault.rate_limited("0"))
    started = time.monotonic()
    result = extract(provider)
    assert time.monotonic() - started >= 0.3
    assert len(fake_openai.chat_requests) == 3
    assert result.usage.completion_tokens == fake_openai.completion_tokens


def test_rate_limit_gives_up_after_bounded_retries(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.enqueue(Fault.rate_limited("0"), times=10)
    with pytest.raises(RateLimitedError) as err:
        extract(provider)
    assert len(fake_openai.chat_requests) == 4
    assert "gave up after 4 attempts" in err.value.message
    assert err.value.usage.total_tokens == 0


def test_exhausted_quota_is_not_retried(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    body = error_body(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )
    fake_openai.enqueue(Fault.status(429, body=body))
    with pytest.raises(RateLimitedError, match="quota"):
        extract(provider)
    assert len(fake_openai.chat_requests) == 1


@pytest.mark.parametrize("code", [500, 503])
def test_server_errors_are_retried_then_reported(
    fake_openai: FakeOpenAI, provider: OpenAIProvider, code: int
) -> None:
    fake_openai.enqueue(Fault.server_error(code), times=2)
    assert extract(provider).usage.prompt_tokens == fake_openai.prompt_tokens
    assert len(fake_openai.chat_requests) == 3
    fake_openai.reset()
    fake_openai.enqueue(Fault.server_error(code), times=4)
    with pytest.raises(ProviderServerError) as err:
        extract(provider)
    assert f"server error ({code})" in err.value.message
    assert len(fake_openai.chat_requests) == 4


def test_body_that_is_not_json(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.enqueue(Fault.not_json_body())
    with pytest.raises(ProviderServerError, match="not the OpenAI API"):
        extract(provider)


def test_repair_sums_both_calls(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.prompt_tokens, fake_openai.completion_tokens = 400, 60
    fake_openai.cached_tokens, fake_openai.reasoning_tokens = 100, 10
    fake_openai.enqueue(Fault.not_json_content())
    result = extract(provider)
    assert result.data == CV.model_validate(SAMPLE_CV)
    assert result.usage.prompt_tokens == 800 and result.usage.completion_tokens == 120
    assert (result.usage.cached_tokens, result.usage.reasoning_tokens) == (200, 20)
    assert result.usage.total_tokens == 920
    assert "not valid JSON" in fake_openai.chat_requests[-1].body["messages"][-1]["content"]


def test_invalid_twice_fails_with_both_usages(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.enqueue(Fault.wrong_schema(), times=2)
    with pytest.raises(InvalidOutputError, match="unusable answer, twice") as err:
        extract(provider)
    assert err.value.usage.prompt_tokens == 2 * fake_openai.prompt_tokens
    assert err.value.usage.completion_tokens == 2 * fake_openai.completion_tokens
    assert err.value.usage.cached_tokens == 2 * fake_openai.cached_tokens


def test_output_cut_by_length_limit(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.enqueue(Fault.truncated())
    with pytest.raises(OutputTruncatedError) as err:
        extract(provider)
    assert err.value.usage.prompt_tokens == fake_openai.prompt_tokens
    assert err.value.usage.reasoning_tokens == fake_openai.reasoning_tokens
    assert len(fake_openai.chat_requests) == 1


def test_connection_dropped_mid_answer(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.enqueue(Fault.drop_midway())
    with pytest.raises(ProviderServerError, match="dropped in the middle") as err:
        extract(provider)
    assert err.value.usage.prompt_tokens is None


def test_stream_cut_before_final_chunk(fake_openai: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake_openai.enqueue(Fault.stream_cut())
    with pytest.raises(ProviderServerError, match="ended before it was complete"):
        extract(provider)


def test_list_models_keeps_all_on_compatible_servers(provider: OpenAIProvider) -> None:
    names = [m.name for m in provider.list_models()]
    assert "text-embedding-3-small" in names and "gpt-4o-mini" in names
    assert provider.context_length("gpt-4o-mini") == 128_000
    assert provider.context_length("my-local-model") is None


def test_chat_model_filter_for_api_openai_com() -> None:
    ids = [
        *("gpt-4o-mini", "o3-mini", "text-embedding-3-small", "whisper-1", "dall-e-3"),
        *("gpt-4o-realtime-preview", "gpt-3.5-turbo-instruct", "tts-1", "chatgpt-4o-latest"),
    ]
    assert [i for i in ids if is_chat_model(i)] == ["gpt-4o-mini", "o3-mini", "chatgpt-4o-latest"]


def test_refusal_is_invalid_output_without_repair(
    fake_openai: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake_openai.enqueue(Fault.refusal("I can't help with that."))
    with pytest.raises(InvalidOutputError, match="refused to answer: I can't help") as err:
        extract(provider)
    assert err.value.usage.prompt_tokens == fake_openai.prompt_tokens
    assert len(fake_openai.chat_requests) == 1
