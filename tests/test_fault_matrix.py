"""Issue 6's provider fault matrix, end to end through `cvjd extract`.

Each fault is served by a real server speaking the provider's API; each must end as
a one-line message on the file's result, the ledger row must hold exactly the tokens
the server reported (zeros when it reported none), and nothing may hang past the
request timeout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cvjd_desktop import cli
from cvjd_desktop.usage import Ledger
from tests.doc_factory import make_pdf
from tests.fakes import FakeOllama, FakeOpenAI, Fault

KEY = "sk-test-NEVER-LEAK-9876"
P, C = 812, 164  # what the fakes report per answer

# fault, error kind, (prompt, completion) recorded, words the message must hold
CASES: list[tuple[str, Callable[[], Fault], str | None, tuple[int | None, int | None], str]] = [
    ("401", Fault.unauthorized, "auth", (0, 0), "401"),
    ("model missing", Fault.model_not_found, "model_not_found", (0, 0), "model"),
    ("429 always", lambda: Fault.rate_limited("0"), "rate_limited", (0, 0), "429"),
    ("500", lambda: Fault.server_error(500), "server_error", (0, 0), "500"),
    ("503", lambda: Fault.server_error(503), "server_error", (0, 0), "503"),
    ("body not JSON", Fault.not_json_body, "server_error", (0, 0), "not"),
    ("answer not JSON", Fault.not_json_content, "invalid_output", (2 * P, 2 * C), "JSON"),
    ("wrong schema", Fault.wrong_schema, "invalid_output", (2 * P, 2 * C), "schema"),
    ("length limit", Fault.truncated, "truncated_output", (P, C), "cut off"),
    ("dropped midway", Fault.drop_midway, "server_error", (None, None), "dropped"),
    ("never answers", Fault.hang, "timeout", (0, 0), "timed out"),
    ("stream cut", Fault.stream_cut, "server_error", (None, None), "cut"),
    ("key echoed", Fault.echo_key, "auth", (0, 0), "401"),
]


def _run(provider: str, server: FakeOllama | FakeOpenAI, pdf: Path, capsys) -> tuple[int, dict]:
    model = "llama3.2:3b" if provider == "ollama" else "gpt-4o-mini"
    args = ["extract", "--json", "--provider", provider, "--timeout", "1", "--model", model]
    if isinstance(server, FakeOllama):
        args += ["--ollama-host", server.url]
    else:
        args += ["--openai-base-url", server.base_url]
    code = cli.main([*args, str(pdf)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    (result,) = [json.loads(line) for line in out.splitlines()]
    return code, result


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "cv.pdf", ["Ada Lovelace", "Experience", "Analyst, Babbage & Co"])


@pytest.mark.parametrize("provider", ["ollama", "openai"])
@pytest.mark.parametrize(
    ("label", "fault", "kind", "tokens", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_provider_fault(
    provider: str,
    label: str,
    fault: Callable[[], Fault],
    kind: str,
    tokens: tuple[int | None, int | None],
    words: str,
    pdf: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = FakeOllama() if provider == "ollama" else FakeOpenAI(api_key=KEY)
    with server:
        server.enqueue(fault(), times=10)
        code, result = _run(provider, server, pdf, capsys)

    assert code == 1
    assert result["status"] == "error"
    assert result["error_kind"] == kind
    message = result["error"]
    assert "\n" not in message
    assert words.lower() in message.lower()
    assert KEY not in json.dumps(result)
    usage = result["token_usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == tokens

    with Ledger() as ledger:
        (row,) = ledger.query_rows()
    assert row.status == "error"
    assert row.error_kind == kind
    assert (row.prompt_tokens, row.completion_tokens) == tokens
    assert KEY not in (row.error or "")


@pytest.mark.parametrize("provider", ["ollama", "openai"])
def test_rate_limit_retried_then_succeeds(
    provider: str, pdf: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = FakeOllama() if provider == "ollama" else FakeOpenAI(api_key=KEY)
    with server:
        server.enqueue(Fault.rate_limited("0.05"), times=2)
        code, result = _run(provider, server, pdf, capsys)
        assert len(server.chat_requests) == 3
    assert code == 0
    assert result["token_usage"]["completion_tokens"] == C


def test_ollama_without_prompt_count_records_unknown_not_zero(
    pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama() as server:
        server.enqueue(Fault.no_prompt_count())
        code, result = _run("ollama", server, pdf, capsys)
    assert code == 0
    assert result["token_usage"]["prompt_tokens"] is None
    assert result["token_usage"]["completion_tokens"] == C
    with Ledger() as ledger:
        (row,) = ledger.query_rows()
    assert row.prompt_tokens is None
    assert row.completion_tokens == C


def test_unresolvable_host(pdf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["extract", "--json", "--timeout", "2", "--model", "m"]
    code = cli.main([*args, "--ollama-host", "http://no-such-host.invalid:11434", str(pdf)])
    out, _ = capsys.readouterr()
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert result["error_kind"] in {"unavailable", "timeout"}
    assert "no-such-host.invalid" in result["error"]
