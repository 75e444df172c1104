"""Augmented IPW (doubly robust) with K-fold cross-fitting and influence-function errors.

Nuisances: propensity e(x) and per-arm outcome regressions mu0(x), mu1(x), each predicted
out-of-fold (Chernozhukov et al. 2018). Each potential-outcome mean ``m_a`` of the target
population has its own efficient influence function (Robins, Rotnitzky & Zhao 1994; Hahn 1998
for the treated and control populations); effects are contrasts of the two:

* all units: ``phi_a = mu_a + w_a (Y - mu_a)``, ``w_1 = T/e``, ``w_0 = (1-T)/(1-e)``;
* treated: ``m_1`` is the treated outcome mean, ``m_0 = mean_treated(mu_0) + sum w_0 (Y - mu_0)
  / n_1`` with odds weights ``w_0 = (1-T) e/(1-e)``; symmetrically for the controls.

With ``normalize=True`` (default) the weighted residual terms are Hajek-normalized within each
arm, which keeps the estimator bounded by the outcome range when some weights are large.

>>> from deepcause.simulate import make_confounded_binary
>>> ds = make_confounded_binary(2000, random_state=0, population_truth=False)
>>> res = AIPW(random_state=0).fit(ds.data, treatment="t", outcome="y").effect()
>>> bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error)
True
"""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from .._parameters import RANDOM_STATE, HasMethods, Interval, StrOptions
from ..results import EffectEstimate
from ._base import BackdoorData, BaseEffectEstimator
from ._nuisance import (
    default_outcome_stack,
    default_propensity_stack,
    make_folds,
    standardize,
)
from ._stacking import check_candidates, fit_outcome_nuisance, fit_propensity_nuisance
from .diagnostics import backdoor_diagnostics, implied_weights, warn_positivity
from .weighting import contrast_se, handling_text, prepare_scores, scored_effect

__all__ = [
    "AIPW",
    "INTERVALS",
    "aipw_arm_means",
    "aipw_contrast",
    "fit_aipw_nuisances",
    "interval_target",
    "limited_overlap_note",
    "with_interval",
]


INTERVALS = ("population", "sample")


def limited_overlap_note(coverage: str) -> str:
    """The summary's caveat under limited overlap, with the measured ``coverage``; its
    ``{share}`` is filled in per result (see ``BaseEffectEstimator._limited_overlap_note``).

    >>> limited_overlap_note("85.7%").format(share=6.0)[:40]
    'limited overlap (6.0% of units with an e'
    """
    return (
        "limited overlap ({share:.1f}% of units with an estimated propensity outside [0.01, "
        "0.99]): the interval may under-cover. On bench_coverage's limited-overlap design (5-13% "
        f"such units) it covered the truth in {coverage} of 70 datasets at nominal 95%; "
        "AIPW(trim='crump') or IPW(population='overlap') narrow the question to units with overlap"
    )


#: the caveat of AIPW and the DR-learner (same nuisances; the misses are bias, not width)
LIMITED_OVERLAP_NOTE = limited_overlap_note("85.7%")


