"""Self-contained HTML reports: one file, no scripts, nothing fetched at view time.

A :class:`Report` is a title and a sequence of :class:`Section` (each an HTML fragment); its
``html`` is one document with inline CSS, figures embedded as ``data:`` URIs (PNG plots, SVG
mathematics rendered by matplotlib's mathtext, so no MathJax) and a Content-Security-Policy
that forbids every network request. :func:`estimate_report` builds the estimate-only report of
:meth:`deepcause.results.EffectEstimate.report`; :func:`deepcause.report.build_report` adds the
graph, refutations and sensitivity analysis, which need the data.

>>> rep = Report("Demo", [Section("Notes", "<p>plain &amp; simple</p>")])
>>> "<h2>Notes</h2>" in rep.html, "http:" in rep.html or "https:" in rep.html
(True, False)
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ._plots import plot_balance, plot_overlap
from .exceptions import DataValidationError

__all__ = ["Report", "Section", "figure_uri", "math_uri", "estimate_report"]

#: nothing may be loaded from anywhere: images are data: URIs, styles are inline, no scripts
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
:root{--ink:#1d2330;--muted:#5b6577;--line:#dde2ea;--card:#fff;--bg:#f4f6f9;--accent:#2f5d9e;
--pass:#1f7a3a;--fail:#b3261e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 -apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:var(--ink);color:#fff;padding:22px 32px 14px}
header h1{margin:0 0 4px;font-size:24px;font-weight:600}
header p{margin:0 0 10px;color:#c9d1de}
nav a{color:#fff;margin-right:16px;font-size:13px;text-decoration:none;opacity:.85}
nav a:hover{opacity:1;text-decoration:underline}
main{max-width:1040px;margin:0 auto;padding:20px 24px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:18px 24px;margin:18px 0}
h2{margin:0 0 12px;font-size:19px;color:var(--accent)}
h4{margin:10px 0 6px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
td{font-variant-numeric:tabular-nums}
figure{margin:10px 0;text-align:center}
figure img{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:13px}
.figures{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;justify-content:center}
.figures figure{flex:1 1 430px;max-width:560px}
.math{background:#f8f9fb;border:1px solid var(--line);border-radius:6px;padding:12px;
overflow-x:auto;text-align:center}
.math img{max-width:100%;height:auto}
.mathtext{font-family:"DejaVu Serif",Georgia,serif;font-size:16px;white-space:pre-wrap}
pre{background:#1d2330;color:#e8ecf3;padding:12px 14px;border-radius:6px;overflow-x:auto;
font-size:13px;white-space:pre-wrap;word-break:break-all}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;color:#fff;font-size:12px;
font-weight:600}
.pass{background:var(--pass)}.fail{background:var(--fail)}
.muted{color:var(--muted)}
footer{text-align:center;color:var(--muted);font-size:12px;padding:0 0 24px}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


@dataclass(frozen=True)
class Section:
    """One titled part of a :class:`Report`: an HTML fragment (trusted, already escaped).

    Parameters
    ----------
    title : str
        The heading (plain text; escaped when rendered).
    body : str
        The HTML content.
    anchor : str, optional
        The ``id`` of the section (default: made from the title).

    Examples
    --------
    >>> Section("Sensitivity analysis", "<p>…</p>").anchor
    'sensitivity-analysis'
    """

    title: str
    body: str
    anchor: str = ""

    def __post_init__(self) -> None:
        if not self.anchor:
            object.__setattr__(self, "anchor", _slug(self.title))


def deepcause_version() -> str:
    """The installed deepcause version (``"unknown"`` when run from an uninstalled tree)."""
    try:
        return metadata.version("deepcause")
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
        return "unknown"


@dataclass(frozen=True)
class Report:
    """A self-contained HTML report: a title and its sections.

    ``html`` is one document that needs nothing else: inline CSS, figures as ``data:`` URIs, no
    scripts, and a Content-Security-Policy that blocks any network request at view time.

    Parameters
    ----------
    title : str
        The report's title.
    sections : sequence of Section
        The parts, in order (each gets an entry in the navigation bar).
    subtitle : str, default ""
        One line under the title.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> rep = Report("Effect of t on y", [Section("Estimate", "<p>2.0</p>")], "AIPW, n = 100")
    >>> path = rep.save(pathlib.Path(tempfile.mkdtemp()) / "report.html")
    >>> path.read_text(encoding="utf-8") == rep.html, rep.titles
    (True, ['Estimate'])
    """

    title: str
    sections: Sequence[Section]
    subtitle: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))

    @property
    def titles(self) -> list[str]:
        """The section titles, in order."""
        return [s.title for s in self.sections]

    @property
    def html(self) -> str:
        """The whole document as one string."""
        esc = html.escape
        nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in self.sections)
        body = "".join(
            f'<section id="{s.anchor}"><h2>{esc(s.title)}</h2>{s.body}</section>'
            for s in self.sections
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="deepcause {esc(deepcause_version())}">'
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head>\n<body><header>"
            f"<h1>{esc(self.title)}</h1><p>{esc(self.subtitle)}</p><nav>{nav}</nav></header>"
            f"<main>{body}</main><footer>deepcause {esc(deepcause_version())} · a self-contained "
            "report: no scripts, nothing loaded from the network</footer></body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the document to ``path`` (UTF-8, overwriting) and return the path."""
        path = Path(path)
        if path.is_dir():
            raise DataValidationError(f"report path {str(path)!r} is a folder; give a file name")
        if not path.resolve().parent.is_dir():
            raise DataValidationError(
                f"the folder of report path {str(path)!r} does not exist; create it first"
            )
        path.write_text(self.html, encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return f"Report({self.title!r}, sections={self.titles})"


# ----------------------------------------------------------------------------- figures
def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reports draw their figures with matplotlib: pip install 'deepcause[plot]'"
        ) from exc
    return Figure(figsize=(width, height))


