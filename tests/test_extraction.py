"""`extraction.extract`: the engine's front door, against a real Ollama-speaking server."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cvjd_desktop import config, documents, extraction
from cvjd_desktop.errors import CorruptFileError
from cvjd_desktop.llm.ollama_provider import OllamaProvider
from cvjd_desktop.usage import BudgetGuard, Ledger
from tests.doc_factory import make_pdf, write_text
from tests.fakes import FakeOllama, Fault, OllamaModel

CV = ["Ada Lovelace", "ada@example.org", "Experience", "Analyst, Babbage & Co", "Education"]


@pytest.fixture
def provider(fake_ollama: FakeOllama) -> Iterator[OllamaProvider]:
    p = OllamaProvider(fake_ollama.url, timeout=5)
    yield p
    p.close()


@pytest.fixture
def cv_txt(tmp_path: Path) -> Path:
    return write_text(tmp_path / "cv.txt", "\n".join(CV))


@pytest.fixture
def ledger(cvjd_home: Path) -> Iterator[Ledger]:
    with Ledger() as led:
        yield led


def test_success_reports_progress_and_commits_before_returning(
    provider: OllamaProvider, ledger: Ledger, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "cv.pdf", CV)
    stages: list[str] = []
    result = extraction.extract(
        pdf,
        "auto",
        provider,
        "llama3.2:3b",
        ledger=ledger,
        on_progress=lambda p: stages.append(p.stage),
    )
    assert result.status == "ok"
    assert result.kind == "cv"
    assert result.data is not None
    assert result.data["basics"]["name"] == "Ada Lovelace"
    assert stages[0] == "reading"
    assert stages[-1] == "done"
    assert "generating" in stages
    assert stages.index("waiting") < stages.index("recording")
    # A second connection sees the row: it was committed, not just written.
    with Ledger(config.ledger_path()) as other:
        (row,) = other.query_rows()
    assert row.file_name == "cv.pdf"
    assert row.file_sha256 == result.sha256
    assert row.kind == "cv"
    assert row.total_tokens == result.token_usage.total_tokens > 0
    assert row.price_source == "local"


def test_pasted_text_is_a_document(provider: OllamaProvider, fake_ollama: FakeOllama) -> None:
    doc = documents.document_from_text(
        "Senior Python Engineer. We are looking for you. Responsibilities: code. Apply now.",
        "Pasted job",
    )
    result = extraction.extract(doc, "auto", provider, "llama3.2:3b")
    assert result.status == "ok"
    assert result.kind == "jd"
    assert result.file == "Pasted job"
    assert "Responsibilities" in str(fake_ollama.chat_requests[0].body)


def test_a_custom_reader_reads_the_path_and_its_document_error_costs_nothing(
    provider: OllamaProvider, fake_ollama: FakeOllama, cv_txt: Path
) -> None:
    calls: list[tuple[Path | str, int]] = []

    def reader(path: Path | str, *, max_bytes: int) -> documents.Document:
        calls.append((path, max_bytes))
        doc = documents.read_document(path, max_bytes=max_bytes)
        return dataclasses.replace(doc, text=doc.text + "\nRead by the custom reader")

    result = extraction.extract(
        cv_txt, "cv", provider, "llama3.2:3b", reader=reader, max_bytes=4096
    )
    assert result.status == "ok"
    assert calls == [(cv_txt, 4096)]
    assert "Read by the custom reader" in str(fake_ollama.chat_requests[0].body)

    def refusing(path: Path | str, *, max_bytes: int) -> documents.Document:
        raise CorruptFileError(f"{Path(path).name} is damaged (from the reader)")

    failed = extraction.extract(cv_txt, "cv", provider, "llama3.2:3b", reader=refusing)
    assert failed.status == "error"
    assert failed.error_kind == "corrupt_file"
    assert failed.error == "cv.txt is damaged (from the reader)"
    assert len(fake_ollama.chat_requests) == 1  # the refused read sent nothing


def test_cancel_before_the_call_sends_nothing(
    provider: OllamaProvider, fake_ollama: FakeOllama, ledger: Ledger, cv_txt: Path
) -> None:
    cancel = threading.Event()
    cancel.set()
    result = extraction.extract(
        cv_txt,
        "cv",
        provider,
        "llama3.2:3b",
        ledger=ledger,
        cancel=cancel,
    )
    assert result.status == "error"
    assert result.error_kind == "cancelled"
    assert fake_ollama.chat_requests == []
    assert ledger.count_rows() == 0


def test_cancel_during_the_call_is_prompt_and_recorded(
    provider: OllamaProvider, fake_ollama: FakeOllama, ledger: Ledger, cv_txt: Path
) -> None:
    fake_ollama.enqueue(Fault.hang())
    cancel = threading.Event()
    waiting = threading.Event()
    box: list[object] = []

    def run() -> None:
        box.append(
            extraction.extract(
                cv_txt,
                "cv",
                provider,
                "llama3.2:3b",
                ledger=ledger,
                cancel=cancel,
                on_progress=lambda p: waiting.set() if p.stage == "waiting" else None,
            )
        )

    worker = threading.Thread(target=run)
    worker.start()
    assert waiting.wait(5)
    cancel.set()
    worker.join(3)
    assert not worker.is_alive(), "cancel did not stop the call"
    (result,) = box
    assert result.error_kind == "cancelled"  # type: ignore[attr-defined]
    (row,) = ledger.query_rows()
    assert row.status == "cancelled"


def test_long_text_is_cut_to_the_context_with_a_warning(tmp_path: Path) -> None:
    with FakeOllama(models=[OllamaModel("tiny:1b", context_length=8192)]) as srv:
        provider = OllamaProvider(srv.url, timeout=5)
        text = "\n".join(["Experience at Acme building things in Python."] * 6000)
        result = extraction.extract(
            write_text(tmp_path / "cv.txt", "Ada Lovelace\n" + text), "cv", provider, "tiny:1b"
        )
        provider.close()
        sent = srv.chat_requests[0].body
    assert result.status == "ok"
    assert any("cut" in w for w in result.warnings)
    assert sent["options"]["num_ctx"] <= 8192
    assert len(str(sent)) < len(text)


def test_budget_refusal_makes_no_call(
    provider: OllamaProvider, fake_ollama: FakeOllama, ledger: Ledger, cv_txt: Path
) -> None:
    guard = BudgetGuard(ledger, [config.Budget(period="daily", tokens=10)])
    result = extraction.extract(
        cv_txt,
        "cv",
        provider,
        "llama3.2:3b",
        ledger=ledger,
        budget=guard,
    )
    assert result.status == "error"
    assert result.error_kind == "budget"
    assert "budget" in (result.error or "").lower()
    assert fake_ollama.chat_requests == []


def test_budget_warning_at_80_percent(
    provider: OllamaProvider, fake_ollama: FakeOllama, ledger: Ledger, cv_txt: Path
) -> None:
    fake_ollama.prompt_tokens, fake_ollama.completion_tokens = 850, 0
    guard = BudgetGuard(ledger, [config.Budget(period="monthly", tokens=1000)])
    result = extraction.extract(
        cv_txt,
        "cv",
        provider,
        "llama3.2:3b",
        ledger=ledger,
        budget=guard,
    )
    assert result.status == "ok"
    assert any("%" in w and "budget" in w.lower() for w in result.warnings), result.warnings


def test_provider_down_is_an_error_result(cv_txt: Path) -> None:
    with FakeOllama() as srv:
        dead = srv.url
    provider = OllamaProvider(dead, timeout=2)
    result = extraction.extract(cv_txt, "cv", provider, "m")
    provider.close()
    assert result.status == "error"
    assert result.error_kind == "unavailable"
    assert result.token_usage.total_tokens == 0
