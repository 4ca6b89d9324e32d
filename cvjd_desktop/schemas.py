"""The shapes that cross every layer: extracted fields, token usage and results.

``CV`` follows JSON Resume and ``JobDescription`` follows schema.org JobPosting, so
an export is a valid document of either kind. Both are built for structured output:
every optional field is nullable, lists default to empty, and descriptions are a few
words, because the JSON schema is sent (and paid for) on every call. Validation is
lenient where models are sloppy in harmless ways (``"March 2021"``, ``"Present"``)
and strict where it matters (the shape).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import GenerateJsonSchema

Kind = Literal["cv", "jd"]
Status = Literal["ok", "error"]

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_ISO_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_MONTH_YEAR = re.compile(r"^([A-Za-z]+)\.?\s+(\d{4})$")
_NUMERIC_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.](\d{4})$")
_ONGOING = {"present", "current", "now", "today", "ongoing", "till date", "to date"}


def normalize_partial_date(value: Any) -> str | None:
    """Coerce what models write for dates into JSON Resume's partial ISO 8601.

    ``2021``, ``2021-03`` and ``2021-03-15`` pass; ``March 2021``, ``03/2021`` and
    ``2021-3`` are normalised; "Present" and anything unreadable become ``None``
    (ongoing work is flagged with ``current``, since JSON Resume has no "present").
    """
    if value is None:
        return None
    if isinstance(value, int) and 1900 <= value <= 2100:
        return str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text.lower() in _ONGOING:
        return None
    if m := _ISO_PARTIAL.match(text):
        year, month, day = m.groups()
        if month is None:
            return year
        if not 1 <= int(month) <= 12:
            return year
        if day is None or not 1 <= int(day) <= 31:
            return f"{year}-{int(month):02d}"
        return f"{year}-{int(month):02d}-{int(day):02d}"
    if m := _MONTH_YEAR.match(text):
        month_no = _MONTHS.get(m.group(1).lower())
        return f"{m.group(2)}-{month_no:02d}" if month_no else m.group(2)
    if m := _NUMERIC_MONTH_YEAR.match(text):
        month_no = int(m.group(1))
        return f"{m.group(2)}-{month_no:02d}" if 1 <= month_no <= 12 else m.group(2)
    return None


PartialDate = Annotated[
    str | None,
    BeforeValidator(normalize_partial_date),
    Field(default=None, description="YYYY, YYYY-MM or YYYY-MM-DD"),
]
Text = Annotated[str | None, Field(default=None)]
TextList = Annotated[list[str], Field(default_factory=list)]


class _Fields(BaseModel):
    """Base of extracted-field models: tolerant of extra keys, no titles in schemas.

    ``defer_build``: the CV and job description validators are built on first use
    (an extraction in a worker, or the first result shown), not when the desktop
    app starts: ~5 ms of its cold start (benchmarks/bench_startup.py). pydantic
    serialises first-use builds with a lock, so workers may race to it safely.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


# --- CV (JSON Resume) ----------------------------------------------------------------


class Location(_Fields):
    address: Text = None
    postalCode: Text = None
    city: Text = None
    countryCode: Text = Field(default=None, description="ISO 3166-1 alpha-2")
    region: Text = None


class Profile(_Fields):
    network: Text = None
    username: Text = None
    url: Text = None


class Basics(_Fields):
    name: Text = None
    label: Text = Field(default=None, description="headline, e.g. Web Developer")
    email: Text = None
    phone: Text = None
    url: Text = None
    summary: Text = None
    location: Location | None = None
    profiles: list[Profile] = Field(default_factory=list)


class Work(_Fields):
    name: Text = Field(default=None, description="employer")
    position: Text = None
    location: Text = None
    url: Text = None
    startDate: PartialDate = None
    endDate: PartialDate = None
    current: bool = Field(default=False, description="ongoing role, no endDate")
    summary: Text = None
    highlights: TextList


