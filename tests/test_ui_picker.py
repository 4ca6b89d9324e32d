"""The toolbar's provider and model picker against servers speaking the real APIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cvjd_desktop import config
from cvjd_desktop.config import Settings
from cvjd_desktop.llm.factory import make_provider
from cvjd_desktop.ui.model_picker import ModelPicker
from tests.fakes import FakeOllama, FakeOpenAI, Fault, OllamaModel


def factory(name: str, settings: Settings, **kw: Any) -> Any:
    return make_provider(name, settings=settings, **kw)


@pytest.fixture
def open_picker(qtbot) -> Callable[..., ModelPicker]:
    def make(settings: Settings, *, wait: bool = True) -> ModelPicker:
        picker = ModelPicker(settings, factory, config.save_settings)
        qtbot.addWidget(picker)
        picker.refresh()
        if wait:
            qtbot.waitUntil(lambda: not picker.loading, timeout=5000)
        return picker

    return make


def items(picker: ModelPicker) -> list[tuple[str, str]]:
    combo = picker.model_combo
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_lists_ollama_models_with_size_and_quantization_and_remembers_the_first(
    open_picker, fake_ollama: FakeOllama
) -> None:
    picker = open_picker(Settings(ollama_host=fake_ollama.url))
    assert picker.status == "ready" and picker.indicator.text() == "Ready"
    assert items(picker) == [
        ("llama3.2:3b (2.0 GB, Q4_K_M)", "llama3.2:3b"),
        ("qwen2.5:7b (4.7 GB, Q4_K_M)", "qwen2.5:7b"),
    ]
    # First use: the first model listed, saved for the next start.
    assert picker.model() == "llama3.2:3b"
    assert config.load_settings().ollama_model == "llama3.2:3b"
    assert picker.provider_combo.accessibleName() == "Provider"
    assert picker.model_combo.accessibleName() == "Model"


def test_a_choice_persists_and_comes_back(qtbot, open_picker, fake_ollama: FakeOllama) -> None:
    picker = open_picker(Settings(ollama_host=fake_ollama.url))
    with qtbot.waitSignal(picker.selection_changed) as changed:
        picker.model_combo.setCurrentIndex(1)
    assert changed.args == ["ollama", "qwen2.5:7b"]
    saved = config.load_settings()
    assert saved.ollama_model == "qwen2.5:7b"
    again = open_picker(saved)
    assert again.model() == "qwen2.5:7b"


def test_refresh_reloads_the_list(qtbot, open_picker, fake_ollama: FakeOllama) -> None:
    picker = open_picker(Settings(ollama_host=fake_ollama.url))
    fake_ollama.models = [
        OllamaModel("mistral:7b", size=4_100_000_000, quantization_level="Q5_K_M")
    ]
    with qtbot.waitSignal(picker.models_loaded, timeout=5000) as loaded:
        qtbot.mouseClick(picker.refresh_button, Qt.MouseButton.LeftButton)
    assert loaded.args == ["ollama", ["mistral:7b"]]
    # The saved model is gone from the server: kept, but marked, so nothing changes silently.
    assert items(picker)[0] == ("llama3.2:3b (not listed)", "llama3.2:3b")
    assert ("mistral:7b (4.1 GB, Q5_K_M)", "mistral:7b") in items(picker)


def test_ollama_down_says_not_running_and_how_to_start_it(open_picker) -> None:
    with FakeOllama() as srv:
        dead = srv.url
    picker = open_picker(Settings(ollama_host=dead))
    assert picker.status == "not_running"
    assert picker.indicator.text() == "Not running"
    assert "ollama serve" in picker.indicator.toolTip()
    assert picker.model() == ""


def test_openai_compatible_server_lists_its_models(
    open_picker, fake_openai: FakeOpenAI, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    settings = Settings(provider="openai", openai_base_url=fake_openai.base_url)
    picker = open_picker(settings)
    assert picker.status == "ready"
    # A compatible server names its models as it likes, so all are offered (the
    # provider keeps only chat models when talking to api.openai.com itself).
    names = [data for _text, data in items(picker)]
    assert sorted(names) == sorted(fake_openai.models)
    assert picker.model() == "gpt-4o-mini"  # the saved default


def test_a_rejected_key_says_where_to_add_one(
    open_picker, fake_openai: FakeOpenAI, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    picker = open_picker(Settings(provider="openai", openai_base_url=fake_openai.base_url))
    assert picker.status == "key_rejected"
    assert picker.indicator.text() == "Key rejected"
    assert "Preferences" in picker.indicator.toolTip()
    assert "sk-wrong" not in picker.indicator.toolTip()


def test_switching_provider_drops_the_stale_answer_and_saves_the_choice(
    qtbot, open_picker, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    fake_ollama.enqueue(Fault.hang(), on="tags")
    settings = Settings(ollama_host=fake_ollama.url, openai_base_url=fake_openai.base_url)
    picker = open_picker(settings, wait=False)
    qtbot.waitUntil(lambda: len(fake_ollama.requests_to("/api/tags")) == 1, timeout=5000)

    with qtbot.waitSignal(picker.models_loaded, timeout=5000) as loaded:
        picker.provider_combo.setCurrentIndex(picker.provider_combo.findData("openai"))
    assert loaded.args[0] == "openai"
    assert config.load_settings().provider == "openai"

    fake_ollama.release()  # the old Ollama answer arrives now, and must be ignored
    qtbot.waitUntil(lambda: not picker.busy(), timeout=5000)
    assert picker.provider() == "openai"
    assert "llama3.2:3b" not in [data for _t, data in items(picker)]


def test_no_key_at_all_says_so(open_picker) -> None:
    picker = open_picker(Settings(provider="openai"))  # api.openai.com, never contacted
    assert picker.status == "key_rejected"
    assert picker.indicator.text() == "No API key"
    assert "OPENAI_API_KEY" in picker.indicator.toolTip()
