"""``build_report``: data + graph -> estimate, refutations, sensitivity -> one HTML file.

Result objects do not keep their estimator or their data, so the full report is built from the
inputs, the way ``deepcause report`` does on the command line: the effect is identified and
estimated exactly as :func:`deepcause.estimate.estimate_effect` (or, for instrumental-variable
methods, :func:`deepcause.estimate.iv.estimate_iv_effect`) does, then refuted and put through
the sensitivity analyses. :meth:`deepcause.results.EffectEstimate.report` writes the parts that
need no data (estimand, estimate table, diagnostics).
"""

from __future__ import annotations

import hashlib
import html
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .._html import (
    Report,
    Section,
    diagnostics_html,
    estimand_html,
    plot_html,
    provenance_html,
)
from .._validation import require_dataframe
from ..estimate.api import default_method, estimate_effect
from ..estimate.iv.api import estimate_iv_effect, is_iv_method
from ..estimate.refute import refute as run_refuter
from ..estimate.refute import sensitivity as run_sensitivity
from ..estimate.refute.negative import negative_controls
from ..estimate.registry import get_estimator_class
from ..exceptions import DataValidationError, DeepCauseError
from ..graph.causal_graph import as_graph
from ..results import EffectEstimate
from .figures import graph_figsize, plot_graph, plot_refutations

__all__ = ["build_report", "DEFAULT_REFUTERS"]

#: the refuters run by default; the negative controls are added when the graph names one
DEFAULT_REFUTERS = (
    "placebo_treatment",
    "random_common_cause",
    "data_subsets",
    "bootstrap",
    "dummy_outcome",
)


def data_fingerprint(data: pd.DataFrame) -> str:
    """A short SHA-256 of the table's values, index and column names (to check a rerun).

    >>> data_fingerprint(pd.DataFrame({"a": [1, 2]})) == data_fingerprint(pd.DataFrame({"a": [1, 2]}))
    True
    """
    digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
    digest.update("\x1f".join(map(str, data.columns)).encode("utf-8"))
    return digest.hexdigest()[:16]


def _python_code(graph: Any, options: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in options.items())
    return (
        "from deepcause.report import build_report\n\n"
        f"report = build_report(data, {str(graph)!r}, {shown})\n"
        'report.save("report.html")'
    )


def _estimate(data: pd.DataFrame, graph: Any, roles: dict[str, Any], opts: dict[str, Any]) -> Any:
    common = dict(
        treatment_value=opts["treatment_value"],
        control_value=opts["control_value"],
        bootstrap=opts["bootstrap"],
        random_state=opts["random_state"],
    )
    if is_iv_method(opts["method"]):
        return estimate_iv_effect(
            data,
            graph,
            roles["treatment"],
            roles["outcome"],
            opts["method"],
            instruments=opts["instruments"],
            covariates=opts["covariates"],
            **common,
        )
    return estimate_effect(
        data,
        graph,
        roles["treatment"],
        roles["outcome"],
        method=opts["method"],
        population=opts["population"],
        extra_columns=opts["extra_columns"],
        **common,
    )


def _estimator(estimand: Any, data: pd.DataFrame, method: str | None, graph: Any, seed: Any) -> Any:
    cls = get_estimator_class(method or default_method(estimand, data))
    defaults = cls().get_params()
    params = {"random_state": seed} if "random_state" in defaults else {}
    if "graph" in defaults:
        params["graph"] = graph
    return cls(**params)


def _refutations(
    data: pd.DataFrame, graph: Any, est: EffectEstimate, opts: dict[str, Any]
) -> tuple[list[Any], str]:
    """The refutation results, or ``[]`` and the reason none were run."""
    estimand = est.estimand
    if not opts["refute"]:
        return [], "refutations were not requested (refute=False)"
    if estimand is None or estimand.kind != "backdoor":
        kind = "an instrumental-variable" if estimand is None else f"a {estimand.kind}"
        return [], f"the refuters refit back-door estimators; this is {kind} estimate"
    treatment, outcome = estimand.treatment[0], estimand.outcome[0]
    covariates = list(estimand.adjustment_set or ())
    nco, nce = negative_controls(graph, data, treatment, outcome, covariates)
    controls = {"negative_control_outcome": nco, "negative_control_exposure": nce}
    names = list(opts["refuters"] or DEFAULT_REFUTERS)
    if opts["refuters"] is None:
        names += [name for name, column in controls.items() if column is not None]
    estimator = _estimator(estimand, data, opts["method"], graph, opts["random_state"])
    common = dict(
        treatment=treatment,
        outcome=outcome,
        covariates=covariates,
        alpha=opts["alpha"],
        population=opts["population"],
    )
    out = []
    for name in names:
        if name in controls:
            if controls[name] is None:
                raise DataValidationError(
                    f"refuter {name!r} needs a control variable and the graph names none; add "
                    "one to the graph or leave it out of refuters="
                )
            options: dict[str, Any] = {"negative_control": controls[name]}
        else:
            options = {"n_simulations": opts["n_simulations"], "random_state": opts["random_state"]}
        out.append(run_refuter(estimator, data, method=name, **common, **options))
    return out, ""


