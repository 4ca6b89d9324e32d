"""The selected file's outcome: its fields as a readable form, its raw JSON, and copy.

The form is generated HTML in a ``QTextBrowser`` rather than a tree of widgets: it
wraps long values (a URL with no spaces included), scrolls, lets the user select
and copy any part, and costs one document per selection instead of hundreds of
widgets. Every extracted value is HTML-escaped: the text comes from a model reading
an untrusted file. Colours come from the palette when the HTML is built, and the
HTML is rebuilt when the palette changes, so light and dark themes both read well.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFontDatabase,
    QGuiApplication,
    QPalette,
    QTextOption,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop.schemas import CV, ExtractionResult, JobDescription
from cvjd_desktop.ui.formatting import (
    UNKNOWN,
    format_cost,
    format_duration,
    format_months,
    format_tokens,
)

EMPTY_TEXT = "Select a file to see its fields"

_SAFE_LINK_SCHEMES = {"http", "https", "mailto"}
_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_EMPLOYMENT = {
    "FULL_TIME": "Full time",
    "PART_TIME": "Part time",
    "CONTRACTOR": "Contractor",
    "TEMPORARY": "Temporary",
    "INTERN": "Internship",
    "VOLUNTEER": "Volunteer",
    "PER_DIEM": "Per diem",
    "OTHER": "Other",
}
_SALARY_UNIT = {"HOUR": "hour", "DAY": "day", "WEEK": "week", "MONTH": "month", "YEAR": "year"}
_KIND_NAME = {"cv": "CV", "jd": "Job description"}
_ERROR_HEADINGS = {"cancelled": "Cancelled", "budget": "Refused by budget"}


# --- HTML building blocks ------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _link(url: str | None, text: str | None = None) -> str:
    """An anchor for web and mail links only; anything else stays plain text."""
    if not url:
        return _e(text or "")
    target = url if ":" in url.split("/")[0] else f"https://{url}"
    scheme = QUrl(target).scheme().lower()
    if scheme not in _SAFE_LINK_SCHEMES:
        return _e(text or url)
    return f'<a href="{_e(target)}">{_e(text or url)}</a>'


def _join(parts: Iterable[str | None], sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


def _date(value: str | None) -> str | None:
    """``2021-03`` reads ``Mar 2021``; ``2021-03-15`` reads ``15 Mar 2021``."""
    if not value:
        return None
    parts = value.split("-")
    try:
        if len(parts) == 2:
            return f"{_MONTH_NAMES[int(parts[1]) - 1]} {parts[0]}"
        if len(parts) == 3:
            return f"{int(parts[2])} {_MONTH_NAMES[int(parts[1]) - 1]} {parts[0]}"
    except (ValueError, IndexError):
        pass
    return value


def _period(start: str | None, end: str | None, current: bool = False) -> str | None:
    start_s, end_s = _date(start), "present" if current else _date(end)
    if start_s and end_s:
        return f"{start_s} – {end_s}"
    if start_s:
        return f"since {start_s}"
    if end_s:
        return f"until {end_s}"
    return None


class _Html:
    """Accumulates one document; knows the palette-derived styles of its parts."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def heading(self, text: str) -> None:
        self.add(f"<h3>{_e(text)}</h3>")

    def rows(self, rows: Iterable[tuple[str, str | None]], *, escaped: bool = False) -> None:
        """A label/value table; rows without a value are left out."""
        cells = [
            f'<tr><td class="label">{_e(label)}</td><td>{value if escaped else _e(value)}</td></tr>'
            for label, value in rows
            if value
        ]
        if cells:
            self.add('<table class="form" cellspacing="0" cellpadding="2">')
            self.add("".join(cells))
            self.add("</table>")

    def bullets(self, items: Iterable[str | None]) -> None:
        lis = [f"<li>{_e(item)}</li>" for item in items if item]
        if lis:
            self.add(f"<ul>{''.join(lis)}</ul>")

    def paragraph(self, text: str | None, cls: str = "") -> None:
        if text:
            attr = f' class="{cls}"' if cls else ""
            self.add(f"<p{attr}>{_e(text)}</p>")

    def entry(self, title: str, subtitle: str | None, meta: str | None) -> None:
        """The first lines of a work, education or project entry (already escaped)."""
        line = f"<b>{title}</b>" if title else ""
        if subtitle:
            line = f"{line} — {subtitle}" if line else subtitle
        meta_html = f'<br><span class="muted">{meta}</span>' if meta else ""
        self.add(f'<p class="entry">{line}{meta_html}</p>')

    def section(self, title: str, items: list[Any], render: Callable[[Any], None]) -> None:
        if items:
            self.heading(title)
            for item in items:
                render(item)

    def text(self) -> str:
        return "".join(self.parts)


