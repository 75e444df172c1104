"""Refuters whose true effect is zero: dummy outcomes and negative controls.

A dummy outcome is made by the refuter (noise, or a function of the covariates alone); a
negative control is a measured variable the caller knows the answer for: an outcome the
treatment cannot affect (negative-control outcome) or an exposure that cannot affect the
outcome (negative-control exposure). Only negative controls can reveal confounding that the
covariates miss: an unmeasured common cause of the treatment and of the control variable
makes the estimated effect on (or of) the control non-zero.

>>> from deepcause.estimate import IPW
>>> from deepcause.simulate import make_confounded_binary
>>> df = make_confounded_binary(800, n_covariates=3, random_state=0, population_truth=False).data
>>> dummy_outcome(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2", "x3"],
...               n_simulations=4, random_state=0).passed
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..._validation import require_columns
from ...exceptions import DataValidationError
from .refuters import _Job, _setup
from .results import RefutationResult

__all__ = [
    "dummy_outcome",
    "negative_control_outcome",
    "negative_control_exposure",
    "negative_controls",
]

_KINDS = ("noise", "covariates")


def _covariate_matrix(df: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    numeric = [c for c in covariates if pd.api.types.is_numeric_dtype(df[c])]
    if not numeric:
        return np.empty((len(df), 0))
    X = df[numeric].to_numpy(dtype=float)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def dummy_outcome(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    kind: str = "covariates",
    n_simulations: int = 20,
    alpha: float = 0.05,
    random_state: Any = None,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """Replace the outcome by one the treatment cannot affect: the effect should be 0.

    ``kind="noise"``: Gaussian noise with the outcome's standard deviation.
    ``kind="covariates"`` (default): a random linear function of the standardized numeric
    covariates plus noise, scaled to the outcome's standard deviation. The second is the
    sharper check: the dummy outcome is confounded exactly like the real one, so an estimator
    that adjusts badly for the covariates gives a non-zero effect. Passing:
    each dummy effect within its own standard
    error of 0 (see :attr:`RefutationResult.rule`). Other parameters as in
    :func:`~deepcause.estimate.refute.placebo_treatment`.

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(600, n_covariates=2, random_state=1,
    ...                             population_truth=False).data
    >>> dummy_outcome(IPW(), df, treatment="t", outcome="y", covariates=["x1", "x2"],
    ...               kind="noise", n_simulations=4, random_state=0).passed
    True
    """
    df, base = _setup(data, treatment, outcome, covariates, roles)
    if kind not in _KINDS:
        raise DataValidationError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
    job = _Job(estimator, df, base, n_simulations, random_state, alpha, contrast, population)
    sd_y = float(df[outcome].std()) or 1.0
    X = _covariate_matrix(df, list(covariates or [])) if kind == "covariates" else None
    if X is not None and X.shape[1] == 0:
        raise DataValidationError(
            "dummy_outcome(kind='covariates') needs numeric covariates; use kind='noise'"
        )

    def make(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
        noise = rng.standard_normal(len(df))
        if X is None:
            return df.assign(**{outcome: sd_y * noise}), base
        signal = X @ rng.standard_normal(X.shape[1])
        signal = signal / (signal.std() or 1.0)
        return df.assign(**{outcome: sd_y * (signal + noise) / np.sqrt(2.0)}), base

    what = "Gaussian noise" if X is None else "a random function of the covariates plus noise"
    expectation = f"the effect of {treatment!r} on {what} is 0"
    return job.run(f"dummy outcome ({kind})", expectation, make, zero=True)


def _control_setup(
    data: Any,
    treatment: str,
    outcome: str,
    negative_control: str,
    covariates: Sequence[str] | None,
    roles: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The checked data and roles of a negative-control refuter."""
    df, base = _setup(data, treatment, outcome, covariates, roles)
    require_columns(df, [negative_control], role="negative control")
    if negative_control in (treatment, outcome, *(covariates or [])):
        raise DataValidationError(
            f"negative_control {negative_control!r} must differ from the treatment, the outcome "
            "and the covariates"
        )
    return df, base


