"""Nuisance models shared by the back-door estimators: defaults, folds, cross-fitting, clipping.

AIPW's defaults are super learners (:mod:`deepcause.estimate._stacking`) of the learners below,
:func:`default_propensity_stack` and :func:`default_outcome_stack`, chosen on generated data only
(``benchmarks/tune_defaults.py``, ``benchmarks/results/study_defaults.md``). The single default
learners of the other estimators (chosen on LaLonde/IHDP and for speed, see
``benchmarks/bench_estimation.py``):

* propensity: ``LogisticRegression(C=1.0)`` on standardized covariates;
* outcome: per treatment arm on standardized covariates, flexible up to ``LARGE_N`` rows:
  shallow shrunk gradient boosting up to ``SMALL_N`` rows (the most accurate on small samples:
  IHDP mean |ATE error| of AIPW 0.08 instead of 0.12 with ridge; about 2 ms of CPU per row),
  histogram gradient boosting up to ``LARGE_N`` rows (about 2 s at 10^4 rows), and
  ``Ridge(alpha=1)`` above (seconds at 10^7 rows; at that size a linear fit's variance is
  negligible, pass a flexible regressor if its bias matters).

Pass any scikit-learn estimator to use something else (a classifier with ``predict_proba`` for the
propensity, a regressor for outcomes).

>>> import numpy as np
>>> folds = make_folds(np.array([0, 1] * 5), n_folds=2, random_state=0)
>>> sorted(np.bincount(folds).tolist())
[5, 5]
>>> clip_bounds("auto", "ATE"), clip_bounds("auto", "ATT"), clip_bounds(0.02, "ATE")
((0.1, 0.9), (0.0, 0.99), (0.02, 0.98))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV

from ..exceptions import DataValidationError
from ._folds import assign_folds, fold_seed

__all__ = [
    "default_propensity_model",
    "default_outcome_model",
    "default_outcome_stack",
    "default_propensity_stack",
    "default_regressor",
    "standardize",
    "make_folds",
    "crossfit_propensity",
    "crossfit_outcomes",
    "clip_bounds",
    "crump_threshold",
    "seeded",
    "trim_bounds",
]

# propensity clipping used by clip="auto": (lower, upper) per quantity. For the ATE both tails
# get weights 1/e and 1/(1-e), so both are clipped at 0.1 (Crump et al.'s 2009 rule-of-thumb
# level; max weight 10); the ATT only uses the odds e/(1-e) of comparison units, so only the
# upper tail is clipped (max odds 99), and symmetrically for the ATC. Chosen on LaLonde (ATT)
# and IHDP (ATE), see benchmarks/bench_estimation.py; the bounds and the number of clipped
# units are reported in the diagnostics of every estimate.
AUTO_CLIP: dict[str, tuple[float, float]] = {
    "ATE": (0.1, 0.9),
    "ATT": (0.0, 0.99),
    "ATC": (0.01, 1.0),
    "ATO": (0.0, 1.0),
}


def default_propensity_model() -> LogisticRegression:
    """L2 logistic regression (C=1) — applied to standardized covariates."""
    return LogisticRegression(C=1.0, max_iter=1000)


SMALL_N = 5_000
LARGE_N = 100_000
# the propensity stack's inner 3-fold CV needs a few units of each arm in every training fold
MIN_STACK_ARM = 20


def default_regressor(random_state: Any = None) -> GradientBoostingRegressor:
    """Shallow, shrunk gradient boosting (200 trees of depth 3, learning rate 0.05)."""
    return GradientBoostingRegressor(
        n_estimators=200,
        max_depth=3,
        learning_rate=0.05,
        subsample=0.8,
        random_state=random_state,
    )


def default_outcome_model(
    n: int = 0,
) -> GradientBoostingRegressor | HistGradientBoostingRegressor | Ridge:
    """Gradient boosting up to ``SMALL_N`` rows, histogram boosting up to ``LARGE_N``, then ridge.

    >>> [type(default_outcome_model(n)).__name__ for n in (1_000, 50_000, 10**6)]
    ['GradientBoostingRegressor', 'HistGradientBoostingRegressor', 'Ridge']
    """
    if n > LARGE_N:
        return Ridge(alpha=1.0)
    if n > SMALL_N:
        return HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.05, max_depth=3, early_stopping=False
        )
    return default_regressor()


def _ridge_cv() -> RidgeCV:
    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def default_outcome_stack(n: int = 0) -> list[Any]:
    """The default outcome super learner of AIPW (:mod:`deepcause.estimate._stacking`).

    Up to ``LARGE_N`` rows: ridge (alpha by leave-one-out CV) on the covariates and
    :func:`default_outcome_model`'s boosting; above ``LARGE_N``: ``Ridge(alpha=1)`` alone.
    Chosen on generated data only (``benchmarks/tune_defaults.py``; protocol and figures in
    ``benchmarks/results/study_defaults.md``).

    >>> [type(m).__name__ for m in default_outcome_stack(1_000)]
    ['RidgeCV', 'GradientBoostingRegressor']
    >>> [type(m).__name__ for m in default_outcome_stack(10**6)]
    ['Ridge']
    """
    if n > LARGE_N:
        return [Ridge(alpha=1.0)]
    return [_ridge_cv(), default_outcome_model(n)]


def default_propensity_stack(n: int = 0, n_minority: int | None = None) -> list[Any]:
    """The default propensity super learner of AIPW (:mod:`deepcause.estimate._stacking`).

    Up to ``SMALL_N`` rows: L2 logistic regression with its penalty chosen by 3-fold CV of the
    log-loss, and shallow gradient boosting (100 trees of depth 2); up to ``LARGE_N`` rows:
    logistic regression (C=1) and histogram boosting; above, or when the smaller treatment arm
    has fewer than ``MIN_STACK_ARM`` units (``n_minority``): logistic regression (C=1) alone.

    >>> [type(m).__name__ for m in default_propensity_stack(1_000)]
    ['GridSearchCV', 'GradientBoostingClassifier']
    >>> [type(m).__name__ for m in default_propensity_stack(1_000, n_minority=12)]
    ['LogisticRegression']
    """
    if n > LARGE_N or (n_minority is not None and n_minority < MIN_STACK_ARM):
        return [default_propensity_model()]
    if n > SMALL_N:
        boost = HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_depth=3, early_stopping=False
        )
        return [default_propensity_model(), boost]
    grid = {"C": np.logspace(-3, 2, 6).tolist()}
    logit = GridSearchCV(default_propensity_model(), grid, cv=3, scoring="neg_log_loss")
    boost = GradientBoostingClassifier(
        n_estimators=100, max_depth=2, learning_rate=0.1, subsample=0.8
    )
    return [logit, boost]


# above this many covariate cells (rows x columns) the standardized working copy is float32,
# halving the memory of the copy and of the fold-wise training matrices (5e7: 5e6 rows x 10)
FLOAT32_CELLS = 50_000_000


def standardize(X: np.ndarray) -> np.ndarray:
    """Centered and scaled copy of ``X`` (constant columns are only centered).

    float64, or float32 when ``X`` has more than ``FLOAT32_CELLS`` cells.
    """
    dtype = np.float32 if X.size > FLOAT32_CELLS else np.float64
    Z = np.array(X, dtype=dtype, order="C", copy=True)
    if Z.shape[1] == 0:
        return Z
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    Z -= mean.astype(dtype)
    Z /= sd.astype(dtype)
    return Z


def make_folds(t: np.ndarray, n_folds: int, random_state: Any = None) -> np.ndarray:
    """Fold id (0..n_folds-1) per unit, stratified by treatment arm, shuffled by the seed.

    The rule is :func:`deepcause.estimate._folds.assign_folds` (the same on the Dask path).
    """
    if not isinstance(n_folds, int | np.integer) or n_folds < 1:
        raise DataValidationError(f"n_folds must be a positive integer, got {n_folds!r}")
    for arm in (0, 1):
        size = int(np.sum(t == arm))
        if n_folds > 1 and size < n_folds:
            raise DataValidationError(
                f"treatment group {arm} has {size} units, fewer than n_folds={n_folds}; "
                "lower n_folds"
            )
    # the rule shared with the Dask path (deepcause.estimate._folds)
    return assign_folds(t, n_folds, fold_seed(random_state))


def _fold_pairs(folds: np.ndarray, n_folds: int):
    """(train mask, test mask) per fold; one fold means fit and predict on everything."""
    if n_folds == 1:
        everything = np.ones(len(folds), dtype=bool)
        yield everything, everything
        return
    for k in range(n_folds):
        test = folds == k
        yield ~test, test


def seeded(model: Any, random_state: Any) -> Any:
    """Unfitted clone of ``model`` with ``random_state`` set when it has one left as None."""
    fresh = clone(model)
    params = fresh.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None and random_state is not None:
        fresh.set_params(random_state=int(np.random.default_rng(random_state).integers(2**31)))
    return fresh


def _positive_proba(model: Any, X: np.ndarray) -> np.ndarray:
    proba = model.predict_proba(X)
    classes = list(getattr(model, "classes_", [0, 1]))
    return proba[:, classes.index(1)]


def crossfit_propensity(
    model: Any,
    X: np.ndarray,
    t: np.ndarray,
    folds: np.ndarray,
    n_folds: int,
    random_state: Any = None,
) -> np.ndarray:
    """Out-of-fold P(T=1 | X) (in-sample when ``n_folds == 1``)."""
    e = np.empty(len(t), dtype=np.float64)
    if X.shape[1] == 0:  # no covariates: the propensity is the treated share of the training fold
        for train, test in _fold_pairs(folds, n_folds):
            e[test] = t[train].mean()
        return e
    for train, test in _fold_pairs(folds, n_folds):
        fitted = seeded(model, random_state).fit(X[train], t[train])
        e[test] = _positive_proba(fitted, X[test])
    return e


def crossfit_outcomes(
    model: Any,
    X: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    n_folds: int,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold E[Y | X, T=0] and E[Y | X, T=1], one model per arm and fold."""
    mus = (np.empty(len(t)), np.empty(len(t)))
    for train, test in _fold_pairs(folds, n_folds):
        for arm in (0, 1):
            rows = train & (t == arm)
            if X.shape[1] == 0:
                mus[arm][test] = y[rows].mean()
                continue
            fitted = seeded(model, random_state).fit(X[rows], y[rows])
            mus[arm][test] = np.asarray(fitted.predict(X[test]), dtype=np.float64).ravel()
    return mus