# --- CV ------------------------------------------------------------------------------


def _cv_location(cv: CV) -> str | None:
    loc = cv.basics.location
    if loc is None:
        return None
    return _join([loc.address, loc.city, loc.region, loc.postalCode, loc.countryCode], ", ")


def _cv_html(cv: CV, doc: _Html) -> bool:
    """Write the CV's sections; False when nothing at all was extracted."""
    b = cv.basics
    start = len(doc.parts)
    if b.name:
        doc.add(f"<h2>{_e(b.name)}</h2>")
    doc.paragraph(b.label, "subtitle")
    profiles = [
        _link(p.url, _join([p.network, p.username], ": ") or p.url)
        if p.url
        else _e(_join([p.network, p.username], ": "))
        for p in b.profiles
        if p.url or p.network or p.username
    ]
    doc.rows(
        [
            ("Email", _link(f"mailto:{b.email}", b.email) if b.email else None),
            ("Phone", _e(b.phone) if b.phone else None),
            ("Website", _link(b.url) if b.url else None),
            ("Location", _e(_cv_location(cv)) if _cv_location(cv) else None),
            ("Profiles", "<br>".join(profiles) if profiles else None),
        ],
        escaped=True,
    )
    doc.paragraph(b.summary)

    def work(w: Any) -> None:
        doc.entry(
            _e(w.position or w.name or "Role"),
            _link(w.url, w.name) if w.position and w.name else None,
            _e(_join([_period(w.startDate, w.endDate, w.current), w.location])) or None,
        )
        doc.paragraph(w.summary)
        doc.bullets(w.highlights)

    def education(ed: Any) -> None:
        degree = _join([ed.studyType, ed.area], ", ")
        doc.entry(
            _e(degree or ed.institution or "Education"),
            _e(ed.institution) if degree and ed.institution else None,
            _e(
                _join(
                    [_period(ed.startDate, ed.endDate), f"score {ed.score}" if ed.score else None]
                )
            )
            or None,
        )
        if ed.courses:
            doc.paragraph("Courses: " + ", ".join(ed.courses), "muted")

    def skill(s: Any) -> None:
        name = _join([s.name, f"({s.level})" if s.level else None], " ")
        keywords = ", ".join(s.keywords)
        if name and keywords:
            doc.add(f"<p class='item'><b>{_e(name)}</b>: {_e(keywords)}</p>")
        elif name or keywords:
            doc.add(f"<p class='item'>{_e(name or keywords)}</p>")

    def certificate(c: Any) -> None:
        doc.entry(
            _link(c.url, c.name) if c.name else "Certificate",
            _e(c.issuer) if c.issuer else None,
            _e(_date(c.date)) if c.date else None,
        )

    def project(p: Any) -> None:
        doc.entry(
            _link(p.url, p.name) if p.name else "Project",
            None,
            _e(_period(p.startDate, p.endDate)) if _period(p.startDate, p.endDate) else None,
        )
        doc.paragraph(p.description)
        doc.bullets(p.highlights)

    doc.section("Work", cv.work, work)
    doc.section("Education", cv.education, education)
    doc.section("Skills", cv.skills, skill)
    if any(lang.language for lang in cv.languages):
        doc.heading("Languages")
        doc.rows([(lang.language or "", lang.fluency or UNKNOWN) for lang in cv.languages])
    doc.section("Certificates", cv.certificates, certificate)
    doc.section("Projects", cv.projects, project)
    return len(doc.parts) > start


