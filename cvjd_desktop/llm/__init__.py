"""LLM providers: one module per wire format behind the ``Provider`` protocol."""

from cvjd_desktop.llm.base import ModelInfo, Provider, ProviderResult

__all__ = ["ModelInfo", "Provider", "ProviderResult"]