def clip_bounds(clip: Any, quantity: str) -> tuple[float, float]:
    """``(lower, upper)`` propensity bounds for ``clip`` = ``"auto"``, ``None`` or a number.

    A number ``c`` bounds the scores on the side(s) the weights of ``quantity`` divide by: the
    ATE's ``1/e`` and ``1/(1-e)`` both, the ATT's control odds ``e/(1-e)`` the upper side only
    (a lower bound would only inflate the weight of controls unlike the treated), the ATC's
    ``(1-e)/e`` the lower side only, and none for the overlap weights.

    >>> clip_bounds(0.05, "ATE"), clip_bounds(0.05, "ATT"), clip_bounds(0.05, "ATC")
    ((0.05, 0.95), (0.0, 0.95), (0.05, 1.0))
    """
    if clip is None or clip is False:
        return 0.0, 1.0
    if isinstance(clip, str):
        if clip != "auto":
            raise DataValidationError(
                f"clip must be 'auto', None or a number in [0, 0.5), got {clip!r}"
            )
        return AUTO_CLIP.get(quantity, (0.0, 1.0))
    c = float(clip)
    if not 0 <= c < 0.5:
        raise DataValidationError(
            f"clip must be 'auto', None or a number in [0, 0.5), got {clip!r}"
        )
    lower = c if quantity in ("ATE", "ATC") else 0.0
    upper = 1.0 - c if quantity in ("ATE", "ATT") else 1.0
    return lower, upper