class Education(_Fields):
    institution: Text = None
    area: Text = Field(default=None, description="field of study")
    studyType: Text = Field(default=None, description="degree, e.g. Bachelor")
    startDate: PartialDate = None
    endDate: PartialDate = None
    score: Text = None
    courses: TextList


class Skill(_Fields):
    name: Text = None
    level: Text = None
    keywords: TextList


class Language(_Fields):
    language: Text = None
    fluency: Text = None


class Certificate(_Fields):
    name: Text = None
    date: PartialDate = None
    issuer: Text = None
    url: Text = None


class Project(_Fields):
    name: Text = None
    description: Text = None
    startDate: PartialDate = None
    endDate: PartialDate = None
    url: Text = None
    highlights: TextList


class CV(_Fields):
    """A CV shaped like a JSON Resume document."""

    basics: Basics = Field(default_factory=Basics)
    work: list[Work] = Field(default_factory=list)
    education: list[Education] = Field(default_factory=list)
    skills: list[Skill] = Field(default_factory=list)
    languages: list[Language] = Field(default_factory=list)
    certificates: list[Certificate] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)

    def to_json_resume(self) -> dict[str, Any]:
        """Export as JSON Resume: ``current`` is ours, JSON Resume leaves endDate out."""
        data = self.model_dump(mode="json", exclude_none=True)
        for job in data.get("work", []):
            job.pop("current", None)
        data["$schema"] = (
            "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json"
        )
        return data


# --- JD (schema.org JobPosting) ------------------------------------------------------


class MonetaryAmount(_Fields):
    currency: Text = Field(default=None, description="ISO 4217")
    minValue: float | None = None
    maxValue: float | None = None
    unitText: Text = Field(default=None, description="HOUR, DAY, WEEK, MONTH or YEAR")


class ExperienceRequirement(_Fields):
    monthsOfExperience: float | None = Field(default=None, description="minimum, in months")
    description: Text = None


class JobLocation(_Fields):
    addressLocality: Text = Field(default=None, description="city")
    addressRegion: Text = None
    addressCountry: Text = None


class JobDescription(_Fields):
    """A job description shaped like a schema.org JobPosting."""

    title: Text = None
    hiringOrganization: Text = Field(default=None, description="company name")
    jobLocation: list[JobLocation] = Field(default_factory=list)
    jobLocationType: Text = Field(default=None, description="TELECOMMUTE if remote")
    employmentType: TextList = Field(description="FULL_TIME, PART_TIME, CONTRACTOR...")
    baseSalary: MonetaryAmount | None = None
    description: Text = Field(default=None, description="short summary")
    responsibilities: TextList
    skills: TextList = Field(description="required skills")
    niceToHaveSkills: TextList
    qualifications: TextList
    experienceRequirements: ExperienceRequirement | None = None
    educationRequirements: Text = None
    datePosted: PartialDate = None
    validThrough: PartialDate = None

    @model_validator(mode="before")
    @classmethod
    def _years_to_months(cls, data: Any) -> Any:
        """Accept ``{"yearsOfExperience": 3}`` too: models often say years."""
        if isinstance(data, dict):
            exp = data.get("experienceRequirements")
            if isinstance(exp, dict) and exp.get("monthsOfExperience") is None:
                years = exp.get("yearsOfExperience")
                if isinstance(years, int | float):
                    data = {
                        **data,
                        "experienceRequirements": {**exp, "monthsOfExperience": years * 12},
                    }
        return data

    def to_json_ld(self) -> dict[str, Any]:
        """Export as schema.org JSON-LD (``niceToHaveSkills`` has no schema.org term)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data = {"@context": "https://schema.org", "@type": "JobPosting", **data}
        org = data.get("hiringOrganization")
        if org:
            data["hiringOrganization"] = {"@type": "Organization", "name": org}
        if data.get("experienceRequirements"):
            data["experienceRequirements"]["@type"] = "OccupationalExperienceRequirements"
        if data.get("baseSalary"):
            salary = data["baseSalary"]
            data["baseSalary"] = {
                "@type": "MonetaryAmount",
                "currency": salary.get("currency"),
                "value": {
                    "@type": "QuantitativeValue",
                    **{k: v for k, v in salary.items() if k != "currency"},
                },
            }
        data["jobLocation"] = [
            {"@type": "Place", "address": {"@type": "PostalAddress", **loc}}
            for loc in data.get("jobLocation", [])
        ]
        return data


SCHEMAS: dict[str, type[_Fields]] = {"cv": CV, "jd": JobDescription}


class _CompactJsonSchema(GenerateJsonSchema):
    """Drop titles and defaults: the model does not need them, and we pay per token."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: Any, mode: Any = "validation") -> Any:
        result = super().generate(schema, mode=mode)
        _strip(result)
        return result


