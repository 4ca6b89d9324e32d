"""Canned model answers the fake servers send back, and how they pick one.

The answers validate against ``cvjd_desktop.schemas.CV`` / ``JobDescription`` and
carry every field a strict structured-output schema would require, so tests can
compare the extracted data with these dicts.
"""

from __future__ import annotations

import json
from typing import Any

SAMPLE_CV: dict[str, Any] = {
    "basics": {
        "name": "Ada Lovelace",
        "label": "Analytical Engine Programmer",
        "email": "ada@example.org",
        "phone": "+44 20 7946 0000",
        "url": "https://example.org/ada",
        "summary": "Mathematician who wrote the first published algorithm for a machine.",
        "location": {
            "address": None,
            "postalCode": None,
            "city": "London",
            "countryCode": "GB",
            "region": None,
        },
        "profiles": [{"network": "GitHub", "username": "ada", "url": "https://github.com/ada"}],
    },
    "work": [
        {
            "name": "Analytical Engine Project",
            "position": "Programmer",
            "location": "London",
            "url": None,
            "startDate": "1842-09",
            "endDate": "1843-07",
            "current": False,
            "summary": "Translated and annotated Menabrea's memoir.",
            "highlights": ["Note G: an algorithm for Bernoulli numbers"],
        }
    ],
    "education": [
        {
            "institution": "Private tutoring",
            "area": "Mathematics",
            "studyType": "Tutoring",
            "startDate": "1832",
            "endDate": "1840",
            "score": None,
            "courses": ["Calculus", "Logic"],
        }
    ],
    "skills": [{"name": "Mathematics", "level": "Expert", "keywords": ["algorithms", "analysis"]}],
    "languages": [{"language": "English", "fluency": "Native speaker"}],
    "certificates": [],
    "projects": [],
}

SAMPLE_JD: dict[str, Any] = {
    "title": "Senior Python Engineer",
    "hiringOrganization": "Acme Corp",
    "jobLocation": [{"addressLocality": "Berlin", "addressRegion": None, "addressCountry": "DE"}],
    "jobLocationType": "TELECOMMUTE",
    "employmentType": ["FULL_TIME"],
    "baseSalary": {"currency": "EUR", "minValue": 70000, "maxValue": 90000, "unitText": "YEAR"},
    "description": "Build and run the data platform.",
    "responsibilities": ["Design services", "Review code"],
    "skills": ["Python", "PostgreSQL"],
    "niceToHaveSkills": ["Rust"],
    "qualifications": ["5+ years of Python"],
    "experienceRequirements": {"monthsOfExperience": 60, "description": "backend work"},
    "educationRequirements": "BSc in Computer Science or equivalent",
    "datePosted": "2025-01-15",
    "validThrough": "2025-03-31",
}

# Valid JSON that the pydantic models reject: wrong types where objects/lists belong.
WRONG_SCHEMA_CV: dict[str, Any] = {"basics": "Ada Lovelace", "work": "many years"}
WRONG_SCHEMA_JD: dict[str, Any] = {"title": {"text": "Engineer"}, "skills": "Python"}

NOT_JSON_CONTENT = "Sure! Here is the candidate: Ada Lovelace, mathematician."


def detect_kind(*parts: Any) -> str:
    """``"cv"`` or ``"jd"`` from the schema (or prompt) a request carried.

    The first part that names a CV-only or JD-only property decides; with none, a
    CV. Parts are JSON-ish objects or strings (the messages of a JSON-mode request,
    whose schema travels in the prompt).
    """
    for part in parts:
        if part is None:
            continue
        # A schema inside a prompt arrives JSON-escaped within the messages' JSON.
        text = part if isinstance(part, str) else json.dumps(part).replace('\\"', '"')
        if '"basics"' in text:
            return "cv"
        if '"hiringOrganization"' in text:
            return "jd"
    return "cv"


def answer_for(kind: str) -> dict[str, Any]:
    return SAMPLE_JD if kind == "jd" else SAMPLE_CV


def wrong_answer_for(kind: str) -> dict[str, Any]:
    return WRONG_SCHEMA_JD if kind == "jd" else WRONG_SCHEMA_CV