def _refutation_html(results: list[Any], reason: str) -> str:
    if not results:
        return f'<p class="muted">No refutations: {html.escape(reason)}.</p>'
    esc = html.escape
    head = "".join(
        f"<th>{c}</th>" for c in ("refuter", "passing means", "new estimate", "verdict", "rule")
    )
    rows = []
    for r in results:
        badge = (
            '<span class="badge pass">pass</span>'
            if r.passed
            else ('<span class="badge fail">fail</span>')
        )
        rows.append(
            f"<tr><td>{esc(r.refuter)}</td><td>{esc(r.expectation)}</td>"
            f"<td>{r.new_value:.4g}</td><td>{badge}</td><td>{esc(r.rule)}</td></tr>"
        )
    passed = sum(bool(r.passed) for r in results)
    figure = plot_html(
        lambda ax: plot_refutations(results, ax=ax),
        "refutation plot",
        f"{passed} of {len(results)} refutations passed.",
        size=(6.8, 0.55 * len(results) + 1.5),
    )
    details = "".join(
        f"<details><summary>{esc(r.refuter)}</summary>{r.summary().as_html()}</details>"
        for r in results
    )
    return (
        f"<p><b>{passed} of {len(results)}</b> refutations passed.</p>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table>{figure}{details}"
    )


def _benchmark(est: EffectEstimate, covariates: list[str]) -> str:
    """The covariate most imbalanced before adjustment (Cinelli & Hazlett's benchmark)."""
    table = est.diagnostics.balance
    if table is not None and len(table) and table["smd_before"].notna().any():
        best = str(table["smd_before"].abs().idxmax())
        if best in covariates:
            return best
    return covariates[0]


def _sensitivity_html(data: pd.DataFrame, est: EffectEstimate, alpha: float) -> str:
    estimand = est.estimand
    if estimand is None or estimand.kind != "backdoor":
        return (
            '<p class="muted">Omitted-variable bias bounds apply to a back-door adjustment; '
            "this estimate has none.</p>"
        )
    treatment, outcome = estimand.treatment[0], estimand.outcome[0]
    covariates = list(estimand.adjustment_set or ())
    parts = []
    try:
        ovb = run_sensitivity(
            "ovb",
            data,
            treatment=treatment,
            outcome=outcome,
            covariates=covariates,
            benchmark_covariates=[_benchmark(est, covariates)] if covariates else None,
            kd=(1, 2, 3),
            alpha=alpha,
        )
    except (DeepCauseError, ValueError) as exc:
        parts.append(f'<p class="muted">Cinelli–Hazlett bounds not available: {exc}</p>')
    else:
        fig = plot_html(
            lambda ax: ovb.plot(ax=ax),
            "sensitivity contour plot",
            "Cinelli–Hazlett contours of the regression estimate adjusted for a confounder "
            "of the given partial R² with treatment and outcome; red dashed: explained away; "
            "red diamonds: confounders 1, 2 and 3 times as strong as the benchmark covariate.",
            size=(5.6, 5.1),
        )
        parts.append(
            "<p>How strong would an unmeasured confounder have to be to change the conclusion? "
            "The omitted-variable-bias analysis of the linear regression of the outcome on the "
            "treatment and the adjustment set (Cinelli &amp; Hazlett 2020):</p>"
            + ovb.summary().as_html()
            + fig
        )
    if est.std_error is not None and math.isfinite(est.std_error):
        sd = float(data[outcome].std())
        if sd > 0:
            parts.append(run_sensitivity("evalue", est, sd=sd).summary().as_html())
    return "".join(parts)


def _graph_html(graph: Any, est: EffectEstimate, roles: dict[str, Any], opts: dict) -> str:
    estimand = est.estimand
    adjustment = list(getattr(estimand, "adjustment_set", None) or ())
    instruments = list(opts["instruments"] or est.diagnostics.extra.get("instruments", ()) or ())
    fig = plot_html(
        lambda ax: plot_graph(
            graph, ax=ax, adjustment=adjustment, instruments=instruments, **roles
        ),
        "causal graph",
        "The assumed causal graph: solid arrows are direct causes, dashed double-headed "
        "arcs are unobserved common causes.",
        size=graph_figsize(graph),
    )
    return (
        fig
        + f"<details><summary>graph text</summary><pre>{html.escape(str(graph))}</pre></details>"
    )


