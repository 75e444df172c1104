"""The :class:`Summary` object returned by every ``summary()``: one content, four renderings.

Like statsmodels' ``Summary``: a title, a block of ``(label, value)`` rows, a coefficient table
and numbered notes (diagnostics and caveats), rendered as text, Markdown, HTML or LaTeX.

>>> import pandas as pd
>>> table = pd.DataFrame({"estimate": [2.0], "std_error": [0.5]}, index=["ATE"])
>>> s = Summary("AIPW", [("n", "100")], table, ["limited overlap: 3 of 100 units"])
>>> print(s.as_markdown().splitlines()[0])
**AIPW**
>>> "[1] limited overlap" in s.as_text()
True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Summary"]

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain ``text``.

    >>> latex_escape("E[y^2 | do(t_1)] {x}")
    'E[y\\\\textasciicircum{}2 | do(t\\\\_1)] \\\\{x\\\\}'
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _cell(value: object) -> str:
    """A table cell: numbers to 6 significant digits, a non-finite number as "—", a missing
    value (``pd.NA``: nothing to report, e.g. no candidate scored) as "-".

    >>> _cell(1.234567891), _cell(float("nan")), _cell(pd.NA)
    ('1.23457', '—', '-')
    """
    if value is pd.NA:
        return "-"
    if isinstance(value, float | np.floating):
        return "—" if not np.isfinite(value) else f"{value:.6g}"
    return str(value)


@dataclass(frozen=True)
class Summary:
    """A result summary: title, ``(label, value)`` rows, a coefficient table, numbered notes.

    Parameters
    ----------
    title : str
        What the summary is about (an estimator's name).
    rows : sequence of (str, str)
        Header facts, e.g. the query, the method, ``n``.
    table : pandas.DataFrame
        The coefficient table (columns ``estimate, std_error, ci_lower, ci_upper, p_value``).
    notes : sequence of str
        Diagnostics and caveats, printed as ``[1] ...``, ``[2] ...``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = Summary("2SLS", [("n", "3010")], pd.DataFrame({"estimate": [0.13]}, index=["educ"]))
    >>> print(s)  # doctest: +NORMALIZE_WHITESPACE
    2SLS
    ====
    n  3010
    <BLANKLINE>
          estimate
    educ  0.13
    """

    title: str
    rows: Sequence[tuple[str, str]] = ()
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: Sequence[str] = ()

    def _table_rows(self) -> list[list[str]]:
        header = ["", *map(str, self.table.columns)]
        body = [[str(i), *map(_cell, r)] for i, r in zip(self.table.index, self.table.to_numpy())]
        return [header, *body]

    def as_text(self) -> str:
        """Plain text, aligned columns."""
        out = [self.title, "=" * len(self.title)]
        if self.rows:
            width = max(len(k) for k, _ in self.rows)
            out += [f"{k:<{width}}  {v}" for k, v in self.rows]
        if not self.table.empty:
            rows = self._table_rows()
            widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
            out.append("")
            out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if self.notes:
            out += ["", "Notes:"] + [f"[{i}] {n}" for i, n in enumerate(self.notes, 1)]
        return "\n".join(out)

    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown."""
        out = [f"**{self.title}**", ""]
        out += [f"- {k}: {v}" for k, v in self.rows]
        if not self.table.empty:
            rows = self._table_rows()
            out += ["", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        if self.notes:
            out += [""] + [f"{i}. {n}" for i, n in enumerate(self.notes, 1)]
        return "\n".join(out)

    def as_html(self) -> str:
        """An HTML fragment (a ``<div>`` with a caption, tables and an ordered list of notes)."""
        esc = html.escape
        parts = [f'<div class="deepcause-summary"><h4>{esc(self.title)}</h4>']
        if self.rows:
            parts.append("<table>")
            parts += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.rows]
            parts.append("</table>")
        if not self.table.empty:
            rows = self._table_rows()
            parts.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in rows[0]) + "</tr>")
            for r in rows[1:]:
                parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
            parts.append("</table>")
        if self.notes:
            parts.append("<ol>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ol>")
        parts.append("</div>")
        return "".join(parts)

    def as_latex(self) -> str:
        """A LaTeX ``tabular`` (special characters escaped) followed by the notes."""
        out = [r"\begin{tabular}{l" + "r" * len(self.table.columns) + "}", r"\hline"]
        ncol = len(self.table.columns) + 1
        out.append(rf"\multicolumn{{{ncol}}}{{l}}{{{latex_escape(self.title)}}} \\")
        out += [f"{latex_escape(k)} & {latex_escape(v)} \\\\" for k, v in self.rows]
        if not self.table.empty:
            rows = self._table_rows()
            out.append(r"\hline")
            out += [" & ".join(latex_escape(c) for c in r) + r" \\" for r in rows]
        out.append(r"\hline")
        out.append(r"\end{tabular}")
        out += [f"[{i}] {latex_escape(n)}\\\\" for i, n in enumerate(self.notes, 1)]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()
