"""Meta-learners for conditional average treatment effects (CATE).

* :class:`SLearner` — one outcome model on ``[X, t]``; ``tau(x) = mu(x, 1) - mu(x, 0)``.
* :class:`TLearner` — one outcome model per arm (outcome regression, g-computation);
  ``tau(x) = mu_1(x) - mu_0(x)``.
* :class:`XLearner` — Künzel et al. (2019): imputed effects of each arm are regressed on ``X``
  and blended with the propensity score.
* :class:`DRLearner` — Kennedy (2023): cross-fitted doubly robust pseudo-outcomes regressed on
  ``X``; its population effects and means are the cross-fitted AIPW estimates with
  influence-function standard errors.

Every learner has ``predict_cate(data)`` (covariates selected from a DataFrame by name),
``effect(...)`` (the CATE averaged over a population, or over the rows of ``X=``) and
``mean(treatment=a)`` (the outcome models averaged over a population). Nuisance models are any
scikit-learn estimators.

Intervals of the X-learner (the S- and T-learners report none: measured coverage 38-62%,
see their docstrings): the standard error of a population effect or mean is that of
its efficient influence function, the AIPW score
``mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e)`` (and its ATT/ATC analogues),
evaluated with :class:`~deepcause.estimate.AIPW`'s cross-fitted nuisances
(:func:`~deepcause.estimate.doubly_robust.fit_aipw_nuisances`: 5 folds, the learner's
``outcome_model``/``propensity_model`` or AIPW's stacks, scores clipped to [0.05, 0.95]), so
its width is AIPW's; the interval is centred at the plug-in estimate. It is valid when the
plug-in's bias is small against the standard error; ``benchmarks/results/bench_coverage.md``
gives the measured coverage. ``bootstrap()`` refits the learner on resamples instead.

>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LinearRegression
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(400, 2)), columns=["a", "b"])
>>> df["t"] = rng.binomial(1, 1 / (1 + np.exp(-df["a"])))
>>> df["y"] = df["a"] + df["t"] * (1 + df["b"]) + rng.normal(scale=0.1, size=400)
>>> est = TLearner(LinearRegression()).fit(df, treatment="t", outcome="y", covariates=["a", "b"])
>>> round(est.effect(treatment=1, control=0).value, 1)
1.0
>>> np.round(est.predict_cate(pd.DataFrame({"b": [1.0], "a": [0.0]})), 1)
array([2.])
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import is_classifier
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._parameters import RANDOM_STATE, HasMethods, Interval, StrOptions
from ..exceptions import DataValidationError, PositivityWarning
from ..results import Diagnostics, EffectEstimate
from ._base import BackdoorData, BaseEffectEstimator
from ._nuisance import default_propensity_model, default_regressor, seeded
from .diagnostics import implied_weights
from .doubly_robust import (
    INTERVALS,
    LIMITED_OVERLAP_NOTE,
    aipw_arm_means,
    aipw_contrast,
    fit_aipw_nuisances,
    limited_overlap_note,
)
from .weighting import contrast_se

__all__ = ["SLearner", "TLearner", "XLearner", "DRLearner"]


# --------------------------------------------------------------------------- nuisance helpers
def default_final_regressor(random_state: Any = None) -> GradientBoostingRegressor:
    """Default model for noisy pseudo-outcomes: shallower, larger leaves (less variance).

    :func:`~deepcause.estimate._nuisance.default_regressor` with 100 trees of depth 2 and at
    least 50 units a leaf.

    >>> default_final_regressor(0).get_params()["min_samples_leaf"]
    50
    """
    return default_regressor(random_state).set_params(
        n_estimators=100, max_depth=2, min_samples_leaf=50
    )


def default_classifier(random_state: Any = None) -> Any:
    """Default propensity model: standardized, lightly penalized logistic regression."""
    return make_pipeline(StandardScaler(), default_propensity_model())


def predict_proba1(model: Any, X: np.ndarray) -> np.ndarray:
    """P(T = 1 | X) from a fitted classifier (or regressor predicting 0/1)."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return np.asarray(model.predict(X), dtype=float)