# --- JD ------------------------------------------------------------------------------


def _salary(jd: JobDescription) -> str | None:
    s = jd.baseSalary
    if s is None or (s.minValue is None and s.maxValue is None):
        return None

    def amount(v: float) -> str:
        return f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"

    if s.minValue is not None and s.maxValue is not None and s.minValue != s.maxValue:
        value = f"{amount(s.minValue)}–{amount(s.maxValue)}"
    else:
        value = amount(s.minValue if s.minValue is not None else s.maxValue)  # type: ignore[arg-type]
    unit = _SALARY_UNIT.get((s.unitText or "").upper(), (s.unitText or "").lower())
    return _join([s.currency, value], " ") + (f" per {unit}" if unit else "")


def _jd_location(jd: JobDescription) -> str | None:
    places = [
        _join([loc.addressLocality, loc.addressRegion, loc.addressCountry], ", ")
        for loc in jd.jobLocation
    ]
    return "; ".join(p for p in places if p) or None


def _jd_html(jd: JobDescription, doc: _Html) -> bool:
    start = len(doc.parts)
    if jd.title:
        doc.add(f"<h2>{_e(jd.title)}</h2>")
    remote = (jd.jobLocationType or "").upper() == "TELECOMMUTE"
    experience = None
    if jd.experienceRequirements is not None:
        exp = jd.experienceRequirements
        months = format_months(exp.monthsOfExperience) if exp.monthsOfExperience else None
        experience = _join([f"at least {months}" if months else None, exp.description], ", ")
    employment = ", ".join(_EMPLOYMENT.get(t.upper(), t) for t in jd.employmentType)
    # The headline facts of a posting: shown even when missing, so the gap is visible.
    doc.rows(
        [
            ("Company", jd.hiringOrganization or UNKNOWN),
            ("Location", _join([_jd_location(jd), "Remote" if remote else None]) or UNKNOWN),
            ("Employment", employment or UNKNOWN),
            ("Salary", _salary(jd) or UNKNOWN),
            ("Experience", experience or UNKNOWN),
            ("Education", jd.educationRequirements or UNKNOWN),
            ("Posted", _date(jd.datePosted)),
            ("Apply by", _date(jd.validThrough)),
        ]
    )
    doc.paragraph(jd.description)
    if jd.skills:
        doc.heading("Required skills")
        doc.paragraph(" · ".join(jd.skills))
    if jd.niceToHaveSkills:
        doc.heading("Nice-to-have skills")
        doc.paragraph(" · ".join(jd.niceToHaveSkills))
    if jd.responsibilities:
        doc.heading("Responsibilities")
        doc.bullets(jd.responsibilities)
    if jd.qualifications:
        doc.heading("Qualifications")
        doc.bullets(jd.qualifications)
    has_facts = any(
        [
            jd.title,
            jd.hiringOrganization,
            jd.jobLocation,
            jd.employmentType,
            _salary(jd),
            jd.description,
            jd.skills,
            jd.niceToHaveSkills,
            jd.responsibilities,
            jd.qualifications,
            experience,
            jd.educationRequirements,
        ]
    )
    if not has_facts:
        del doc.parts[start:]
    return has_facts


def _generic_html(data: dict[str, Any], doc: _Html) -> None:
    """Data that no longer matches the schema (an older row, say): show it as it is."""
    doc.rows(
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in data.items()
        if value not in (None, "", [], {})
    )


# --- the widget ----------------------------------------------------------------------


