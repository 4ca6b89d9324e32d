"""The toolbar's provider and model picker, with a connection indicator.

Listing models is an HTTP call, so it runs off the GUI thread; an answer to a
request that a newer one superseded (the user switched provider meanwhile) is
dropped. The choice is saved to settings as soon as the user makes it, and on
first use the provider is Ollama and the model the first one it lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QWidget,
)

from cvjd_desktop.config import PROVIDER_LABELS, PROVIDERS, Settings
from cvjd_desktop.errors import AuthenticationError, CvjdError, ProviderUnavailableError
from cvjd_desktop.ui.workers import CallRunner, close_quietly

log = logging.getLogger(__name__)

LIST_TIMEOUT_S = 10.0
"""Listing models is quick or broken: do not make the user wait the extraction timeout."""

STATUS_TEXT = {
    "loading": "Connecting…",
    "ready": "Ready",
    "not_running": "Not running",
    "key_rejected": "Key rejected",
    "error": "Error",
}
_STATUS_ICON = {
    "loading": QStyle.StandardPixmap.SP_BrowserReload,
    "ready": QStyle.StandardPixmap.SP_DialogApplyButton,
    "not_running": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "key_rejected": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}

ProviderFactory = Callable[..., Any]


def status_for(provider: str, exc: BaseException) -> tuple[str, str]:
    """The indicator state for a listing failure, and a tooltip saying what to do."""
    message = exc.message if isinstance(exc, CvjdError) else str(exc) or type(exc).__name__
    if isinstance(exc, ProviderUnavailableError):
        if provider == "ollama":
            if "ollama serve" in message:
                return "not_running", f"{message}\nThen press Refresh."
            return "not_running", f"{message}\nStart it with `ollama serve`, then press Refresh."
        return "not_running", f"{message}\nCheck the network and the base URL in Preferences."
    if isinstance(exc, AuthenticationError):
        return "key_rejected", (
            f"{message}\nAdd your OpenAI API key in Preferences (Ctrl+,) or set OPENAI_API_KEY."
        )
    return "error", message


class ModelPicker(QWidget):
    """Provider combo, model combo, refresh button and connection indicator.

    Signals:
        selection_changed(provider, model): the user (or the first listing) chose;
            ``model`` is "" while none is known.
        status_changed(status): "loading", "ready", "not_running", "key_rejected", "error".
        models_loaded(provider, names): a listing finished (names empty on failure).
    """

    selection_changed = Signal(str, str)
    status_changed = Signal(str)
    models_loaded = Signal(str, list)

    def __init__(
        self,
        settings: Settings,
        make_provider: ProviderFactory,
        save: Callable[[Settings], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self._make_provider = make_provider
        self._save = save
        self._calls = CallRunner(max_threads=2, parent=self)
        self._token = 0
        self.status = "loading"
        self.status_detail = ""
        self._filling = False

        self.provider_combo = QComboBox(self)
        for name in PROVIDERS:
            self.provider_combo.addItem(PROVIDER_LABELS[name], name)
        self.provider_combo.setAccessibleName("Provider")
        self.provider_combo.setToolTip("Where the extraction runs: a local Ollama or OpenAI")

        self.model_combo = QComboBox(self)
        self.model_combo.setAccessibleName("Model")
        self.model_combo.setToolTip("The model every new job uses")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.setMinimumContentsLength(14)
        self.model_combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        self.refresh_button = QToolButton(self)
        self.refresh_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        )
        self.refresh_button.setToolTip("Reload the model list and check the connection")
        self.refresh_button.setAccessibleName("Refresh models")
        self.refresh_button.setAutoRaise(True)

        self.indicator_icon = QLabel(self)
        self.indicator = QLabel(self)
        self.indicator.setAccessibleName("Connection status")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(6)
        label = QLabel("Provider:", self)
        label.setBuddy(self.provider_combo)
        layout.addWidget(label)
        layout.addWidget(self.provider_combo)
        model_label = QLabel("Model:", self)
        model_label.setBuddy(self.model_combo)
        layout.addWidget(model_label)
        layout.addWidget(self.model_combo)
        layout.addWidget(self.refresh_button)
        layout.addSpacing(4)
        layout.addWidget(self.indicator_icon)
        layout.addWidget(self.indicator)

        index = self.provider_combo.findData(settings.provider)
        self.provider_combo.setCurrentIndex(max(index, 0))
        self.provider_combo.currentIndexChanged.connect(self._provider_changed)
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.refresh_button.clicked.connect(self.refresh)
        self._show_saved_model()
        self._set_status("loading", "Asking the provider for its models…")

    # --- public ---------------------------------------------------------------------

    def provider(self) -> str:
        return str(self.provider_combo.currentData())

    def model(self) -> str:
        return str(self.model_combo.currentData() or "")

    @property
    def loading(self) -> bool:
        return self.status == "loading"

    def refresh(self) -> None:
        """List the current provider's models off the GUI thread."""
        provider = self.provider()
        settings = self.settings.model_copy(deep=True)
        factory = self._make_provider
        timeout = min(settings.timeout_s, LIST_TIMEOUT_S)
        self._set_status("loading", "Asking the provider for its models…")
        self._token += 1
        token = self._token

        def list_models() -> list[Any]:
            client = factory(provider, settings=settings, timeout=timeout)
            try:
                return list(client.list_models())
            finally:
                close_quietly(client)

        self._calls.call(
            list_models,
            lambda models: self._listed(token, provider, models),
            lambda exc: self._list_failed(token, provider, exc),
        )

    def apply_settings(self, settings: Settings) -> None:
        """New settings (hosts, keys): reconnect."""
        self.settings = settings
        self.refresh()

    def busy(self) -> bool:
        return self._calls.busy()

    # --- listing --------------------------------------------------------------------

    def _listed(self, token: int, provider: str, models: list[Any]) -> None:
        if token != self._token or provider != self.provider():
            return
        saved = self.settings.model_for(provider)
        self._filling = True
        self.model_combo.clear()
        for info in models:
            self.model_combo.addItem(info.label, info.name)
            self.model_combo.setItemData(
                self.model_combo.count() - 1, info.label, Qt.ItemDataRole.ToolTipRole
            )
        names = [info.name for info in models]
        if saved and saved not in names:
            self.model_combo.insertItem(0, f"{saved} (not listed)", saved)
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(saved), 0) if saved else 0)
        self._filling = False
        if not models and not saved:
            hint = "pull one with `ollama pull llama3.2`" if provider == "ollama" else ""
            self._set_status("error", f"{PROVIDER_LABELS[provider]} offers no models; {hint}")
        else:
            self._set_status("ready", f"{PROVIDER_LABELS[provider]}: {len(models)} models")
        if not saved and names:
            self._remember(provider, names[0])
        self.models_loaded.emit(provider, names)
        self.selection_changed.emit(provider, self.model())

    def _list_failed(self, token: int, provider: str, exc: BaseException) -> None:
        if token != self._token or provider != self.provider():
            return
        status, detail = status_for(provider, exc)
        log.info("listing %s models failed: %s", provider, detail.splitlines()[0])
        self._filling = True
        self._show_saved_model()
        self._filling = False
        self._set_status(status, detail)
        self.models_loaded.emit(provider, [])
        self.selection_changed.emit(provider, self.model())

    def _show_saved_model(self) -> None:
        self.model_combo.clear()
        saved = self.settings.model_for(self.provider())
        if saved:
            self.model_combo.addItem(saved, saved)

    # --- user choices -----------------------------------------------------------------

    def _provider_changed(self) -> None:
        provider = self.provider()
        if self.settings.provider != provider:
            self.settings.provider = provider  # type: ignore[assignment]
            self._save(self.settings)
        self._filling = True
        self._show_saved_model()
        self._filling = False
        self.selection_changed.emit(provider, self.model())
        self.refresh()

    def _model_changed(self) -> None:
        if self._filling:
            return
        model = self.model()
        if model:
            self._remember(self.provider(), model)
        self.selection_changed.emit(self.provider(), model)

    def _remember(self, provider: str, model: str) -> None:
        field = "ollama_model" if provider == "ollama" else "openai_model"
        if getattr(self.settings, field) != model:
            setattr(self.settings, field, model)
            self._save(self.settings)

    def _set_status(self, status: str, detail: str) -> None:
        self.status = status
        self.status_detail = detail
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon = self.style().standardIcon(_STATUS_ICON[status])
        self.indicator_icon.setPixmap(icon.pixmap(QSize(size, size), self.devicePixelRatioF()))
        text = STATUS_TEXT[status]
        if status == "key_rejected" and detail.lower().startswith("no openai api key"):
            text = "No API key"  # nothing was rejected: there is nothing to send yet
        self.indicator.setText(text)
        for widget in (self.indicator, self.indicator_icon):
            widget.setToolTip(detail)
        self.indicator.setAccessibleDescription(detail)
        self.status_changed.emit(status)
