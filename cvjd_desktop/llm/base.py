"""The contract every provider keeps.

A provider knows its wire format and nothing else: it turns (system prompt, document
text, pydantic schema, model) into (validated fields, TokenUsage), or raises one of
the ``ProviderError`` subclasses in ``cvjd_desktop.errors`` carrying the TokenUsage
that was spent. It never touches the ledger, the settings file or Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from cvjd_desktop.schemas import TokenUsage

ProgressCallback = Callable[[int], None]
"""Called with the number of completion tokens generated so far (streaming providers)."""


@dataclass(frozen=True)
class ModelInfo:
    """A model a provider offers, with what the picker shows about it."""

    name: str
    size_bytes: int | None = None
    quantization: str | None = None
    parameter_size: str | None = None
    context_length: int | None = None

    @property
    def label(self) -> str:
        """``llama3.2:3b (2.0 GB, Q4_K_M)``: what the model picker shows."""
        extras = []
        if self.size_bytes:
            extras.append(f"{self.size_bytes / 1e9:.1f} GB")
        if self.quantization:
            extras.append(self.quantization)
        return f"{self.name} ({', '.join(extras)})" if extras else self.name


@dataclass
class ProviderResult:
    """What a successful call returns."""

    data: BaseModel
    usage: TokenUsage
    warnings: list[str] = field(default_factory=list)


class Provider(Protocol):
    """What ``extraction.extract`` needs from a provider."""

    name: str
    """"ollama" or "openai": the ledger's provider column."""

    def list_models(self) -> list[ModelInfo]:
        """Models available to the user; raises ``ProviderError`` subclasses."""
        ...

    def close(self) -> None:
        """Release the HTTP connections (the SDK clients hold a pool)."""
        ...

    def context_length(self, model: str) -> int | None:
        """The model's context window in tokens, when the provider tells it."""
        ...

    def extract(
        self,
        *,
        system: str,
        text: str,
        schema: type[BaseModel],
        model: str,
        cancel: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        """Ask ``model`` for ``schema``-shaped JSON about ``text``, validated.

        Raises a ``ProviderError`` subclass (with ``.usage``) on any failure, and
        ``CancelledError`` promptly once ``cancel`` is set.
        """
        ...


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate of how many tokens ``text`` is.

    About 4 characters per token for English with BPE tokenizers, fewer for other
    scripts; we round up and count non-ASCII characters as one token each third, so
    the estimate errs high. Used for budgets before a call and to notice when Ollama
    silently cut the prompt; never recorded as a real count.
    """
    if not text:
        return 0
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return (len(text) - non_ascii + 3) // 4 + (non_ascii + 2) // 3
