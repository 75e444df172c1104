"""Inverse probability weighting (Hajek and Horvitz-Thompson) with clipping, trimming and
overlap weights.

>>> from deepcause.simulate import make_confounded_binary
>>> ds = make_confounded_binary(2000, random_state=0, population_truth=False)
>>> est = IPW().fit(ds.data, treatment="t", outcome="y")
>>> res = est.effect(treatment=1, control=0)
>>> bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error)
True
>>> est.effect(treatment=1, control=0, population="overlap").quantity
'ATO'
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from .._parameters import RANDOM_STATE, HasMethods, Interval, StrOptions
from ..exceptions import DataValidationError
from ..results import EffectEstimate
from ._base import BackdoorData, BaseEffectEstimator
from ._nuisance import (
    clip_bounds,
    crossfit_propensity,
    default_propensity_model,
    make_folds,
    standardize,
    trim_bounds,
)
from .diagnostics import backdoor_diagnostics, implied_weights, warn_positivity

__all__ = [
    "IPW",
    "prepare_scores",
    "weighted_arm_means",
    "contrast_se",
    "score_notes",
    "scored_effect",
]


def prepare_scores(
    e_raw: np.ndarray, t: np.ndarray, quantity: str, clip: Any, trim: Any
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Trim (drop units) then clip scores; returns (clipped e, kept mask, description).

    Examples
    --------
    >>> e, keep, info = prepare_scores(np.array([0.01, 0.5, 0.99]), np.array([0, 1, 1]), "ATE",
    ...                                clip=0.05, trim=None)
    >>> e.tolist(), int(keep.sum())
    ([0.05, 0.5, 0.95], 3)
    """
    keep = np.ones(len(e_raw), dtype=bool)
    info: dict[str, Any] = {}
    bounds = trim_bounds(trim, e_raw)
    if bounds is not None:
        keep = (e_raw >= bounds[0]) & (e_raw <= bounds[1])
        info["trim_bounds"] = bounds
        info["n_trimmed"] = {
            "treated": int((~keep & (t == 1)).sum()),
            "control": int((~keep & (t == 0)).sum()),
        }
        for arm in (0, 1):
            if int((keep & (t == arm)).sum()) < 2:
                raise DataValidationError(
                    f"trimming to [{bounds[0]:.3g}, {bounds[1]:.3g}] leaves fewer than 2 units in "
                    f"treatment group {arm}; use a smaller trim level"
                )
    lo, hi = clip_bounds(clip, quantity)
    # never let a score reach exactly 0 or 1 (infinite weights)
    lo, hi = max(lo, 1e-6), min(hi, 1 - 1e-6)
    e = np.clip(e_raw, lo, hi)
    info["clip_bounds"] = (lo, hi)
    info["n_clipped"] = int(((e_raw < lo) | (e_raw > hi))[keep].sum())
    return e, keep, info


def handling_text(info: dict[str, Any]) -> str:
    """Readable description of what was done about extreme scores."""
    lo, hi = info["clip_bounds"]
    text = f"Scores were clipped to [{lo:.3g}, {hi:.3g}] ({info['n_clipped']} units affected)"
    if "trim_bounds" in info:
        a, b = info["trim_bounds"]
        n = info["n_trimmed"]
        text += (
            f"; units outside [{a:.3g}, {b:.3g}] were dropped ({n['treated']} treated, "
            f"{n['control']} control), so the target is the trimmed population"
        )
    else:
        text += "; consider trim='crump' or the overlap population (population='overlap')"
    return text + "."


def score_notes(info: dict[str, Any]) -> tuple[str, ...]:
    """Summary notes about clipped or trimmed propensity scores (none when nothing happened).

    >>> score_notes({"clip_bounds": (0.1, 0.9), "n_clipped": 0})
    ()
    """
    if info["n_clipped"] or "trim_bounds" in info:
        return (handling_text(info),)
    return ()