def figure_uri(fig: Any, fmt: str = "png", dpi: int = 110) -> str:
    """A matplotlib figure as a ``data:`` URI (PNG or SVG), without metadata or DOCTYPE.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1)); _ = fig.add_subplot().plot([0, 1])
    >>> figure_uri(fig)[:22]
    'data:image/png;base64,'
    """
    from matplotlib import rc_context  # matplotlib is optional: guarded by _figure

    mime = {"png": "image/png", "svg": "image/svg+xml"}.get(fmt)
    if mime is None:
        raise ValueError(f"fmt must be 'png' or 'svg', got {fmt!r}")
    meta = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None}
    buf = io.BytesIO()
    with rc_context({"svg.hashsalt": "deepcause", "svg.fonttype": "path"}):
        fig.savefig(
            buf,
            format=fmt,
            dpi=dpi,
            bbox_inches="tight",
            pad_inches=0.06,
            metadata=meta,
            transparent=fmt == "svg",
        )
    data = re.sub(rb"<!DOCTYPE[^>]*>", b"", buf.getvalue())
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def math_uri(latex: str, fontsize: float = 15) -> str | None:
    """LaTeX mathematics drawn by matplotlib's mathtext as an SVG ``data:`` URI.

    ``None`` when mathtext cannot parse it (the report then shows the text form only).

    Examples
    --------
    >>> math_uri(r"\\sum_{z} P(y \\mid t, z) P(z)")[:26]
    'data:image/svg+xml;base64,'
    >>> math_uri(r"\\frac{1}{") is None
    True
    """
    fig = _figure(1, 1)
    fig.text(0, 0, f"${latex}$", fontsize=fontsize)
    try:
        return figure_uri(fig, "svg")
    except ValueError:  # mathtext's parse error
        return None


def figure_html(uri: str, alt: str, caption: str = "") -> str:
    """An ``<figure>`` holding the image ``uri`` with its alternative text and caption."""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{html.escape(alt)}">{cap}</figure>'


def plot_html(draw: Any, alt: str, caption: str = "", size: tuple[float, float] = (6, 3.6)) -> str:
    """Draw ``draw(ax)`` on a new figure and return it as an inline ``<figure>``."""
    fig = _figure(*size)
    draw(fig.add_subplot())
    return figure_html(figure_uri(fig), alt, caption)


