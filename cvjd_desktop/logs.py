"""Logging to a rotating file in the platform log folder, with secrets scrubbed.

Logs are for the user's bug reports, so they must be safe to paste anywhere: a
filter replaces any API key this process knows about before a record is written,
whatever code logged it (ours, the SDKs', httpx's).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from cvjd_desktop import config

LOG_NAME = "cvjd-desktop.log"


class SecretScrubber(logging.Filter):
    """Replaces known API keys in every record's final message."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._extra = [s for s in (secrets or []) if s]

    def secrets(self) -> list[str]:
        found = list(self._extra)
        env = os.environ.get("OPENAI_API_KEY")
        if env:
            found.append(env)
        try:
            stored = config.keychain_get("openai")
        except config.KeychainUnavailable:
            stored = None
        if stored:
            found.append(stored)
        return [s for s in found if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = message
        for secret in self.secrets():
            scrubbed = scrubbed.replace(secret, "***")
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_text:
            for secret in self.secrets():
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


def setup_logging(level: int = logging.INFO, folder: Path | None = None) -> Path:
    """Send the app's log to ``<log dir>/cvjd-desktop.log`` (1 MB x 3 files).

    Returns the log file's path, which the crash dialog shows.
    """
    path = (folder or config.log_dir()) / LOG_NAME
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    handler.addFilter(SecretScrubber())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    # The HTTP stack logs every request line at INFO; keep the file about the app.
    for noisy in ("httpx", "httpcore", "openai", "ollama"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
