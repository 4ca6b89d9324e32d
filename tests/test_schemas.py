"""The field models: lenient where models are sloppy, compact where tokens are paid."""

from __future__ import annotations

import json

import pytest

from cvjd_desktop.schemas import CV, JobDescription, TokenUsage, json_schema


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021", "2021"),
        ("2021-03", "2021-03"),
        ("2021-3", "2021-03"),
        ("2021-03-15", "2021-03-15"),
        ("March 2021", "2021-03"),
        ("Sept. 2019", "2019-09"),
        ("03/2021", "2021-03"),
        (2020, "2020"),
        ("Present", None),
        ("current", None),
        ("sometime", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_become_partial_iso(raw: object, expected: str | None) -> None:
    cv = CV.model_validate({"work": [{"name": "Acme", "startDate": raw}]})
    assert cv.work[0].startDate == expected


def test_ongoing_role_keeps_current_flag_and_export_drops_it() -> None:
    cv = CV.model_validate(
        {
            "basics": {"name": "Ada"},
            "work": [{"name": "Acme", "startDate": "2020", "current": True}],
        }
    )
    assert cv.work[0].current is True
    exported = cv.to_json_resume()
    assert "current" not in exported["work"][0]
    assert exported["work"][0]["startDate"] == "2020"
    assert exported["basics"]["name"] == "Ada"


def test_defaults_are_empty_not_missing() -> None:
    cv = CV.model_validate({})
    assert cv.work == [] and cv.skills == [] and cv.basics.name is None
    jd = JobDescription.model_validate({})
    assert jd.skills == [] and jd.title is None


def test_years_of_experience_become_months() -> None:
    jd = JobDescription.model_validate({"experienceRequirements": {"yearsOfExperience": 3}})
    assert jd.experienceRequirements is not None
    assert jd.experienceRequirements.monthsOfExperience == 36


def test_job_posting_json_ld_shape() -> None:
    jd = JobDescription.model_validate(
        {
            "title": "Engineer",
            "hiringOrganization": "Acme",
            "baseSalary": {"currency": "EUR", "minValue": 50000, "maxValue": 70000},
            "jobLocation": [{"addressLocality": "Berlin"}],
        }
    )
    ld = jd.to_json_ld()
    assert ld["@type"] == "JobPosting"
    assert ld["hiringOrganization"] == {"@type": "Organization", "name": "Acme"}
    assert ld["baseSalary"]["value"]["minValue"] == 50000
    assert ld["jobLocation"][0]["address"]["addressLocality"] == "Berlin"


@pytest.mark.parametrize("kind", ["cv", "jd"])
def test_schema_is_compact(kind: str) -> None:
    schema = json_schema(kind)
    text = json.dumps(schema)
    assert '"title": {' in text or kind == "cv"  # the JD field named title survives
    assert '"title": "' not in text  # but no generated titles
    assert '"default"' not in text
    assert len(json.dumps(schema, separators=(",", ":"))) < 3500


def test_token_usage_total_and_sum() -> None:
    first = TokenUsage(prompt_tokens=100, completion_tokens=20, model="m", provider="ollama")
    assert first.total_tokens == 120
    both = first + TokenUsage(prompt_tokens=150, completion_tokens=30, cached_tokens=5)
    assert (both.prompt_tokens, both.completion_tokens, both.total_tokens) == (250, 50, 300)
    assert both.cached_tokens == 5 and both.model == "m"
    unknown = TokenUsage(prompt_tokens=None, completion_tokens=7)
    assert unknown.total_tokens == 7 and unknown.prompt_tokens is None
