"""Settings, paths and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cvjd_desktop import config
from tests.memory_keyring import MemoryKeyring


def test_cvjd_home_holds_everything(cvjd_home: Path) -> None:
    assert config.settings_path().parent == cvjd_home
    assert config.ledger_path().parent == cvjd_home
    assert config.cache_dir().parent == cvjd_home


def test_settings_round_trip() -> None:
    settings = config.Settings(
        provider="openai",
        openai_model="gpt-4o-mini",
        budgets=[config.Budget(period="daily", usd=2.5)],
    )
    config.save_settings(settings)
    assert config.load_settings() == settings


def test_corrupt_settings_are_moved_aside(cvjd_home: Path) -> None:
    config.settings_path().write_text("{not json", encoding="utf-8")
    config.last_settings_recovery.clear()
    assert config.load_settings() == config.Settings()
    moved = list(cvjd_home.glob("settings.json.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_text(encoding="utf-8") == "{not json"
    assert config.last_settings_recovery == moved


@pytest.mark.parametrize("bad", ["localhost:11434", "ftp://x.example", "http://"])
def test_invalid_host_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        config.Settings(ollama_host=bad)


def test_invalid_timeout_refused() -> None:
    with pytest.raises(ValidationError):
        config.Settings(timeout_s=0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("example.com", "http://example.com:11434"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://ollama.internal:443/", "https://ollama.internal:443"),
    ],
)
def test_ollama_host_like_the_ollama_cli(raw: str, expected: str) -> None:
    assert config.normalize_ollama_host(raw) == expected


def test_api_key_from_keychain_then_env(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, cvjd_home: Path
) -> None:
    assert config.get_api_key("openai") is None
    config.keychain_set("openai", "sk-keychain-1234")
    assert config.get_api_key("openai") == "sk-keychain-1234"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-5678")
    assert config.get_api_key("openai") == "sk-env-5678"
    config.keychain_delete("openai")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert config.get_api_key("openai") is None
    config.save_settings(config.Settings())
    assert not any(
        "sk-keychain" in p.read_text(errors="ignore") for p in cvjd_home.rglob("*") if p.is_file()
    )


def test_mask_secret() -> None:
    assert config.mask_secret("bad key sk-abc123", "sk-abc123") == "bad key ***"
