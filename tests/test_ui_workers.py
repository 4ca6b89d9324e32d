"""Worker tasks and pools: the signal vocabulary, bounded concurrency, prompt
cancel, bounded shutdown; against servers speaking the Ollama and OpenAI APIs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from cvjd_desktop import extraction
from cvjd_desktop.config import Settings
from cvjd_desktop.errors import ProviderUnavailableError
from cvjd_desktop.llm.factory import make_provider
from cvjd_desktop.schemas import ExtractionResult
from cvjd_desktop.ui.workers import CallRunner, ExtractionRunner
from cvjd_desktop.usage import Ledger, RowFilter
from tests.fakes import FakeOllama, FakeOpenAI, Fault

CV_TEXT = "Ada Lovelace\nada@example.org\nExperience: Programmer, 1842-1843\nSkills: maths\n"


def factory(name: str, settings: Settings, **kw: Any) -> Any:
    return make_provider(name, settings=settings, **kw)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    led = Ledger()
    yield led
    led.close()


@pytest.fixture
def cv(tmp_path: Path) -> Path:
    path = tmp_path / "ada.txt"
    path.write_text(CV_TEXT, encoding="utf-8")
    return path


@pytest.fixture
def make_runner() -> Iterator[Any]:
    """Runners that are shut down (cancelled, joined) before the servers stop."""
    made: list[ExtractionRunner] = []

    def make(settings: Settings, ledger: Ledger | None) -> ExtractionRunner:
        runner = ExtractionRunner(
            settings, extract=extraction.extract, make_provider=factory, ledger=ledger
        )
        made.append(runner)
        return runner

    yield make
    for runner in made:
        assert runner.shutdown(2000)


class Recorder:
    """Every signal of a runner, in arrival order, with the thread it arrived on."""

    def __init__(self, runner: ExtractionRunner) -> None:
        self.events: list[tuple[str, int, Any]] = []
        self.results: dict[int, ExtractionResult] = {}
        self.threads: set[Any] = set()
        runner.started.connect(lambda j: self._add("started", j, None))
        runner.progress.connect(lambda j, stage, tokens: self._add("progress", j, stage))
        runner.succeeded.connect(lambda j, r: self._add("succeeded", j, r))
        runner.failed.connect(lambda j, r: self._add("failed", j, r))
        runner.finished.connect(lambda j: self._add("finished", j, None))

    def _add(self, name: str, job: int, value: Any) -> None:
        self.threads.add(QThread.currentThread())
        self.events.append((name, job, value))
        if name in ("succeeded", "failed"):
            self.results[job] = value

    def names(self, job: int) -> list[str]:
        return [name for name, j, _ in self.events if j == job]

    def stages(self, job: int) -> list[str]:
        return [v for name, j, v in self.events if j == job and name == "progress"]


def test_a_task_reports_started_progress_succeeded_finished_on_the_gui_thread(
    qtbot, make_runner, fake_ollama: FakeOllama, ledger: Ledger, cv: Path
) -> None:
    runner = make_runner(Settings(ollama_host=fake_ollama.url), ledger)
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=10000):
        runner.submit(1, cv, "cv", "ollama", "llama3.2:3b")
    names = seen.names(1)
    assert names[0] == "started"
    assert names[-2:] == ["succeeded", "finished"]
    assert set(names[1:-2]) == {"progress"}
    assert seen.stages(1)[:2] == ["reading", "waiting"]
    assert seen.threads == {QApplication.instance().thread()}
    result = seen.results[1]
    assert result.status == "ok" and result.data["basics"]["name"] == "Ada Lovelace"
    # The engine recorded the call before the result came back.
    assert ledger.count_rows(RowFilter()) == 1
    assert not runner.is_running(1)


def test_ollama_pool_runs_one_at_a_time_openai_four(
    qtbot,
    make_runner,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    ledger: Ledger,
    cv: Path,
    monkeypatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    settings = Settings(ollama_host=fake_ollama.url, openai_base_url=fake_openai.base_url)
    runner = make_runner(settings, ledger)
    seen = Recorder(runner)
    assert runner.pools["ollama"].maxThreadCount() == 1
    assert runner.pools["openai"].maxThreadCount() == 4
    fake_ollama.enqueue(Fault.hang(), times=2)
    fake_openai.enqueue(Fault.hang(), times=6)
    for job in range(1, 3):
        runner.submit(job, cv, "cv", "ollama", "llama3.2:3b")
    for job in range(10, 16):
        runner.submit(job, cv, "cv", "openai", "gpt-4o-mini")

    qtbot.waitUntil(lambda: len(fake_openai.chat_requests) == 4, timeout=5000)
    qtbot.waitUntil(lambda: len(fake_ollama.chat_requests) == 1, timeout=5000)
    assert runner.pools["openai"].activeThreadCount() == 4
    assert runner.pools["ollama"].activeThreadCount() == 1
    assert runner.running("ollama") == 2 and not runner.has_slot("ollama")

    fake_ollama.release()
    fake_openai.release()
    qtbot.waitUntil(lambda: len(seen.results) == 8, timeout=15000)
    assert all(r.status == "ok" for r in seen.results.values())
    assert len(fake_openai.chat_requests) == 6 and len(fake_ollama.chat_requests) == 2


def test_cancel_takes_effect_within_a_second(
    qtbot, make_runner, fake_ollama: FakeOllama, ledger: Ledger, cv: Path
) -> None:
    runner = make_runner(Settings(ollama_host=fake_ollama.url), ledger)
    seen = Recorder(runner)
    fake_ollama.enqueue(Fault.hang())
    runner.submit(1, cv, "cv", "ollama", "llama3.2:3b")
    qtbot.waitUntil(lambda: "waiting" in seen.stages(1), timeout=5000)
    qtbot.waitUntil(lambda: len(fake_ollama.chat_requests) == 1, timeout=5000)
    started = time.monotonic()
    assert runner.cancel(1)
    qtbot.waitUntil(lambda: 1 in seen.results, timeout=2000)
    assert time.monotonic() - started < 1.5
    assert seen.results[1].error_kind == "cancelled"


def test_a_task_cancelled_before_it_starts_ends_at_once(
    qtbot, make_runner, fake_ollama: FakeOllama, ledger: Ledger, cv: Path
) -> None:
    runner = make_runner(Settings(ollama_host=fake_ollama.url), ledger)
    seen = Recorder(runner)
    fake_ollama.enqueue(Fault.hang())
    runner.submit(1, cv, "cv", "ollama", "llama3.2:3b")
    runner.submit(2, cv, "cv", "ollama", "llama3.2:3b")  # waits for the pool's one thread
    qtbot.waitUntil(lambda: len(fake_ollama.chat_requests) == 1, timeout=5000)
    assert runner.cancel_all() == 2
    qtbot.waitUntil(lambda: len(seen.results) == 2, timeout=3000)
    assert {r.error_kind for r in seen.results.values()} == {"cancelled"}
    assert len(fake_ollama.chat_requests) == 1  # the second never reached the server


def test_shutdown_cancels_and_waits_a_bounded_time(
    qtbot, make_runner, fake_openai: FakeOpenAI, ledger: Ledger, cv: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    settings = Settings(openai_base_url=fake_openai.base_url, concurrency_openai=8)
    runner = make_runner(settings, ledger)
    fake_openai.enqueue(Fault.hang(), times=8)
    for job in range(8):
        runner.submit(job, cv, "cv", "openai", "gpt-4o-mini")
    qtbot.waitUntil(lambda: len(fake_openai.chat_requests) == 8, timeout=5000)
    started = time.monotonic()
    assert runner.shutdown(2000) is True
    assert time.monotonic() - started < 2.0
    assert all(pool.activeThreadCount() == 0 for pool in runner.pools.values())


def test_a_fault_outside_the_engine_still_ends_the_row(qtbot, cv: Path) -> None:
    def broken(name: str, settings: Settings, **kw: Any) -> Any:
        raise ProviderUnavailableError("Ollama is not reachable at http://127.0.0.1:9")

    runner = ExtractionRunner(Settings(), extract=extraction.extract, make_provider=broken)
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.submit(7, cv, "cv", "ollama", "llama3.2:3b")
    assert seen.names(7) == ["started", "failed", "finished"]
    assert seen.results[7].error == "Ollama is not reachable at http://127.0.0.1:9"
    assert seen.results[7].error_kind == "unavailable"


def test_call_runner_hands_values_and_errors_back_on_the_gui_thread(qtbot) -> None:
    calls = CallRunner()
    got: list[tuple[str, Any, Any]] = []
    calls.call(
        lambda: QThread.currentThread(),
        lambda worker: got.append(("ok", worker, QThread.currentThread())),
        lambda exc: got.append(("err", exc, None)),
    )
    calls.call(
        lambda: 1 / 0,
        lambda value: got.append(("ok", value, None)),
        lambda exc: got.append(("err", exc, QThread.currentThread())),
    )
    qtbot.waitUntil(lambda: len(got) == 2 and not calls.busy(), timeout=3000)
    gui = QApplication.instance().thread()
    ok = next(g for g in got if g[0] == "ok")
    err = next(g for g in got if g[0] == "err")
    assert ok[1] is not gui and ok[2] is gui
    assert isinstance(err[1], ZeroDivisionError) and err[2] is gui


def test_tasks_share_one_provider_per_name_until_settings_change(
    qtbot, fake_ollama: FakeOllama, ledger: Ledger, cv: Path
) -> None:
    built: list[Any] = []

    def counting(name: str, settings: Settings, **kw: Any) -> Any:
        provider = make_provider(name, settings=settings, **kw)
        built.append(provider)
        return provider

    settings = Settings(ollama_host=fake_ollama.url)
    runner = ExtractionRunner(settings, extract=extraction.extract, make_provider=counting)
    seen = Recorder(runner)
    for job in range(3):
        runner.submit(job, cv, "cv", "ollama", "llama3.2:3b")
    qtbot.waitUntil(lambda: len(seen.results) == 3, timeout=10000)
    assert len(built) == 1  # 25-40 ms of TLS set-up saved per file, connections reused

    runner.apply_settings(settings.model_copy(update={"timeout_s": 5.0}))
    runner.submit(3, cv, "cv", "ollama", "llama3.2:3b")
    qtbot.waitUntil(lambda: len(seen.results) == 4, timeout=10000)
    assert len(built) == 2
    assert all(r.status == "ok" for r in seen.results.values())
    assert runner.shutdown(2000)
