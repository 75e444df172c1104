"""Two-stage least squares, the Wald estimator and polynomial (sieve) 2SLS.

The structural function is linear in parameters, ``h(t, x) = f(t, x) @ beta`` with
``f(t, x) = [1, t, x]`` by default or any scikit-learn transformer of ``[t, x]``; the instrument
matrix is ``[1, z, x]`` or a transformer of ``[z, x]``. Standard errors are classical
(``cov_type="nonrobust"``) or heteroskedasticity-robust (``"HC0"``, ``"HC1"``). Diagnostics:
first-stage F statistics (one per treatment, robust Wald version under a robust ``cov_type``),
the Cragg-Donald minimum-eigenvalue F for several treatments, and the Sargan and Hansen J
over-identification tests when there are more instruments than treatments.

>>> from deepcause.simulate.iv import make_linear_iv
>>> ds = make_linear_iv(2000, effect=2.0, random_state=0)
>>> est = TwoStageLeastSquares().fit(ds.data, treatment="d", outcome="y",
...                                  instruments=["z1", "z2"], covariates=["x1", "x2"])
>>> round(est.effect(treatment=1, control=0).value, 1)
2.0
>>> est.first_stage_f_["d"] > 10, est.overid_test_["sargan"]["df"]
(True, 1)
>>> est.coef_table().columns.tolist()
['estimate', 'std_error', 'ci_lower', 'ci_upper', 'p_value']
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from ..._parameters import HasMethods, Interval, StrOptions, check_is_fitted
from ...exceptions import DataValidationError
from ...results import coef_table
from ._base import BaseIVEstimator, IVData
from ._strength import warn_weak_instruments

__all__ = ["TwoStageLeastSquares", "WaldEstimator", "PolynomialTwoStageLeastSquares"]

_TRANSFORMER = [None, HasMethods(["fit", "transform"])]


def _lstsq(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(A, B, rcond=None)[0]


def _resid(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return B - A @ _lstsq(A, B)


def _feature_names(transformer: Any, names: list[str], prefix: str) -> list[str]:
    try:
        return [str(n) for n in transformer.get_feature_names_out(names)]
    except (AttributeError, TypeError, ValueError):
        k = transformer.transform(np.zeros((1, len(names)))).shape[1]
        return [f"{prefix}{i}" for i in range(k)]


def _sandwich(Dhat: np.ndarray, u: np.ndarray, cov_type: str, n: int, k: int) -> np.ndarray:
    bread = np.linalg.pinv(Dhat.T @ Dhat)
    if cov_type == "nonrobust":
        return bread * (u @ u) / (n - k)
    meat = (Dhat * (u**2)[:, None]).T @ Dhat
    V = bread @ meat @ bread
    return V * n / (n - k) if cov_type == "HC1" else V


class TwoStageLeastSquares(BaseIVEstimator):
    """Two-stage least squares with several instruments, treatments and exogenous covariates.

    Parameters
    ----------
    cov_type : {"HC1", "HC0", "nonrobust"}, default "HC1"
        ``"HC1"`` is heteroskedasticity-robust with the n/(n-k) correction, ``"nonrobust"``
        classical (as in textbooks).
    features : transformer, optional
        ``None`` for ``h = [1, t, x] @ beta``, or a scikit-learn transformer applied to the
        matrix ``[t, x]`` (treatments first, then covariates) for a nonlinear ``h``; a constant
        column is added unless the transformer makes one.
    instrument_features : transformer, optional
        ``None`` for ``[1, z, x]``, or a transformer of ``[z, x]``; it needs at least as many
        columns as ``features`` makes.
    weak_instrument_threshold : float, default 10
        Warn (``WeakInstrumentWarning``) when a first-stage F statistic is below this
        (Staiger-Stock / Stock-Yogo rule of thumb).

    Attributes
    ----------
    coef_, std_error_ : pandas.Series
        Coefficients and standard errors by regressor name (``const``, treatments, covariates).
    cov_ : pandas.DataFrame
        Their covariance.
    first_stage_f_ : dict
        Treatment -> first-stage F (robust Wald version under a robust ``cov_type``).
    cragg_donald_f_ : float
        Cragg-Donald minimum-eigenvalue F (equals the first-stage F with one treatment).
    overid_test_ : dict or None
        Sargan and Hansen J tests (``statistic, df, pvalue``); ``None`` when exactly
        identified.
    df_resid_ : int
        Residual degrees of freedom.

    Examples
    --------
    >>> from deepcause.datasets import load_card
    >>> controls = ["exper", "expersq", "black", "smsa", "south", "smsa66"]
    >>> controls += [f"reg66{i}" for i in range(2, 10)]
    >>> est = TwoStageLeastSquares(cov_type="nonrobust").fit(
    ...     load_card().data, treatment="educ", outcome="lwage", instruments=["nearc4"],
    ...     covariates=controls)
    >>> round(est.effect(treatment=1, control=0).value, 5), round(float(est.std_error_["educ"]), 5)
    (0.1315, 0.05496)
    >>> bool(est.coef_table().loc["educ", "p_value"] < 0.05)
    True
    """

    method_name: ClassVar[str] = "2SLS"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "cov_type": [StrOptions({"nonrobust", "HC0", "HC1"})],
        "features": _TRANSFORMER,
        "instrument_features": _TRANSFORMER,
        "weak_instrument_threshold": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        cov_type: str = "HC1",
        features: Any = None,
        instrument_features: Any = None,
        weak_instrument_threshold: float = 10.0,
    ) -> None:
        self.cov_type = cov_type
        self.features = features
        self.instrument_features = instrument_features
        self.weak_instrument_threshold = weak_instrument_threshold

    # ------------------------------------------------------------------ design matrices
    def _design(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        TX = np.hstack([T, X])
        if self.features_ is None:
            return np.hstack([np.ones((len(TX), 1)), TX])
        F = self.features_.transform(TX)
        return np.hstack([np.ones((len(F), 1)), F]) if self.add_const_ else F

    def _instrument_matrix(self, data: IVData) -> np.ndarray:
        ZX = np.hstack([data.Z, data.X])
        if self.instrument_features_ is None:
            return np.hstack([np.ones((len(ZX), 1)), ZX])
        W = self.instrument_features_.transform(ZX)
        has_const = bool(np.any(np.ptp(W, axis=0) == 0))
        return W if has_const else np.hstack([np.ones((len(W), 1)), W])

    def _feature_spec(self) -> tuple[Any, Any]:
        """The (structural, instrument) feature transformers; ``None`` means linear."""
        return self.features, self.instrument_features

    def _setup_features(self, data: IVData, features: Any) -> list[str]:
        tx_names = [*data.treatment_names, *data.covariate_names]
        if features is None:
            self.features_ = None
            self.add_const_ = True
            return ["const", *tx_names]
        self.features_ = clone(features).fit(np.hstack([data.T, data.X]))
        names = _feature_names(self.features_, tx_names, "f")
        F = self.features_.transform(np.hstack([data.T, data.X]))
        self.add_const_ = not bool(np.any(np.ptp(F, axis=0) == 0))
        return ["const", *names] if self.add_const_ else names

    # ------------------------------------------------------------------ fitting
    def _fit_prepared(self, data: IVData) -> None:
        features, instrument_features = self._feature_spec()
        names = self._setup_features(data, features)
        self.instrument_features_ = (
            None
            if instrument_features is None
            else clone(instrument_features).fit(np.hstack([data.Z, data.X]))
        )
        D = self._design(data.T, data.X)
        W = self._instrument_matrix(data)
        n, k = D.shape
        rank_w = np.linalg.matrix_rank(W)
        if rank_w < np.linalg.matrix_rank(D):
            raise DataValidationError(
                f"{type(self).__name__}: the structural features have rank "
                f"{np.linalg.matrix_rank(D)} but the instruments only {rank_w}; use richer "
                "instrument_features (at least as many independent columns) or fewer features."
            )
        if n <= k:
            raise DataValidationError(f"{n} rows are too few for {k} regressors")
        Dhat = W @ _lstsq(W, D)
        beta = _lstsq(Dhat, data.y)
        u = data.y - D @ beta
        cov = _sandwich(Dhat, u, self.cov_type, n, k)
        self.coef_ = pd.Series(beta, index=names, name="coef")
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.std_error_ = pd.Series(np.sqrt(np.clip(np.diag(cov), 0, None)), index=names)
        self.residuals_ = u
        self.df_resid_ = n - k
        self._first_stage(data)
        self.overid_test_ = self._overid(D, W, u, data.y, k) if rank_w > k else None
        self._warn_weak()

    def _first_stage(self, data: IVData) -> None:
        """First-stage F per treatment (raw Z excluded from [1, X]) and Cragg-Donald F."""
        n = data.n
        exog = np.hstack([np.ones((n, 1)), data.X])
        full = np.hstack([exog, data.Z])
        q, l_full = data.Z.shape[1], np.linalg.matrix_rank(full)
        self.first_stage_f_ = {}
        for j, name in enumerate(data.treatment_names):
            t = data.T[:, j]
            g = _lstsq(full, t)
            e_u = t - full @ g
            if self.cov_type == "nonrobust":
                e_r = _resid(exog, t)
                f = ((e_r @ e_r - e_u @ e_u) / q) / (e_u @ e_u / (n - l_full))
            else:
                V = _sandwich(full, e_u, self.cov_type, n, l_full)
                gz, Vz = g[-q:], V[-q:, -q:]
                f = float(gz @ np.linalg.pinv(Vz) @ gz) / q
            self.first_stage_f_[name] = float(f)
        Tt, Zt = _resid(exog, data.T), _resid(exog, data.Z)
        fitted = Zt @ _lstsq(Zt, Tt)
        resid = Tt - fitted
        s_vv = resid.T @ resid / (n - l_full)
        w, V = np.linalg.eigh(s_vv)
        inv_half = V @ np.diag(1 / np.sqrt(np.clip(w, 1e-300, None))) @ V.T
        G = inv_half @ (fitted.T @ fitted) @ inv_half / q
        self.cragg_donald_f_ = float(np.linalg.eigvalsh(G).min())

    def _overid(
        self, D: np.ndarray, W: np.ndarray, u: np.ndarray, y: np.ndarray, k: int
    ) -> dict[str, dict[str, float]]:
        n = len(u)
        dof = int(np.linalg.matrix_rank(W) - k)
        e = _resid(W, u)
        uc = u - u.mean()
        sargan = n * (1 - (e @ e) / (uc @ uc))
        # Hansen J from efficient two-step GMM with the 2SLS residuals' weight matrix
        S = (W * (u**2)[:, None]).T @ W / n
        S_inv = np.linalg.pinv(S)
        A = D.T @ W @ S_inv
        b_gmm = _lstsq(A @ W.T @ D, A @ W.T @ y)
        g = W.T @ (y - D @ b_gmm) / n
        j = n * float(g @ S_inv @ g)
        return {
            "sargan": {
                "statistic": float(sargan),
                "df": dof,
                "pvalue": float(stats.chi2.sf(sargan, dof)),
            },
            "hansen_j": {"statistic": j, "df": dof, "pvalue": float(stats.chi2.sf(j, dof))},
        }

    def _warn_weak(self) -> None:
        warn_weak_instruments(
            self.first_stage_f_, self.weak_instrument_threshold, self.method_name or "2SLS"
        )

    # ------------------------------------------------------------------ prediction
    def _predict(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self._design(T, X) @ self.coef_.to_numpy()

    def _linear_std_error(self, D: np.ndarray) -> float:
        g = D.mean(axis=0)
        return float(np.sqrt(max(g @ self.cov_.to_numpy() @ g, 0.0)))

    def _effect_std_error(self, T0: np.ndarray, T1: np.ndarray, X: np.ndarray) -> float:
        return self._linear_std_error(self._design(T1, X) - self._design(T0, X))

    def _mean_std_error(self, T: np.ndarray, X: np.ndarray) -> float:
        return self._linear_std_error(self._design(T, X))

    def _effect_diagnostics(self) -> dict[str, Any]:
        notes = []
        if len(self.first_stage_f_) > 1:
            each = ", ".join(f"{k} {v:.3g}" for k, v in self.first_stage_f_.items())
            notes.append(
                f"first-stage F per treatment: {each}; Cragg-Donald F = {self.cragg_donald_f_:.3g}"
            )
        if self.overid_test_ is not None:
            sargan, hansen = self.overid_test_["sargan"], self.overid_test_["hansen_j"]
            reject = min(sargan["pvalue"], hansen["pvalue"]) < 0.05
            notes.append(
                ("exclusion warning: " if reject else "")
                + f"over-identification ({sargan['df']} extra instrument(s)): Sargan "
                f"{sargan['statistic']:.3g} (p = {sargan['pvalue']:.3g}), Hansen J "
                f"{hansen['statistic']:.3g} (p = {hansen['pvalue']:.3g})"
                + ("; some instrument violates the exclusion restriction" if reject else "")
            )
        return {
            "first_stage_f": min(self.first_stage_f_.values()),
            "notes": tuple(notes),
            "first_stage_f_by_treatment": dict(self.first_stage_f_),
            "cragg_donald_f": self.cragg_donald_f_,
            "overid_test": self.overid_test_,
            "cov_type": self.cov_type,
        }

    def coef_table(self, alpha: float = 0.05) -> pd.DataFrame:
        """The structural coefficients: ``estimate, std_error, ci_lower, ci_upper, p_value``.

        Normal intervals and p-values with the standard errors of ``cov_type``.

        Examples
        --------
        >>> from deepcause.simulate.iv import make_linear_iv
        >>> ds = make_linear_iv(2000, effect=2.0, random_state=0)
        >>> est = TwoStageLeastSquares().fit(ds.data, treatment="d", outcome="y",
        ...                                  instruments=["z1", "z2"], covariates=["x1", "x2"])
        >>> table = est.coef_table(alpha=0.1)
        >>> list(table.index), bool(table.loc["d", "ci_lower"] < 2.0 < table.loc["d", "ci_upper"])
        (['const', 'd', 'x1', 'x2'], True)
        """
        check_is_fitted(self)
        return coef_table(self.coef_, self.std_error_, list(self.coef_.index), alpha)

    def _summary_table(self, alpha: float) -> pd.DataFrame:
        return self.coef_table(alpha)


class WaldEstimator(TwoStageLeastSquares):
    """The Wald (ratio) estimator: one instrument, one treatment, no covariates.

    ``beta = cov(z, y) / cov(z, t)``; for a binary instrument this is
    ``(E[Y|Z=1] - E[Y|Z=0]) / (E[T|Z=1] - E[T|Z=0])``. Standard errors are those of the
    just-identified IV regression (delta method). Parameters as :class:`TwoStageLeastSquares`;
    ``reduced_form_`` and ``first_stage_`` hold the numerator and the denominator.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, 4000); w = rng.normal(size=4000)
    >>> t = 1.0 * z + w + rng.normal(size=4000); y = 3.0 * t - 2 * w + rng.normal(size=4000)
    >>> est = WaldEstimator().fit(pd.DataFrame({"z": z, "t": t, "y": y}),
    ...                           treatment="t", outcome="y", instruments=["z"])
    >>> bool(abs(est.effect().value - 3.0) < 3 * est.effect().std_error)
    True
    >>> bool(np.isclose(est.reduced_form_ / est.first_stage_, est.coef_["t"]))
    True
    """

    method_name: ClassVar[str] = "Wald"

    def _fit_prepared(self, data: IVData) -> None:
        if data.Z.shape[1] != 1 or data.T.shape[1] != 1 or data.X.shape[1]:
            raise DataValidationError(
                f"WaldEstimator takes exactly one instrument, one treatment and no covariates "
                f"(got {data.Z.shape[1]}, {data.T.shape[1]}, {data.X.shape[1]}); use "
                "TwoStageLeastSquares for several instruments or covariates."
            )
        if self.features is not None or self.instrument_features is not None:
            raise DataValidationError(
                "WaldEstimator is linear; use TwoStageLeastSquares(features=)"
            )
        z = data.Z[:, 0]
        binary = set(np.unique(z).tolist()) <= {0.0, 1.0}
        if binary:
            on = z == 1
            self.reduced_form_ = float(data.y[on].mean() - data.y[~on].mean())
            self.first_stage_ = float(data.T[on, 0].mean() - data.T[~on, 0].mean())
        else:
            zc = z - z.mean()
            self.reduced_form_ = float(zc @ data.y / (zc @ zc))
            self.first_stage_ = float(zc @ data.T[:, 0] / (zc @ zc))
        super()._fit_prepared(data)


class PolynomialTwoStageLeastSquares(TwoStageLeastSquares):
    """Sieve 2SLS with polynomial features of standardized ``[t, x]`` and ``[z, x]``.

    A nonlinear ``h`` is identified when the instrument polynomial has at least as many terms.

    Parameters
    ----------
    degree : int, default 2
        Degree of the polynomial in the treatments and covariates.
    instrument_degree : int, optional
        Degree of the polynomial in the instruments and covariates (default: ``degree``).
    cov_type, weak_instrument_threshold
        As in :class:`TwoStageLeastSquares`.

    Examples
    --------
    >>> from deepcause.simulate.iv import make_demand
    >>> ds = make_demand(3000, rho=0.5, random_state=0)
    >>> est = PolynomialTwoStageLeastSquares(degree=2).fit(
    ...     ds.data, treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    >>> est.coef_.shape
    (10,)
    """

    method_name: ClassVar[str] = "polynomial 2SLS"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **TwoStageLeastSquares._parameter_constraints,
        "degree": [Interval(Integral, 1, None, closed="left")],
        "instrument_degree": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        degree: int = 2,
        instrument_degree: int | None = None,
        cov_type: str = "HC1",
        weak_instrument_threshold: float = 10.0,
    ) -> None:
        self.degree = degree
        self.instrument_degree = instrument_degree
        self.cov_type = cov_type
        self.weak_instrument_threshold = weak_instrument_threshold

    def _feature_spec(self) -> tuple[Any, Any]:
        zdeg = self.degree if self.instrument_degree is None else self.instrument_degree
        return (
            make_pipeline(StandardScaler(), PolynomialFeatures(self.degree, include_bias=False)),
            make_pipeline(StandardScaler(), PolynomialFeatures(zdeg, include_bias=False)),
        )