class _ElidedLabel(QLabel):
    """A one-line label that elides instead of forcing its width (long file names)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 40)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))


class ResultView(QWidget):
    """Shows one ``ExtractionResult``: fields, raw JSON, errors, warnings and cost.

    Signals:
        copied(str): something was put on the clipboard; the argument says what, for
            the status bar ("JSON copied").
    """

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: ExtractionResult | None = None
        self._file_name = ""
        self._raw_text = ""
        self._export_text = ""
        self._labels: dict[QPushButton, str] = {}

        self._stack = QStackedWidget(self)
        self._empty = QLabel(EMPTY_TEXT, self)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._empty.setMargin(24)
        self._stack.addWidget(self._empty)

        page = QWidget(self)
        self._title = _ElidedLabel(page)
        font = self._title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self._title.setFont(font)
        self._title.setAccessibleName("File name")

        self._fields = QTextBrowser(page)
        self._fields.setOpenLinks(False)
        self._fields.anchorClicked.connect(self._open_link)
        self._fields.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self._fields.setAccessibleName("Extracted fields")

        self._raw = QPlainTextEdit(page)
        self._raw.setReadOnly(True)
        self._raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._raw.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._raw.setAccessibleName("Raw JSON")

        self._tabs = QTabWidget(page)
        self._tabs.setDocumentMode(True)
        self._tabs.addTab(self._fields, "Fields")
        self._tabs.addTab(self._raw, "Raw JSON")

        self._copy_button = QPushButton("Copy JSON", page)
        self._copy_button.setToolTip("Copy the extracted fields as JSON to the clipboard")
        self._copy_button.clicked.connect(self.copy_json)
        self._export_button = QPushButton("Copy as JSON Resume", page)
        self._export_button.clicked.connect(self.copy_export)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self._copy_button)
        buttons.addWidget(self._export_button)
        buttons.addStretch(1)

        self._title.setContentsMargins(4, 2, 4, 2)
        self._fields.document().setDocumentMargin(8)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self._title)
        layout.addWidget(self._tabs, 1)
        layout.addLayout(buttons)
        self._stack.addWidget(page)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._stack)
        self.show_result(None)

    # --- public API ------------------------------------------------------------------

    def show_result(self, result: ExtractionResult | None, *, file_name: str = "") -> None:
        """Show ``result`` (``None``: the empty state). ``file_name`` overrides its path."""
        self._result = result
        self._file_name = file_name
        if result is None:
            self.show_placeholder(EMPTY_TEXT)
            return
        self._render()
        self._tabs.setCurrentIndex(0)
        self._fields.verticalScrollBar().setValue(0)
        self._stack.setCurrentIndex(1)

    def show_placeholder(self, text: str) -> None:
        """A message instead of a result ("Still running…", say)."""
        self._result = None
        self._raw_text = self._export_text = ""
        self._empty.setText(text)
        self._stack.setCurrentIndex(0)

    def result(self) -> ExtractionResult | None:
        return self._result

    def fields_text(self) -> str:
        """The form as plain text (what a screen reader reads, and what tests check)."""
        return self._fields.toPlainText() if self._result is not None else self._empty.text()

    def raw_json(self) -> str:
        return self._raw_text

    @Slot()
    def copy_json(self) -> None:
        """Copy the raw JSON tab's content."""
        if self._raw_text:
            QGuiApplication.clipboard().setText(self._raw_text)
            self._acknowledge(self._copy_button, "JSON copied")

    @Slot()
    def copy_export(self) -> None:
        """Copy the JSON Resume (CV) or JSON-LD JobPosting (JD) document."""
        if self._export_text:
            QGuiApplication.clipboard().setText(self._export_text)
            label = "JSON Resume" if self._result and self._result.kind == "cv" else "JSON-LD"
            self._acknowledge(self._export_button, f"{label} copied")

    # --- rendering -------------------------------------------------------------------

    def _render(self) -> None:
        result = self._result
        assert result is not None
        self._title.set_full_text(self._file_name or _base_name(result.file))
        model = self._parse(result)
        if result.status == "ok" and result.data is not None:
            self._raw_text = json.dumps(result.data, indent=2, ensure_ascii=False)
        else:
            self._raw_text = json.dumps(
                result.model_dump(mode="json"), indent=2, ensure_ascii=False
            )
        self._export_text = ""
        if isinstance(model, CV):
            self._export_text = json.dumps(model.to_json_resume(), indent=2, ensure_ascii=False)
            self._set_label(self._export_button, "Copy as JSON Resume")
            self._export_button.setToolTip("Copy the CV as a JSON Resume document")
        elif isinstance(model, JobDescription):
            self._export_text = json.dumps(model.to_json_ld(), indent=2, ensure_ascii=False)
            self._set_label(self._export_button, "Copy as JSON-LD")
            self._export_button.setToolTip("Copy the job as a schema.org JobPosting (JSON-LD)")
        self._export_button.setVisible(bool(self._export_text) and result.status == "ok")
        self._set_label(self._copy_button, "Copy JSON")
        self._copy_button.setEnabled(bool(self._raw_text))
        self._raw.setPlainText(self._raw_text)
        self._apply_style()
        self._fields.setHtml(self._html(result, model))

    @staticmethod
    def _parse(result: ExtractionResult) -> CV | JobDescription | None:
        if not result.data:
            return None
        try:
            return (
                CV.model_validate(result.data)
                if result.kind == "cv"
                else (JobDescription.model_validate(result.data))
            )
        except ValidationError:
            return None

    def _html(self, result: ExtractionResult, model: CV | JobDescription | None) -> str:
        doc = _Html()
        doc.add(f'<p class="meta">{_e(_meta_line(result))}</p>')
        if result.status != "ok":
            self._error_html(result, doc)
        for warning in result.warnings:
            doc.add(
                '<table class="note" cellspacing="0" cellpadding="0"><tr>'
                '<td class="icon"><img src="icon:warning" width="16" height="16"></td>'
                f"<td>{_e(warning)}</td></tr></table>"
            )
        if isinstance(model, CV):
            found = _cv_html(model, doc)
        elif isinstance(model, JobDescription):
            found = _jd_html(model, doc)
        elif result.data:
            _generic_html(result.data, doc)
            found = True
        else:
            found = False
        if not found and result.status == "ok":
            doc.paragraph("The model found no fields in this file.", "muted")
        return doc.text()

    @staticmethod
    def _error_html(result: ExtractionResult, doc: _Html) -> None:
        usage = result.token_usage
        tokens = format_tokens(usage.total_tokens)
        split = _join(
            [
                f"{format_tokens(usage.prompt_tokens)} prompt",
                f"{format_tokens(usage.completion_tokens)} completion",
            ]
        )
        heading = _ERROR_HEADINGS.get(result.error_kind or "", "Extraction failed")
        if usage.total_tokens or result.cost_usd:
            spent: list[tuple[str, str | None]] = [
                ("Tokens spent", f"{tokens} ({split})"),
                ("Cost", format_cost(result.cost_usd, result.price_source)),
            ]
        else:  # failed before the model answered (or before it was asked): nothing billed
            spent = [("Tokens spent", "none, nothing was billed")]
        doc.add(
            '<table class="error" width="100%" cellspacing="0" cellpadding="8"><tr>'
            '<td class="icon"><img src="icon:error" width="32" height="32"></td><td>'
            f'<p class="error-title">{_e(heading)}</p>'
            f'<p class="error-message">{_e(result.error or "No error message was given.")}</p>'
            "</td></tr></table>"
        )
        doc.rows(
            [
                ("Error kind", result.error_kind or UNKNOWN),
                *spent,
                ("Time", format_duration(result.duration_ms)),
            ]
        )

    def _apply_style(self) -> None:
        """Style the document from the current palette (light or dark alike)."""
        pal = self.palette()
        muted = _opaque(pal, QPalette.ColorRole.PlaceholderText).name()
        link = pal.color(QPalette.ColorRole.Link).name()
        panel = pal.color(QPalette.ColorRole.AlternateBase).name()
        mid = pal.color(QPalette.ColorRole.Mid).name()
        self._fields.document().setDefaultStyleSheet(
            f"""
            h2 {{ margin-top: 4px; margin-bottom: 0px; font-size: x-large; }}
            h3 {{ margin-top: 16px; margin-bottom: 4px; font-size: large; }}
            p {{ margin-top: 2px; margin-bottom: 4px; }}
            ul {{ margin-top: 0px; margin-bottom: 6px; -qt-list-indent: 1; }}
            a {{ color: {link}; }}
            .meta {{ color: {muted}; margin-bottom: 8px; }}
            .muted {{ color: {muted}; }}
            .subtitle {{ font-size: large; color: {muted}; margin-bottom: 8px; }}
            .entry {{ margin-top: 8px; margin-bottom: 2px; }}
            .item {{ margin-top: 1px; margin-bottom: 1px; }}
            table.form {{ margin-top: 4px; margin-bottom: 6px; }}
            td.label {{ color: {muted}; padding-right: 12px; }}
            table.note {{ margin-bottom: 6px; }}
            td.icon {{ padding-right: 6px; }}
            table.error {{ background-color: {panel}; border-width: 1px;
                           border-style: solid; border-color: {mid};
                           border-collapse: collapse; margin-bottom: 8px; }}
            .error-title {{ font-weight: bold; font-size: large; margin-top: 0px; }}
            .error-message {{ margin-bottom: 0px; }}
            """
        )
        style = self.style()
        document = self._fields.document()
        for name, icon in (
            ("icon:warning", QStyle.StandardPixmap.SP_MessageBoxWarning),
            ("icon:error", QStyle.StandardPixmap.SP_MessageBoxCritical),
        ):
            pixmap = style.standardIcon(icon, None, self).pixmap(32, 32)
            document.addResource(document.ResourceType.ImageResource, QUrl(name), pixmap.toImage())

    # --- events and helpers ----------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and (
            self._result is not None
        ):
            self._render()

    @Slot(QUrl)
    def _open_link(self, url: QUrl) -> None:
        if url.scheme().lower() in _SAFE_LINK_SCHEMES:
            QDesktopServices.openUrl(url)

    def _set_label(self, button: QPushButton, text: str) -> None:
        self._labels[button] = text
        button.setText(text)

    def _acknowledge(self, button: QPushButton, message: str) -> None:
        """Say "Copied" on the button for a moment; a click with no feedback feels lost."""
        button.setText("Copied")
        QTimer.singleShot(1500, button, lambda: button.setText(self._labels[button]))
        self.copied.emit(message)


