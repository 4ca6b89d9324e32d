"""The result view shows a file's fields, its errors and cost, and copies valid JSON."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from pytestqt.qtbot import QtBot

from cvjd_desktop.schemas import ExtractionResult, TokenUsage
from cvjd_desktop.ui import formatting
from cvjd_desktop.ui.result_view import EMPTY_TEXT, ResultView
from tests.fakes.sample_answers import SAMPLE_CV, SAMPLE_JD


def make_result(
    kind: str = "cv", data: dict[str, Any] | None = None, **kw: Any
) -> ExtractionResult:
    fields: dict[str, Any] = {
        "file": f"/data/in/{kind}-file.pdf",
        "kind": kind,
        "status": "ok",
        "data": data if data is not None else (SAMPLE_CV if kind == "cv" else SAMPLE_JD),
        "provider": "ollama",
        "model": "llama3.2:3b",
        "token_usage": TokenUsage(prompt_tokens=1834, completion_tokens=412),
        "cost_usd": 0.0,
        "price_source": "local",
        "duration_ms": 2400,
    }
    fields.update(kw)
    return ExtractionResult(**fields)


@pytest.fixture
def view(qtbot: QtBot) -> ResultView:
    widget = ResultView()
    qtbot.addWidget(widget)
    widget.resize(450, 600)
    return widget


def test_nothing_selected_shows_a_friendly_empty_state(view: ResultView) -> None:
    view.show_result(make_result())
    view.show_result(None)
    assert view.fields_text() == EMPTY_TEXT
    assert view.raw_json() == ""
    assert view.result() is None


def test_cv_sections_are_shown(view: ResultView) -> None:
    view.show_result(make_result("cv"), file_name="ada.pdf")
    text = view.fields_text()
    basics = SAMPLE_CV["basics"]
    for value in (basics["name"], basics["label"], basics["email"], basics["phone"]):
        assert value in text
    assert basics["url"] in text
    assert "London, GB" in text
    assert "GitHub: ada" in text
    assert "Programmer — Analytical Engine Project" in text
    assert "Sep 1842 – Jul 1843" in text
    assert "Note G: an algorithm for Bernoulli numbers" in text
    assert "Tutoring, Mathematics — Private tutoring" in text
    assert "Mathematics (Expert): algorithms, analysis" in text
    assert "English" in text and "Native speaker" in text
    for heading in ("Work", "Education", "Skills", "Languages"):
        assert f"\n{heading}\n" in text
    # The sample has no certificates or projects: those sections are hidden.
    assert "Certificates" not in text
    assert "Projects" not in text
    assert "CV · ollama / llama3.2:3b · 2,246 tokens · $0.00 (local) · 2.4 s" in text


def test_cv_with_certificates_projects_and_a_current_job(view: ResultView) -> None:
    cv = copy.deepcopy(SAMPLE_CV)
    cv["work"].append({"name": "Babbage & Co", "position": "Consultant", "startDate": "1844"})
    cv["work"][-1]["current"] = True
    cv["certificates"] = [{"name": "Royal Fellow", "issuer": "Royal Society", "date": "1843-01"}]
    cv["projects"] = [{"name": "Note G", "description": "Bernoulli numbers", "highlights": []}]
    view.show_result(make_result("cv", cv))
    text = view.fields_text()
    assert "Consultant — Babbage & Co" in text
    assert "1844 – present" in text
    assert "Royal Fellow — Royal Society" in text and "Jan 1843" in text
    assert "\nProjects\n" in text and "Bernoulli numbers" in text


def test_jd_fields_are_shown(view: ResultView) -> None:
    view.show_result(make_result("jd"))
    text = view.fields_text()
    assert SAMPLE_JD["title"] in text
    assert "Acme Corp" in text
    assert "Berlin, DE · Remote" in text
    assert "Full time" in text
    assert "EUR 70,000–90,000 per year" in text
    assert "at least 5 years, backend work" in text
    assert "BSc in Computer Science or equivalent" in text
    assert "Required skills\nPython · PostgreSQL" in text
    assert "Nice-to-have skills\nRust" in text
    assert "Design services" in text and "Review code" in text
    assert "5+ years of Python" in text
    assert "15 Jan 2025" in text


def test_jd_missing_facts_read_as_unknown_and_empty_lists_are_hidden(view: ResultView) -> None:
    view.show_result(make_result("jd", {"title": "Cook"}))
    text = view.fields_text()
    assert "Cook" in text
    assert "Salary\n—" in text
    assert "Responsibilities" not in text
    assert "Required skills" not in text


def test_extracted_text_is_escaped_not_interpreted(view: ResultView) -> None:
    cv = copy.deepcopy(SAMPLE_CV)
    cv["basics"]["name"] = "<b>Eve</b> & <script>x</script>"
    view.show_result(make_result("cv", cv))
    assert "<b>Eve</b> & <script>x</script>" in view.fields_text()


def test_a_result_with_no_fields_says_so(view: ResultView) -> None:
    view.show_result(make_result("cv", {"basics": {}}))
    assert "The model found no fields in this file." in view.fields_text()


def test_failed_result_shows_error_kind_and_cost(view: ResultView) -> None:
    result = make_result(
        "cv",
        status="error",
        data=None,
        error="The model's answer did not match the CV schema",
        error_kind="invalid_output",
        provider="openai",
        model="gpt-4o-mini",
        token_usage=TokenUsage(prompt_tokens=1000, completion_tokens=234),
        cost_usd=0.00123,
        price_source="genai-prices",
    )
    view.show_result(result)
    text = view.fields_text()
    assert "Extraction failed" in text
    assert "The model's answer did not match the CV schema" in text
    assert "invalid_output" in text
    assert "1,234 (1,000 prompt · 234 completion)" in text
    assert "$0.0012" in text
    raw = json.loads(view.raw_json())
    assert raw["error_kind"] == "invalid_output"
    assert raw["token_usage"]["total_tokens"] == 1234
    assert not view._export_button.isVisibleTo(view)


def test_a_refusal_before_any_call_says_nothing_was_billed(view: ResultView) -> None:
    result = make_result(
        "jd",
        status="error",
        data=None,
        error="Refused: the daily budget of $5.00 is spent",
        error_kind="budget",
        token_usage=TokenUsage(),
        cost_usd=None,
    )
    view.show_result(result)
    text = view.fields_text()
    assert "Refused by budget" in text
    assert "Refused: the daily budget of $5.00 is spent" in text
    assert "none, nothing was billed" in text


def test_unknown_price_is_a_dash_not_zero(view: ResultView) -> None:
    view.show_result(make_result("jd", cost_usd=None, price_source="unknown", provider="openai"))
    first_line = view.fields_text().splitlines()[0]
    assert "· — ·" in first_line
    assert "$0" not in first_line


def test_warnings_are_shown(view: ResultView) -> None:
    warning = "The text was cut to 12,000 tokens to fit the model's context window"
    view.show_result(make_result("cv", warnings=[warning]))
    assert warning in view.fields_text()


def test_copy_puts_the_fields_json_on_the_clipboard(view: ResultView, qtbot: QtBot) -> None:
    view.show_result(make_result("cv"))
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(view.copied) as blocker:
        qtbot.mouseClick(view._copy_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["JSON copied"]
    assert json.loads(QGuiApplication.clipboard().text()) == SAMPLE_CV


def test_copy_as_json_resume(view: ResultView) -> None:
    view.show_result(make_result("cv"))
    assert view._export_button.text() == "Copy as JSON Resume"
    view.copy_export()
    doc = json.loads(QGuiApplication.clipboard().text())
    assert doc["$schema"].endswith("schema.json")
    assert doc["basics"]["name"] == "Ada Lovelace"
    assert "current" not in doc["work"][0]


def test_copy_as_json_ld(view: ResultView) -> None:
    view.show_result(make_result("jd"))
    assert view._export_button.text() == "Copy as JSON-LD"
    view.copy_export()
    doc = json.loads(QGuiApplication.clipboard().text())
    assert doc["@type"] == "JobPosting"
    assert doc["hiringOrganization"] == {"@type": "Organization", "name": "Acme Corp"}


# The offscreen platform warns about a feature it lacks whenever a window is shown.
@pytest.mark.qt_log_ignore("does not support propagateSizeHints")
def test_long_values_wrap_in_a_narrow_view(view: ResultView, qtbot: QtBot) -> None:
    cv = copy.deepcopy(SAMPLE_CV)
    cv["basics"]["url"] = "https://example.org/" + "x" * 300
    long_name = "curriculum_vitae_" * 8 + ".pdf"
    view.resize(300, 400)
    view.show()
    qtbot.waitExposed(view)
    view.show_result(make_result("cv", cv), file_name=long_name)
    qtbot.waitUntil(lambda: view._fields.viewport().width() < 300)
    assert not view._fields.horizontalScrollBar().isVisible()
    assert view._fields.document().idealWidth() <= view._fields.viewport().width()
    assert view._title.text() != long_name and "…" in view._title.text()
    assert view._title.toolTip() == long_name


def test_styles_follow_the_palette(view: ResultView) -> None:
    view.show_result(make_result("cv"))
    palette = QPalette(view.palette())
    palette.setColor(QPalette.ColorRole.Link, QColor("#123456"))
    view.setPalette(palette)
    assert "#123456" in view._fields.document().defaultStyleSheet()


# --- formatting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usd", "source", "expected"),
    [
        (None, None, "—"),
        (0.0, "local", "$0.00 (local)"),
        (0.0, "genai-prices", "$0.00"),
        (0.0123, None, "$0.0123"),
        (0.000015, None, "$0.000015"),
        (1234.5, None, "$1,234.50"),
    ],
)
def test_format_cost(usd: float | None, source: str | None, expected: str) -> None:
    assert formatting.format_cost(usd, source) == expected


def test_format_totals_durations_and_months() -> None:
    assert formatting.format_tokens(12345) == "12,345"
    assert formatting.format_tokens(None) == "—"
    assert formatting.format_cost_total(0.0123, 2) == "$0.0123 + 2 calls of unknown price"
    assert formatting.format_cost_total(0.0, 1) == "— (1 call of unknown price)"
    assert formatting.format_cost_total(0.5, 0) == "$0.5000"
    assert formatting.format_duration(850) == "850 ms"
    assert formatting.format_duration(2400) == "2.4 s"
    assert formatting.format_duration(185_000) == "3 min 5 s"
    assert formatting.format_duration(3_720_000) == "1 h 2 min"
    assert formatting.format_months(36) == "3 years"
    assert formatting.format_months(18) == "1 year 6 months"
    assert formatting.format_months(6) == "6 months"
