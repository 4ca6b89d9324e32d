"""make_provider: explicit arguments beat the environment, which beats the settings file."""

from __future__ import annotations

import pytest

from cvjd_desktop import config
from cvjd_desktop.errors import ProviderRequestError
from cvjd_desktop.llm.factory import PROVIDER_NAMES, make_provider
from cvjd_desktop.llm.ollama_provider import OllamaProvider
from cvjd_desktop.llm.openai_provider import OpenAIProvider
from tests.fakes import FAKE_OPENAI_KEY, FakeOpenAI
from tests.memory_keyring import MemoryKeyring


def test_names_match_the_config_literal() -> None:
    assert PROVIDER_NAMES == config.PROVIDERS


def test_ollama_host_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = config.Settings(ollama_host="http://10.0.0.5:11434", timeout_s=42)
    p = make_provider("ollama", settings=settings)
    assert isinstance(p, OllamaProvider)
    assert (p.host, p.timeout) == ("http://10.0.0.5:11434", 42)
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:9999")
    assert make_provider("ollama", settings=settings).host == "http://127.0.0.1:9999"  # type: ignore[attr-defined]
    explicit = make_provider("ollama", settings=settings, ollama_host="gpu-box", timeout=3)
    assert isinstance(explicit, OllamaProvider)
    assert (explicit.host, explicit.timeout) == ("http://gpu-box:11434", 3)


def test_openai_base_url_and_key_precedence(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    settings = config.Settings(openai_base_url="http://llm.internal:8000/v1")
    config.keychain_set("openai", "sk-from-keychain-1234")
    p = make_provider("openai", settings=settings)
    assert isinstance(p, OpenAIProvider)
    assert p.base_url == "http://llm.internal:8000/v1"
    assert p._api_key == "sk-from-keychain-1234"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://other:1234/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-5678")
    p = make_provider("openai", settings=settings)
    assert isinstance(p, OpenAIProvider)
    assert (p.base_url, p._api_key) == ("http://other:1234/v1", "sk-from-env-5678")
    p = make_provider("openai", settings=settings, openai_base_url="http://x:1/v1", api_key="k")
    assert isinstance(p, OpenAIProvider)
    assert (p.base_url, p._api_key) == ("http://x:1/v1", "k")


def test_settings_file_is_read_when_none_given(cvjd_home: object) -> None:
    config.save_settings(config.Settings(ollama_host="http://192.168.1.9:11434", max_retries=1))
    p = make_provider("ollama")
    assert isinstance(p, OllamaProvider)
    assert p.host == "http://192.168.1.9:11434"
    assert p.retry_policy.max_retries == 1


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ProviderRequestError, match="unknown provider 'claude'"):
        make_provider("claude")


def test_env_key_reaches_the_openai_server(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    p = make_provider("openai", timeout=5)
    assert [m.name for m in p.list_models()] == fake_openai.models
    assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {FAKE_OPENAI_KEY}"
