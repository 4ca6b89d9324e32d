"""Settings, paths and secrets.

Paths come from platformdirs unless ``CVJD_HOME`` is set, in which case settings,
ledger, price overrides, cache and logs all live under that one folder (tests and
portable installs). Settings are a validated pydantic model written atomically as
JSON; a corrupt file is moved aside rather than crashing the app. API keys never
touch that file: they live in the OS keychain (keyring) or the environment.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

log = logging.getLogger(__name__)

APP_NAME = "cvjd-desktop"
KEYRING_SERVICE = "cvjd-desktop"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"

ProviderName = Literal["ollama", "openai"]
PROVIDERS: tuple[ProviderName, ...] = ("ollama", "openai")
PROVIDER_LABELS: dict[str, str] = {"ollama": "Ollama", "openai": "OpenAI"}
"""How a provider is named to the user (messages, menus, tables)."""


# --- paths -------------------------------------------------------------------------


def _home() -> Path | None:
    value = os.environ.get("CVJD_HOME")
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Folder of settings.json and price_overrides.json."""
    if home := _home():
        return _ensure(home)
    import platformdirs

    return _ensure(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)))


def data_dir() -> Path:
    """Folder of the usage ledger."""
    if home := _home():
        return _ensure(home)
    import platformdirs

    return _ensure(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


def cache_dir() -> Path:
    if home := _home():
        return _ensure(home / "cache")
    import platformdirs

    return _ensure(Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)))


def log_dir() -> Path:
    if home := _home():
        return _ensure(home / "logs")
    import platformdirs

    return _ensure(Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)))


def settings_path() -> Path:
    return config_dir() / "settings.json"


def ledger_path() -> Path:
    return data_dir() / "usage.sqlite3"


def price_overrides_path() -> Path:
    return config_dir() / "price_overrides.json"


def moved_aside_name(path: Path) -> Path:
    """``name.corrupt-YYYYmmddTHHMMSSZ`` beside ``path``: where a broken file goes."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f"{path.name}.corrupt-{stamp}")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- settings ----------------------------------------------------------------------


class Budget(BaseModel):
    """One spending limit. ``provider=None`` means all providers together."""

    period: Literal["daily", "monthly"]
    usd: float | None = Field(default=None, ge=0)
    tokens: int | None = Field(default=None, ge=0)
    provider: ProviderName | None = None


class Settings(BaseModel):
    """Everything the user can set. Defaults are what a first start uses."""

    provider: ProviderName = "ollama"
    ollama_host: str = DEFAULT_OLLAMA_HOST
    ollama_model: str | None = None
    openai_base_url: str = DEFAULT_OPENAI_BASE_URL
    openai_model: str | None = "gpt-4o-mini"
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    concurrency_ollama: int = Field(default=1, ge=1, le=32)
    concurrency_openai: int = Field(default=4, ge=1, le=64)
    max_file_mb: float = Field(default=50.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    budgets: list[Budget] = Field(default_factory=list)
    allow_price_updates: bool = False

    @field_validator("ollama_host", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value) < 10 or " " in value:
            raise ValueError("must be an http:// or https:// address")
        return value

    def model_for(self, provider: str) -> str | None:
        return self.ollama_model if provider == "ollama" else self.openai_model

    def concurrency_for(self, provider: str) -> int:
        return self.concurrency_ollama if provider == "ollama" else self.concurrency_openai


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives defaults, a corrupt one is moved aside.

    The env vars ``OLLAMA_HOST`` and ``OPENAI_BASE_URL`` are applied by callers that
    want them (the CLI does), not here, so the dialog edits what is on disk.
    """
    path = path or settings_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    try:
        return Settings.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        aside = moved_aside_name(path)
        path.replace(aside)
        log.warning("settings file %s was unreadable (%s); moved to %s", path, exc, aside.name)
        last_settings_recovery.append(aside)
        return Settings()


last_settings_recovery: list[Path] = []
"""Where corrupt settings files were moved this process, for the UI to tell the user."""


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_text(path or settings_path(), settings.model_dump_json(indent=2) + "\n")


def normalize_ollama_host(value: str) -> str:
    """Accept what ``OLLAMA_HOST`` accepts: ``host``, ``host:port``, or a full URL."""
    value = value.strip()
    if not value:
        return DEFAULT_OLLAMA_HOST
    if "://" not in value:
        value = "http://" + value
    scheme, rest = value.split("://", 1)
    hostport = rest.split("/", 1)[0]
    has_port = "]:" in hostport if hostport.startswith("[") else ":" in hostport
    if not has_port:
        hostport = f"{hostport or '127.0.0.1'}:11434"
    if hostport.startswith("0.0.0.0"):
        hostport = "127.0.0.1" + hostport[len("0.0.0.0") :]
    return f"{scheme}://{hostport}"


# --- secrets -----------------------------------------------------------------------


class KeychainUnavailable(Exception):
    """No usable keyring backend: the caller should say so and use the env var."""


def get_api_key(provider: str = "openai") -> str | None:
    """The key for ``provider``: ``OPENAI_API_KEY`` first, then the OS keychain.

    The environment wins because it is the per-process override every CLI user
    expects; the settings dialog says so when both are present.
    """
    env = os.environ.get(f"{provider.upper()}_API_KEY")
    if env:
        return env
    try:
        return keychain_get(provider)
    except KeychainUnavailable:
        return None


def keychain_get(provider: str) -> str | None:
    import keyring
    import keyring.errors

    try:
        return keyring.get_password(KEYRING_SERVICE, f"{provider}_api_key")
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise KeychainUnavailable(str(exc)) from None


def keychain_set(provider: str, key: str) -> None:
    import keyring
    import keyring.errors

    try:
        keyring.set_password(KEYRING_SERVICE, f"{provider}_api_key", key)
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise KeychainUnavailable(str(exc)) from None


def keychain_delete(provider: str) -> None:
    import keyring
    import keyring.errors

    try:
        keyring.delete_password(KEYRING_SERVICE, f"{provider}_api_key")
    except keyring.errors.PasswordDeleteError:
        pass
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise KeychainUnavailable(str(exc)) from None


def mask_secret(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text``: errors may echo keys back."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text
