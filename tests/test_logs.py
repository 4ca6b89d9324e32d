"""The log file: where it goes, and that no API key ever reaches it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cvjd_desktop import config
from cvjd_desktop.logs import setup_logging

KEY = "sk-proj-LOGSECRET-123456789"


@pytest.fixture
def log_file(cvjd_home: Path) -> Iterator[Path]:
    root = logging.getLogger()
    before = list(root.handlers)
    path = setup_logging()
    yield path
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


def test_log_goes_under_cvjd_home(log_file: Path, cvjd_home: Path) -> None:
    logging.getLogger("cvjd_desktop.test").warning("hello %s", "world")
    assert log_file.parent == cvjd_home / "logs"
    assert "hello world" in log_file.read_text(encoding="utf-8")


def test_keys_are_scrubbed_from_messages_and_tracebacks(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.keychain_set("openai", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY[::-1])
    logger = logging.getLogger("cvjd_desktop.test")
    logger.error("provider said: invalid key %s", KEY)
    logger.warning("env key %s", KEY[::-1])
    try:
        raise RuntimeError(f"Incorrect API key provided: {KEY}")
    except RuntimeError:
        logger.exception("call failed")
    text = log_file.read_text(encoding="utf-8")
    assert "provider said: invalid key ***" in text
    assert "call failed" in text
    assert KEY not in text
    assert KEY[::-1] not in text