def build_report(
    data: pd.DataFrame,
    graph: Any,
    treatment: str,
    outcome: str,
    method: str | None = None,
    population: str = "all",
    *,
    treatment_value: Any = 1,
    control_value: Any = 0,
    instruments: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    bootstrap: int = 0,
    refute: bool = True,
    refuters: Sequence[str] | None = None,
    n_simulations: int = 20,
    alpha: float = 0.05,
    random_state: Any = 0,
    extra_columns: str = "ignore",
    title: str | None = None,
    code: str | None = None,
) -> Report:
    """Estimate an effect, refute it, bound its sensitivity and put it all in one HTML report.

    Parameters
    ----------
    data : DataFrame
        One column per graph node.
    graph : CausalGraph or str
        The causal graph (or its text).
    treatment, outcome : str
        Column names.
    method : str, optional
        Estimator name as in :func:`~deepcause.estimate.estimate_effect`, or an IV method
        (``"2sls"``, ...) as in :func:`~deepcause.estimate.iv.estimate_iv_effect`.
    population : {"all", "treated", "controls", "overlap"}, default "all"
        Whose effect.
    treatment_value, control_value : default 1 and 0
        The contrast.
    instruments, covariates : list of str, optional
        For IV methods: the instruments (default: found in the graph) and exogenous covariates.
    bootstrap, n_simulations : int, default 0 and 20
        Bootstrap resamples for the interval; refits per refuter.
    refute : bool, default True
        Run the refuters (back-door estimates only).
    refuters : list of str, optional
        Refuter names (default :data:`DEFAULT_REFUTERS` plus the graph's negative controls).
    alpha, random_state : float and int or None, default 0.05 and 0
        Level of the intervals and checks; seed of the estimator, bootstrap and refuters.
    extra_columns : {"ignore", "error"}, default "ignore"
        Data columns that are not graph nodes.
    title, code : str, optional
        The title, and the code shown as making the report (default: this call on ``data``).

    Returns
    -------
    Report
        ``.html`` is the document; ``.save(path)`` writes it. Warnings raised while estimating
        are listed in the report and issued again once it is built.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(500, n_covariates=2, random_state=0,
    ...                             population_truth=False).data
    >>> rep = build_report(df, "x1 -> t; x2 -> t; x1 -> y; x2 -> y; t -> y", "t", "y",
    ...                    method="ipw", n_simulations=3)
    >>> rep.titles
    ['Causal graph', 'Estimand', 'Estimate', 'Diagnostics', 'Refutations', 'Sensitivity', 'Reproduce']
    >>> path = rep.save(pathlib.Path(tempfile.mkdtemp()) / "report.html")
    """
    opts = {k: v for k, v in locals().items() if k in _DEFAULTS}  # in _DEFAULTS' order
    data, g = require_dataframe(data), None if graph is None else as_graph(graph)
    roles = {"treatment": treatment, "outcome": outcome}
    est, sections, caught = _run(data, g, roles, opts)
    report = _assemble(data, g, est, roles, opts, sections, caught, title, code)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
    return report


def _run(
    data: pd.DataFrame, g: Any, roles: dict[str, Any], opts: dict[str, Any]
) -> tuple[EffectEstimate, list[Section], list[warnings.WarningMessage]]:
    """Estimate, refute and lay out the sections, recording every warning raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = _estimate(data, g, roles, opts)
        results, reason = _refutations(data, g, est, opts)
        graph_body = (
            _graph_html(g, est, roles, opts) if g is not None else '<p class="muted">No graph.</p>'
        )
        sections = [
            Section("Causal graph", graph_body),
            Section("Estimand", estimand_html(est.estimand, est.query)),
            Section("Estimate", est.summary(opts["alpha"]).as_html()),
            Section("Diagnostics", diagnostics_html(est.diagnostics)),
            Section("Refutations", _refutation_html(results, reason)),
            Section("Sensitivity", _sensitivity_html(data, est, opts["alpha"])),
        ]
    return est, sections, caught


def _assemble(
    data: pd.DataFrame,
    g: Any,
    est: EffectEstimate,
    roles: dict[str, Any],
    opts: dict[str, Any],
    sections: list[Section],
    caught: list[warnings.WarningMessage],
    title: str | None,
    code: str | None,
) -> Report:
    """The report from its sections, plus the warnings caught and the code to rerun it."""
    notes = sorted({str(w.message) for w in caught})
    if code is None:
        shown = {k: v for k, v in {**roles, **opts}.items() if v != _DEFAULTS.get(k, v)}
        code = _python_code(g, {**roles, **shown})
    facts = [("data", f"{len(data)} rows × {data.shape[1]} columns"),
             ("data fingerprint (sha256)", data_fingerprint(data))]  # fmt: skip
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        sections.insert(3, Section("Warnings", f"<ul>{items}</ul>"))
    sections.append(Section("Reproduce", provenance_html(code, facts)))
    label = est.query or est.quantity
    return Report(
        title or f"Effect of {roles['treatment']} on {roles['outcome']}",
        sections,
        f"{label} · {est.method} · n = {est.n}",
    )


_DEFAULTS = dict(
    method=None,
    population="all",
    treatment_value=1,
    control_value=0,
    instruments=None,
    covariates=None,
    bootstrap=0,
    refute=True,
    refuters=None,
    n_simulations=20,
    alpha=0.05,
    random_state=0,
    extra_columns="ignore",
)