def aipw_arm_means(
    y: np.ndarray,
    t: np.ndarray,
    e: np.ndarray,
    mu0: np.ndarray,
    mu1: np.ndarray,
    quantity: str,
    normalize: bool = True,
    interval: str = "population",
) -> tuple[np.ndarray, np.ndarray]:
    """Doubly robust potential-outcome means ``(m0, m1)`` of ``quantity``'s population.

    Returns the means and their influence functions, shape ``(n, 2)``; the effect
    ``m1 - m0`` and its influence function follow by contrast. ``quantity`` is ``"ATE"``
    (all units), ``"ATT"`` (treated) or ``"ATC"`` (controls).

    ``interval="population"``: the influence function of the population mean (new units drawn
    like these; it includes the spread of ``mu_a(X)`` over units). ``"sample"``: the
    influence function conditional on the units' covariates (Imbens 2004), for the mean of
    ``mu_a(x_i)`` over the population's units: the outcome-model term ``mu_a(x_i) - m_a`` is
    dropped and the population's own arm contributes its residuals ``y - mu_a``.

    >>> import numpy as np
    >>> y = np.array([1.0, 2, 3, 5]); t = np.array([0, 0, 1, 1]); e = np.full(4, 0.5)
    >>> m, psi = aipw_arm_means(y, t, e, np.full(4, 1.5), np.full(4, 4.0), "ATE")
    >>> m.tolist(), np.allclose(psi.mean(axis=0), 0)
    ([1.5, 4.0], True)
    >>> mu0, mu1 = np.array([1.0, 2, 1, 2]), np.array([3.0, 3, 3, 5])
    >>> _, psi_p = aipw_arm_means(y, t, e, mu0, mu1, "ATE")
    >>> _, psi_s = aipw_arm_means(y, t, e, mu0, mu1, "ATE", interval="sample")
    >>> bool(psi_p.any()), bool(psi_s.any())  # outcome models that fit y exactly
    (True, False)
    """
    if quantity not in ("ATE", "ATT", "ATC"):
        raise ValueError(f"quantity must be ATE, ATT or ATC, got {quantity!r}")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be 'population' or 'sample', got {interval!r}")
    sample = interval == "sample"
    n = len(y)
    mus = (mu0, mu1)
    w = implied_weights(e, t, quantity)
    pop = BaseEffectEstimator._population_mask(t, quantity)
    n_p = float(pop.sum())
    means, psi = np.empty(2), np.empty((n, 2))
    for arm in (0, 1):
        in_arm = t == arm
        if quantity != "ATE" and (arm == 1) == (quantity == "ATT"):  # the population's own arm
            means[arm] = float(y[pop].mean())
            centre = mus[arm] if sample else means[arm]
            psi[:, arm] = (n / n_p) * np.where(pop, y - centre, 0.0)
            continue
        wr = np.where(in_arm, w * (y - mus[arm]), 0.0)
        s = float(w[in_arm].sum()) if normalize else n_p
        means[arm] = float(mus[arm][pop].mean() + wr.sum() / s)
        spread = 0.0 if sample else np.where(pop, mus[arm] - means[arm], 0.0)
        psi[:, arm] = (n / n_p) * (spread + n_p * wr / s)
    return means, psi


def interval_target(interval: str, c: np.ndarray, quantity: str) -> str:
    """What an AIPW-type interval is for, in words (the summary's ``interval`` row).

    >>> interval_target("sample", np.array([-1.0, 1.0]), "ATE")
    "for the sample ATE (these units' covariates held fixed)"
    """
    what = quantity if c[0] == -c[1] else f"mean ({quantity} population)"
    if interval == "sample":
        return f"for the sample {what} (these units' covariates held fixed)"
    return f"for the population {what} (units drawn like these)"


def with_interval(
    res: EffectEstimate, interval: str, c: np.ndarray, quantity: str
) -> EffectEstimate:
    """``res`` with ``interval`` and its target recorded in ``diagnostics.extra``.

    >>> res = with_interval(EffectEstimate(1.0, 0.1), "population", np.array([-1.0, 1.0]), "ATE")
    >>> res.diagnostics.extra["interval"], "population ATE" in res.summary().as_text()
    ('population', True)
    """
    extra = {
        **res.diagnostics.extra,
        "interval": interval,
        "interval_target": interval_target(interval, c, quantity),
    }
    return dataclasses.replace(res, diagnostics=dataclasses.replace(res.diagnostics, extra=extra))


