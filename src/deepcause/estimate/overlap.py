"""The one overlap (positivity) check run in ``fit`` by every back-door estimator.

:func:`check_overlap` looks for covariate regions where one treatment arm has no units and
classifies each side of the problem:

* **none** — a region without comparison units: a covariate (or a linear combination of the
  covariates) separates the arms completely, a material share of one arm lies beyond the other
  arm's range of a covariate, or the cross-fitted propensity score is at 0 or 1 (beyond
  ``[NONE_EPS, 1 - NONE_EPS]``) for a material share of an arm. Effects over a population
  that contains such units would be extrapolated: estimators refuse them (one-line
  :class:`~deepcause.exceptions.OverlapError`) unless ``allow_no_overlap=True``, and then label
  the result as extrapolated.
* **limited** — at least ``LIMITED_SHARE`` of the units have scores outside
  ``[LIMITED_EPS, 1 - LIMITED_EPS]``: a :class:`~deepcause.exceptions.PositivityWarning` with
  that share and the Kish effective sample size of the inverse-propensity weights.

The sides are ``"treated"`` (treated units without comparable controls: the ATE and the ATT
need them) and ``"controls"`` (controls without comparable treated units: the ATE and the ATC).
The overlap population (``population="overlap"``) never needs either.

The propensity model of the check is a 5-fold cross-fitted logistic regression (C=0.1) on
quadratic spline features of the standardized covariates. Chosen by measurement on generated
data (``make_confounded_binary``, ``make_nonlinear_confounded``, ``make_limited_overlap`` at
n = 500/2000, deterministic ``t = (x1 > 0)`` and ``t = (x1 + x2 > 0)``, a region ``x1 > 0.84``
without controls, n = 60 with p = 100): its out-of-fold log-loss was within 0.02 of plain
logistic regression on the smooth designs, it never put a unit beyond [0.001, 0.999] on
random assignment with p = 100 > n (plain logistic: 3.7% of the units), and it costs about
0.03 s of CPU at n = 1000 (gradient-boosted trees: 0.15 s, with over-confident scores).
The separation checks do the detection of deterministic assignment; the scores measure how
limited the overlap is.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 2)); t = (X[:, 0] > 0).astype(int)
>>> report = check_overlap(X, t, ["x1", "x2"])
>>> report.status, report.sides
('none', ('treated', 'controls'))
>>> report.region
'x1 separates the arms (treated x1 >= 0.00886, controls x1 <= -0.00445)'
>>> check_overlap(X, rng.binomial(1, 0.5, 400), ["x1", "x2"]).status
'ok'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler

from ..exceptions import OverlapError, PositivityWarning
from ._nuisance import crossfit_propensity, make_folds, standardize
from .diagnostics import effective_sample_size, implied_weights

__all__ = [
    "OverlapReport",
    "check_overlap",
    "overlap_error",
    "default_check_model",
    "NONE_EPS",
    "NONE_SHARE",
    "LIMITED_EPS",
    "LIMITED_SHARE",
    "NOTE_SHARE",
]

NONE_EPS = 1e-3  # scores beyond [NONE_EPS, 1 - NONE_EPS] count as "at 0 or 1"
NONE_SHARE = 0.10  # ... for at least this share of an arm: no overlap on that side
REGION_SHARE = 0.15  # share of an arm beyond the other arm's range of one covariate ...
REGION_MARGIN = 0.25  # ... by more than this many standard deviations of the covariate ...
REGION_MIN = 20  # ... and at least this many units: a region without comparison units
LIMITED_EPS = 0.01
LIMITED_SHARE = 0.10
# an estimator's measured under-coverage note (``_limited_overlap_note``) is added from this
# share of scores outside [LIMITED_EPS, 1 - LIMITED_EPS]: bench_coverage's limited-overlap
# design has 5.4-13%, its full-overlap designs at most 0.8%
NOTE_SHARE = 0.05
MIN_ARM = 10  # separation checks need this many units per arm (else chance separations)
LP_ROWS = 20_000  # linear separability is checked on at most this many rows
POPULATION_SIDES = {"ATE": ("treated", "controls"), "ATT": ("treated",), "ATC": ("controls",)}


def default_check_model() -> Any:
    """Logistic regression (C=0.1) on quadratic spline features (4 knots) of each covariate.

    >>> type(default_check_model()[-1]).__name__
    'LogisticRegression'
    """
    return make_pipeline(
        SplineTransformer(n_knots=4, degree=2, extrapolation="linear"),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=2000),
    )


@dataclass(frozen=True)
class OverlapReport:
    """The outcome of :func:`check_overlap`.

    Parameters
    ----------
    status : {"ok", "limited", "none"}
        Worst finding.
    sides : tuple of str
        Sides without overlap: ``"treated"`` (treated units without comparable controls)
        and/or ``"controls"``.
    region : str
        The region (covariates and bounds) without overlap, in words ("" if none).
    propensity : ndarray
        Cross-fitted propensity scores of the check.
    share_limited : float
        Share of units with scores outside ``[LIMITED_EPS, 1 - LIMITED_EPS]``.
    ess : mapping
        Kish effective sample size per arm of the ATE inverse-propensity weights.

    Examples
    --------
    >>> r = OverlapReport("ok", (), "", np.full(4, 0.5), 0.0, {"treated": 2.0, "control": 2.0})
    >>> r.affects("ATT"), r.to_dict()["status"]
    (False, 'ok')
    """

    status: str
    sides: tuple[str, ...]
    region: str
    propensity: np.ndarray = field(repr=False)
    share_limited: float
    ess: dict[str, float]

    def affects(self, quantity: str) -> bool:
        """Whether a population (``"ATE"``, ``"ATT"``, ``"ATC"``, ``"ATO"``) lacks overlap."""
        return any(s in self.sides for s in POPULATION_SIDES.get(quantity.split()[0], ()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe facts (for ``Diagnostics.extra["overlap_check"]``)."""
        return {
            "status": self.status,
            "sides": list(self.sides),
            "region": self.region,
            "share_limited": self.share_limited,
            "ess": dict(self.ess),
        }


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _single_separation(X: np.ndarray, t: np.ndarray, names: Sequence[str]) -> str:
    x1, x0 = X[t == 1], X[t == 0]
    lo1, hi1, lo0, hi0 = x1.min(0), x1.max(0), x0.min(0), x0.max(0)
    for j in np.flatnonzero((hi0 < lo1) | (hi1 < lo0)):
        name = names[j]
        if hi0[j] < lo1[j]:
            return (
                f"{name} separates the arms (treated {name} >= {_fmt(lo1[j])}, controls "
                f"{name} <= {_fmt(hi0[j])})"
            )
        return (
            f"{name} separates the arms (treated {name} <= {_fmt(hi1[j])}, controls "
            f"{name} >= {_fmt(lo0[j])})"
        )
    return ""