def _opaque(palette: QPalette, role: QPalette.ColorRole) -> QColor:
    """The role's colour as seen on the base; CSS here ignores alpha.

    Qt 6 derives PlaceholderText from Text at half opacity; written as ``#rrggbb``
    it would lose the transparency and read as plain text.
    """
    color = palette.color(role)
    alpha = color.alphaF()
    if alpha >= 1:
        return color
    base = palette.color(QPalette.ColorRole.Base)
    return QColor.fromRgbF(
        color.redF() * alpha + base.redF() * (1 - alpha),
        color.greenF() * alpha + base.greenF() * (1 - alpha),
        color.blueF() * alpha + base.blueF() * (1 - alpha),
    )


def _base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1] or path


def _meta_line(result: ExtractionResult) -> str:
    """Kind, provider and model, and for a success what it cost (a failure has a table)."""
    usage = result.token_usage
    model = _join([result.provider, result.model or usage.model], " / ")
    if result.status != "ok":
        return _join([_KIND_NAME.get(result.kind, result.kind), model])
    return _join(
        [
            _KIND_NAME.get(result.kind, result.kind),
            model,
            f"{format_tokens(usage.total_tokens)} tokens",
            format_cost(result.cost_usd, result.price_source),
            format_duration(result.duration_ms) if result.duration_ms else None,
            f"{result.pages} pages" if result.pages and result.pages > 1 else None,
        ]
    )