def _control_run(
    job: _Job, name: str, expectation: str, control_roles: dict[str, Any]
) -> RefutationResult:
    """One fit with the control in place of the treatment or the outcome; the answer is 0."""

    def make(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
        return job.df, control_roles

    notes = (f"control fitted with {_roles_text(control_roles)}",)
    return job.run(name, expectation, make, zero=True, notes=notes)


def _roles_text(roles: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in roles.items() if v is not None)


def negative_control_outcome(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    negative_control: str,
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """The effect of the treatment on a variable it cannot affect should be 0.

    ``negative_control`` names a measured variable that the treatment does not cause but that
    shares the outcome's possible confounders (for example the outcome measured before the
    treatment). The estimator is refitted with that column as the outcome and the same
    covariates. Passing: ``|effect| <= z * its standard error``; failing means the covariates
    miss a common cause of the treatment and the control (or the estimator is biased).

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(800, n_covariates=2, random_state=2,
    ...                             population_truth=False).data
    >>> rng = np.random.default_rng(0)
    >>> df["pre"] = df["x1"] + rng.standard_normal(len(df))   # caused by x1, not by t
    >>> negative_control_outcome(IPW(), df, treatment="t", outcome="y", negative_control="pre",
    ...                          covariates=["x1", "x2"]).passed
    True
    >>> negative_control_outcome(IPW(), df, treatment="t", outcome="y", negative_control="pre",
    ...                          covariates=["x2"]).passed      # x1 omitted: confounded
    False
    """
    df, base = _control_setup(data, treatment, outcome, negative_control, covariates, roles)
    job = _Job(estimator, df, base, 1, 0, alpha, contrast, population)
    expectation = (
        f"the effect of {treatment!r} on {negative_control!r}, which it cannot affect, is 0"
    )
    control = {**base, "outcome": negative_control}
    return _control_run(job, "negative-control outcome", expectation, control)


def negative_control_exposure(
    estimator: Any,
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    negative_control: str,
    covariates: Sequence[str] | None = None,
    adjust_for_treatment: bool = True,
    alpha: float = 0.05,
    contrast: tuple[Any, Any] = (1, 0),
    population: str = "all",
    **roles: Any,
) -> RefutationResult:
    """The effect on the outcome of an exposure that cannot affect it should be 0.

    ``negative_control`` names a measured exposure (binary for binary-treatment estimators)
    that does not cause the outcome but shares the treatment's possible confounders. The
    estimator is refitted with that column as the treatment; with ``adjust_for_treatment``
    (default) the real treatment joins the covariates, so a path control -> treatment ->
    outcome does not count as an effect. Passing: ``|effect| <= z * its standard error``.

    Returns
    -------
    RefutationResult

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(800, n_covariates=2, random_state=2,
    ...                             population_truth=False).data
    >>> rng = np.random.default_rng(0)
    >>> df["e"] = (rng.random(len(df)) < 1 / (1 + np.exp(-df["x1"]))).astype(int)  # not -> y
    >>> negative_control_exposure(IPW(), df, treatment="t", outcome="y", negative_control="e",
    ...                           covariates=["x1", "x2"]).passed
    True
    """
    df, base = _control_setup(data, treatment, outcome, negative_control, covariates, roles)
    job = _Job(estimator, df, base, 1, 0, alpha, contrast, population)
    expectation = f"the effect of {negative_control!r}, which cannot affect {outcome!r}, is 0"
    extra = [treatment] if adjust_for_treatment else []
    control = {**base, "treatment": negative_control, "covariates": [*(covariates or []), *extra]}
    return _control_run(job, "negative-control exposure", expectation, control)


def _is_binary(series: pd.Series) -> bool:
    return set(pd.unique(series.dropna()).tolist()) <= {0, 1}


def negative_controls(
    graph: Any, data: pd.DataFrame, treatment: str, outcome: str, adjustment: Sequence[str]
) -> tuple[str | None, str | None]:
    """The first negative-control outcome and exposure that ``graph`` names (or ``None``).

    A negative-control outcome is a data column that is neither a descendant of the treatment
    nor an ancestor of the treatment or the outcome; a negative-control exposure is a binary
    column that is neither an ancestor nor a descendant of the outcome. The treatment, the
    outcome and the ``adjustment`` covariates are never chosen.

    Parameters
    ----------
    graph : CausalGraph
        The causal graph.
    data : DataFrame
        The data (a candidate must be one of its columns).
    treatment, outcome : str
        The roles of the estimate.
    adjustment : sequence of str
        The adjustment covariates.

    Returns
    -------
    (str or None, str or None)
        The negative-control outcome and exposure.

    Examples
    --------
    >>> import pandas as pd
    >>> from deepcause.graph import CausalGraph
    >>> g = CausalGraph("z -> t -> y; z -> y; z -> n")
    >>> df = pd.DataFrame({"z": [0, 1], "t": [0, 1], "y": [0.1, 0.9], "n": [0.3, 0.2]})
    >>> negative_controls(g, df, "t", "y", ["z"])
    ('n', None)
    """
    skip = {treatment, outcome, *adjustment}
    nodes = sorted(v for v in graph.nodes if v not in skip and v in data.columns)
    reach_t, anc = graph.descendants(treatment), graph.ancestors([treatment, outcome])
    nco = [v for v in nodes if v not in reach_t and v not in anc]
    anc_y, desc_y = graph.ancestors(outcome), graph.descendants(outcome)
    nce = [v for v in nodes if v not in anc_y and v not in desc_y and _is_binary(data[v])]
    return (nco[0] if nco else None), (nce[0] if nce else None)
