"""SRDO: sample reweighting by density-ratio estimation (Shen et al. 2020), with weight control.

The ratio ``prod_j p(x_j) / p(x)`` of the "decorrelated" distribution (independent columns with
the same marginals) to the data's is the odds of a classifier that tells a column-wise permuted
copy of ``X`` from ``X``. Used naively (one permutation, a classifier with squared terms scored
on the rows it was trained on, raw odds) the weights collapse: the classifier is overconfident,
the estimated log-ratio has quadratic tails, and almost all the mass goes to a handful of
extreme rows (effective sample size 1 to 7 of 2,000 on ``bench_stable``), so the weighted
regression was worse than OLS in every setting. Under selection bias the data lie near a thin
set (the spurious ``V_b`` tracks ``f(S)``) where the product of the marginals has almost no
data: the exact ratio cannot be used at any usable sample size. :class:`SRDOWeights` therefore

* models only what decorrelation needs: the default classifier is an L2 logistic regression
  (``C``) on the standardized columns and their pairwise products (no squares: the
  permutation keeps every marginal, and squared terms only let the log-ratio explode in the
  tails);
* scores every row with a classifier that did not see it (``n_folds`` cross-fitting), trained
  against ``n_permutations`` independent permuted copies at once;
* tempers the log-ratio, ``w = exp(a * logit)``, with the largest ``a`` in ``[0, 1]`` that
  keeps the Kish effective sample size at ``min_ess * n`` or more, and caps the weights at
  ``clip`` times their mean (so that the ESS is at least ``n / clip``);
* reports what it achieved (``tempering_``, ``dependence_before_``, ``dependence_after_``) and
  warns (:class:`StableLearningWarning`) when the weights remove little of the dependence, and,
  given ``y``, when the linear model is correctly specified, where no reweighting can beat
  unweighted least squares.

``clip = 3`` was chosen on covariate-shift seeds 100-103 (poly and exp, p = 10 and 20) among
2, 3 and 5; ``bench_stable`` uses seeds 0-9.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from ..exceptions import DataValidationError, DeepCauseWarning
from ._base import (
    BaseWeights,
    check_X,
    default_nonlinear_regressor,
    effective_sample_size,
    misspecification_pvalue,
)

__all__ = ["SRDOWeights", "StableLearningWarning", "max_abs_correlation"]


class StableLearningWarning(DeepCauseWarning):
    """A reweighting that cannot deliver what it is for on these data (see the message).

    >>> issubclass(StableLearningWarning, DeepCauseWarning)
    True
    """


def max_abs_correlation(X: Any, weights: Any = None) -> float:
    """Largest absolute (weighted) correlation between two different columns of ``X``.

    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.5], [3.0, 2.0]])
    >>> round(max_abs_correlation(X), 3), round(max_abs_correlation(X, [1, 1, 0, 0]), 6)
    (0.873, 1.0)
    """
    c = np.cov(np.asarray(X, dtype=float).T, aweights=weights)
    d = np.sqrt(np.diag(c))
    r = c / np.outer(d, d)
    return float(np.abs(r[~np.eye(len(r), dtype=bool)]).max())


def _tempered(logit: np.ndarray, target_ess: float) -> tuple[np.ndarray, float]:
    """``exp(a * logit)`` (mean 1) with the largest ``a`` in ``[0, 1]`` whose ESS >= target.

    The ESS of ``exp(a * logit)`` falls as ``a`` grows from 0 (uniform weights, ESS ``n``);
    bisection on ``a`` (40 steps) finds where it crosses ``target_ess``.
    """

    def weights(a: float) -> np.ndarray:
        z = a * (logit - logit.max())
        w = np.exp(z)
        return w / w.mean()

    if effective_sample_size(weights(1.0)) >= target_ess:
        return weights(1.0), 1.0
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if effective_sample_size(weights(mid)) >= target_ess else (lo, mid)
    return weights(lo), lo


def _capped(w: np.ndarray, clip: float) -> np.ndarray:
    """Cap at ``clip`` times the mean, renormalise, repeat until the cap holds."""
    for _ in range(50):
        w = np.minimum(w, clip)
        w = w / w.mean()
        if w.max() <= clip * (1 + 1e-9):
            break
    return w


class SRDOWeights(BaseWeights):
    """Sample reweighting decorrelation operator (Shen et al. 2020), cross-fitted and tempered.

    ``w(x)`` estimates ``prod_j p(x_j) / p(x)`` by the odds of ``classifier`` (default: L2
    logistic regression, inverse penalty ``C``, on the standardized columns and their pairwise
    products) telling ``n_permutations`` column-wise permuted copies of ``X`` from ``X``; every
    row is scored by the model of the ``n_folds - 1`` folds that do not hold it. The log-odds
    ``logit`` (with the class-size offset removed) are tempered: ``w = exp(a logit)`` with the
    largest ``a <= 1`` that keeps the effective sample size at ``min_ess * n`` or more; the
    weights are then capped at ``clip`` times their mean (``None``: no cap) and have mean 1.
    ``random_state`` seeds the permutations and the folds.

    For: linear (or any weighted) regression whose model is misspecified while the covariates
    are correlated, with correlations that shift between environments (the covariate-shift
    design of :func:`deepcause.simulate.make_covariate_shift`). It cannot help when the linear
    model is right (least squares is then unbiased in every environment and the weights only
    cost efficiency) nor when the data hold too few rows where the covariates vary
    independently. ``fit`` warns (:class:`StableLearningWarning`) in both cases: given ``y``
    it tests the linear model (out-of-fold polynomial ridge prediction of the OLS residuals,
    one-sided level ``alpha``; :class:`~deepcause.stable.StableRegressor` passes ``y``), and it
    warns when the weights lower the largest pairwise correlation by less than a tenth. The
    test is skipped (``misspecification_pvalue_`` is NaN) when the degree-3 basis has more
    than ``n / 4`` columns (``p = 20`` at ``n = 2000``): it then has next to no power (on
    ``bench_stable``'s p = 20 design it missed the misspecification in 9 seeds of 10).

    Fitted: ``weights_`` (mean 1), ``effective_sample_size_``, ``log_ratio_`` (the
    cross-fitted log-odds), ``tempering_`` (``a``), ``dependence_before_`` and
    ``dependence_after_`` (largest absolute pairwise correlation, unweighted and weighted) and,
    when ``y`` is given, ``misspecification_pvalue_``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> z = rng.normal(size=(500, 1))
    >>> X = np.hstack([z + 0.5 * rng.normal(size=(500, 1)), z + 0.5 * rng.normal(size=(500, 1))])
    >>> sw = SRDOWeights(random_state=0).fit(X)
    >>> bool(sw.dependence_before_ > 0.6 > sw.dependence_after_), sw.effective_sample_size_ >= 100
    (True, True)
    """

    def __init__(
        self,
        classifier: Any = None,
        C: float = 1.0,
        n_permutations: int = 5,
        n_folds: int = 5,
        min_ess: float = 0.2,
        clip: float | None = 3.0,
        alpha: float = 0.01,
        random_state: int | None = None,
    ) -> None:
        self.classifier = classifier
        self.C = C
        self.n_permutations = n_permutations
        self.n_folds = n_folds
        self.min_ess = min_ess
        self.clip = clip
        self.alpha = alpha
        self.random_state = random_state

    def _check_params(self) -> tuple[int, int]:
        k, folds = self.n_permutations, self.n_folds
        bad = (
            isinstance(k, bool)
            or int(k) < 1
            or isinstance(folds, bool)
            or int(folds) < 2
            or not 0 < float(self.min_ess) <= 1
            or not float(self.C) > 0
            or (self.clip is not None and not float(self.clip) > 1)
        )
        if bad:
            raise DataValidationError(
                "SRDOWeights needs n_permutations >= 1, n_folds >= 2, 0 < min_ess <= 1, C > 0 "
                f"and clip > 1 or None; got n_permutations={k!r}, n_folds={folds!r}, "
                f"min_ess={self.min_ess!r}, C={self.C!r}, clip={self.clip!r}"
            )
        return int(k), int(folds)

    def _classifier(self) -> Any:
        if self.classifier is not None:
            return clone(self.classifier)
        return make_pipeline(
            PolynomialFeatures(2, interaction_only=True, include_bias=False),
            StandardScaler(),
            LogisticRegression(C=float(self.C), max_iter=2000),
        )

    def _log_ratio(self, X: np.ndarray, k: int, n_folds: int) -> np.ndarray:
        """Cross-fitted log-odds ``log P(copy | x) / P(data | x)`` of every row of ``X``."""
        n, p = X.shape
        rng = np.random.default_rng(self.random_state)
        logit = np.empty(n)
        folds = KFold(n_folds, shuffle=True, random_state=int(rng.integers(2**31)))
        for train, test in folds.split(X):
            m = len(train)
            # k copies of the training rows, each column of each copy permuted independently
            order = np.argsort(rng.random((k, m, p)), axis=1)
            copies = np.take_along_axis(np.broadcast_to(X[train], (k, m, p)), order, axis=1)
            both = np.vstack([X[train], copies.reshape(-1, p)])
            label = np.r_[np.zeros(m), np.ones(k * m)]
            clf = self._classifier().fit(both, label)
            prob = np.clip(clf.predict_proba(X[test])[:, 1], 1e-12, 1 - 1e-12)
            logit[test] = np.log(prob) - np.log1p(-prob) - np.log(k)  # remove the k:1 prior
        return logit

    def fit(self, X: Any, y: Any = None) -> SRDOWeights:
        """Learn the weights of ``X``; with ``y``, also test whether the linear model is right.

        Examples
        --------
        >>> rng = np.random.default_rng(5)
        >>> X = rng.normal(size=(300, 3))
        >>> y = X @ [1.0, -1.0, 0.5] + rng.normal(size=300)     # a correct linear model
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     sw = SRDOWeights().fit(X, y)
        >>> [type(w.message).__name__ for w in caught]
        ['StableLearningWarning']
        """
        X = check_X(X)
        k, n_folds = self._check_params()
        if y is not None:
            y = np.asarray(y, dtype=float).ravel()
            if len(y) != len(X) or not np.all(np.isfinite(y)):
                raise DataValidationError(
                    f"y must hold {len(X)} finite values like the rows of X; got {len(y)} values"
                )
        n = len(X)
        self.log_ratio_ = self._log_ratio(X, k, n_folds)
        w, self.tempering_ = _tempered(self.log_ratio_, float(self.min_ess) * n)
        if self.clip is not None:
            w = _capped(w, float(self.clip))
        self._store(w)
        self.dependence_before_ = max_abs_correlation(X)
        self.dependence_after_ = max_abs_correlation(X, self.weights_)
        if self.dependence_after_ > 0.9 * self.dependence_before_:
            warnings.warn(
                "SRDO: the weights removed less than a tenth of the dependence (largest "
                f"correlation {self.dependence_before_:.2f} -> {self.dependence_after_:.2f}, "
                f"tempering a = {self.tempering_:.2f}, effective sample size "
                f"{self.effective_sample_size_:.0f} of {n}): the data hold too few rows where "
                "the covariates vary independently; expect no gain over OLS (consider "
                "StableRegressor(select_variables=True))",
                StableLearningWarning,
                stacklevel=2,
            )
        if y is not None:
            self._warn_if_linear(X, y)
        return self

    def _warn_if_linear(self, X: np.ndarray, y: np.ndarray) -> None:
        reg = default_nonlinear_regressor()
        n_basis = len(reg[0].fit(X[:2]).powers_)
        if n_basis > len(y) / 4:  # the test has next to no power: no verdict, no warning
            self.misspecification_pvalue_ = float("nan")
            return
        pval = misspecification_pvalue(X, y, reg, 2, self.random_state)
        self.misspecification_pvalue_ = pval
        if pval >= float(self.alpha):
            warnings.warn(
                f"SRDO: the linear model of y on X shows no misspecification (p = {pval:.2g}); "
                "least squares is then unbiased under any covariate shift and reweighting only "
                f"loses efficiency (effective sample size {self.effective_sample_size_:.0f} of "
                f"{len(y)}): expect SRDO to be no better than OLS; use "
                "StableRegressor(do_no_harm=True)",
                StableLearningWarning,
                stacklevel=3,
            )
