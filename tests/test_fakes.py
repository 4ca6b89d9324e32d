"""The fake servers speak the wire formats the real SDKs expect.

These drive the ``ollama`` and ``openai`` SDKs directly, so a provider test that
fails points at the provider, not at a fake that drifted from the real API.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import ollama
import openai
import pytest

from cvjd_desktop.schemas import CV, JobDescription, json_schema
from tests.fakes import FAKE_OPENAI_KEY, SAMPLE_CV, SAMPLE_JD, FakeOllama, FakeOpenAI, Fault


def _ollama(srv: FakeOllama) -> ollama.Client:
    return ollama.Client(host=srv.url, timeout=5)


def _openai(srv: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=FAKE_OPENAI_KEY, max_retries=0, timeout=5)


def test_ollama_tags_show_version(fake_ollama: FakeOllama) -> None:
    client = _ollama(fake_ollama)
    tags = client.list()
    assert [m.model for m in tags.models] == ["llama3.2:3b", "qwen2.5:7b"]
    assert tags.models[0].details is not None
    assert tags.models[0].details.quantization_level == "Q4_K_M"
    show = client.show("qwen2.5:7b")
    assert show.modelinfo is not None
    assert show.modelinfo["qwen2.context_length"] == 32768
    assert client._client.get("/api/version").json() == {"version": fake_ollama.version}
    client.close()


def test_ollama_chat_stream_detects_schema_and_reports_counts(fake_ollama: FakeOllama) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 321, 54
    fake_ollama.reported_model = "llama3.2:3b-instruct"
    client = _ollama(fake_ollama)
    parts = list(
        client.chat(
            model="llama3.2:3b",
            messages=[{"role": "user", "content": "x"}],
            format=json_schema("jd"),
            stream=True,
        )
    )
    assert len(parts) == fake_ollama.stream_pieces + 1
    final = parts[-1]
    assert final.done and final.done_reason == "stop"
    assert (final.prompt_eval_count, final.eval_count) == (321, 54)
    assert final.model == "llama3.2:3b-instruct"
    text = "".join(p.message.content or "" for p in parts)
    assert JobDescription.model_validate_json(text).title == SAMPLE_JD["title"]
    client.close()


def test_ollama_faults(fake_ollama: FakeOllama) -> None:
    client = _ollama(fake_ollama)
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(model="nope", messages=msgs)
    assert err.value.status_code == 404
    assert err.value.error == 'model "nope" not found, try pulling it first'

    fake_ollama.enqueue(Fault.no_prompt_count(), Fault.truncated())
    r = client.chat(model="llama3.2:3b", messages=msgs, format=json_schema("cv"))
    assert r.prompt_eval_count is None and r.eval_count == fake_ollama.completion_tokens
    assert CV.model_validate_json(r.message.content or "").basics.name == "Ada Lovelace"
    r = client.chat(model="llama3.2:3b", messages=msgs, format=json_schema("cv"))
    assert r.done_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.message.content or "")

    fake_ollama.enqueue(Fault.drop_midway())
    with pytest.raises(httpx.RemoteProtocolError):
        list(client.chat(model="llama3.2:3b", messages=msgs, stream=True))
    fake_ollama.enqueue(Fault.stream_cut())
    parts = list(client.chat(model="llama3.2:3b", messages=msgs, stream=True))
    assert parts and not any(p.done for p in parts)
    fake_ollama.enqueue(Fault.rate_limited("1.5"))
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(model="llama3.2:3b", messages=msgs)
    assert err.value.status_code == 429
    client.close()
    assert fake_ollama.pending_faults() == 0
    assert all("authorization" not in r.headers for r in fake_ollama.requests)


def test_openai_models_and_structured_output(fake_openai: FakeOpenAI) -> None:
    client = _openai(fake_openai)
    assert [m.id for m in client.models.list()] == fake_openai.models
    completion = client.chat.completions.parse(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], response_format=CV
    )
    assert completion.choices[0].message.parsed == CV.model_validate(SAMPLE_CV)
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (812, 164)
    assert usage.prompt_tokens_details.cached_tokens == 128
    assert usage.completion_tokens_details.reasoning_tokens == 32
    assert fake_openai.chat_requests[-1].headers["authorization"] == f"Bearer {FAKE_OPENAI_KEY}"
    client.close()


def test_openai_stream_with_usage_chunk(fake_openai: FakeOpenAI) -> None:
    client = _openai(fake_openai)
    fake_openai.reported_model = "gpt-4o-mini-2024-07-18"
    with client.chat.completions.stream(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "x"}],
        response_format=JobDescription,
        stream_options={"include_usage": True},
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.model == "gpt-4o-mini-2024-07-18"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.total_tokens == 812 + 164
    parsed = final.choices[0].message.parsed
    assert parsed is not None and parsed.hiringOrganization == "Acme Corp"
    client.close()


def test_openai_errors_have_real_shapes(fake_openai: FakeOpenAI) -> None:
    client = _openai(fake_openai)
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="gpt-9", messages=msgs)  # type: ignore[arg-type]
    assert nf.value.code == "model_not_found"
    fake_openai.enqueue(Fault.rate_limited("0.25"))
    with pytest.raises(openai.RateLimitError) as rl:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs)  # type: ignore[arg-type]
    assert rl.value.response.headers["retry-after"] == "0.25"
    bad = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-wrong-key-0000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as au:
        bad.models.list()
    assert "sk-wrong-key-0000" not in str(au.value)
    fake_openai.enqueue(Fault.echo_key())
    with pytest.raises(openai.AuthenticationError) as echo:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs)  # type: ignore[arg-type]
    assert FAKE_OPENAI_KEY in str(echo.value)  # the fake does echo; providers must scrub
    fake_openai.supports_json_schema = False
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.parse(model="gpt-4o-mini", messages=msgs, response_format=CV)  # type: ignore[arg-type]
    client.close()
    bad.close()


def test_hang_is_released_by_stop_without_blocking() -> None:
    srv = FakeOllama().start()
    srv.enqueue(Fault.hang())
    client = ollama.Client(host=srv.url, timeout=30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.chat(model="llama3.2:3b", messages=[{"role": "user", "content": "x"}])
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 5
    while not srv.chat_requests and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    started = time.monotonic()
    srv.stop()
    worker.join(timeout=5)
    client.close()
    assert time.monotonic() - started < 2
    assert not worker.is_alive()
    assert errors  # the connection was dropped, the client saw an error
