"""Logging to a rotating file in the platform log folder, with secrets scrubbed.

Logs are for the user's bug reports, so they must be safe to paste anywhere: a
filter replaces any API key this process knows about before a record is written,
whatever code logged it (ours, the SDKs', httpx's).
"""

from __future__ import annotations

import logging
import logging.handlers
import math
import os
import threading
import time
from pathlib import Path

from cvjd_desktop import config

LOG_NAME = "cvjd-desktop.log"


class SecretScrubber(logging.Filter):
    """Replaces known API keys in every record's final message.

    The keychain is asked at most every ``KEYCHAIN_TTL_S`` seconds: a real desktop
    keychain can take a while to answer, and filters run on whatever thread logs,
    the GUI thread included.
    """

    KEYCHAIN_TTL_S = 30.0

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._extra = [s for s in (secrets or []) if s]
        self._lock = threading.Lock()
        self._stored: str | None = None
        self._stored_at = -math.inf

    def _keychain_key(self) -> str | None:
        with self._lock:
            if time.monotonic() - self._stored_at > self.KEYCHAIN_TTL_S:
                try:
                    self._stored = config.keychain_get("openai")
                except config.KeychainUnavailable:
                    self._stored = None
                self._stored_at = time.monotonic()
            return self._stored

    def secrets(self) -> list[str]:
        found = [*self._extra, os.environ.get("OPENAI_API_KEY"), self._keychain_key()]
        return [s for s in found if s and len(s) >= 4]

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, so the scrubbed text is what handlers print.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
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