def weighted_arm_means(
    y: np.ndarray, t: np.ndarray, w: np.ndarray, quantity: str, normalize: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted arm means ``(m0, m1)`` and their influence functions, shape ``(n, 2)``.

    Hajek (``normalize``): each arm mean is ``sum(w y) / sum(w)`` over that arm.
    Horvitz-Thompson: divided by the size of the target population instead (n, n1 or n0).
    The scores behind ``w`` are held fixed.

    >>> import numpy as np
    >>> m, psi = weighted_arm_means(np.array([1.0, 2, 3, 4]), np.array([0, 0, 1, 1]),
    ...                             np.ones(4), "ATE", True)
    >>> m.tolist(), psi.shape
    ([1.5, 3.5], (4, 2))
    """
    n = len(y)
    means, psi = np.empty(2), np.empty((n, 2))
    for arm in (0, 1):
        wa = w * (t == arm)
        if normalize or quantity == "ATO":
            d = wa
        else:
            d = BaseEffectEstimator._population_mask(t, quantity).astype(float)
        denom = d.sum()
        means[arm] = float(wa @ y / denom)
        psi[:, arm] = n * (wa * y - means[arm] * d) / denom
    return means, psi


def contrast_se(psi: np.ndarray, c: np.ndarray) -> float:
    """Standard error ``sqrt(sum (psi @ c)^2) / n`` of a contrast of arm means.

    >>> import numpy as np
    >>> contrast_se(np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([-1.0, 1.0]))
    1.4142135623730951
    """
    v = psi @ c
    return float(np.sqrt(v @ v) / len(v))


def scored_effect(
    data: BackdoorData,
    propensity: np.ndarray,
    keep: np.ndarray,
    info: dict[str, Any],
    w: np.ndarray,
    arm_means: tuple[np.ndarray, np.ndarray],
    c: np.ndarray,
    quantity: str,
    method: str,
) -> EffectEstimate:
    """The contrast ``c`` of a propensity-score estimator (IPW, AIPW) with its diagnostics.

    ``propensity`` holds the unclipped scores of all units, ``keep`` marks the units left after
    trimming, ``info`` is the score handling of :func:`prepare_scores`, ``w`` the implied
    weights of the kept units and ``arm_means`` their (means, influence functions).

    Examples
    --------
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(400, random_state=0, population_truth=False).data
    >>> est = IPW().fit(df, treatment="t", outcome="y")
    >>> data, e = est.data_, est.propensity_
    >>> e_clip, keep, info = prepare_scores(e, data.t, "ATE", est.clip, est.trim)
    >>> w = implied_weights(e_clip, data.t, "ATE")
    >>> means = weighted_arm_means(data.y, data.t, w, "ATE", est.normalize)
    >>> res = scored_effect(data, e, keep, info, w, means, np.array([-1.0, 1.0]), "ATE", "IPW")
    >>> res.value == est.effect(treatment=1, control=0).value
    True
    """
    sub = (lambda a: a) if keep.all() else (lambda a: a[keep])  # no copies when untrimmed
    t = sub(data.t)
    diag = backdoor_diagnostics(
        sub(data.X), t, data.covariate_names, sub(propensity), w, notes=score_notes(info), **info
    )
    means, psi = arm_means
    return EffectEstimate(
        value=float(means @ c),
        std_error=contrast_se(psi, c),
        quantity=quantity if "trim_bounds" not in info else f"{quantity} (trimmed)",
        method=method,
        n=len(t),
        estimand=data.estimand,
        diagnostics=diag,
    )


class IPW(BaseEffectEstimator):
    """Inverse probability weighting estimator of the ATE, ATT, ATC and overlap-weighted ATO.

    Interval coverage (bench_coverage, nominal 95%, ATE, default clip 0.02): 99-100% with
    good overlap (conservative: scores held fixed), 20% under limited overlap
    (make_limited_overlap, 0.25: about a quarter of the units with scores beyond [0.02, 0.98]),
    where the clipped weights bias the ATE (0% with the old [0.1, 0.9] clip); the interval is
    not valid there: use trim= or population='overlap'.

    Parameters
    ----------
    propensity_model : classifier with ``predict_proba``, optional
        Default: logistic regression on standardized covariates.
    normalize : bool, default True
        Hajek (normalized) or Horvitz-Thompson weights.
    clip : float, "auto" or None, default 0.02
        ``c`` clips to [c, 1-c] on the side(s) the weights divide by (ATE both, ATT: upper
        only, ATC: lower only, overlap weights: none): a guard against division by almost
        zero, chosen on generated data only by AIPW's protocol (``benchmarks/tune_defaults.py
        --ipw``, ``benchmarks/results/tune_defaults_ipw.md``). ``"auto"``: the previous
        default, all units [0.1, 0.9], treated population upper 0.99, controls lower 0.01
        (biased under limited overlap); None: no clipping. Clipping is reported in the
        summary's notes.
    trim : None, float or "crump", default None
        Drop units with scores outside [a, 1-a] (``"crump"``: Crump et al. 2009's optimal
        level); trimming changes the target population.
    n_folds : int, default 1
        1 fits the propensity model on all data; more cross-fits it.
    random_state : int, Generator or None, default None
        Seed for folds and randomized learners.
    allow_no_overlap : bool, default False
        Estimate even where the overlap check (:mod:`deepcause.estimate.overlap`) finds a
        covariate region without comparison units; the result is labelled extrapolated.

    Notes
    -----
    Standard errors come from the influence function with the scores held fixed, which is
    conservative for the ATE with a correctly specified propensity model (Hirano, Imbens &
    Ridder 2003); use ``bootstrap`` for intervals that include propensity estimation.
    ``population="overlap"`` uses the overlap weights of Li, Morgan & Zaslavsky (2018).

    Examples
    --------
    >>> from deepcause.simulate import make_confounded_binary
    >>> ds = make_confounded_binary(1000, random_state=1, population_truth=False)
    >>> est = IPW(random_state=0).fit(ds.data, treatment="t", outcome="y")
    >>> est.mean(treatment=1).quantity, est.att().quantity
    ('mean', 'ATT')
    """

    _interval_note = (
        "interval coverage (bench_coverage, nominal 95%, ATE, clip 0.02): 99-100% with good "
        "overlap (conservative: scores held fixed), 20% under limited overlap "
        "(make_limited_overlap, 0.25), where the clipped weights bias the ATE; the interval "
        "is not valid there: use trim= or population='overlap'"
    )

    _populations: ClassVar[tuple[str, ...]] = ("all", "treated", "controls", "overlap")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "propensity_model": [HasMethods(["fit", "predict_proba"]), None],
        "normalize": ["boolean"],
        "clip": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="left"), None],
        "trim": [StrOptions({"crump"}), Interval(Real, 0, 0.5, closed="neither"), None],
        "n_folds": [Interval(Integral, 1, None, closed="left")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        propensity_model: Any = None,
        normalize: bool = True,
        clip: Any = 0.02,
        trim: Any = None,
        n_folds: int = 1,
        random_state: Any = None,
        allow_no_overlap: bool = False,
    ) -> None:
        self.propensity_model = propensity_model
        self.normalize = normalize
        self.clip = clip
        self.trim = trim
        self.n_folds = n_folds
        self.random_state = random_state
        self.allow_no_overlap = allow_no_overlap

    def _fit_prepared(self, data: BackdoorData) -> None:
        model = (
            default_propensity_model() if self.propensity_model is None else self.propensity_model
        )
        X = standardize(data.X)
        folds = make_folds(data.t, self.n_folds, self.random_state)
        self.propensity_ = crossfit_propensity(
            model, X, data.t, folds, self.n_folds, self.random_state
        )

    def _contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        data = self.data_
        e, keep, info = prepare_scores(self.propensity_, data.t, quantity, self.clip, self.trim)
        name = "IPW (Hajek)" if self.normalize or quantity == "ATO" else "IPW (Horvitz-Thompson)"
        sub = (lambda a: a) if keep.all() else (lambda a: a[keep])  # no copies when untrimmed
        handling = handling_text(info)
        warn_positivity(sub(self.propensity_), sub(data.t), quantity, name, handling)
        t, y = sub(data.t), sub(data.y)
        w = implied_weights(sub(e), t, quantity)
        arm_means = weighted_arm_means(y, t, w, quantity, self.normalize)
        return scored_effect(data, self.propensity_, keep, info, w, arm_means, c, quantity, name)
