"""Build a provider from settings, environment and explicit arguments.

Precedence, highest first: explicit arguments (CLI flags, the settings dialog's
"test" button), then the environment (``OLLAMA_HOST``, ``OPENAI_BASE_URL``,
``OPENAI_API_KEY`` / the keychain), then the settings file. The environment beats
the file because it is the per-process override every CLI user expects, the same
rule ``config.get_api_key`` follows. The API key is only ever handed to the OpenAI
provider.
"""

from __future__ import annotations

import os

from cvjd_desktop import config
from cvjd_desktop.errors import ProviderRequestError
from cvjd_desktop.llm.base import Provider

PROVIDER_NAMES: tuple[str, ...] = ("ollama", "openai")


def make_provider(
    name: str,
    *,
    settings: config.Settings | None = None,
    ollama_host: str | None = None,
    openai_base_url: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
) -> Provider:
    """The provider called ``name`` ("ollama" or "openai"), ready to use.

    Raises ``ProviderRequestError`` for an unknown name. Nothing is contacted here.
    """
    if name not in PROVIDER_NAMES:
        raise ProviderRequestError(
            f"unknown provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}"
        )
    settings = settings if settings is not None else config.load_settings()
    timeout_s = timeout if timeout is not None else settings.timeout_s
    if name == "ollama":
        from cvjd_desktop.llm.ollama_provider import OllamaProvider

        host = ollama_host or os.environ.get("OLLAMA_HOST") or settings.ollama_host
        return OllamaProvider(
            config.normalize_ollama_host(host), timeout=timeout_s, max_retries=settings.max_retries
        )

    from cvjd_desktop.llm.openai_provider import OpenAIProvider

    base_url = openai_base_url or os.environ.get("OPENAI_BASE_URL") or settings.openai_base_url
    key = api_key if api_key is not None else config.get_api_key("openai")
    return OpenAIProvider(
        base_url.strip().rstrip("/"),
        api_key=key,
        timeout=timeout_s,
        max_retries=settings.max_retries,
    )
