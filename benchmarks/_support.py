"""What several benchmarks share: rows, CV-like files, a fake server in its own process.

The fake Ollama runs in a child process, as a real Ollama would: its HTTP threads
then never compete for the benchmarked process's GIL, which would otherwise show up
as event-loop stalls and lost throughput that no user would ever see.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def row(
    name: str,
    value: float | None,
    unit: str,
    baseline: float | None = None,
    target: float | None = None,
    note: str = "",
    *,
    lower_is_better: bool = True,
    target_on_ratio: bool = False,
    explain: str = "",
) -> dict[str, Any]:
    """One table row; ``target_on_ratio`` checks ``value / baseline`` against the target."""
    ratio = (value / baseline) if (value is not None and baseline) else None
    checked = ratio if target_on_ratio else value
    ok = None
    if target is not None and checked is not None:
        ok = checked <= target if lower_is_better else checked >= target
    sign = "<=" if lower_is_better else ">="
    target_text = None
    if target is not None:
        target_text = (
            f"{sign} {target:g} x baseline" if target_on_ratio else f"{sign} {target:g} {unit}"
        )
    out: dict[str, Any] = {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "target": target_text,
        "ok": ok,
        "note": note,
    }
    if explain and ok is False:
        out["explain"] = explain
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def rss_bytes() -> int:
    """Resident set size of this process now (not the peak)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil  # only where /proc is missing (macOS, Windows)

        return int(psutil.Process().memory_info().rss)


def run_child(module: str, args: Sequence[str], home: Path, label: str) -> dict[str, Any]:
    """Run ``python -m module args`` with its own CVJD_HOME; its last JSON line back.

    Each scenario runs in a fresh process so one cannot warm caches or share a GIL
    with another, and a crash after the figures cannot lose them.
    """
    import json

    home.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=child_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{label} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


def child_env(home: Path | None = None) -> dict[str, str]:
    """Environment for a benchmark child: offscreen Qt, the repo importable, no real hosts."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for var in ("OLLAMA_HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(var, None)
    if home is not None:
        env["CVJD_HOME"] = str(home)
    return env


@contextlib.contextmanager
def fake_ollama_process(latency: float, chunk_delay: float = 0.0) -> Iterator[str]:
    """Serve the fake Ollama in a child process on a free port; yields its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes",
            "ollama",
            "--port",
            "0",
            "--latency",
            str(latency),
            "--chunk-delay",
            str(chunk_delay),
        ],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        if not match:
            raise RuntimeError(f"the fake Ollama did not start: {line!r}")
        yield match.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- CV-like documents ------------------------------------------------------------------

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Allen")
_ROLES = (
    "Senior Software Engineer",
    "Data Engineer",
    "Backend Developer",
    "Engineering Manager",
    "Site Reliability Engineer",
    "Machine Learning Engineer",
)
_COMPANIES = ("Analytical Engines Ltd", "Acme Corp", "Initech", "Globex", "Hooli", "Umbrella")
_DUTIES = (
    "Designed and implemented a distributed scheduling service handling 40,000 jobs per "
    "hour with an availability of 99.95 percent across three regions.",
    "Mentored five engineers, introduced code review guidelines and a continuous "
    "integration pipeline that cut the release cycle from two weeks to two days.",
    "Migrated the reporting database from MySQL to PostgreSQL without downtime, "
    "including the rewrite of 120 stored procedures and their regression tests.",
    "Built the ingestion pipeline for payment events with Kafka and Flink, processing "
    "two billion messages per day with exactly-once delivery guarantees.",
    "Led the accessibility review of the customer portal and fixed 300 findings, "
    "raising the audit score from 62 to 97.",
    "Reduced cloud infrastructure costs by 35 percent through rightsizing, reserved "
    "capacity and the removal of idle development environments.",
)
_SUMMARY = (
    "Experienced engineer with a background in distributed systems, data platforms and "
    "developer tooling. Responsible for the architecture of the data platform, including "
    "the ingestion pipeline, the stream processing layer and the reporting interfaces "
    "used by the finance and operations departments of the company."
)
_SKILLS = "Python, SQL, Kubernetes, Terraform, PostgreSQL, Kafka, React, TypeScript, Go"


