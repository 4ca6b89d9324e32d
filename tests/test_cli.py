"""`cvjd` end to end: real files, real SDKs, servers speaking the provider APIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from cvjd_desktop import cli, config
from tests.doc_factory import make_docx, make_image_pdf, make_pdf, write_text
from tests.fakes import FakeOllama, FakeOpenAI, Fault

CV_LINES = [
    "Ada Lovelace",
    "ada@example.org | +44 20 7946 0000",
    "Experience",
    "Analyst, Babbage & Co, 1842 - present",
    "Education",
    "Private tutoring in mathematics",
    "Skills: Python, analysis, writing",
]
JD_LINES = [
    "Senior Python Engineer at Acme Corp",
    "We are looking for an engineer to join our team.",
    "Responsibilities: build services, review code.",
    "Requirements: 5+ years of Python. Benefits: pension. Apply by 2027-01-31.",
]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def ollama_extract(fake: FakeOllama, *more: str) -> list[str]:
    """``cvjd extract --json`` against the fake; Ollama is the default provider."""
    return ["extract", "--json", "--ollama-host", fake.url, *more]


def openai_extract(fake: FakeOpenAI, *more: str) -> list[str]:
    return ["extract", "--json", "--provider", "openai", "--openai-base-url", fake.base_url, *more]


@pytest.fixture
def openai_key(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fake's key in the environment, where the CLI reads it."""
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    return fake_openai.api_key


@pytest.fixture
def cv_pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "ada cv.pdf", CV_LINES)


@pytest.fixture
def jd_docx(tmp_path: Path) -> Path:
    return make_docx(tmp_path / "job.docx", JD_LINES)