def clip_propensity(e: np.ndarray, clip: float, estimator: str) -> np.ndarray:
    """Clip propensity scores to ``[clip, 1 - clip]`` and warn when many were clipped.

    >>> clip_propensity(np.array([0.001] + [0.5] * 20), 0.01, "DRLearner")[:2].tolist()
    [0.01, 0.5]
    """
    outside = np.mean((e < clip) | (e > 1 - clip))
    if outside > 0.05:
        warnings.warn(
            f"{estimator}: {100 * outside:.1f}% of propensity scores are outside "
            f"[{clip}, {1 - clip}] and were clipped; overlap is poor, consider trimming or the "
            "treated/overlap population.",
            PositivityWarning,
            stacklevel=3,
        )
    return np.clip(e, clip, 1 - clip)


def _design(X: np.ndarray) -> np.ndarray:
    """Covariate matrix; a constant column when there are no covariates."""
    return X if X.shape[1] else np.ones((len(X), 1))


# --------------------------------------------------------------------------- base class
_MODEL = [HasMethods(["fit", "predict"]), None]
SCORE_FOLDS, SCORE_CLIP = 5, 0.05  # the interval's score: AIPW's folds and clipping
_SCORE_NOTE = (
    "interval: influence function of the AIPW score (AIPW's cross-fitted nuisances) around the "
    "plug-in estimate; it omits the plug-in's regularization bias (see bench_coverage); "
    "bootstrap() for an alternative"
)
_NO_INTERVAL_NOTE = (
    "no valid interval: the plug-in's regularization bias dominates its standard error (the "
    "AIPW-score interval around it covered the truth in 38-62% of bench_coverage's datasets); "
    "use DRLearner or AIPW for an interval"
)