# ----------------------------------------------------------------------------- sections
def estimand_html(estimand: Any, query: str = "") -> str:
    """The estimand drawn as mathematics, with its text form and LaTeX source."""
    if estimand is None:
        return (
            f'<div class="math mathtext">{html.escape(query or "—")}</div><p class="muted">No '
            "identified estimand is attached to this estimate (e.g. an instrumental-variable "
            "estimate, whose assumptions are the instrument's).</p>"
        )
    latex = estimand.to_latex()
    uri = math_uri(latex)
    drawn = (
        f'<div class="math"><img src="{uri}" alt="{html.escape(str(estimand))}"></div>'
        if uri
        else f'<div class="math mathtext">{html.escape(str(estimand))}</div>'
    )
    facts = [("kind", estimand.kind), ("text form", str(estimand))]
    for name in ("adjustment_set", "mediators"):
        value = getattr(estimand, name, None)
        if value is not None:
            facts.append((name.replace("_", " "), ", ".join(value) or "(empty)"))
    return (
        drawn
        + facts_table(facts)
        + f"<details><summary>LaTeX source</summary><pre>{html.escape(latex)}</pre></details>"
    )


def facts_table(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column ``<table>`` of ``(label, value)`` rows (both escaped)."""
    esc = html.escape
    return (
        "<table>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
        + ("</table>")
    )


def diagnostics_html(diag: Any) -> str:
    """Overlap and balance plots, the balance table and the diagnostic notes of a fit."""
    figures = []
    if diag.propensity is not None and diag.treatment is not None:
        figures.append(
            plot_html(
                lambda ax: plot_overlap(diag, ax=ax),
                "propensity overlap plot",
                "Propensity scores by arm: the arms must overlap for the estimate to be "
                "supported by the data.",
            )
        )
    parts = []
    if diag.balance is not None and len(diag.balance):
        figures.append(
            plot_html(
                lambda ax: plot_balance(diag, ax=ax),
                "covariate balance plot",
                "|standardized mean difference| before and after weighting (line at 0.1).",
                size=(6, 0.32 * len(diag.balance) + 1.6),
            )
        )
        parts.append(diag.balance.to_html(float_format="{:.3f}".format, na_rep="—", border=0))
    messages = diag.messages()
    notes = "".join(f"<li>{html.escape(m)}</li>" for m in messages)
    lead = f"<ul>{notes}</ul>" if notes else ""
    if not figures and not parts and not notes:
        return '<p class="muted">This estimator reports no overlap or balance diagnostics.</p>'
    return lead + f'<div class="figures">{"".join(figures)}</div>' + "".join(parts)


def provenance_html(code: str | None, facts: Sequence[tuple[str, str]] = ()) -> str:
    """The command or code that produced the report, and the software that ran it."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        *facts,
        ("deepcause", deepcause_version()),
        ("python", platform.python_version()),
        ("generated", stamp),
    ]
    shown = (
        f"<pre><code>{html.escape(code)}</code></pre>"
        if code
        else '<p class="muted">The code was not recorded: pass <code>code=</code> to keep it '
        "in the report.</p>"
    )
    return shown + facts_table(rows)


def estimate_report(
    estimate: Any, *, alpha: float = 0.05, title: str | None = None, code: str | None = None
) -> Report:
    """The estimate-only report of an :class:`~deepcause.results.EffectEstimate`.

    Estimand, estimate table, diagnostics (overlap and balance plots) and provenance; the
    graph, refutations and sensitivity analysis need the data: see
    :func:`deepcause.report.build_report`.

    Examples
    --------
    >>> from deepcause.results import EffectEstimate
    >>> estimate_report(EffectEstimate(2.0, 0.5, method="AIPW", n=100)).titles
    ['Estimand', 'Estimate', 'Diagnostics', 'Reproduce']
    """
    label = estimate.query or estimate.quantity
    return Report(
        title or f"{estimate.quantity} by {estimate.method or 'an estimator'}",
        [
            Section("Estimand", estimand_html(estimate.estimand, label)),
            Section("Estimate", estimate.summary(alpha).as_html()),
            Section("Diagnostics", diagnostics_html(estimate.diagnostics)),
            Section("Reproduce", provenance_html(code)),
        ],
        f"{label} · n = {estimate.n}",
    )
