"""OllamaProvider through the real ``ollama`` SDK against a server speaking Ollama's API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial

import pytest

from cvjd_desktop.errors import (
    AuthenticationError,
    CancelledError,
    InvalidOutputError,
    ModelNotFoundError,
    OutputTruncatedError,
    ProviderServerError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from cvjd_desktop.llm.factory import make_provider
from cvjd_desktop.llm.ollama_provider import OllamaProvider
from cvjd_desktop.schemas import CV, JobDescription, TokenUsage, compact_json_schema
from tests import provider_calls
from tests.fakes import SAMPLE_CV, SAMPLE_JD, FakeOllama, Fault, OllamaModel
from tests.provider_calls import FAST_RETRIES, unused_port

MODEL = "llama3.2:3b"
extract = partial(provider_calls.extract, model=MODEL)


@pytest.fixture
def provider(fake_ollama: FakeOllama) -> Iterator[OllamaProvider]:
    with OllamaProvider(fake_ollama.url, timeout=5, retry_policy=FAST_RETRIES) as p:
        yield p


def test_exact_counts_and_reported_model_are_carried(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 1234, 321
    fake_ollama.reported_model = "llama3.2:3b-instruct-q4_K_M"
    seen: list[int] = []
    result = extract(provider, on_progress=seen.append)
    assert result.data == CV.model_validate(SAMPLE_CV)
    assert result.usage == TokenUsage(
        prompt_tokens=1234,
        completion_tokens=321,
        total_tokens=1555,
        model="llama3.2:3b-instruct-q4_K_M",
        provider="ollama",
    )
    assert result.warnings == []
    assert seen == list(range(1, fake_ollama.stream_pieces + 1))


def test_jd_schema_and_request_shape(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    result = extract(provider, schema=JobDescription, model="qwen2.5:7b")
    assert isinstance(result.data, JobDescription)
    assert result.data.title == SAMPLE_JD["title"]
    body = fake_ollama.chat_requests[-1].body
    assert body["format"] == compact_json_schema(JobDescription)
    assert body["stream"] is True
    assert body["options"]["temperature"] == 0
    assert body["messages"][0]["role"] == "system"
    assert '"hiringOrganization"' in body["messages"][0]["content"]


def test_num_ctx_fits_document_and_is_capped_by_show(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = [
        OllamaModel("big:1b", context_length=131072),
        OllamaModel("small:1b", family="gemma", context_length=6000),
    ]
    with OllamaProvider(fake_ollama.url, timeout=5) as p:
        long_text = "word " * 40_000  # ~50k tokens by our estimate
        extract(p, text=long_text, model="big:1b")
        extract(p, text="short", model="big:1b")
        extract(p, text="short", model="small:1b")
        assert p.context_length("small:1b") == 6000
    sizes = [r.body["options"]["num_ctx"] for r in fake_ollama.chat_requests]
    assert sizes[0] == 65536  # 50k prompt + answer room, rounded to a power of two
    assert sizes[1] < sizes[0]
    assert sizes[2] == 6000  # capped at the model's context length
    # /api/show asked once per model, then cached
    assert [r.body["model"] for r in fake_ollama.requests_to("/api/show")] == [
        "big:1b",
        "small:1b",
    ]


def test_prompt_cut_warning_when_model_saw_less(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = [OllamaModel("tiny:1b", context_length=2048)]
    with OllamaProvider(fake_ollama.url, timeout=5) as p:
        fake_ollama.prompt_tokens = 2040  # Ollama kept only the tail that fit
        cut = extract(p, text="experience " * 3000, model="tiny:1b")
        fake_ollama.prompt_tokens = 9000  # counted as much as was sent
        whole = extract(p, text="experience " * 3000, model="tiny:1b")
    assert any("dropped the start of the prompt" in w for w in cut.warnings)
    assert cut.usage.prompt_tokens == 2040
    assert whole.warnings == []


def test_missing_prompt_eval_count_is_unknown_not_invented(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.enqueue(Fault.no_prompt_count())
    result = extract(provider)
    assert result.usage.prompt_tokens is None
    assert result.usage.completion_tokens == fake_ollama.completion_tokens
    assert result.usage.total_tokens == fake_ollama.completion_tokens
    assert result.warnings == []


def test_list_models_reports_size_and_quantization(provider: OllamaProvider) -> None:
    models = provider.list_models()
    assert [m.name for m in models] == ["llama3.2:3b", "qwen2.5:7b"]
    assert models[1].size_bytes == 4_683_087_332
    assert models[1].quantization == "Q4_K_M"
    assert models[1].parameter_size == "7.6B"
    assert provider.context_length("qwen2.5:7b") == 32768


def test_model_not_installed(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        extract(provider, model="mistral:7b")
    assert err.value.message == "model mistral:7b is not installed; run `ollama pull mistral:7b`"
    assert err.value.usage.total_tokens == 0
    fake_ollama.enqueue(Fault.model_not_found())  # show works, chat says 404
    with pytest.raises(ModelNotFoundError) as err2:
        extract(provider)
    assert err2.value.message.endswith("run `ollama pull llama3.2:3b`")


def test_not_running_names_host_and_fix() -> None:
    host = f"http://127.0.0.1:{unused_port()}"
    with OllamaProvider(host, timeout=2) as p:
        with pytest.raises(ProviderUnavailableError) as err:
            p.list_models()
        assert (
            err.value.message == f"Ollama is not running at {host} (start it with `ollama serve`)"
        )
        with pytest.raises(ProviderUnavailableError):
            extract(p)


def test_host_that_does_not_resolve() -> None:
    with OllamaProvider("http://no-such-host.invalid:11434", timeout=2) as p:
        started = time.monotonic()
        with pytest.raises(ProviderUnavailableError, match="not running at http://no-such"):
            p.list_models()
    assert time.monotonic() - started < 10


def test_timeout_holds_on_a_server_that_never_answers(fake_ollama: FakeOllama) -> None:
    fake_ollama.enqueue(Fault.hang())
    with OllamaProvider(fake_ollama.url, timeout=0.5) as p:
        p.context_length(MODEL)
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError) as err:
            extract(p)
    assert time.monotonic() - started < 3
    assert "timed out after 0.5 s" in err.value.message
    assert err.value.usage.total_tokens == 0
    assert len(fake_ollama.chat_requests) == 1  # timeouts are not retried


def test_cancel_while_waiting_for_first_byte(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.enqueue(Fault.hang())
    provider.context_length(MODEL)
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(CancelledError) as err:
        extract(provider, cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 1.2
    assert err.value.usage.total_tokens == 0


def test_cancel_during_the_stream(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    fake_ollama.chunk_delay = 0.2
    cancel = threading.Event()
    seen: list[int] = []

    def progress(n: int) -> None:
        seen.append(n)
        if n == 2:
            cancel.set()

    with pytest.raises(CancelledError) as err:
        extract(provider, cancel=cancel, on_progress=progress)
    assert seen == [1, 2]
    assert err.value.usage.prompt_tokens is None  # part of an answer came; no counts yet


def test_rate_limit_is_retried_honouring_retry_after(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.enqueue(Fault.rate_limited("0.3"), Fault.rate_limited("0"))
    started = time.monotonic()
    result = extract(provider)
    assert time.monotonic() - started >= 0.3
    assert len(fake_ollama.chat_requests) == 3
    assert result.usage.prompt_tokens == fake_ollama.prompt_tokens


def test_rate_limit_gives_up_after_bounded_retries(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.enqueue(Fault.rate_limited("0"), times=10)
    with pytest.raises(RateLimitedError) as err:
        extract(provider)
    assert len(fake_ollama.chat_requests) == 4  # one try + max_retries
    assert "gave up after 4 attempts" in err.value.message
    assert err.value.usage.total_tokens == 0


@pytest.mark.parametrize("code", [500, 503])
def test_server_errors_are_retried_then_reported(
    fake_ollama: FakeOllama, provider: OllamaProvider, code: int
) -> None:
    fake_ollama.enqueue(Fault.server_error(code))
    assert extract(provider).usage.completion_tokens == fake_ollama.completion_tokens
    fake_ollama.reset()
    fake_ollama.enqueue(Fault.server_error(code), times=4)
    with pytest.raises(ProviderServerError) as err:
        extract(provider)
    assert f"server error ({code})" in err.value.message
    assert len(fake_ollama.chat_requests) == 4


def test_body_that_is_not_json(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    # Asked again without streaming (a gateway may send one JSON document), then given up.
    fake_ollama.enqueue(Fault.not_json_body(), times=2)
    with pytest.raises(ProviderServerError, match="not Ollama's API"):
        extract(provider)
    assert len(fake_ollama.chat_requests) == 2
    assert fake_ollama.chat_requests[1].body["stream"] is False


def test_repair_attempt_succeeds_with_both_usages_summed(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 500, 70
    fake_ollama.enqueue(Fault.wrong_schema())
    result = extract(provider)
    assert result.data == CV.model_validate(SAMPLE_CV)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 140)
    assert any("repaired" in w for w in result.warnings)
    repair = fake_ollama.chat_requests[-1].body["messages"]
    assert repair[-2]["role"] == "assistant" and '"basics": "Ada Lovelace"' in repair[-2]["content"]
    assert "does not match the schema" in repair[-1]["content"]


@pytest.mark.parametrize("fault", [Fault.wrong_schema(), Fault.not_json_content()])
def test_invalid_output_twice_fails_with_both_usages(
    fake_ollama: FakeOllama, provider: OllamaProvider, fault: Fault
) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 500, 70
    fake_ollama.enqueue(fault, times=2)
    with pytest.raises(InvalidOutputError) as err:
        extract(provider)
    assert (err.value.usage.prompt_tokens, err.value.usage.completion_tokens) == (1000, 140)
    assert err.value.usage.total_tokens == 1140
    assert len(fake_ollama.chat_requests) == 2


def test_failure_during_repair_keeps_first_usage(
    fake_ollama: FakeOllama, provider: OllamaProvider
) -> None:
    fake_ollama.enqueue(Fault.not_json_content(), Fault.model_not_found())
    with pytest.raises(ModelNotFoundError) as err:
        extract(provider)
    assert err.value.usage.prompt_tokens == fake_ollama.prompt_tokens
    assert err.value.usage.completion_tokens == fake_ollama.completion_tokens


def test_output_cut_by_length_limit(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    fake_ollama.enqueue(Fault.truncated())
    with pytest.raises(OutputTruncatedError, match="cut off at the length limit") as err:
        extract(provider)
    assert err.value.usage.prompt_tokens == fake_ollama.prompt_tokens
    assert err.value.usage.completion_tokens == fake_ollama.completion_tokens
    assert len(fake_ollama.chat_requests) == 1


def test_connection_dropped_mid_answer(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    fake_ollama.enqueue(Fault.drop_midway())
    with pytest.raises(ProviderServerError, match="dropped in the middle") as err:
        extract(provider)
    assert err.value.usage.prompt_tokens is None
    assert err.value.usage.completion_tokens is None


def test_stream_cut_before_final_chunk(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    fake_ollama.enqueue(Fault.stream_cut())
    with pytest.raises(ProviderServerError, match="ended before its final chunk") as err:
        extract(provider)
    assert err.value.usage.prompt_tokens is None


def test_error_line_in_stream(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    fake_ollama.enqueue(Fault.error_in_stream("llama runner crashed"))
    with pytest.raises(ProviderServerError, match="llama runner crashed"):
        extract(provider)


def test_no_api_key_ever_reaches_the_ollama_host(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-live-never-to-ollama-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    p = make_provider("ollama", ollama_host=fake_ollama.url, api_key=key, timeout=5)
    assert isinstance(p, OllamaProvider)
    with p:
        p.list_models()
        fake_ollama.enqueue(Fault.wrong_schema(), Fault.status(401))
        with pytest.raises(AuthenticationError):
            extract(p)
        extract(p)
    assert len(fake_ollama.requests) >= 5
    for rec in fake_ollama.requests:
        assert "authorization" not in rec.headers
        assert key not in rec.text()
        assert "sk-live" not in rec.text()


def test_cancel_during_a_retry_wait(fake_ollama: FakeOllama, provider: OllamaProvider) -> None:
    fake_ollama.enqueue(Fault.rate_limited("20"))
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        extract(provider, cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 1.5
    assert len(fake_ollama.chat_requests) == 1