def test_extract_ollama_json_lines(
    fake_ollama: FakeOllama,
    cv_pdf: Path,
    jd_docx: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 1234, 321
    fake_ollama.reported_model = "llama3.2:3b-instruct-q4_K_M"
    args = ollama_extract(fake_ollama, "--provider", "ollama", "--model", "llama3.2:3b")
    code, out, err = run_cli([*args, str(cv_pdf), str(jd_docx)], capsys)

    assert code == 0, err
    results = json_lines(out)
    assert [Path(r["file"]).name for r in results] == ["ada cv.pdf", "job.docx"]
    assert [r["kind"] for r in results] == ["cv", "jd"]
    for r in results:
        assert r["status"] == "ok"
        assert r["error"] is None
        assert r["provider"] == "ollama"
        usage = r["token_usage"]
        assert usage["prompt_tokens"] == 1234
        assert usage["completion_tokens"] == 321
        assert usage["total_tokens"] == 1555
        assert usage["model"] == "llama3.2:3b-instruct-q4_K_M"
        assert r["cost_usd"] == 0.0
        assert r["duration_ms"] >= 0
    assert results[0]["data"]["basics"]["name"] == "Ada Lovelace"
    assert results[1]["data"]["hiringOrganization"] == "Acme Corp"
    # The document text went to the model, inside the user message.
    sent = json.dumps([r.body for r in fake_ollama.chat_requests])
    assert "Babbage" in sent
    assert "Responsibilities" in sent


def test_extract_openai_usage_and_cost(
    fake_openai: FakeOpenAI, openai_key: str, cv_pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_openai.prompt_tokens, fake_openai.completion_tokens = 2000, 500
    fake_openai.cached_tokens, fake_openai.reasoning_tokens = 1024, 0
    code, out, err = run_cli(
        openai_extract(fake_openai, "--model", "gpt-4o-mini", str(cv_pdf)), capsys
    )

    assert code == 0, err
    (result,) = json_lines(out)
    usage = result["token_usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (2000, 500)
    assert usage["cached_tokens"] == 1024
    expected = calc_price(
        Usage(input_tokens=2000, cache_read_tokens=1024, output_tokens=500),
        model_ref="gpt-4o-mini",
        provider_id="openai",
    ).total_price
    assert result["cost_usd"] == pytest.approx(float(expected), rel=1e-9)
    # The key went to the OpenAI server, in the Authorization header.
    assert all(
        r.headers.get("authorization") == f"Bearer {openai_key}" for r in fake_openai.chat_requests
    )


def test_broken_files_fail_one_line_each_and_good_ones_succeed(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "inbox"
    (folder / "nested").mkdir(parents=True)
    make_pdf(folder / "good.pdf", CV_LINES)
    write_text(folder / "nested" / "job.txt", "\n".join(JD_LINES))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "random.pdf").write_bytes(os.urandom(2048))
    (folder / "setup.pdf").write_bytes(b"MZ\x90\x00" + b"\x00" * 512)
    good = (folder / "good.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(good[: len(good) // 3])
    make_pdf(folder / "locked.pdf", CV_LINES, encrypted=True)
    make_image_pdf(folder / "scan.pdf")
    (folder / "notzip.docx").write_bytes(b"\x00\x01garbage\xff" * 64)

    code, out, err = run_cli(
        ollama_extract(fake_ollama, "--model", "llama3.2:3b", str(folder)), capsys
    )

    assert code == 1
    assert "Traceback" not in out + err
    results = {Path(r["file"]).name: r for r in json_lines(out)}
    assert set(results) == {
        "good.pdf",
        "job.txt",
        "empty.pdf",
        "random.pdf",
        "setup.pdf",
        "truncated.pdf",
        "locked.pdf",
        "scan.pdf",
        "notzip.docx",
    }
    assert results["good.pdf"]["status"] == "ok"
    assert results["job.txt"]["status"] == "ok"
    # PyMuPDF repairs what it can of a truncated PDF: then the result says so.
    truncated = results.pop("truncated.pdf")
    assert truncated["status"] == "error" or any("damaged" in w for w in truncated["warnings"])
    assert results["job.txt"]["kind"] == "jd"
    for name, r in results.items():
        if name in {"good.pdf", "job.txt"}:
            continue
        assert r["status"] == "error", name
        assert r["error"], name
        assert "\n" not in r["error"]
        assert name in r["error"] or Path(name).stem in r["error"], r["error"]
        assert r["token_usage"]["total_tokens"] == 0
        assert r["data"] is None
    assert "password" in results["locked.pdf"]["error"].lower()
    assert "ocr" in results["scan.pdf"]["error"].lower()
    # Only the good (or repaired) files reached the model.
    assert len(fake_ollama.chat_requests) == 2 + (truncated["status"] == "ok")


def test_provider_down_every_file_fails_with_the_message(
    tmp_path: Path, cv_pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama() as srv:
        dead = srv.url  # the port is free again once the server stops
    code, out, err = run_cli(["extract", "--json", "--ollama-host", dead, str(cv_pdf)], capsys)
    assert code == 1
    (result,) = json_lines(out)
    assert result["status"] == "error"
    assert "Ollama is not running at" in result["error"]
    assert dead in result["error"]
    assert "Traceback" not in err


def test_usage_by_model_sums_every_call_including_failures(
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    cv_pdf: Path,
    jd_docx: Path,
    openai_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 700, 70
    ollama_args = ollama_extract(fake_ollama, "--model", "qwen2.5:7b")
    # The first file gets junk twice (answer + repair): both attempts are billed.
    fake_ollama.enqueue(Fault.wrong_schema(), times=2)
    code, out, _ = run_cli([*ollama_args, "--jobs", "1", str(cv_pdf), str(jd_docx)], capsys)
    assert code == 1
    statuses = [r["status"] for r in json_lines(out)]
    assert statuses == ["error", "ok"]

    fake_openai.prompt_tokens, fake_openai.completion_tokens = 1500, 300
    fake_openai.cached_tokens, fake_openai.reasoning_tokens = 512, 0
    code, out, _ = run_cli(
        openai_extract(fake_openai, "--model", "gpt-4o-mini", str(cv_pdf)), capsys
    )
    assert code == 0

    code, out, err = run_cli(["usage", "--by", "model", "--json"], capsys)
    assert code == 0, err
    by_model = {row["model"]: row for row in json.loads(out)}
    qwen = by_model["qwen2.5:7b"]
    assert qwen["calls"] == 2
    assert qwen["failed"] == 1
    assert qwen["prompt_tokens"] == 3 * 700  # two attempts for the failure, one success
    assert qwen["completion_tokens"] == 3 * 70
    assert qwen["total_tokens"] == 3 * 770
    assert qwen["cost_usd"] == 0.0
    mini = by_model["gpt-4o-mini"]
    assert (mini["calls"], mini["prompt_tokens"], mini["completion_tokens"]) == (1, 1500, 300)
    assert mini["cached_tokens"] == 512
    expected = calc_price(
        Usage(input_tokens=1500, cache_read_tokens=512, output_tokens=300),
        model_ref="gpt-4o-mini",
        provider_id="openai",
    ).total_price
    assert mini["cost_usd"] == pytest.approx(float(expected), rel=1e-9)
    assert mini["unknown_cost_calls"] == 0

    code, out, _ = run_cli(["usage", "--by", "provider", "--csv"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("provider,calls,")
    assert len(out.splitlines()) == 3
    code, out, _ = run_cli(["usage"], capsys)
    assert "qwen2.5:7b" in out
    assert "TOTAL" in out


def test_budget_below_spend_refuses_without_calling(
    fake_openai: FakeOpenAI, openai_key: str, cv_pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = openai_extract(fake_openai, "--model", "gpt-4o-mini", str(cv_pdf))
    assert run_cli(args, capsys)[0] == 0
    code, out, err = run_cli(["budget", "set", "--daily-usd", "0.0000001"], capsys)
    assert code == 0, err
    assert "Daily" in out
    calls_before = len(fake_openai.chat_requests)

    code, out, _ = run_cli(args, capsys)
    assert code == 1
    (result,) = json_lines(out)
    assert result["status"] == "error"
    assert result["error_kind"] == "budget"
    assert "budget" in result["error"].lower()
    assert "cvjd budget set" in result["error"]
    assert len(fake_openai.chat_requests) == calls_before

    code, out, _ = run_cli(["budget", "show", "--json"], capsys)
    status = json.loads(out)
    assert status[0]["fraction"] > 1
    assert run_cli(["budget", "set", "--clear"], capsys)[0] == 0
    assert config.load_settings().budgets == []


def test_api_key_never_reaches_ollama(
    fake_ollama: FakeOllama,
    cv_pdf: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "sk-proj-SECRETSECRET1234"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code, _, _ = run_cli(ollama_extract(fake_ollama, str(cv_pdf)), capsys)
    assert code == 0
    assert fake_ollama.requests
    assert all(secret not in r.text() for r in fake_ollama.requests)
    assert all("authorization" not in r.headers for r in fake_ollama.requests)


def test_first_use_picks_the_first_listed_model(
    fake_ollama: FakeOllama, cv_pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, _ = run_cli(ollama_extract(fake_ollama, str(cv_pdf)), capsys)
    assert code == 0
    assert fake_ollama.chat_requests[0].body["model"] == fake_ollama.models[0].name


def test_models_command(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["models", "--ollama-host", fake_ollama.url, "--json"], capsys)
    assert code == 0
    names = [json.loads(line)["model"] for line in out.splitlines()]
    assert names == [m.name for m in fake_ollama.models]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["extract"],
        ["extract", "--kind", "letter", "x.pdf"],
        ["extract", "--timeout", "0", "x.pdf"],
        ["usage", "--since", "yesterday"],
        ["usage", "--since", "2026-02-01", "--until", "2026-01-01"],
        ["budget", "set"],
        ["budget"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(cli.main(args))
    assert exc_info.value.code == 2


def test_corrupt_ledger_is_reported(cvjd_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.ledger_path().write_bytes(b"this is not a database" * 100)
    code, out, err = run_cli(["usage", "--json"], capsys)
    assert code == 0
    assert json.loads(out) == []
    assert "moved to" in err
    assert list(cvjd_home.glob("usage.sqlite3.corrupt-*"))


def test_console_script_runs_headless(fake_ollama: FakeOllama, cv_pdf: Path) -> None:
    """The installed `cvjd` entry point, in a fresh process without Qt."""
    exe = Path(sys.executable).with_name("cvjd")
    proc = subprocess.run(
        [str(exe), *ollama_extract(fake_ollama, str(cv_pdf))],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"


def test_usage_ranges_by_day_and_by_time(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from cvjd_desktop.usage import CallRecord, Ledger

    with Ledger() as ledger:
        for hour, tokens in [(1, 10), (12, 200), (23, 3000)]:
            ledger.record(
                CallRecord(
                    provider="ollama",
                    model="m",
                    status="ok",
                    prompt_tokens=tokens,
                    completion_tokens=0,
                    total_tokens=tokens,
                    cost_usd=0.0,
                    ts=datetime(2026, 3, 5, hour, tzinfo=UTC),
                )
            )

    def total(*args: str) -> int:
        assert cli.main(["usage", "--json", *args]) == 0
        rows = json.loads(capsys.readouterr().out)
        return sum(r["total_tokens"] for r in rows)

    assert total("--since", "2026-03-05", "--until", "2026-03-05") == 3210  # whole day
    assert total("--since", "2026-03-06") == 0
    assert total("--since", "2026-03-05T06:00:00", "--until", "2026-03-05T18:00:00Z") == 200
    assert total("--until", "2026-03-05T12:00:00+02:00") == 10  # 10:00 UTC


@pytest.mark.parametrize(
    "args",
    [
        ["extract", "--timeout", "inf", "x.pdf"],
        ["extract", "--timeout", "1e12", "x.pdf"],
        ["budget", "set", "--daily-usd", "nan"],
        ["budget", "set", "--monthly-usd", "inf"],
    ],
)
def test_non_finite_numbers_are_usage_errors(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        cli.main(args)
    assert exc_info.value.code == 2


def test_small_budgets_are_shown_with_their_digits(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["budget", "set", "--daily-usd", "0.0001"]) == 0
    assert "$0.0001" in capsys.readouterr().out


def test_cvjd_home_that_is_a_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    monkeypatch.setenv("CVJD_HOME", str(afile))
    assert cli.main(["usage"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert str(afile) in err


def test_output_piped_into_a_closed_reader_ends_quietly(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    for i in range(6):
        write_text(tmp_path / "in" / f"cv{i}.txt", "\n".join(CV_LINES))
    exe = Path(sys.executable).with_name("cvjd")
    args = [str(exe), "extract", "--json", "--ollama-host", fake_ollama.url, "--model"]
    proc = subprocess.Popen(
        [*args, "llama3.2:3b", "--jobs", "1", str(tmp_path / "in")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()  # like `| head -c 1`
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode in (0, 1)


def test_corrupt_ledger_is_reported_once_by_the_installed_cli(cvjd_home: Path) -> None:
    config.ledger_path().write_bytes(b"not a database" * 300)
    exe = Path(sys.executable).with_name("cvjd")
    proc = subprocess.run(
        [str(exe), "usage", "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []
    assert proc.stderr.count("moved to usage.sqlite3.corrupt-") == 1
    assert "Traceback" not in proc.stderr
