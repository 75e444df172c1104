"""Natural direct and indirect effects: the mediation formula and its multiply robust estimator.

:class:`MediationAnalysis` estimates the nested counterfactual means ``ψ(x, x') = E[Y(x,
M(x'))]`` of a binary treatment ``X``, mediators ``M``, covariates ``W`` and an outcome ``Y``, and
from them (see :mod:`deepcause.identification.mediation` for identification)

* ``effect(treatment=1, control=0)``: the total effect ``ψ(1, 1) − ψ(0, 0)``;
* ``natural_direct_effect(...)``: ``NDE = ψ(1, 0) − ψ(0, 0)``;
* ``natural_indirect_effect(...)``: ``NIE = ψ(1, 1) − ψ(1, 0)`` (so ``NDE + NIE`` is the total
  effect; Pearl's pure indirect effect at the control level is
  ``nested_mean(treatment=0, mediator_treatment=1) − nested_mean(treatment=0,
  mediator_treatment=0)``).

Every ``ψ(x, x')`` uses the efficient influence function of Tchetgen Tchetgen & Shpitser (2012),
with ``μ_x(m, w) = E[Y | X=x, M=m, W=w]``, ``η(x, x', w) = E[μ_x(M, W) | X=x', W=w]``, and the
mediator density ratio written with treatment probabilities, ``f(m | x', w) / f(m | x, w) =
P(x' | m, w) P(x | w) / (P(x | m, w) P(x' | w))``::

    φ = 1{X=x} P(x' | M, W) / (P(x | M, W) P(x' | W)) (Y − μ_x(M, W))
        + 1{X=x'} / P(x' | W) (μ_x(M, W) − η(x, x', W)) + η(x, x', W)

``ψ`` is the mean of ``φ`` and its standard error ``sd(φ) / √n`` (differences of ``ψ`` use
differences of ``φ``). The estimator is consistent when any two of (outcome regressions),
(mediator density ratio, i.e. ``P(x | m, w)``), (``P(x | w)``) are correct (multiply robust).

* ``method="plugin"`` (discrete mediators and covariates): the nuisances are cell means and
  cell frequencies, so the correction terms vanish and ``ψ`` is exactly the mediation formula on
  the empirical distribution; the influence function still gives the standard error.
* ``method="dr"``: the nuisances are scikit-learn models fitted with ``n_folds``-fold
  cross-fitting (the ``η`` regressions use the outcome model on the training folds).
* ``method="auto"`` picks ``"plugin"`` when every mediator and covariate has at most 10
  distinct integer values, else ``"dr"``.

>>> from deepcause.estimate.mediation import MediationAnalysis
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> w = rng.binomial(1, 0.5, 4000); x = rng.binomial(1, 0.3 + 0.4 * w)
>>> m = rng.binomial(1, 0.2 + 0.5 * x + 0.2 * w); y = x + 2 * m + w + rng.normal(size=4000)
>>> df = pd.DataFrame({"W": w, "X": x, "M": m, "Y": y})
>>> est = MediationAnalysis().fit(df, treatment="X", mediators=["M"], outcome="Y",
...                               covariates=["W"])
>>> nde = est.natural_direct_effect(treatment=1, control=0)
>>> nde.query, round(nde.value, 1)
('E[Y(1, M(0))] − E[Y(0, M(0))]', 1.0)
>>> round(est.natural_indirect_effect().value, 1)  # 2 * 0.5
1.0
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._parameters import HasMethods, Interval, StrOptions, check_is_fitted
from .._validation import (
    check_finite,
    check_group_sizes,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ..exceptions import DataValidationError, EstimandNotSupportedError
from ..identification.mediation import MediationEstimand, nested_label
from ..results import Diagnostics, EffectEstimate
from ._contract import EffectEstimator
from ._nuisance import (
    _fold_pairs,
    _positive_proba,
    default_outcome_model,
    default_propensity_model,
    make_folds,
    seeded,
)

__all__ = ["MediationAnalysis"]

#: ``method="auto"`` uses the plug-in when every mediator/covariate has at most this many values
MAX_DISCRETE_LEVELS = 10
_PAIRS = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclass(frozen=True)
class _MediationData:
    """Validated arrays: outcome, 0/1 treatment codes, mediators, covariates and their names."""

    y: np.ndarray
    t: np.ndarray
    M: np.ndarray
    W: np.ndarray
    treatment: str
    outcome: str
    mediators: tuple[str, ...]
    covariates: tuple[str, ...]
    levels: tuple[Any, Any]
    estimand: Any = None

    @property
    def n(self) -> int:
        return len(self.t)

    def take(self, index: np.ndarray) -> _MediationData:
        return replace(self, y=self.y[index], t=self.t[index], M=self.M[index], W=self.W[index])

    @property
    def discrete(self) -> bool:
        cols = np.column_stack([self.M, self.W])
        return all(
            np.all(c == np.round(c)) and np.unique(c).size <= MAX_DISCRETE_LEVELS for c in cols.T
        )


@dataclass
class _Nuisances:
    """Per unit: μ_x(M, W), P(X=1 | M, W), P(X=1 | W) and η(x, x', W) for the four pairs."""

    mu: tuple[np.ndarray, np.ndarray]
    e_mw: np.ndarray
    e_w: np.ndarray
    eta: dict[tuple[int, int], np.ndarray]


def _group_codes(A: np.ndarray) -> tuple[np.ndarray, int]:
    if A.shape[1] == 0:
        return np.zeros(len(A), dtype=np.intp), 1
    _, inverse = np.unique(A, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return inverse, int(inverse.max()) + 1


def _cell_mean(key: np.ndarray, size: int, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per unit: the mean of ``values`` over the units of its cell with ``mask`` (NaN if none)."""
    num = np.bincount(key, weights=np.where(mask, values, 0.0), minlength=size)
    den = np.bincount(key, weights=mask.astype(float), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)[key]


def _plugin_nuisances(d: _MediationData) -> _Nuisances:
    """Cell means and frequencies (the saturated model): ψ is then the mediation formula."""
    key_mw, n_mw = _group_codes(np.column_stack([d.M, d.W]))
    key_w, n_w = _group_codes(d.W)
    arms = (d.t == 0, d.t == 1)
    mu = tuple(_cell_mean(key_mw, n_mw, d.y, arm) for arm in arms)
    ones = np.ones(d.n, dtype=bool)
    e_mw = _cell_mean(key_mw, n_mw, d.t.astype(float), ones)
    e_w = _cell_mean(key_w, n_w, d.t.astype(float), ones)
    eta = {
        (a, b): _cell_mean(key_w, n_w, np.nan_to_num(mu[a], nan=np.inf), arms[b]) for a, b in _PAIRS
    }  # an infinite η marks a cell where X=b units meet mediator values never seen with X=a
    return _Nuisances(mu, e_mw, e_w, eta)  # type: ignore[arg-type]


def _crossfit_nuisances(d: _MediationData, est: MediationAnalysis) -> _Nuisances:
    """Out-of-fold nuisances; η is fitted on the training folds' outcome predictions."""
    om = default_outcome_model(d.n) if est.outcome_model is None else est.outcome_model
    pm = default_propensity_model() if est.propensity_model is None else est.propensity_model
    rs = est.random_state
    F = np.column_stack([d.M, d.W])
    n, has_w = d.n, d.W.shape[1] > 0
    mu = (np.empty(n), np.empty(n))
    e_mw, e_w = np.empty(n), np.empty(n)
    eta = {pair: np.empty(n) for pair in _PAIRS}
    folds = make_folds(d.t, est.n_folds, rs)
    for train, test in _fold_pairs(folds, est.n_folds):
        for a in (0, 1):
            rows = train & (d.t == a)
            pred = np.asarray(seeded(om, rs).fit(F[rows], d.y[rows]).predict(F), float).ravel()
            mu[a][test] = pred[test]
            for b in (0, 1):
                sel = train & (d.t == b)
                eta[(a, b)][test] = (
                    np.asarray(seeded(om, rs).fit(d.W[sel], pred[sel]).predict(d.W[test]), float)
                    if has_w
                    else pred[sel].mean()
                )
        e_mw[test] = _positive_proba(seeded(pm, rs).fit(F[train], d.t[train]), F[test])
        e_w[test] = (
            _positive_proba(seeded(pm, rs).fit(d.W[train], d.t[train]), d.W[test])
            if has_w
            else d.t[train].mean()
        )
    return _Nuisances(mu, e_mw, e_w, eta)


def _influence(d: _MediationData, nu: _Nuisances, a: int, b: int, clip: float) -> np.ndarray:
    """φ of Tchetgen Tchetgen & Shpitser (2012) for ψ(a, b) = E[Y(a, M(b))], per unit."""
    e_mw = np.clip(nu.e_mw, clip, 1 - clip)
    e_w = np.clip(nu.e_w, clip, 1 - clip)
    p_a_mw, p_b_mw = (e_mw if a else 1 - e_mw), (e_mw if b else 1 - e_mw)
    p_b_w = e_w if b else 1 - e_w
    mu, eta = nu.mu[a], nu.eta[(a, b)]
    in_a, in_b = d.t == a, d.t == b
    with np.errstate(invalid="ignore", divide="ignore"):
        w1 = np.where(in_a, p_b_mw / (p_a_mw * p_b_w), 0.0)
        r1 = np.where(in_a, d.y - mu, 0.0)
        r2 = np.where(in_b, (mu - eta) / p_b_w, 0.0)
    return w1 * r1 + r2 + eta


class MediationAnalysis(EffectEstimator):
    """Natural direct and indirect effects by the mediation formula or its robust estimator.

    Parameters
    ----------
    outcome_model : regressor, optional
        Fits ``E[Y | X=x, M, W]`` in each arm and the ``η`` regressions on ``W`` (default:
        gradient boosting, histogram boosting above 5,000 rows, ridge above 100,000).
    propensity_model : classifier with ``predict_proba``, optional
        Fits ``P(X=1 | M, W)`` and ``P(X=1 | W)`` (default: logistic regression).
    method : {"auto", "plugin", "dr"}
        ``"plugin"``: exact mediation formula for discrete mediators and covariates;
        ``"dr"``: cross-fitted multiply robust estimator; ``"auto"``: plug-in when every
        mediator and covariate has at most 10 integer values.
    n_folds : int
        Cross-fitting folds for ``"dr"`` (1: no cross-fitting).
    clip : float
        Treatment probabilities are clipped to ``[clip, 1 - clip]`` (``"dr"`` only).
    random_state : int, Generator or None
        Seed of the folds and of randomized nuisance models.

    Examples
    --------
    >>> from deepcause.simulate import SCM, Node
    >>> from sklearn.linear_model import LinearRegression
    >>> scm = SCM([Node("W"), Node("X", ("W",), lambda pa, u: (pa["W"] + u > 0) * 1.0),
    ...            Node("M", ("X", "W"), lambda pa, u: pa["X"] + 0.5 * pa["W"] + u),
    ...            Node("Y", ("X", "M", "W"), lambda pa, u: pa["X"] + pa["M"] + pa["W"] + u)])
    >>> df = scm.sample(2000, random_state=1)
    >>> est = MediationAnalysis(outcome_model=LinearRegression(), n_folds=2).fit(
    ...     df, treatment="X", mediators=["M"], outcome="Y", covariates=["W"])
    >>> nde, nie = est.natural_direct_effect(), est.natural_indirect_effect()
    >>> bool(abs(nde.value - 1) < 0.2 and abs(nie.value - 1) < 0.2)  # truth: NDE 1, NIE 1
    True
    """

    _roles: ClassVar[tuple[str, ...]] = ("treatment", "outcome", "covariates", "mediators")
    supported_kinds: ClassVar[tuple[str, ...]] = ("mediation",)
    _populations: ClassVar[tuple[str, ...]] = ("all",)
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "outcome_model": [None, HasMethods(["fit", "predict"])],
        "propensity_model": [None, HasMethods(["fit", "predict_proba"])],
        "method": [StrOptions({"auto", "plugin", "dr"})],
        "n_folds": [Interval(Integral, 1, None, closed="left")],
        "clip": [Interval(Real, 0, 0.5, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        outcome_model: Any = None,
        propensity_model: Any = None,
        method: str = "auto",
        n_folds: int = 5,
        clip: float = 0.01,
        random_state: Any = None,
    ) -> None:
        self.outcome_model = outcome_model
        self.propensity_model = propensity_model
        self.method = method
        self.n_folds = n_folds
        self.clip = clip
        self.random_state = random_state

    # ---------------------------------------------------------------- fitting
    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> _MediationData:
        name = type(self).__name__
        if estimand is not None:
            if not isinstance(estimand, MediationEstimand):
                kind = getattr(estimand, "kind", type(estimand).__name__)
                raise EstimandNotSupportedError(
                    f"{name} needs a mediation estimand from deepcause.identification.mediation."
                    f"identify_mediation(graph, treatment, mediators, outcome); this one is "
                    f"{kind}: use AIPW or PlugIn for a total effect"
                )
            roles = dict(
                treatment=estimand.treatment,
                outcome=estimand.outcome,
                mediators=list(estimand.mediators),
                covariates=list(estimand.covariates),
            )
        treatment, outcome = roles.get("treatment"), roles.get("outcome")
        mediators = roles.get("mediators")
        if treatment is None or outcome is None or mediators is None:
            raise DataValidationError(
                f"{name}.fit needs a mediation estimand or treatment=, outcome= and mediators= "
                "column names"
            )
        df = require_dataframe(data)
        mediators = [mediators] if isinstance(mediators, str) else list(mediators)
        covariates = roles.get("covariates")
        if covariates is None:
            covariates = [c for c in df.columns if c not in {treatment, outcome, *mediators}]
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
        for cols, role in (([treatment], "treatment"), ([outcome], "outcome"),
                           (mediators, "mediator"), (covariates, "covariate")):  # fmt: skip
            require_columns(df, cols, role=role)
        used = [treatment, outcome, *mediators, *covariates]
        if not mediators or len(set(used)) < len(used):
            raise DataValidationError(
                f"{name}: treatment, outcome, mediators (at least one) and covariates must be "
                f"distinct columns; got {used}"
            )
        check_finite(df, used)
        if not pd.api.types.is_numeric_dtype(df[outcome]):
            raise DataValidationError(
                f"outcome {outcome!r} must be numeric (got dtype {df[outcome].dtype}); encode it"
            )
        levels = tuple(sorted(pd.unique(df[treatment]).tolist()))
        if len(levels) != 2:
            raise DataValidationError(
                f"treatment {treatment!r} must take exactly two values; values seen: "
                f"{list(levels)[:10]}. Recode it (e.g. df[{treatment!r}] == value)"
            )
        t = (df[treatment].to_numpy() == levels[1]).astype(np.int64)
        check_group_sizes(t, name=f"treatment {treatment!r}")
        M, m_names = numeric_covariates(df, mediators)
        W, w_names = (
            numeric_covariates(df, covariates) if covariates else (np.empty((len(df), 0)), [])
        )
        return _MediationData(
            df[outcome].to_numpy(dtype=float), t, M, W, str(treatment), str(outcome),
            tuple(m_names), tuple(w_names), levels, estimand,
        )  # fmt: skip

    def _fit_prepared(self, data: _MediationData) -> None:
        method = self.method
        if method == "auto":
            method = "plugin" if data.discrete else "dr"
        self.method_ = method
        if method == "plugin":
            self.nuisances_ = _plugin_nuisances(data)
        else:
            self.nuisances_ = _crossfit_nuisances(data, self)

    # ---------------------------------------------------------------- asking
    def _code(self, value: Any, role: str) -> int:
        levels = self.data_.levels
        for code, level in enumerate(levels):
            if value == level:
                return code
        raise DataValidationError(
            f"{role}={value!r} is not a value of the treatment {self.data_.treatment!r}; its "
            f"values are {list(levels)}"
        )

    def _phi(self, a: int, b: int) -> np.ndarray:
        d, nu = self.data_, self.nuisances_
        if self.method_ == "plugin":
            p_b = nu.e_w if b else 1 - nu.e_w
            lv = d.levels
            if np.any(p_b == 0) or not np.all(np.isfinite(nu.eta[(a, b)])):
                unit = int(np.flatnonzero((p_b == 0) | ~np.isfinite(nu.eta[(a, b)]))[0])
                raise DataValidationError(
                    f"positivity violation: E[{d.outcome}({lv[a]}, M({lv[b]}))] needs units with "
                    f"{d.treatment}={lv[b]!r} at every covariate value and units with "
                    f"{d.treatment}={lv[a]!r} at every mediator value those have; e.g. the unit "
                    f"at row {unit} has none. Merge sparse categories, use fewer covariates or "
                    f"method='dr'"
                )
            return _influence(d, nu, a, b, 0.0)
        return _influence(d, nu, a, b, self.clip)

    def _estimate(self, plus: tuple[int, int], minus: tuple[int, int] | None, quantity: str,
                  query: str) -> EffectEstimate:  # fmt: skip
        phi = self._phi(*plus) - (self._phi(*minus) if minus is not None else 0.0)
        value = float(phi.mean())
        n = len(phi)
        se = float(np.sqrt(np.sum((phi - value) ** 2)) / n)
        d = self.data_
        notes = (
            f"{'mediation formula (plug-in)' if self.method_ == 'plugin' else 'multiply robust, cross-fitted'}; "
            f"mediators {list(d.mediators)}, covariates {list(d.covariates)}",
        )
        diag = Diagnostics(
            propensity=self.nuisances_.e_w, treatment=d.t, notes=notes,
            extra={"method": self.method_, "mediators": d.mediators, "covariates": d.covariates},
        )  # fmt: skip
        return EffectEstimate(
            value=value, std_error=se, quantity=quantity, method=type(self).__name__, n=n,
            estimand=d.estimand, diagnostics=diag, query=query,
        )  # fmt: skip

    def _label(self, a: Any, b: Any) -> str:
        return nested_label(self.data_.outcome, self.data_.treatment, self.data_.mediators, a, b)

    def _effect(self, *, treatment: Any, control: Any, population: str, X: Any) -> EffectEstimate:
        if X is not None:
            raise EstimandNotSupportedError(
                f"{type(self).__name__} estimates population effects; X= is not supported"
            )
        t1, t0 = self._code(treatment, "treatment"), self._code(control, "control")
        return self._estimate((t1, t1), (t0, t0), "ATE", "")

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        t1 = self._code(treatment, "treatment")
        return self._estimate((t1, t1), None, "mean", "")

    def nested_mean(self, *, treatment: Any = 1, mediator_treatment: Any = 0) -> EffectEstimate:
        """``E[Y(x, M(x'))]``: the outcome under ``treatment`` with mediators as under ``x'``.

        Parameters
        ----------
        treatment : the value ``x`` of the treatment the outcome sees.
        mediator_treatment : the value ``x'`` the mediators see.

        Returns
        -------
        EffectEstimate
            With an influence-function standard error; ``quantity`` is ``"nested mean"``.

        Examples
        --------
        >>> df = pd.DataFrame({"X": [0, 0, 1, 1] * 50, "M": [0, 1, 0, 1] * 50,
        ...                    "Y": [0.0, 1.0, 1.0, 2.0] * 50})
        >>> est = MediationAnalysis().fit(df, treatment="X", mediators="M", outcome="Y",
        ...                               covariates=[])
        >>> est.nested_mean(treatment=1, mediator_treatment=0).value
        1.5
        """
        check_is_fitted(self)
        a, b = (
            self._code(treatment, "treatment"),
            self._code(mediator_treatment, "mediator_treatment"),
        )
        return self._estimate(
            (a, b), None, "nested mean", self._label(treatment, mediator_treatment)
        )

    def natural_direct_effect(self, *, treatment: Any = 1, control: Any = 0) -> EffectEstimate:
        """``NDE = E[Y(x1, M(x0))] − E[Y(x0, M(x0))]`` with ``x1 = treatment``, ``x0 = control``.

        Returns
        -------
        EffectEstimate
            ``quantity="NDE"``, with an influence-function standard error and interval.

        Examples
        --------
        >>> df = pd.DataFrame({"X": [0, 0, 1, 1] * 50, "M": [0, 1, 0, 1] * 50,
        ...                    "Y": [0.0, 1.0, 1.0, 2.0] * 50})
        >>> est = MediationAnalysis().fit(df, treatment="X", mediators="M", outcome="Y")
        >>> est.natural_direct_effect().value
        1.0
        """
        check_is_fitted(self)
        t1, t0 = self._code(treatment, "treatment"), self._code(control, "control")
        query = f"{self._label(treatment, control)} − {self._label(control, control)}"
        return self._estimate((t1, t0), (t0, t0), "NDE", query)

    def natural_indirect_effect(self, *, treatment: Any = 1, control: Any = 0) -> EffectEstimate:
        """``NIE = E[Y(x1, M(x1))] − E[Y(x1, M(x0))]``, so that ``NDE + NIE`` is the total effect.

        Returns
        -------
        EffectEstimate
            ``quantity="NIE"``, with an influence-function standard error and interval.

        Examples
        --------
        >>> df = pd.DataFrame({"X": [0, 0, 1, 1] * 50, "M": [0, 0, 0, 1] * 50,
        ...                    "Y": [0.0, 1.0, 1.0, 2.0] * 50})
        >>> est = MediationAnalysis().fit(df, treatment="X", mediators="M", outcome="Y")
        >>> nie = est.natural_indirect_effect()
        >>> nie.query, nie.value
        ('E[Y(1, M(1))] − E[Y(1, M(0))]', 0.5)
        """
        check_is_fitted(self)
        t1, t0 = self._code(treatment, "treatment"), self._code(control, "control")
        query = f"{self._label(treatment, treatment)} − {self._label(treatment, control)}"
        return self._estimate((t1, t1), (t1, t0), "NIE", query)