def fit_aipw_nuisances(
    data: BackdoorData,
    propensity_model: Any,
    outcome_model: Any,
    n_folds: int,
    random_state: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Out-of-fold ``(e, mu0, mu1, propensity_weights, outcome_weights)`` as :class:`AIPW`.

    Covariates standardized, folds stratified by treatment; a model may be a list (a super
    learner, whose weights are returned; None for a single model), None is AIPW's default
    stack (:func:`~deepcause.estimate._nuisance.default_propensity_stack`,
    :func:`~deepcause.estimate._nuisance.default_outcome_stack`).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression, LogisticRegression
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(300, random_state=0, population_truth=False).data
    >>> data = AIPW(n_folds=2, random_state=0).fit(df, treatment="t", outcome="y").data_
    >>> e, mu0, mu1, we, wo = fit_aipw_nuisances(data, LogisticRegression(), None, 2, 0)
    >>> e.shape, we is None, wo.shape   # the default outcome stack: one weight row per arm
    ((300,), True, (2, 2))
    """
    X = standardize(data.X)
    folds = make_folds(data.t, n_folds, random_state)
    # `is None`, not `or`: scikit-learn ensembles define __len__ (unfitted: AttributeError)
    ps, om = propensity_model, outcome_model
    if ps is None:
        n_minority = int(min(data.t.sum(), data.n - data.t.sum()))
        ps = default_propensity_stack(data.n, n_minority)
    else:
        ps = check_candidates(ps, "propensity")
    om = default_outcome_stack(data.n) if om is None else check_candidates(om, "outcome")
    e, e_weights = fit_propensity_nuisance(ps, X, data.t, folds, n_folds, random_state)
    mu0, mu1, mu_weights = fit_outcome_nuisance(om, X, data.t, data.y, folds, n_folds, random_state)
    return e, mu0, mu1, e_weights, mu_weights


def aipw_contrast(
    data: BackdoorData,
    c: np.ndarray,
    quantity: str,
    method: str,
    nuisances: tuple[np.ndarray, np.ndarray, np.ndarray],
    weights: np.ndarray | None,
    interval: str = "population",
    normalize: bool = False,
    **diagnostics: Any,
) -> EffectEstimate:
    """AIPW contrast ``c`` from given ``(e, mu0, mu1)`` with back-door diagnostics.

    For estimators that supply their own nuisances (the DR-learner, D2VD); ``weights`` and
    ``diagnostics`` go to :func:`~deepcause.estimate.diagnostics.backdoor_diagnostics`;
    ``interval`` is ``"population"`` or ``"sample"`` and ``normalize`` Hajek-normalizes the
    weighted residuals (see :func:`aipw_arm_means`).

    Examples
    --------
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(400, random_state=0, population_truth=False).data
    >>> data = AIPW(n_folds=2, random_state=0).fit(df, treatment="t", outcome="y").data_
    >>> e, mu0 = np.full(data.n, 0.5), np.zeros(data.n)
    >>> res = aipw_contrast(data, np.array([-1.0, 1.0]), "ATE", "demo", (e, mu0, mu0), None)
    >>> bool(np.isclose(res.value, 2 * np.mean((2 * data.t - 1) * data.y)))
    True
    """
    e, mu0, mu1 = nuisances
    means, psi = aipw_arm_means(data.y, data.t, e, mu0, mu1, quantity, normalize, interval)
    res = EffectEstimate(
        value=float(means @ c),
        std_error=contrast_se(psi, c),
        quantity=quantity,
        method=method,
        n=data.n,
        estimand=data.estimand,
        diagnostics=backdoor_diagnostics(
            data.X, data.t, data.covariate_names, e, weights, **diagnostics
        ),
    )
    return with_interval(res, interval, c, quantity)


class AIPW(BaseEffectEstimator):
    """Cross-fitted augmented inverse probability weighting (doubly robust) estimator.

    The defaults (super-learner nuisances, 5 folds, propensity clipping at [0.05, 1 - 0.05])
    were chosen on generated data only (``benchmarks/tune_defaults.py``; protocol and figures in
    ``benchmarks/results/study_defaults.md``): on 100 generated IHDP-B replications (not used
    to choose) the mean |ATE error| is 0.095 with 95% interval coverage 99/100, about 2.7 s of
    CPU each; on 100 fresh ones (seed 150000) 0.088, with coverage of the sample ATE 98/100 by
    the default population interval and 97/100 by ``interval="sample"`` (half as wide).

    No valid interval under limited overlap: on ``bench_coverage``'s limited-overlap design
    (5-13% of the units with an estimated propensity outside [0.01, 0.99]) the 95% interval
    covered the truth in 85.7% of 70 datasets (the misses are bias, not width). When the
    overlap check finds at least 5% such units, the summary says the interval may under-cover.

    Parameters
    ----------
    propensity_model : classifier with ``predict_proba``, list of them, or None
        A list is a super learner (:mod:`deepcause.estimate._stacking`): the convex combination
        of the candidates' out-of-fold scores with the smallest log-loss. Default (None):
        :func:`~deepcause.estimate._nuisance.default_propensity_stack`, logistic regression
        with a cross-validated penalty stacked with shallow gradient boosting.
    outcome_model : regressor, list of regressors, or None
        Fitted separately in each arm; a list is a super learner (non-negative least squares
        on the arm's out-of-fold predictions). Default (None):
        :func:`~deepcause.estimate._nuisance.default_outcome_stack`, ridge and gradient
        boosting up to 100,000 rows, ridge above.
    n_folds : int, default 5
        Cross-fitting folds (1 = no cross-fitting; the stack weights are then in-sample).
    clip : float, "auto" or None, default 0.05
        Scores are clipped to ``[clip, 1 - clip]`` on the side(s) the weights divide by (the
        ATE both, the ATT the upper side, the ATC the lower side): a guard against division by
        almost zero; the shared overlap check warns or refuses before that matters. ``"auto"``: the
        previous default, all units [0.1, 0.9], treated upper 0.99, controls lower 0.01 (biased
        under limited overlap); None: no clipping.
    trim : None, float or "crump", default None
        Drops units with extreme scores (changes the target population); ``"crump"``: the
        optimal level of Crump, Hotz, Imbens & Mitnik (2009).
    normalize : bool, default True
        Hajek-normalize the weighted residual terms.
    random_state : int, Generator or None, default None
        Seed for the folds and randomized learners.
    allow_no_overlap : bool, default False
        Estimate even where the overlap check (:mod:`deepcause.estimate.overlap`) finds a
        covariate region without comparison units; the result is labelled extrapolated.
    interval : {"population", "sample"}, default "population"
        The estimand the standard error and interval are for (the point estimate is the
        same). ``"population"``: the effect in the population the units were drawn from
        (``E[Y(1) - Y(0)]``; the variance includes the spread of the unit-level effects
        ``tau(X)``). ``"sample"``: the sample (conditional) effect, the mean of
        ``mu1(x_i) - mu0(x_i)`` over these units (over the treated for the ATT), with their
        covariates held fixed (Imbens 2004): the variance of the weighted residuals only,
        from the scores ``psi_i - (tau_hat(x_i) - tau_hat)`` with ``tau_hat(x)`` the
        cross-fitted outcome-model contrast. Narrower when effects are heterogeneous, too
        narrow for the population effect, and with less room for the estimator's bias
        (ACIC-style limited overlap: 16/20 vs 18/20, ``study_defaults.md``). The default is
        ``"population"`` because the query ``E[y | do(t=1)] - E[y | do(t=0)]`` is a population quantity and that interval
        is also valid, if conservative, for the sample effect; choose ``"sample"`` when the
        question is about these units (as in the IHDP benchmarks, whose covariates are fixed).
        The summary's ``interval`` row says which. ``bootstrap()`` always resamples units
        (a population interval).

    Attributes
    ----------
    propensity_, mu0_, mu1_ : ndarray
        Out-of-fold nuisances.
    propensity_weights_, outcome_weights_ : ndarray or None
        Super-learner weights (outcomes: one row per arm); None for a single model. Also in
        ``diagnostics.extra`` of every result.

    Notes
    -----
    Covariates are standardized once (no outcome information) before the nuisance fits.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from deepcause.simulate import make_confounded_binary
    >>> ds = make_confounded_binary(1000, random_state=2, population_truth=False)
    >>> est = AIPW(outcome_model=LinearRegression(), random_state=0)
    >>> res = est.fit(ds.data, treatment="t", outcome="y").effect(treatment=1, control=0)
    >>> bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error), res.quantity
    (True, 'ATE')
    >>> est.propensity_weights_.shape, est.outcome_weights_   # default propensity stack
    ((2,), None)

    The interval for the sample ATE of these units (same point estimate):

    >>> sample = est.set_params(interval="sample").ate()
    >>> bool(sample.value == res.value), sample.diagnostics.extra["interval"]
    (True, 'sample')
    >>> print(sample.summary().as_text())  # doctest: +ELLIPSIS
    AIPW...interval...95% CI (normal) for the sample ATE...
    """

    _interval_note = (
        "interval coverage (nominal 95%, generated data, truth the sample ATE): 99% and 98% "
        "on IHDP-B (2 x 100 replications; interval='sample' 97%, study_defaults), "
        "90% IHDP-A, 95% ACIC-style full overlap, 94% limited overlap (study_defaults); "
        "bench_coverage (70 datasets per design): 95.7% confounded, 95.7% nonlinear, 85.7% "
        "make_limited_overlap (0.25; either interval), and 60% on Kang-Schafer (both nuisance "
        "models misspecified): not valid under limited overlap or misspecified nuisances"
    )
    _limited_overlap_note = LIMITED_OVERLAP_NOTE

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "propensity_model": [HasMethods(["fit", "predict_proba"]), list, tuple, None],
        "outcome_model": [HasMethods(["fit", "predict"]), list, tuple, None],
        "n_folds": [Interval(Integral, 1, None, closed="left")],
        "clip": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="left"), None],
        "trim": [StrOptions({"crump"}), Interval(Real, 0, 0.5, closed="neither"), None],
        "normalize": ["boolean"],
        "random_state": RANDOM_STATE,
        "interval": [StrOptions(set(INTERVALS))],
    }

    def __init__(
        self,
        propensity_model: Any = None,
        outcome_model: Any = None,
        n_folds: int = 5,
        clip: Any = 0.05,
        trim: Any = None,
        normalize: bool = True,
        random_state: Any = None,
        allow_no_overlap: bool = False,
        interval: str = "population",
    ) -> None:
        self.propensity_model = propensity_model
        self.outcome_model = outcome_model
        self.n_folds = n_folds
        self.clip = clip
        self.trim = trim
        self.normalize = normalize
        self.random_state = random_state
        self.allow_no_overlap = allow_no_overlap
        self.interval = interval

    def _fit_prepared(self, data: BackdoorData) -> None:
        nuisances = fit_aipw_nuisances(
            data, self.propensity_model, self.outcome_model, self.n_folds, self.random_state
        )
        self.propensity_, self.mu0_, self.mu1_ = nuisances[:3]
        self.propensity_weights_, self.outcome_weights_ = nuisances[3:]

    def _contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        data = self.data_
        e, keep, info = prepare_scores(self.propensity_, data.t, quantity, self.clip, self.trim)
        warn_positivity(self.propensity_[keep], data.t[keep], quantity, "AIPW", handling_text(info))
        sub = (lambda a: a) if keep.all() else (lambda a: a[keep])
        t = sub(data.t)
        mus = sub(self.mu0_), sub(self.mu1_)
        arm_means = aipw_arm_means(
            sub(data.y), t, sub(e), *mus, quantity, self.normalize, self.interval
        )
        w = implied_weights(sub(e), t, quantity)
        res = scored_effect(data, self.propensity_, keep, info, w, arm_means, c, quantity, "AIPW")
        res = with_interval(res, self.interval, c, res.quantity)  # "ATE (trimmed)" too
        stacks = {
            "propensity_stack_weights": self.propensity_weights_,
            "outcome_stack_weights": self.outcome_weights_,
        }
        stacks = {k: np.asarray(v).round(4).tolist() for k, v in stacks.items() if v is not None}
        if not stacks:
            return res
        diag = dataclasses.replace(res.diagnostics, extra={**res.diagnostics.extra, **stacks})
        return dataclasses.replace(res, diagnostics=diag)
