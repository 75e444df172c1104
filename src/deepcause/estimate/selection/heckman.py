"""Heckman (1979) sample-selection model: two-step ("Heckit") and full maximum likelihood.

Model: ``S* = W gamma + u``, ``S = 1[S* > 0]``; ``Y = X beta + e`` observed only when
``S = 1``; ``(u, e)`` bivariate normal with ``sd(u) = 1``, ``sd(e) = sigma``,
``corr = rho``. Then ``E[Y | X, S=1] = X beta + rho sigma lambda(W gamma)`` with the inverse
Mills ratio ``lambda = phi / Phi``. Identification should not rest on the normal shape alone:
``W`` should contain a variable excluded from ``X`` (the exclusion restriction); in a graph this
is a parent of the selection node ``S`` that is not a parent of ``Y``.

>>> from deepcause.datasets import load_mroz
>>> m = load_mroz()
>>> h = HeckmanSelection().fit(m.data, outcome="lwage", selection="inlf",
...                            outcome_covariates=m.controls,
...                            selection_covariates=m.selection_covariates)
>>> round(float(h.coef_["educ"]), 5), round(float(h.coef_["lambda"]), 5)
(0.10907, 0.03226)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import log_ndtr
from sklearn.base import BaseEstimator

from ...exceptions import DataValidationError, NotFittedError
from ...results import EffectEstimate
from ._common import (
    ExclusionRestrictionWarning,
    design,
    mills_ratio,
    probit_fit,
    resolve_selection_data,
)

__all__ = ["HeckmanSelection", "HeckmanEffect", "selection_graph"]


def selection_graph(
    outcome: str,
    selection: str,
    outcome_covariates: Sequence[str],
    selection_covariates: Sequence[str],
) -> Any:
    """The graph of a selection model: covariates -> Y, covariates -> S, S <-> Y.

    ``S <-> Y`` says the unobserved parts of selection and outcome are correlated (the reason
    for selection bias); ``Y`` is observed only when ``S = 1``. Parents of ``S`` that are not
    parents of ``Y`` are the excluded variables.

    >>> g = selection_graph("Y", "S", ["x"], ["x", "z"])
    >>> sorted(g.parents("S")), sorted(g.parents("Y")), g.bidirected_edges
    (['x', 'z'], ['x'], (('S', 'Y'),))
    """
    from ...graph.causal_graph import CausalGraph

    directed = [(c, outcome) for c in outcome_covariates]
    directed += [(c, selection) for c in selection_covariates]
    nodes = list(dict.fromkeys([*selection_covariates, *outcome_covariates]))
    return CausalGraph.from_edges(
        directed, bidirected=[(selection, outcome)], nodes=[*nodes, selection, outcome]
    )


def _roles_from_graph(graph: Any, outcome: str, selection: str) -> tuple[list[str], list[str]]:
    graph.check_nodes([outcome], role="outcome")
    graph.check_nodes([selection], role="selection")
    order = {v: i for i, v in enumerate(graph.nodes)}
    xs = sorted(graph.parents(outcome) - {selection}, key=order.__getitem__)
    ws = sorted(graph.parents(selection), key=order.__getitem__)
    if outcome in ws:
        raise DataValidationError(
            f"the graph has {outcome} -> {selection}: selection depending directly on the "
            "outcome is not a Heckman model; use ShadowVariableEstimator"
        )
    return xs, ws


class HeckmanSelection(BaseEstimator):
    """Heckman selection model for an outcome observed only when ``selection == 1``.

    Parameters
    ----------
    method : ``"twostep"`` (probit, then OLS of Y on X and the inverse Mills ratio on the
        selected rows, with Heckman's standard errors corrected for the generated regressor)
        or ``"mle"`` (joint maximum likelihood; standard errors from the observed information;
        starts from the two-step estimate).
    max_iter : iteration limit of the likelihood maximisation.

    Fitted attributes: ``coef_`` (outcome equation incl. ``lambda`` = rho * sigma),
    ``std_errors_``, ``cov_``, ``selection_coef_``, ``selection_cov_``, ``rho_``,
    ``sigma_``, ``excluded_`` (excluded selection variables), ``n_selected_``, ``n_``.
    ``fit`` raises if ``selection`` is not 0/1 or a selected row lacks the outcome; outcome
    values of unselected rows are ignored. It warns (``ExclusionRestrictionWarning``) when no
    selection covariate is excluded from the outcome equation.
    """

    def __init__(self, method: str = "twostep", max_iter: int = 500) -> None:
        self.method = method
        self.max_iter = max_iter

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: pd.DataFrame,
        outcome: str,
        selection: str,
        outcome_covariates: Sequence[str] | None = None,
        selection_covariates: Sequence[str] | None = None,
        graph: Any = None,
    ) -> HeckmanSelection:
        """Fit on a DataFrame; covariate roles from the lists or from ``graph``.

        With ``graph``, the outcome covariates are the parents of ``outcome`` and the
        selection covariates the parents of ``selection``.
        """
        if self.method not in ("twostep", "mle"):
            raise DataValidationError(f"method must be 'twostep' or 'mle'; got {self.method!r}")
        if graph is not None:
            xs, ws = _roles_from_graph(graph, outcome, selection)
        else:
            if outcome_covariates is None or selection_covariates is None:
                raise DataValidationError(
                    "give outcome_covariates and selection_covariates, or a graph whose "
                    "parents of the outcome and of the selection node define them"
                )
            xs, ws = list(outcome_covariates), list(selection_covariates)
        df, sd = resolve_selection_data(data, outcome, selection, [*xs, *ws])
        self.excluded_ = tuple(c for c in ws if c not in xs)
        if not self.excluded_:
            warnings.warn(
                f"no selection covariate is excluded from the outcome equation of {outcome!r}:"
                " the model is then identified only through the normality assumption (the "
                "inverse Mills ratio is nearly collinear with the covariates). Add a variable "
                f"that affects {selection!r} but not {outcome!r}.",
                ExclusionRestrictionWarning,
                stacklevel=2,
            )
        W, w_names = design(df, ws, "selection covariate")
        X, x_names = design(df, xs, "outcome covariate")
        s = sd.s
        sel = s == 1
        gamma, v_gamma = probit_fit(W, s)
        self._two_step(W, X, sd.y, sel, gamma, v_gamma)
        if self.method == "mle":
            self._mle(W, X, sd.y, sel)
        names = [*x_names, "lambda"]
        self.coef_ = pd.Series(self._beta, index=names, name="coef")
        self.std_errors_ = pd.Series(np.sqrt(np.diag(self.cov_)), index=names, name="std_err")
        self.selection_coef_ = pd.Series(self._gamma, index=w_names, name="coef")
        self.selection_std_errors_ = pd.Series(
            np.sqrt(np.diag(self.selection_cov_)), index=w_names, name="std_err"
        )
        self.n_, self.n_selected_ = len(s), int(sel.sum())
        self.outcome_, self.selection_ = outcome, selection
        self._X_all = X
        return self

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
        hess = np.empty((len(theta), len(theta)))
        for j in range(len(theta)):
            step = 1e-5 * max(1.0, abs(theta[j]))
            up, down = theta.copy(), theta.copy()
            up[j] += step
            down[j] -= step
            hess[:, j] = (negloglik(up)[1] - negloglik(down)[1]) / (2 * step)
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
    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("HeckmanSelection is not fitted yet; call fit() first")

    def summary(self) -> pd.DataFrame:
        """Coefficient table of the outcome equation (estimate, s.e., z, p-value)."""
        self._check()
        from scipy import stats

        z = self.coef_ / self.std_errors_
        return pd.DataFrame(
            {
                "coef": self.coef_,
                "std_err": self.std_errors_,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
            }
        )

    def coefficient(self, name: str) -> EffectEstimate:
        """One outcome coefficient (e.g. of a treatment column) as an EffectEstimate."""
        self._check()
        if name not in self.coef_.index:
            raise DataValidationError(
                f"{name!r} is not an outcome-equation coefficient; available: "
                f"{list(self.coef_.index)}"
            )
        return EffectEstimate(
            value=self.coef_[name],
            std_error=self.std_errors_[name],
            quantity=f"coef[{name}]",
            method=f"Heckman ({self.method})",
            n=self.n_,
            diagnostics=self._diagnostics(),
        )

    def effect(self, treatment: str) -> EffectEstimate:
        """Effect of a (binary or continuous) treatment column of the outcome equation.

        Under the selection model this is the effect on the latent outcome of the whole
        population, ``E[Y | do(T = t + 1)] - E[Y | do(T = t)]``.
        """
        est = self.coefficient(treatment)
        return EffectEstimate(
            value=est.value,
            std_error=est.std_error,
            quantity="ATE",
            method=est.method,
            n=est.n,
            diagnostics=est.diagnostics,
        )

    def mean_outcome(self) -> EffectEstimate:
        """Selection-corrected population mean of the outcome, ``mean(X beta)`` over all rows."""
        self._check()
        X = self._X_all
        xbar = X.mean(0)
        beta = self._beta[:-1]
        V = self.cov_[:-1, :-1]
        var = xbar @ V @ xbar + np.var(X @ beta, ddof=1) / len(X)
        return EffectEstimate(
            value=float(xbar @ beta),
            std_error=float(np.sqrt(var)),
            quantity=f"E[{self.outcome_}]",
            method=f"Heckman ({self.method})",
            n=self.n_,
            diagnostics=self._diagnostics(),
        )

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Latent (selection-free) outcome ``X beta`` for the rows of ``data``."""
        self._check()
        names = [c for c in self.coef_.index if c not in ("const", "lambda")]
        X = np.column_stack([np.ones(len(data)), data[names].to_numpy(dtype=float)])
        return X @ self._beta[:-1]

    def _diagnostics(self) -> dict[str, Any]:
        return {
            "rho": self.rho_,
            "sigma": self.sigma_,
            "lambda": float(self._beta[-1]),
            "n_selected": self.n_selected_,
            "excluded": self.excluded_,
        }


class HeckmanEffect(BaseEstimator):
    """Adapter for ``estimate_effect``/the CLI (``method="heckman"``): the effect of the
    estimand's treatment in a Heckman model.

    ``fit(data, estimand)``: the outcome equation has the treatment and the estimand's
    adjustment set. The selection indicator is ``selection`` if given, else a 0/1 column of
    the data equal to "outcome observed", else "outcome observed" itself. Selection covariates
    are ``selection_covariates`` if given, else the parents of the selection node in ``graph``
    (``estimate_effect`` and the CLI pass the graph they identified with), else every other
    numeric column except outcome and selection indicator (then columns that are not causes of
    selection — e.g. descendants of the outcome — must be dropped).

    >>> from deepcause.simulate import make_selection
    >>> from deepcause.estimate.api import estimate_effect
    >>> ds = make_selection(3000, "unobservables", random_state=0)
    >>> graph = "x -> t; x -> y; t -> y; x -> s; z -> s; t -> s; s <-> y"
    >>> res = estimate_effect(ds.data.drop(columns="w"), graph, "t", "y", method="heckman")
    >>> res.method, bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error)
    ('Heckman (twostep)', True)
    """

    def __init__(
        self,
        selection: str | None = None,
        selection_covariates: Sequence[str] | None = None,
        method: str = "twostep",
        graph: Any = None,
    ) -> None:
        self.selection = selection
        self.selection_covariates = selection_covariates
        self.method = method
        self.graph = graph

    def fit(self, data: pd.DataFrame, estimand: Any) -> HeckmanEffect:
        if len(estimand.treatment) != 1 or len(estimand.outcome) != 1:
            raise DataValidationError("the Heckman model takes one treatment and one outcome")
        t, y = estimand.treatment[0], estimand.outcome[0]
        adjust = [c for c in (estimand.adjustment_set or ()) if c != t]
        df = data
        observed = data[y].notna().to_numpy()
        sel = self.selection
        if sel is None:
            for c in data.columns:
                col = data[c]
                if c != y and pd.api.types.is_numeric_dtype(col) and col.notna().all():
                    vals = col.to_numpy()
                    if set(np.unique(vals).tolist()) <= {0, 1} and np.array_equal(
                        vals.astype(bool), observed
                    ):
                        sel = str(c)
                        break
        if sel is None:
            sel = "_selected"
            df = data.assign(_selected=observed.astype(int))
        covs = self.selection_covariates
        if covs is None and self.graph is not None and sel in self.graph.nodes:
            covs = _roles_from_graph(self.graph, y, sel)[1]
        if covs is None:
            covs = [
                str(c)
                for c in df.columns
                if c not in (y, sel) and pd.api.types.is_numeric_dtype(df[c])
            ]
        self.model_ = HeckmanSelection(method=self.method).fit(df, y, sel, [t, *adjust], list(covs))
        self.treatment_ = t
        return self

    def ate(self) -> EffectEstimate:
        """The treatment coefficient of the outcome equation (population effect)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("HeckmanEffect is not fitted yet; call fit() first")
        return self.model_.effect(self.treatment_)