def _linear_separation(Z: np.ndarray, t: np.ndarray, names: Sequence[str]) -> str:
    """Whether a hyperplane separates the arms (LP feasibility); names its largest weights."""
    n, p = Z.shape
    if p < 2 or n < 10 * (p + 1):  # Cover (1965): random labels are then never separable
        return ""
    if n > LP_ROWS:
        Z, t = Z[:: -(-n // LP_ROWS)], t[:: -(-n // LP_ROWS)]
    s = 2.0 * t - 1.0
    # s_i (z_i w + b) >= 1  <=>  -s_i [z_i, 1] @ [w, b] <= -1
    A = -s[:, None] * np.column_stack([Z, np.ones(len(Z))])
    res = linprog(
        np.zeros(p + 1), A_ub=A, b_ub=-np.ones(len(Z)), bounds=(None, None), method="highs"
    )
    if res.status != 0:
        return ""
    w = res.x[:p]
    top = [names[j] for j in np.argsort(-np.abs(w))[:3] if abs(w[j]) > 1e-9 * np.abs(w).max()]
    return (
        f"the arms are separated by a linear function of the covariates (mostly {', '.join(top)})"
    )


def _beyond_range(X: np.ndarray, t: np.ndarray, names: Sequence[str]) -> dict[str, str]:
    """Per side: a covariate with a material share of that arm beyond the other arm's range."""
    out: dict[str, str] = {}
    for arm, side, other in ((1, "treated", "controls"), (0, "controls", "treated")):
        xa, xb = X[t == arm], X[t != arm]
        margin = REGION_MARGIN * X.std(0)
        above, below = xa > xb.max(0) + margin, xa < xb.min(0) - margin
        count = (above | below).sum(0)
        j = int(np.argmax(count))
        if count[j] >= max(REGION_MIN, REGION_SHARE * len(xa)):
            up = above[:, j].sum() >= below[:, j].sum()
            bound = f"> {_fmt(xb[:, j].max())}" if up else f"< {_fmt(xb[:, j].min())}"
            out[side] = (
                f"{count[j]} of {len(xa)} {side} ({100 * count[j] / len(xa):.0f}%) have "
                f"{names[j]} {bound}, where there are no {other}"
            )
    return out


def _extreme_scores(e: np.ndarray, t: np.ndarray, names: Sequence[str], X: np.ndarray):
    out: dict[str, str] = {}
    for arm, side, other, bad in (
        (1, "treated", "controls", e > 1 - NONE_EPS),
        (0, "controls", "treated", e < NONE_EPS),
    ):
        in_arm = t == arm
        k = int((bad & in_arm).sum())
        if k >= NONE_SHARE * in_arm.sum() and k >= 2:
            # the covariates that set these units apart most (standardized mean difference)
            sd = X.std(0)
            sd[sd == 0] = 1.0
            smd = np.abs(X[bad & in_arm].mean(0) - X[~in_arm].mean(0)) / sd
            top = ", ".join(names[j] for j in np.argsort(-smd)[:2])
            out[side] = (
                f"{k} of {int(in_arm.sum())} {side} ({100 * k / in_arm.sum():.0f}%) have an "
                f"estimated propensity {'above ' + str(1 - NONE_EPS) if arm else 'below ' + str(NONE_EPS)}"
                f" (no comparable {other}; they differ most in {top})"
            )
    return out


def check_overlap(
    X: np.ndarray,
    t: np.ndarray,
    names: Sequence[str],
    model: Any = None,
    n_folds: int = 5,
    random_state: Any = 0,
) -> OverlapReport:
    """Classify the overlap of a binary treatment ``t`` given covariates ``X`` (see module).

    ``model`` is the propensity classifier of the check (default
    :func:`default_check_model`), cross-fitted over ``n_folds`` folds.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(1000, 2))
    >>> t = np.where(X[:, 0] > 1, 1, rng.binomial(1, 0.5, 1000))  # no controls beyond x = 1
    >>> r = check_overlap(X, t, ["age", "income"])
    >>> r.sides, r.affects("ATC"), r.region.split(",")[0]
    (('treated',), False, '101 of 554 treated (18%) have age > 1')
    """
    t = np.asarray(t).astype(int)
    names = [str(n) for n in names]
    n1, n0 = int(t.sum()), int(len(t) - t.sum())
    if X.shape[1] == 0:
        e = np.full(len(t), n1 / len(t))
        return OverlapReport("ok", (), "", e, 0.0, effective_sample_size(np.ones(len(t)), t))
    Z = standardize(X)
    folds_k = n_folds if min(n1, n0) >= n_folds else 1
    folds = make_folds(t, folds_k, random_state)
    model = default_check_model() if model is None else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on separable data
        e = crossfit_propensity(model, Z, t, folds, folds_k, random_state)
    regions: dict[str, str] = {}
    if min(n1, n0) >= MIN_ARM:
        both = _single_separation(X, t, names) or _linear_separation(Z, t, names)
        if both:
            regions = {"treated": both, "controls": both}
        else:
            regions = {**_extreme_scores(e, t, names, X), **_beyond_range(X, t, names)}
    limited = (e < LIMITED_EPS) | (e > 1 - LIMITED_EPS)
    ess = effective_sample_size(
        implied_weights(np.clip(e, LIMITED_EPS, 1 - LIMITED_EPS), t, "ATE"), t
    )
    sides = tuple(s for s in ("treated", "controls") if s in regions)
    region = "; ".join(dict.fromkeys(regions[s] for s in sides))
    share = float(limited.mean())
    # arms under MIN_ARM units are too small to assess (the estimators' own checks apply)
    limited_ = share >= LIMITED_SHARE and min(n1, n0) >= MIN_ARM
    status = "none" if sides else "limited" if limited_ else "ok"
    return OverlapReport(status, sides, region, e, share, ess)


def overlap_error(estimator: str, quantity: str, report: OverlapReport, fixes: str) -> OverlapError:
    """The one-line refusal for a population without overlap, naming the region and the fixes.

    >>> r = OverlapReport("none", ("treated",), "x > 2 has no controls", np.ones(1), 0.0, {})
    >>> print(overlap_error("AIPW", "ATE", r, "trim="))
    AIPW: no overlap for the ATE — x > 2 has no controls; an estimate there would be extrapolated. Fixes: trim=; or allow_no_overlap=True to extrapolate (the result is labelled).
    """
    return OverlapError(
        f"{estimator}: no overlap for the {quantity} — {report.region}; an estimate there would "
        f"be extrapolated. Fixes: {fixes}; or allow_no_overlap=True to extrapolate (the result "
        "is labelled)."
    )


def limited_overlap_message(estimator: str, report: OverlapReport, n: int) -> str:
    """The text of the limited-overlap :class:`PositivityWarning` (share and ESS).

    >>> r = OverlapReport("limited", (), "", np.ones(1), 0.12, {"treated": 40.0, "control": 90.0})
    >>> limited_overlap_message("IPW", r, 500)
    'IPW: limited overlap — 12.0% of the 500 units have an estimated propensity outside [0.01, 0.99]; effective sample size of the inverse-propensity weights: treated 40.0, control 90.0.'
    """
    ess = ", ".join(f"{k} {v:.1f}" for k, v in report.ess.items())
    return (
        f"{estimator}: limited overlap — {100 * report.share_limited:.1f}% of the {n} units have "
        f"an estimated propensity outside [{LIMITED_EPS}, {1 - LIMITED_EPS}]; effective sample "
        f"size of the inverse-propensity weights: {ess}."
    )


def warn_limited(estimator: str, report: OverlapReport, n: int, stacklevel: int = 4) -> None:
    """Issue the limited-overlap :class:`PositivityWarning` when ``report.status == "limited"``.

    Examples
    --------
    >>> r = OverlapReport("ok", (), "", np.ones(1), 0.0, {})
    >>> warn_limited("IPW", r, 10)  # nothing to say
    """
    if report.status == "limited":
        warnings.warn(
            limited_overlap_message(estimator, report, n), PositivityWarning, stacklevel=stacklevel
        )