def cv_html(seed: int, jobs: int) -> str:
    """A CV as HTML: header, summary, ``jobs`` positions with bullets, skills."""
    rnd = random.Random(seed)
    name = f"{rnd.choice(_FIRST)} {rnd.choice(_LAST)}"
    parts = [
        f"<h1>{name}</h1>",
        f"<p>{name.split()[0].lower()}@example.org &#183; +44 20 7946 {rnd.randrange(10**4):04d}"
        " &#183; London, United Kingdom</p>",
        "<h2>Summary</h2>",
        f"<p style='text-align:justify'>{_SUMMARY}</p>",
        "<h2>Experience</h2>",
    ]
    year = 2025
    for _ in range(jobs):
        start = year - rnd.randrange(1, 5)
        parts.append(
            f"<p><b>{rnd.choice(_ROLES)}</b>, {rnd.choice(_COMPANIES)} &#8212; {start} &#8211; "
            f"{year}</p><ul>" + "".join(f"<li>{d}</li>" for d in rnd.sample(_DUTIES, 3)) + "</ul>"
        )
        year = start
    parts += [
        "<h2>Education</h2>",
        f"<p>MSc Computer Science, University of London, {year - 2}</p>",
        "<h2>Skills</h2>",
        f"<p>{_SKILLS}</p>",
    ]
    return "\n".join(parts)


def make_cv_pdf(path: Path, pages: int, seed: int = 0) -> Path:
    """A CV-like PDF of exactly ``pages`` pages, laid out by MuPDF's HTML engine."""
    import pymupdf

    # About four positions fill a page: ask for more than enough, stop at ``pages``.
    html = cv_html(seed, jobs=pages * 6 + 2)
    mediabox = pymupdf.paper_rect("a4")
    where = pymupdf.Rect(50, 50, mediabox.width - 50, mediabox.height - 50)
    writer = pymupdf.DocumentWriter(str(path))
    story = pymupdf.Story(html=html)
    for _ in range(pages):
        device = writer.begin_page(mediabox)
        more, _ = story.place(where)
        story.draw(device)
        writer.end_page()
        if not more:
            raise RuntimeError(f"the CV text filled fewer than {pages} pages")
    writer.close()
    return path


def make_cv_docx(path: Path, seed: int = 0) -> Path:
    import docx

    rnd = random.Random(seed)
    document = docx.Document()
    document.add_heading(f"{rnd.choice(_FIRST)} {rnd.choice(_LAST)}", 0)
    document.add_paragraph("ada@example.org · +44 20 7946 0000 · London")
    document.add_heading("Experience", 1)
    for _ in range(3):
        document.add_paragraph(f"{rnd.choice(_ROLES)}, {rnd.choice(_COMPANIES)}")
        for duty in rnd.sample(_DUTIES, 2):
            document.add_paragraph(duty, style="List Bullet")
    document.add_heading("Skills", 1)
    document.add_paragraph(_SKILLS)
    document.save(str(path))
    return path


def make_batch(folder: Path, count: int, *, big_pdf_pages: int = 0) -> list[Path]:
    """``count`` CV files: two PDFs for each DOCX and text file, plus one long PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    template_pdf = make_cv_pdf(folder / "template.pdf", 2, seed=1)
    data = template_pdf.read_bytes()
    template_pdf.unlink()
    for i in range(count - (1 if big_pdf_pages else 0)):
        if i % 4 == 3:
            files.append(make_cv_docx(folder / f"cv-{i:03d}.docx", seed=i))
        elif i % 4 == 2:
            path = folder / f"cv-{i:03d}.txt"
            text = re.sub(r"<[^>]+>", "\n", cv_html(i, 3)).replace("&#183;", "·")
            path.write_text(re.sub(r"&#\d+;", "-", text), encoding="utf-8")
            files.append(path)
        else:
            # Same content, different bytes: the sha256 in the ledger differs per file.
            path = folder / f"cv-{i:03d}.pdf"
            path.write_bytes(data + f"\n% copy {i}\n".encode())
            files.append(path)
    if big_pdf_pages:
        files.append(make_cv_pdf(folder / f"cv-long-{big_pdf_pages}-pages.pdf", big_pdf_pages))
    return files