class _MetaLearner(BaseEffectEstimator):
    """Shared CATE plumbing: ``predict_cate``, population effects and means."""

    _method = "MetaLearner"
    _valid_interval = True

    def predict_cate(self, data: Any) -> np.ndarray:
        """CATE ``tau(x)`` for each row of ``data``.

        ``data`` is a DataFrame holding the fitted covariate columns (selected by name, in any
        order; other columns are ignored), or an array after :meth:`fit_arrays`.

        Examples
        --------
        >>> from sklearn.linear_model import LinearRegression
        >>> from deepcause.simulate import make_confounded_binary
        >>> df = make_confounded_binary(300, random_state=0, population_truth=False).data
        >>> est = SLearner(LinearRegression()).fit(df, treatment="t", outcome="y")
        >>> shuffled = df[["x2", "x1", "x3", "x5", "x4"]]
        >>> bool((est.predict_cate(shuffled) == est.predict_cate(df)).all())
        True
        >>> est.predict_cate(df[["x1", "x2"]])
        Traceback (most recent call last):
        ...
        deepcause.exceptions.DataValidationError: covariate 'x3' is not a column of the data ...
        """
        return self._predict_cate(_design(self._covariate_matrix(data)))

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_arm(self, X: np.ndarray, arm: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _fit_prepared(self, data: BackdoorData) -> None:
        self.score_nuisances_ = None  # the interval's nuisances, fitted on first use
        self._fit_models(data)
        self.cate_ = self._predict_cate(_design(data.X))

    def _fit_models(self, data: BackdoorData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_se(self, c: np.ndarray, quantity: str) -> float | None:
        """Influence-function standard error from the AIPW score (see the module docstring)."""
        if getattr(self, "overlap_", None) is None or not self._valid_interval:
            return None  # a bootstrap refit, or no valid interval
        data = self.data_
        if getattr(self, "score_nuisances_", None) is None:
            models = (getattr(self, "propensity_model", None), getattr(self, "outcome_model", None))
            e, mu0, mu1, *_ = fit_aipw_nuisances(data, *models, SCORE_FOLDS, self.random_state)
            self.score_nuisances_ = (np.clip(e, SCORE_CLIP, 1 - SCORE_CLIP), mu0, mu1)
        e, mu0, mu1 = self.score_nuisances_
        _, psi = aipw_arm_means(data.y, data.t, e, mu0, mu1, quantity)
        return contrast_se(psi, c)

    def _contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        data = self.data_
        mask = self._population_mask(data.t, quantity)
        if c[0] == -c[1]:  # an effect: the CATE averaged over the population
            value = c[1] * float(np.mean(self.cate_[mask]))
        else:  # potential-outcome means: the outcome models averaged over the population
            X = _design(data.X[mask])
            value = sum(c[a] * float(np.mean(self._predict_arm(X, a))) for a in (0, 1) if c[a])
        return EffectEstimate(
            value=value,
            std_error=self._score_se(c, quantity),
            quantity=quantity,
            method=self._method,
            n=data.n,
            estimand=data.estimand,
            diagnostics=Diagnostics(
                notes=(_SCORE_NOTE if self._valid_interval else _NO_INTERVAL_NOTE,),
                extra={"cate_std": float(np.std(self.cate_[mask]))},
            ),
        )

    def _effect_at(self, X: Any, c: np.ndarray) -> EffectEstimate:
        tau = self.predict_cate(X)
        return EffectEstimate(
            value=float(c[1] * tau.mean()),
            quantity="CATE",
            method=self._method,
            n=len(tau),
            diagnostics=Diagnostics(extra={"cate_std": float(np.std(tau))}),
        )


# --------------------------------------------------------------------------- S / T learners
class SLearner(_MetaLearner):
    """Single outcome model ``mu(x, t)``; ``tau(x) = mu(x, 1) - mu(x, 0)``.

    No valid interval: ``std_error`` is None (with a note in the summary). Its plug-in
    estimate carries the outcome model's regularization bias; the AIPW-score interval
    around it covered the truth in 38-62% of ``bench_coverage``'s datasets (nominal
    95%). Use :class:`DRLearner` or :class:`~deepcause.estimate.AIPW` for an interval.

    Parameters
    ----------
    model : regressor, optional
        Fitted on ``[X, t]`` (default: gradient boosting).
    random_state : int, Generator or None, default None
        Seed for the model.
    allow_no_overlap : bool, default False
        Estimate even where the overlap check (:mod:`deepcause.estimate.overlap`) finds a
        covariate region without comparison units; the result is labelled extrapolated.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(500, random_state=1, population_truth=False).data
    >>> est = SLearner(LinearRegression()).fit(df, treatment="t", outcome="y")
    >>> res = est.effect(treatment=1, control=0)
    >>> bool(abs(res.value - 2.0) < 0.3), est.mean(treatment=1).quantity
    (True, 'mean')
    """

    _method = "S-learner"
    _valid_interval = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": _MODEL,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        model: Any = None,
        random_state: Any = None,
        allow_no_overlap: bool = False,
    ) -> None:
        self.model = model
        self.random_state = random_state
        self.allow_no_overlap = allow_no_overlap

    def _fit_models(self, data: BackdoorData) -> None:
        base = default_regressor() if self.model is None else self.model
        self.model_ = seeded(base, self.random_state).fit(np.column_stack([data.X, data.t]), data.y)

    def _predict_arm(self, X: np.ndarray, arm: int) -> np.ndarray:
        X = X[:, : self.data_.X.shape[1]]
        return self.model_.predict(np.hstack([X, np.full((len(X), 1), float(arm))]))

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        return self._predict_arm(X, 1) - self._predict_arm(X, 0)


class TLearner(_MetaLearner):
    """One outcome model per treatment arm (outcome regression / g-computation).

    No valid interval: ``std_error`` is None (with a note in the summary). Its plug-in
    estimate carries the outcome model's regularization bias; the AIPW-score interval
    around it covered the truth in 38-62% of ``bench_coverage``'s datasets (nominal
    95%). Use :class:`DRLearner` or :class:`~deepcause.estimate.AIPW` for an interval.

    Parameters
    ----------
    model : regressor, optional
        For ``E[Y | X, T = 1]`` and ``E[Y | X, T = 0]`` (default: gradient boosting).
    control_model : regressor, optional
        A separate regressor for the control arm.
    random_state : int, Generator or None, default None
        Seed for the models.
    allow_no_overlap : bool, default False
        Estimate even where the overlap check (:mod:`deepcause.estimate.overlap`) finds a
        covariate region without comparison units; the result is labelled extrapolated.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(500, random_state=1, population_truth=False).data
    >>> est = TLearner(LinearRegression()).fit(df, treatment="t", outcome="y")
    >>> bool(abs(est.effect(population="treated").value - 2.0) < 0.3)
    True
    """

    _method = "T-learner"
    _valid_interval = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": _MODEL,
        "control_model": _MODEL,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        model: Any = None,
        control_model: Any = None,
        random_state: Any = None,
        allow_no_overlap: bool = False,
    ) -> None:
        self.model = model
        self.control_model = control_model
        self.random_state = random_state
        self.allow_no_overlap = allow_no_overlap

    def _fit_models(self, data: BackdoorData) -> None:
        base = default_regressor() if self.model is None else self.model
        base0 = base if self.control_model is None else self.control_model
        X = _design(data.X)
        t1 = data.t == 1
        self.model1_ = seeded(base, self.random_state).fit(X[t1], data.y[t1])
        self.model0_ = seeded(base0, self.random_state).fit(X[~t1], data.y[~t1])

    def predict_outcomes(self, data: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mu0(x), mu1(x))`` for each row of ``data`` (covariates selected by name).

        Examples
        --------
        >>> from sklearn.linear_model import LinearRegression
        >>> from deepcause.simulate import make_confounded_binary
        >>> df = make_confounded_binary(300, random_state=1, population_truth=False).data
        >>> est = TLearner(LinearRegression()).fit(df, treatment="t", outcome="y")
        >>> mu0, mu1 = est.predict_outcomes(df.iloc[:3])
        >>> mu0.shape, bool(((mu1 - mu0) > 1.5).all())
        ((3,), True)
        """
        X = _design(self._covariate_matrix(data))
        return self._predict_arm(X, 0), self._predict_arm(X, 1)

    def _predict_arm(self, X: np.ndarray, arm: int) -> np.ndarray:
        return (self.model0_, self.model1_)[arm].predict(X)

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        return self.model1_.predict(X) - self.model0_.predict(X)


# --------------------------------------------------------------------------- X learner
class XLearner(_MetaLearner):
    """X-learner (Künzel, Sekhon, Bickel & Yu 2019).

    Interval: the efficient influence function's standard error with AIPW's cross-fitted
    nuisances (see the module docstring), so AIPW's width, centred at the X-learner's estimate.
    Coverage (bench_coverage, nominal 95%, ATE, 70 datasets per design): 90.0% (confounded),
    97.1% (nonlinear), 78.6% (limited overlap: not valid there; the summary says so when at
    least 5% of the units have an estimated propensity outside [0.01, 0.99]). The previous
    score (the learner's half-sample outcome models, the overlap check's propensity) was
    conservative: 98.6%, 100%, 98.6%, with 2.5 times the width.

    Stage 1 fits ``mu_0``, ``mu_1`` per arm; stage 2 regresses the imputed effects
    ``D1 = Y - mu_0(X)`` (treated) and ``D0 = mu_1(X) - Y`` (controls) on ``X``; the CATE is
    ``e(x) tau_0(x) + (1 - e(x)) tau_1(x)`` with the propensity score ``e``.

    ``mean(treatment=a)`` averages the stage-1 model ``mu_a``.

    Parameters
    ----------
    outcome_model, effect_model : regressor, optional
        Stage 1 and 2 models (default: gradient boosting).
    propensity_model : classifier, optional
        For ``e(x)`` (default: logistic regression).
    random_state : int, Generator or None, default None
        Seed for every model.
    allow_no_overlap : bool, default False
        Estimate even where the overlap check (:mod:`deepcause.estimate.overlap`) finds a
        covariate region without comparison units; the result is labelled extrapolated.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression, LogisticRegression
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(500, random_state=1, population_truth=False).data
    >>> est = XLearner(LinearRegression(), propensity_model=LogisticRegression())
    >>> bool(abs(est.fit(df, treatment="t", outcome="y").effect().value - 2.0) < 0.3)
    True
    """

    _interval_note = (
        "interval coverage (bench_coverage, nominal 95%, ATE, 70 datasets per design; AIPW's "
        "nuisances in the score, so AIPW's width): 90.0% (confounded), 97.1% (nonlinear), "
        "78.6% (limited overlap: not valid there)"
    )
    _limited_overlap_note = limited_overlap_note("78.6%")

    _method = "X-learner"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "outcome_model": _MODEL,
        "effect_model": _MODEL,
        "propensity_model": _MODEL,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        outcome_model: Any = None,
        effect_model: Any = None,
        propensity_model: Any = None,
        random_state: Any = None,
        allow_no_overlap: bool = False,
    ) -> None:
        self.outcome_model = outcome_model
        self.effect_model = effect_model
        self.propensity_model = propensity_model
        self.random_state = random_state
        self.allow_no_overlap = allow_no_overlap

    def _fit_models(self, data: BackdoorData) -> None:
        out = default_regressor() if self.outcome_model is None else self.outcome_model
        eff = out if self.effect_model is None else self.effect_model
        ps = default_classifier() if self.propensity_model is None else self.propensity_model
        X, rs = _design(data.X), self.random_state
        t1 = data.t == 1
        mu1 = seeded(out, rs).fit(X[t1], data.y[t1])
        mu0 = seeded(out, rs).fit(X[~t1], data.y[~t1])
        d1 = data.y[t1] - mu0.predict(X[t1])
        d0 = mu1.predict(X[~t1]) - data.y[~t1]
        self.outcome_models_ = (mu0, mu1)
        self.tau1_ = seeded(eff, rs).fit(X[t1], d1)
        self.tau0_ = seeded(eff, rs).fit(X[~t1], d0)
        self.propensity_ = seeded(ps, rs).fit(X, data.t)

    def _predict_arm(self, X: np.ndarray, arm: int) -> np.ndarray:
        return self.outcome_models_[arm].predict(X)

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        g = predict_proba1(self.propensity_, X)
        return g * self.tau0_.predict(X) + (1 - g) * self.tau1_.predict(X)


# --------------------------------------------------------------------------- DR learner
class DRLearner(_MetaLearner):
    """DR-learner (Kennedy 2023) with cross-fitted nuisances.

    Pseudo-outcome ``phi = mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e)`` from
    out-of-fold ``mu0, mu1, e``; the CATE model regresses ``phi`` on ``X``. Population effects
    and potential-outcome means are the cross-fitted AIPW estimates with influence-function
    standard errors. The nuisances, folds, clipping and normalization default to
    :class:`~deepcause.estimate.AIPW`'s (chosen on generated data), so the default ATE and its
    interval are AIPW's.

    No valid interval under limited overlap: the default ATE and interval being AIPW's, they
    covered the truth in 85.7% of the 70 datasets of ``bench_coverage``'s limited-overlap
    design (the previous defaults: 51.4%, mean |error| 0.661); the summary says the interval
    may under-cover when at least 5% of the units have an estimated propensity outside [0.01,
    0.99]. ``benchmarks/results/bench_coverage.md`` has the coverage on every design.

    Parameters
    ----------
    outcome_model : regressor, list of regressors, or None
        For ``E[Y | X, T = t]``, fitted in each arm; a list is a super learner. Default
        (None): AIPW's outcome stack (ridge and gradient boosting).
    propensity_model : classifier, list of classifiers, or None
        For ``P(T = 1 | X)``; default (None): AIPW's propensity stack.
    final_model : regressor, optional
        Of the pseudo-outcome on ``X`` (default: shallow gradient boosting with large leaves,
        as pseudo-outcomes are noisy).
    n_folds : int, default 5
        Cross-fitting folds (at least 2).
    clip : float, default 0.05
        Propensity scores are clipped to ``[clip, 1 - clip]`` (AIPW's default; 0.01, the
        previous default, gave mean |error| 0.661 and 51% coverage under limited overlap).
    normalize : bool, default True
        Hajek-normalize the weighted residual terms of the population effects, as AIPW.
    random_state : int, Generator or None, default None
        Seed for folds and models.
    allow_no_overlap : bool, default False
        Estimate even where the overlap check (:mod:`deepcause.estimate.overlap`) finds a
        covariate region without comparison units; the result is labelled extrapolated.
    interval : {"population", "sample"}, default "population"
        The estimand of the population effects' intervals, as in
        :class:`~deepcause.estimate.AIPW`: the population effect, or the sample (conditional)
        effect of these units (Imbens 2004).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(800, random_state=1, population_truth=False).data
    >>> est = DRLearner(LinearRegression(), final_model=LinearRegression(), n_folds=2,
    ...                 random_state=0).fit(df, treatment="t", outcome="y")
    >>> res = est.effect(treatment=1, control=0)
    >>> bool(abs(res.value - 2.0) < 4 * res.std_error)
    True
    """

    _interval_note = (
        "interval coverage (bench_coverage, nominal 95%, ATE, 70 datasets per design; "
        "AIPW's nuisances, so AIPW's interval): 95.7% (confounded), 95.7% (nonlinear), 85.7% "
        "(limited overlap: not valid there)"
    )
    _limited_overlap_note = LIMITED_OVERLAP_NOTE

    _method = "DR-learner"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "outcome_model": [*_MODEL, list, tuple],
        "propensity_model": [HasMethods(["fit", "predict_proba"]), list, tuple, None],
        "final_model": _MODEL,
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "clip": [Interval(Real, 0, 0.5, closed="neither")],
        "normalize": ["boolean"],
        "random_state": RANDOM_STATE,
        "interval": [StrOptions(set(INTERVALS))],
    }

    def __init__(
        self,
        outcome_model: Any = None,
        propensity_model: Any = None,
        final_model: Any = None,
        n_folds: int = 5,
        clip: float = 0.05,
        normalize: bool = True,
        random_state: Any = None,
        allow_no_overlap: bool = False,
        interval: str = "population",
    ) -> None:
        self.outcome_model = outcome_model
        self.propensity_model = propensity_model
        self.final_model = final_model
        self.n_folds = n_folds
        self.clip = clip
        self.normalize = normalize
        self.random_state = random_state
        self.allow_no_overlap = allow_no_overlap
        self.interval = interval

    def _fit_models(self, data: BackdoorData) -> None:
        out = self.outcome_model
        models = out if isinstance(out, (list, tuple)) else [out]
        if any(m is not None and is_classifier(m) for m in models):
            raise DataValidationError("DRLearner.outcome_model must be a regressor")
        e, mu0, mu1, *_ = fit_aipw_nuisances(
            data, self.propensity_model, out, self.n_folds, self.random_state
        )
        e = clip_propensity(e, self.clip, "DRLearner")
        t, y = data.t, data.y
        self.mu0_, self.mu1_, self.propensity_scores_ = mu0, mu1, e
        self.pseudo_outcome_ = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
        final = default_final_regressor() if self.final_model is None else self.final_model
        self.final_model_ = seeded(final, self.random_state).fit(
            _design(data.X), self.pseudo_outcome_
        )

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        return self.final_model_.predict(X)

    def _contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        t, e = self.data_.t, self.propensity_scores_
        cate_std = float(np.std(self.cate_[self._population_mask(t, quantity)]))
        nuisances = (e, self.mu0_, self.mu1_)
        weights = implied_weights(e, t, quantity)
        return aipw_contrast(
            self.data_, c, quantity, self._method, nuisances, weights, self.interval,
            self.normalize, cate_std=cate_std,
        )  # fmt: skip