def _strip(node: Any, *, is_properties: bool = False) -> None:
    """Remove titles, defaults and docstrings; fold ``anyOf [T, null]`` into a type list.

    Keys of a ``properties`` map are field names (one may be called ``title``), so
    only their values are visited.
    """
    if isinstance(node, list):
        for value in node:
            _strip(value)
        return
    if not isinstance(node, dict):
        return
    if not is_properties:
        for key in ("title", "default"):
            node.pop(key, None)
        if "properties" in node:
            node.pop("description", None)  # model docstrings: for us, not the model
        any_of = node.get("anyOf")
        if isinstance(any_of, list) and all(
            isinstance(o, dict) and set(o) == {"type"} and isinstance(o["type"], str)
            for o in any_of
        ):
            node.pop("anyOf")
            node["type"] = [o["type"] for o in any_of]
    for key, value in node.items():
        _strip(value, is_properties=(key == "properties" and not is_properties))


def json_schema(kind: str) -> dict[str, Any]:
    """The compact JSON schema sent to the provider for ``kind`` ("cv" or "jd")."""
    return compact_json_schema(SCHEMAS[kind])


def compact_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``json_schema`` for a model class: providers are handed the class, not the kind.

    Generated once per class: pydantic takes ~4 ms per CV schema and an extraction
    asks for it four times (benchmarks/bench_batch.py). Every caller gets its own copy.
    """
    return dict(json.loads(_compact_json_text(model)))


@functools.cache
def _compact_json_text(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(schema_generator=_CompactJsonSchema))


# --- usage and results ---------------------------------------------------------------


class TokenUsage(BaseModel):
    """Tokens of one provider call, in the shape the CLI contract names.

    ``prompt_tokens`` / ``completion_tokens`` are ``None`` only when the provider left
    the count out (Ollama omits ``prompt_eval_count`` for a fully cached prompt): we
    record that we do not know rather than invent a number. ``total_tokens`` is the
    sum of what is known.
    """

    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int = 0
    model: str | None = None
    provider: str | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @model_validator(mode="after")
    def _fill_total(self) -> TokenUsage:
        if not self.total_tokens:
            self.total_tokens = (self.prompt_tokens or 0) + (self.completion_tokens or 0)
        return self

    def __add__(self, other: TokenUsage) -> TokenUsage:
        """Sum two calls' usage (a first attempt and its repair, say)."""

        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return TokenUsage(
            prompt_tokens=add(self.prompt_tokens, other.prompt_tokens),
            completion_tokens=add(self.completion_tokens, other.completion_tokens),
            total_tokens=self.total_tokens + other.total_tokens,
            model=other.model or self.model,
            provider=other.provider or self.provider,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class ExtractionResult(BaseModel):
    """One file's outcome: the CLI prints it as one JSON line, the UI shows it as a row."""

    file: str
    kind: Kind
    status: Status
    error: str | None = None
    error_kind: str | None = None
    data: dict[str, Any] | None = None
    provider: str
    model: str | None = None
    token_usage: TokenUsage = Field(default_factory=TokenUsage)
    cost_usd: float | None = None
    price_source: str | None = None
    duration_ms: int = 0
    warnings: list[str] = Field(default_factory=list)
    pages: int | None = None
    sha256: str | None = None