def crump_threshold(e: np.ndarray) -> float:
    """Optimal trimming level alpha of Crump, Hotz, Imbens & Mitnik (2009).

    Units with ``alpha <= e <= 1 - alpha`` are kept; 0 when no trimming is needed.

    >>> crump_threshold(np.full(10, 0.5))
    0.0
    """
    e = np.clip(np.asarray(e, dtype=float), 1e-12, 1 - 1e-12)
    g = np.sort(1.0 / (e * (1.0 - e)))
    if g[-1] <= 2.0 * g.mean():
        return 0.0
    cummean = np.cumsum(g) / np.arange(1, g.size + 1)
    ok = np.flatnonzero(g <= 2.0 * cummean)
    gamma = 2.0 * cummean[ok[-1]]
    return float(0.5 - np.sqrt(max(0.25 - 1.0 / gamma, 0.0)))


def trim_bounds(trim: Any, e: np.ndarray) -> tuple[float, float] | None:
    """Trimming interval for ``trim`` = ``None``, a level in (0, 0.5) or ``"crump"``."""
    if trim is None:
        return None
    if isinstance(trim, str):
        if trim != "crump":
            raise DataValidationError(
                f"trim must be None, 'crump' or a number in (0, 0.5), got {trim!r}"
            )
        a = crump_threshold(e)
    else:
        a = float(trim)
        if not 0 < a < 0.5:
            raise DataValidationError(
                f"trim must be None, 'crump' or a number in (0, 0.5), got {trim!r}"
            )
    return a, 1.0 - a
