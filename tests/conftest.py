"""Test set-up shared by every test: offscreen Qt, a temp CVJD_HOME, no real keychain."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from tests.fakes import FAKE_OPENAI_KEY, FakeOllama, FakeOpenAI
from tests.memory_keyring import MemoryKeyring


@pytest.fixture(autouse=True)
def cvjd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings, ledger and cache folder, and a clean env."""
    home = tmp_path / "cvjd-home"
    home.mkdir()
    monkeypatch.setenv("CVJD_HOME", str(home))
    for var in ("OLLAMA_HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keychain, so no test reads or writes the real one."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


# --- fake LLM servers (tests/fakes) ------------------------------------------------


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A server speaking Ollama's API on a free port; see tests/fakes/__init__.py."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A server speaking OpenAI's API (``.base_url`` ends in /v1).

    It requires the key ``FAKE_OPENAI_KEY`` (also ``fake_openai.api_key``).
    """
    with FakeOpenAI(api_key=FAKE_OPENAI_KEY) as server:
        yield server


# --- the main window against the fake Ollama (UI tests) ------------------------------


@pytest.fixture
def ledger() -> Iterator[Any]:
    """The real ledger under this test's CVJD_HOME (test modules may define their own)."""
    from cvjd_desktop.usage import Ledger

    with Ledger() as led:
        yield led


@pytest.fixture
def window(qtbot: Any, fake_ollama: FakeOllama, ledger: Any) -> Any:
    """A shown main window wired to the real engine and the fake Ollama, models listed."""
    from cvjd_desktop.config import Settings
    from cvjd_desktop.ui.main_window import Engine, MainWindow

    win = MainWindow(Settings(ollama_host=fake_ollama.url), ledger, engine=Engine.real())
    qtbot.addWidget(win)
    win.confirm_quit = lambda _active: True  # teardown never blocks on a question
    win.show()
    qtbot.waitUntil(lambda: not win.picker.loading, timeout=5000)
    return win
