"""Heckman (1979) sample-selection model: two-step ("Heckit") and full maximum likelihood.

Model: ``S* = W gamma + u``, ``S = 1[S* > 0]``; ``Y = X beta + e`` observed only when
``S = 1``; ``(u, e)`` bivariate normal with ``sd(u) = 1``, ``sd(e) = sigma``,
``corr = rho``. Then ``E[Y | X, S=1] = X beta + rho sigma lambda(W gamma)`` with the inverse
Mills ratio ``lambda = phi / Phi``. ``X`` is the intercept, the ``covariates`` and the
``treatment`` (if any); the selection equation ``W`` holds ``X`` and the ``instruments``: the
variables excluded from the outcome equation (the exclusion restriction, without which the
model rests on the normal shape alone). In a graph these are the parents of the selection
node ``S`` that are not parents of ``Y``.

>>> from deepcause.datasets import load_mroz
>>> mroz = load_mroz().data
>>> h = HeckmanSelection().fit(mroz, outcome="lwage", selection="inlf",
...                            covariates=["educ", "exper", "expersq"],
...                            instruments=["nwifeinc", "age", "kidslt6", "kidsge6"])
>>> round(float(h.coef_["educ"]), 5), round(float(h.coef_["lambda"]), 5)
(0.10907, 0.03226)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import log_ndtr

from ..._parameters import Interval, StrOptions, check_is_fitted
from ..._validation import require_columns
from ...exceptions import DataValidationError
from ...graph.causal_graph import CausalGraph
from ...results import EffectEstimate, coef_table
from .._base import _roles_from_estimand
from ._common import (
    ExclusionRestrictionWarning,
    SelectionData,
    SelectionEstimator,
    central_jacobian,
    mills_ratio,
    probit_fit,
    resolve_selection_data,
)

__all__ = ["HeckmanSelection", "selection_graph"]


def selection_graph(
    outcome: str,
    selection: str,
    covariates: Sequence[str],
    instruments: Sequence[str],
    treatment: str | None = None,
) -> CausalGraph:
    """The graph of a selection model: covariates -> Y and S, instruments -> S, S <-> Y.

    ``S <-> Y`` says the unobserved parts of selection and outcome are correlated (the reason
    for selection bias); ``Y`` is observed only when ``S = 1``. A ``treatment`` is caused by
    the covariates and causes ``Y`` and ``S``.

    Examples
    --------
    >>> g = selection_graph("Y", "S", ["x"], ["z"])
    >>> sorted(g.parents("S")), sorted(g.parents("Y")), g.bidirected_edges
    (['x', 'z'], ['x'], (('S', 'Y'),))
    """
    covs, zs = list(covariates), list(instruments)
    ts = [treatment] if treatment else []
    directed = [(c, v) for c in [*covs, *ts] for v in (outcome, selection)]
    directed += [(z, selection) for z in zs] + [(c, t) for c in covs for t in ts]
    nodes = list(dict.fromkeys([*zs, *covs, *ts]))
    return CausalGraph.from_edges(
        directed, bidirected=[(selection, outcome)], nodes=[*nodes, selection, outcome]
    )


def _roles_from_graph(
    graph: CausalGraph, outcome: str, selection: str, treatment: str | None
) -> tuple[list[str], list[str]]:
    """(covariates, instruments): parents of the outcome, and parents only of selection."""
    if not isinstance(graph, CausalGraph):
        graph = CausalGraph(graph)
    graph.check_nodes([outcome], role="outcome")
    graph.check_nodes([selection], role="selection")
    if outcome in graph.parents(selection):
        raise DataValidationError(
            f"the graph has {outcome} -> {selection}: selection depending directly on the "
            "outcome is not a Heckman model; use ShadowVariableEstimator"
        )
    order = {v: i for i, v in enumerate(graph.nodes)}
    y_parents = graph.parents(outcome) - {selection, treatment}
    s_only = graph.parents(selection) - y_parents - {treatment}
    return sorted(y_parents, key=order.__getitem__), sorted(s_only, key=order.__getitem__)


def _detect_selection(data: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, str]:
    """A 0/1 column equal to "outcome observed", else that indicator added as ``_selected``."""
    observed = data[outcome].notna().to_numpy()
    for c in data.columns:
        col = data[c]
        if c == outcome or not pd.api.types.is_numeric_dtype(col) or col.isna().any():
            continue
        vals = col.to_numpy()
        if set(np.unique(vals).tolist()) <= {0, 1} and np.array_equal(vals.astype(bool), observed):
            return data, str(c)
    return data.assign(_selected=observed.astype(int)), "_selected"


class HeckmanSelection(SelectionEstimator):
    """Heckman selection model for an outcome observed only when ``selection == 1``.

    ``fit(data, *, outcome=, selection=, covariates=, instruments=, treatment=None,
    graph=None)``: ``covariates`` (and ``treatment``) enter the outcome equation and the
    selection equation, ``instruments`` only the selection equation. With ``graph`` and no
    lists, the covariates are the parents of ``outcome`` and the instruments the other parents
    of ``selection``. ``fit(data, estimand, graph=g)`` (used by
    :func:`~deepcause.estimate.api.estimate_effect`) takes treatment, outcome and covariates
    from a back-door estimand; the selection indicator is ``selection=`` if given, else a 0/1
    column equal to "outcome observed", else that indicator itself; without ``instruments=``
    or a graph every other numeric column enters the selection equation.

    ``effect(treatment=1, control=0)`` is the effect of the treatment on the latent outcome of
    the whole population (``beta_t`` times ``treatment - control``), ``mean()`` the
    selection-corrected population mean ``E[Y]``, ``mean(treatment=t)`` ``E[Y | do(T=t)]``
    and ``coefficient(name)`` any outcome-equation coefficient.

    Parameters
    ----------
    method : {"twostep", "mle"}, default "twostep"
        ``"twostep"``: probit, then OLS of Y on X and the inverse Mills ratio on the selected
        rows, with Heckman's standard errors corrected for the generated regressor.
        ``"mle"``: joint maximum likelihood (standard errors from the observed information),
        started from the two-step estimate.
    max_iter : int, default 500
        Iteration limit of the likelihood maximisation.

    Attributes
    ----------
    coef_, std_error_ : pandas.Series
        Outcome equation, including ``lambda`` = rho * sigma.
    cov_ : ndarray
        Their covariance.
    selection_coef_, selection_std_error_ : pandas.Series
        Selection (probit) equation; ``selection_cov_`` its covariance.
    rho_, sigma_ : float
        Error correlation and outcome error standard deviation.
    n_selected_ : int
        Number of selected units.
    loglik_ : float
        Log-likelihood (``method="mle"`` only).

    Examples
    --------
    >>> from deepcause.simulate import make_selection
    >>> ds = make_selection(4000, "unobservables", random_state=0)
    >>> h = HeckmanSelection().fit(ds.data, outcome="y", selection="s", treatment="t",
    ...                            covariates=["x"], instruments=["z"])
    >>> eff = h.effect(treatment=1, control=0)
    >>> bool(abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error), eff.query
    (True, 'E[y | do(t=1)] − E[y | do(t=0)]')
    >>> m = h.mean()
    >>> bool(abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error)
    True
    """

    _roles: ClassVar[tuple[str, ...]] = (*SelectionEstimator._roles, "graph")
    #: estimand kinds ``fit(data, estimand)`` takes (treatment, outcome, covariates from it)
    supported_kinds: ClassVar[tuple[str, ...]] = ("backdoor",)
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [StrOptions({"twostep", "mle"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, method: str = "twostep", max_iter: int = 500) -> None:
        self.method = method
        self.max_iter = max_iter

    @property
    def method_name(self) -> str:  # type: ignore[override]
        """``"Heckman (twostep)"`` or ``"Heckman (mle)"``, the results' ``method``.

        >>> HeckmanSelection(method="mle").method_name
        'Heckman (mle)'
        """
        return f"Heckman ({self.method})"

    # ------------------------------------------------------------------ fit
    def _prepare(
        self,
        data: Any,
        estimand: Any,
        *,
        outcome: str | None = None,
        selection: str | None = None,
        covariates: Sequence[str] | None = None,
        instruments: Sequence[str] | None = None,
        treatment: str | None = None,
        graph: Any = None,
    ) -> SelectionData:
        if estimand is not None:
            treatment, outcome, adjust = _roles_from_estimand(
                estimand, "HeckmanSelection", self.supported_kinds
            )
            if covariates is None:
                covariates = [c for c in adjust if c != treatment]
            if selection is None:
                data, selection = _detect_selection(data, outcome)
        if graph is not None and (covariates is None or instruments is None):
            xs, zs = _roles_from_graph(graph, str(outcome), str(selection), treatment)
            covariates = xs if covariates is None else covariates
            instruments = zs if instruments is None else instruments
        if estimand is not None and instruments is None:
            used = {outcome, selection, treatment, *covariates}
            instruments = [
                str(c)
                for c in data.columns
                if c not in used and pd.api.types.is_numeric_dtype(data[c])
            ]
        return resolve_selection_data(
            data,
            outcome=outcome,
            selection=selection,
            covariates=covariates,
            treatment=treatment,
            instruments=instruments,
        )

    def _fit_prepared(self, data: SelectionData) -> None:
        X = data.C if data.t is None else np.column_stack([data.C, data.t])
        x_names = [
            "const",
            *data.covariate_names,
            *([data.treatment] if data.t is not None else []),
        ]
        W = X if data.Z is None else np.column_stack([X, data.Z])
        w_names = [*x_names, *data.instrument_names]
        if data.Z is None:
            warnings.warn(
                f"no instrument is excluded from the outcome equation of {data.outcome!r}: the "
                "model is then identified only through the normality assumption (the inverse "
                "Mills ratio is nearly collinear with the covariates). Pass instruments=[...]: "
                f"variables that affect {data.selection!r} but not {data.outcome!r}.",
                ExclusionRestrictionWarning,
                stacklevel=3,
            )
        sel = data.s == 1
        self._check_rank(W, X, sel, w_names)
        gamma, v_gamma = probit_fit(W, data.s)
        self._two_step(W, X, data.y, sel, gamma, v_gamma)
        if self.method == "mle":
            self._mle(W, X, data.y, sel)
        names = [*x_names, "lambda"]
        self.coef_ = pd.Series(self._beta, index=names, name="coef")
        self.std_error_ = pd.Series(np.sqrt(np.diag(self.cov_)), index=names, name="std_error")
        self.selection_coef_ = pd.Series(self._gamma, index=w_names, name="coef")
        self.selection_std_error_ = pd.Series(
            np.sqrt(np.diag(self.selection_cov_)), index=w_names, name="std_error"
        )
        self.n_selected_ = int(sel.sum())
        self._X_all = X

    @staticmethod
    def _check_rank(W: np.ndarray, X: np.ndarray, sel: np.ndarray, w_names: list[str]) -> None:
        if W.shape[1] == 1:
            raise DataValidationError(
                "HeckmanSelection needs selection covariates: with no covariates= and no "
                "instruments= the inverse Mills ratio is a constant, collinear with the "
                "intercept; pass instruments=[...] (variables that move selection, not the outcome)"
            )
        if np.linalg.matrix_rank(W) < W.shape[1] or np.linalg.matrix_rank(X[sel]) < X.shape[1]:
            raise DataValidationError(
                f"the Heckman design {w_names} is rank-deficient (collinear or, among the "
                f"{int(sel.sum())} selected rows, constant columns); drop the redundant columns"
            )

    def _two_step(self, W, X, y, sel, gamma, v_gamma) -> None:  # noqa: ANN001
        a = W[sel] @ gamma
        lam = mills_ratio(a)
        Xs = np.column_stack([X[sel], lam])
        ys = y[sel]
        beta = np.linalg.lstsq(Xs, ys, rcond=None)[0]
        resid = ys - Xs @ beta
        delta = lam * (lam + a)
        b_lam = beta[-1]
        sigma2 = resid @ resid / len(ys) + delta.mean() * b_lam**2
        rho2 = min(b_lam**2 / sigma2, 1.0)
        xtx_inv = np.linalg.inv(Xs.T @ Xs)
        xdx = (Xs * (1.0 - rho2 * delta)[:, None]).T @ Xs
        xdw = (Xs * delta[:, None]).T @ W[sel]
        q = rho2 * xdw @ v_gamma @ xdw.T
        self._beta = beta
        self.cov_ = sigma2 * xtx_inv @ (xdx + q) @ xtx_inv
        self._gamma, self.selection_cov_ = gamma, v_gamma
        self.sigma_ = float(np.sqrt(sigma2))
        self.rho_ = float(np.sign(b_lam) * np.sqrt(rho2))

    def _mle(self, W, X, y, sel) -> None:  # noqa: ANN001
        kw, kx = W.shape[1], X.shape[1]
        y1, W1, X1, W0 = y[sel], W[sel], X[sel], W[~sel]
        rho0 = float(np.clip(self.rho_, -0.95, 0.95))
        start = np.concatenate(
            [self._gamma, self._beta[:-1], [np.log(self.sigma_), np.arctanh(rho0)]]
        )

        def negloglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
            g, b = theta[:kw], theta[kw : kw + kx]
            sigma, rho = np.exp(theta[-2]), np.tanh(theta[-1])
            r = np.sqrt(1.0 - rho * rho)
            a0 = W0 @ g
            a1 = W1 @ g
            u = (y1 - X1 @ b) / sigma
            bb = (a1 + rho * u) / r
            ll = log_ndtr(-a0).sum() + (log_ndtr(bb) - np.log(sigma) - 0.5 * u * u).sum()
            m0, m1 = mills_ratio(-a0), mills_ratio(bb)
            grad = np.empty_like(theta)
            grad[:kw] = -W0.T @ m0 + W1.T @ (m1 / r)
            grad[kw : kw + kx] = X1.T @ (u / sigma - m1 * rho / (sigma * r))
            grad[-2] = np.sum(-m1 * rho * u / r - 1.0 + u * u)
            grad[-1] = np.sum(m1 * (u + rho * a1) / r)
            return -float(ll - 0.5 * len(y1) * np.log(2 * np.pi)), -grad

        res = optimize.minimize(
            negloglik,
            start,
            jac=True,
            method="BFGS",
            options={"maxiter": self.max_iter, "gtol": 1e-8},
        )
        theta = res.x
        if not np.isfinite(res.fun) or np.max(np.abs(res.jac)) > 1e-3:
            raise DataValidationError(  # pragma: no cover - reported, not expected
                f"Heckman maximum likelihood did not converge ({res.message}); try "
                "method='twostep' or rescale the covariates"
            )
        hess = central_jacobian(lambda th: negloglik(th)[1], theta, eps=1e-5)
        hess = 0.5 * (hess + hess.T)
        cov_theta = np.linalg.inv(hess)
        sigma, rho = float(np.exp(theta[-2])), float(np.tanh(theta[-1]))
        # lambda = rho * sigma; delta method from (log sigma, atanh rho)
        jac = np.zeros((kx + 1, len(theta)))
        jac[:kx, kw : kw + kx] = np.eye(kx)
        jac[kx, -2] = rho * sigma
        jac[kx, -1] = sigma * (1.0 - rho * rho)
        self._beta = np.concatenate([theta[kw : kw + kx], [rho * sigma]])
        self.cov_ = jac @ cov_theta @ jac.T
        self._gamma = theta[:kw]
        self.selection_cov_ = cov_theta[:kw, :kw]
        self.sigma_, self.rho_ = sigma, rho
        self.loglik_ = -float(res.fun)

    # ------------------------------------------------------------------ results
    def _outcome_index(self, name: str) -> int:
        if name not in self.coef_.index:
            raise DataValidationError(
                f"{name!r} is not an outcome-equation coefficient; available: "
                f"{list(self.coef_.index)}"
            )
        return int(self.coef_.index.get_loc(name))

    def coefficient(self, name: str) -> EffectEstimate:
        """One outcome-equation coefficient (incl. ``lambda`` = rho * sigma) as an estimate.

        Examples
        --------
        >>> from deepcause.datasets import load_mroz
        >>> h = HeckmanSelection().fit(load_mroz().data, outcome="lwage", selection="inlf",
        ...                            covariates=["educ", "exper", "expersq"],
        ...                            instruments=["nwifeinc", "age", "kidslt6", "kidsge6"])
        >>> c = h.coefficient("educ")
        >>> round(c.value, 5), round(c.std_error, 3), c.quantity
        (0.10907, 0.016, 'coef[educ]')
        """
        check_is_fitted(self)
        i = self._outcome_index(name)
        return self._estimate(
            float(self.coef_.iloc[i]),
            float(self.cov_[i, i]),
            f"coef[{name}]",
            f"coefficient of {name} in the {self.data_.outcome} equation",
        )

    def coef_table(self, alpha: float = 0.05) -> pd.DataFrame:
        """Outcome equation: ``estimate, std_error, ci_lower, ci_upper, p_value``.

        Examples
        --------
        >>> from deepcause.datasets import load_mroz
        >>> h = HeckmanSelection().fit(load_mroz().data, outcome="lwage", selection="inlf",
        ...                            covariates=["educ", "exper", "expersq"],
        ...                            instruments=["nwifeinc", "age", "kidslt6", "kidsge6"])
        >>> h.coef_table().round(5).loc["lambda", ["estimate", "std_error"]].tolist()
        [0.03226, 0.13362]
        """
        check_is_fitted(self)
        return coef_table(self.coef_, self.std_error_, list(self.coef_.index), alpha)

    def _effect_estimate(self, t1: Any, t0: Any) -> tuple[float, float]:
        i = self._outcome_index(str(self.data_.treatment))
        step = float(t1) - float(t0)
        return step * float(self.coef_.iloc[i]), step**2 * float(self.cov_[i, i])

    def _mean_estimate(self, t: Any) -> tuple[float, float]:
        X = self._X_all
        if t is not None:
            X = X.copy()
            X[:, -1] = float(t)
        xbar = X.mean(0)
        beta = self._beta[:-1]
        V = self.cov_[:-1, :-1]
        return float(xbar @ beta), float(xbar @ V @ xbar + np.var(X @ beta, ddof=1) / len(X))

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Latent (selection-free) outcome ``X beta`` for the rows of ``data`` (by column name).

        Examples
        --------
        >>> import pandas as pd
        >>> from deepcause.datasets import load_mroz
        >>> h = HeckmanSelection().fit(load_mroz().data, outcome="lwage", selection="inlf",
        ...                            covariates=["educ", "exper", "expersq"],
        ...                            instruments=["nwifeinc", "age", "kidslt6", "kidsge6"])
        >>> new = pd.DataFrame({"expersq": [100.0], "educ": [12.0], "exper": [10.0]})
        >>> c = h.coef_
        >>> manual = c["const"] + 12 * c["educ"] + 10 * c["exper"] + 100 * c["expersq"]
        >>> bool(abs(h.predict(new)[0] - manual) < 1e-12)
        True
        """
        check_is_fitted(self)
        names = [c for c in self.coef_.index if c not in ("const", "lambda")]
        require_columns(data, names, role="outcome-equation")
        X = np.column_stack([np.ones(len(data)), data[names].to_numpy(dtype=float)])
        return X @ self._beta[:-1]

    def _diagnostics(self) -> dict[str, Any]:
        notes = []
        if not self.data_.instrument_names:
            notes.append(
                "no exclusion restriction: the selection correction rests on the normality "
                "assumption alone"
            )
        return {
            "notes": tuple(notes),
            "rho": self.rho_,
            "sigma": self.sigma_,
            "lambda": float(self._beta[-1]),
            "n_selected": self.n_selected_,
            "excluded": self.data_.instrument_names,
        }

    def _summary_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("excluded (instruments)", ", ".join(self.data_.instrument_names) or "none"),
            ("rho, sigma", f"{self.rho_:.4g}, {self.sigma_:.4g}"),
        ]
        if self.method == "mle":
            rows.append(("log-likelihood", f"{self.loglik_:.6g}"))
        return rows

    def _summary_table(self, alpha: float) -> pd.DataFrame:
        return self.coef_table(alpha)
