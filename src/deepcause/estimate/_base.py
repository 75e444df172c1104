"""The back-door family on the one effect contract (:mod:`deepcause.estimate._contract`).

A back-door estimator is fitted on a DataFrame with a binary 0/1 treatment, either through an
identified back-door :class:`~deepcause.identification.estimand.Estimand` or with roles by
keyword, and estimates linear combinations of the two potential-outcome means
``m_a = E[Y | do(T=a)]`` over a population (all units, the treated, the controls, or the
overlap population where supported). A subclass implements two hooks:

* ``_fit_prepared(data: BackdoorData)`` learns the nuisances;
* ``_contrast(c, quantity)`` returns the :class:`~deepcause.results.EffectEstimate` of
  ``c[0] * m_0 + c[1] * m_1`` over the population ``quantity`` (``"ATE"``, ``"ATT"``, ``"ATC"``
  or ``"ATO"``); ``effect(treatment=1, control=0)`` asks for ``c = (-1, 1)`` and
  ``mean(treatment=1)`` for ``c = (0, 1)``.

>>> from deepcause.estimate import IPW
>>> from deepcause.simulate import make_confounded_binary
>>> df = make_confounded_binary(1000, random_state=0, population_truth=False).data
>>> est = IPW().fit(df, treatment="t", outcome="y", covariates=["x1", "x2", "x3", "x4", "x5"])
>>> m1, m0 = est.mean(treatment=1).value, est.mean(treatment=0).value
>>> bool(abs((m1 - m0) - est.effect(treatment=1, control=0).value) < 1e-9)
True
>>> est.effect(treatment=1, control=0, population="treated").quantity
'ATT'
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validation import (
    check_binary,
    check_finite,
    check_group_sizes,
    check_no_duplicate_columns,
    check_not_constant,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ..exceptions import DataValidationError, EstimandNotSupportedError
from ..results import POPULATIONS, EffectEstimate
from ._contract import EffectEstimator
from .overlap import NOTE_SHARE, OverlapReport, check_overlap, overlap_error, warn_limited

__all__ = ["BackdoorData", "BaseEffectEstimator", "resolve_backdoor_data", "kind_error"]


@dataclass(frozen=True)
class BackdoorData:
    """Validated arrays of a back-door problem with a binary treatment.

    Parameters
    ----------
    X : ndarray of shape (n, p)
        Float covariates (categorical columns one-hot encoded; ``p`` may be 0).
    t : ndarray of shape (n,)
        Treatment, 0/1 integers.
    y : ndarray of shape (n,)
        Outcome.
    covariate_names : tuple of str
        Names of the columns of ``X``.
    treatment, outcome : str
        Column names of the treatment and the outcome.
    estimand : Estimand, optional
        The identified estimand the data were fitted through.
    columns : tuple of str
        The covariate columns of the original frame (before any one-hot encoding).

    Examples
    --------
    >>> import numpy as np
    >>> d = BackdoorData(np.zeros((4, 1)), np.array([0, 1, 0, 1]), np.arange(4.0), ("x",))
    >>> d.n, d.take(np.array([1, 3])).t.tolist()
    (4, [1, 1])
    """

    X: np.ndarray
    t: np.ndarray
    y: np.ndarray
    covariate_names: tuple[str, ...]
    treatment: str = "t"
    outcome: str = "y"
    estimand: Any = None
    columns: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.t)

    @property
    def names(self) -> tuple[str, ...]:
        """The covariate columns of the original frame (selected by name in ``predict_cate``)."""
        return self.covariate_names if self.columns is None else self.columns

    def take(self, index: np.ndarray) -> BackdoorData:
        """Rows ``index`` of the data (for bootstrap and cross-fitting)."""
        return replace(self, X=self.X[index], t=self.t[index], y=self.y[index])


def kind_error(estimator: str, kind: str, supported: Sequence[str]) -> EstimandNotSupportedError:
    """The error for an estimand of a kind ``estimator`` cannot use, naming alternatives.

    >>> str(kind_error("IPW", "frontdoor", ("backdoor",)))
    'IPW needs a backdoor estimand; this one is frontdoor: use PlugIn or FrontDoor.'
    """
    alternatives = {
        "frontdoor": "PlugIn or FrontDoor",
        "general": "PlugIn",
        "conditional": "PlugIn",
        "backdoor": "AIPW, IPW, TLearner or PlugIn",
        "iv": "TwoStageLeastSquares, DeepIV or KernelIV",
    }
    hint = alternatives.get(kind, "PlugIn")
    return EstimandNotSupportedError(
        f"{estimator} needs a {' or '.join(supported)} estimand; this one is {kind}: use {hint}."
    )


def _roles_from_estimand(
    estimand: Any, estimator: str, supported_kinds: Sequence[str]
) -> tuple[str, str, list[str]]:
    kind = getattr(estimand, "kind", None)
    if kind is None:
        raise DataValidationError(
            f"{estimator}.fit(df, estimand): the second argument must be an Estimand from "
            f"deepcause.identification.identify, got {type(estimand).__name__}"
        )
    if kind not in supported_kinds:
        raise kind_error(estimator, kind, supported_kinds)
    treat, out = tuple(estimand.treatment), tuple(estimand.outcome)
    if len(treat) != 1 or len(out) != 1:
        raise EstimandNotSupportedError(
            f"{estimator} handles one treatment and one outcome; the estimand has treatment "
            f"{list(treat)} and outcome {list(out)}: use PlugIn."
        )
    return treat[0], out[0], list(estimand.adjustment_set or ())


def _backdoor_roles(
    columns: Sequence[Any],
    estimand: Any,
    roles: tuple[Any, Any, Any],
    estimator: str,
    supported_kinds: Sequence[str],
) -> tuple[Any, Any, list[Any]]:
    """``(treatment, outcome, covariates)`` from an estimand or from the given roles.

    Without covariates every other column of ``columns`` is a covariate.

    >>> _backdoor_roles(["t", "y", "x"], None, ("t", "y", None), "IPW", ("backdoor",))
    ('t', 'y', ['x'])
    """
    treatment, outcome, covariates = roles
    if estimand is not None:
        if treatment is not None or outcome is not None or covariates is not None:
            raise DataValidationError(
                f"{estimator}.fit takes an estimand or roles (treatment=, outcome=, "
                "covariates=), not both"
            )
        return _roles_from_estimand(estimand, estimator, supported_kinds)
    if treatment is None or outcome is None:
        raise DataValidationError(
            f"{estimator}.fit needs an estimand or treatment= and outcome= column names"
        )
    if covariates is None:
        covariates = [c for c in columns if c not in (treatment, outcome)]
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    return treatment, outcome, covariates


def resolve_backdoor_data(
    data: Any,
    estimand: Any = None,
    *,
    treatment: str | None = None,
    outcome: str | None = None,
    covariates: Sequence[str] | None = None,
    estimator: str = "this estimator",
    supported_kinds: Sequence[str] = ("backdoor",),
) -> BackdoorData:
    """Validate a DataFrame and an estimand (or roles) into :class:`BackdoorData`.

    Without ``covariates`` every other column is a covariate.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [0, 1, 0, 1], "y": [1.0, 2, 3, 4], "x": [0.1, 0.5, 0.2, 0.9]})
    >>> resolve_backdoor_data(df, treatment="t", outcome="y").covariate_names
    ('x',)
    """
    df = require_dataframe(data)
    treatment, outcome, covariates = _backdoor_roles(
        df.columns, estimand, (treatment, outcome, covariates), estimator, supported_kinds
    )
    require_columns(df, [treatment], role="treatment")
    require_columns(df, [outcome], role="outcome")
    require_columns(df, covariates, role="covariate")
    check_finite(df, [treatment, outcome, *covariates])
    t = check_binary(df[treatment].to_numpy(), name=f"treatment {treatment!r}")
    if not pd.api.types.is_numeric_dtype(df[outcome]):
        raise DataValidationError(
            f"outcome {outcome!r} must be numeric (got dtype {df[outcome].dtype}); encode it."
        )
    y = df[outcome].to_numpy(dtype=float)
    if covariates:
        check_no_duplicate_columns(df, covariates)
        check_not_constant(df, covariates)
        X, names = numeric_covariates(df, covariates)
    else:
        X, names = np.empty((len(df), 0)), []
    check_group_sizes(t, name=f"treatment {treatment!r}")
    columns = None if names == [str(c) for c in covariates] else tuple(map(str, covariates))
    return BackdoorData(X, t, y, tuple(names), str(treatment), str(outcome), estimand, columns)


def _arm(value: Any, role: str, estimator: str) -> int:
    if isinstance(value, bool | np.bool_) or value not in (0, 1):
        raise DataValidationError(
            f"{estimator} estimates effects of a binary 0/1 treatment; {role} must be 0 or 1, "
            f"got {value!r}"
        )
    return int(value)


class BaseEffectEstimator(EffectEstimator):
    """Base class of the back-door estimators (binary treatment; see the module docstring).

    Examples
    --------
    >>> from deepcause.estimate import AIPW
    >>> issubclass(AIPW, BaseEffectEstimator), AIPW._populations
    (True, ('all', 'treated', 'controls'))
    """

    supported_kinds: ClassVar[tuple[str, ...]] = ("backdoor",)
    _roles: ClassVar[tuple[str, ...]] = ("treatment", "outcome", "covariates")
    _populations: ClassVar[tuple[str, ...]] = ("all", "treated", "controls")
    #: a caveat about the estimator's interval (e.g. measured coverage), a note of every result
    _interval_note: ClassVar[str] = ""
    #: a caveat for limited overlap (e.g. measured under-coverage), a note of the results when
    #: at least ``overlap.NOTE_SHARE`` of the units have extreme propensities ({share}: percent)
    _limited_overlap_note: ClassVar[str] = ""
    #: constraints of the parameters every back-door estimator has (merged into subclasses')
    _shared_constraints: ClassVar[dict[str, list[Any]]] = {"allow_no_overlap": ["boolean"]}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("_parameter_constraints", cls._parameter_constraints)
        params = inspect.signature(cls.__init__).parameters
        shared = {k: v for k, v in BaseEffectEstimator._shared_constraints.items() if k in params}
        cls._parameter_constraints = {**shared, **own}

    # ---------------------------------------------------------------- overlap
    def _check_prepared(self, data: BackdoorData) -> None:
        """The shared overlap check (:mod:`deepcause.estimate.overlap`), run in ``fit``.

        Refuses in ``fit`` when no population the estimator can target has overlap (the
        overlap population always has); otherwise ``effect``/``mean`` refuse the populations
        without it. Warns (``PositivityWarning``) when overlap is limited.
        """
        report = check_overlap(data.X, data.t, data.covariate_names)
        self.overlap_ = report
        name = type(self).__name__
        if report.status != "none":
            if not self._restricts_to_overlap():  # trimming/calipers handle limited overlap
                warn_limited(name, report, data.n, stacklevel=5)
            return
        quantities = [POPULATIONS[p] for p in self._populations]
        if self._overlap_allowed() or not all(report.affects(q) for q in quantities):
            return
        affected = [q for q in ("ATE", "ATT", "ATC") if report.affects(q)]
        label = (
            ", ".join(affected[:-1]) + " and " + affected[-1] if len(affected) > 1 else affected[0]
        )
        raise overlap_error(name, label, report, self._overlap_fixes(report))

    def _restricts_to_overlap(self) -> bool:
        """Whether the estimator drops units without overlap itself (``trim=``, ``caliper=``)."""
        return any(getattr(self, k, None) is not None for k in ("trim", "caliper"))

    def _overlap_allowed(self) -> bool:
        return bool(getattr(self, "allow_no_overlap", False)) or self._restricts_to_overlap()

    def _overlap_fixes(self, report: OverlapReport) -> str:
        params = self.get_params(deep=False)
        fixes = ["trim='crump' (keeps the units with overlap)"] if "trim" in params else []
        fixes += [
            f"population={p!r}"
            for p in self._populations
            if p != "all" and not report.affects(POPULATIONS[p])
        ]
        if "trim" not in params:
            fixes.append("IPW(trim='crump') or IPW with population='overlap'")
        fixes.append("a narrower question (keep only the covariate region where both arms occur)")
        return "; ".join(fixes)

    def _overlap_guard(self, quantity: str) -> None:
        report: OverlapReport | None = getattr(self, "overlap_", None)
        if report is not None and report.affects(quantity) and not self._overlap_allowed():
            raise overlap_error(type(self).__name__, quantity, report, self._overlap_fixes(report))

    def _overlap_labelled(self, result: EffectEstimate, quantity: str) -> EffectEstimate:
        """Add the overlap check to the diagnostics; label extrapolated results."""
        report: OverlapReport | None = getattr(self, "overlap_", None)
        if report is None:
            return result
        diag = result.diagnostics
        if self._interval_note:
            diag = dataclasses.replace(diag, notes=(*diag.notes, self._interval_note))
        extra = {**diag.extra, "overlap_check": report.to_dict()}
        notes = list(diag.notes)
        if report.affects(quantity):
            trimmed = self._restricts_to_overlap()
            extra["extrapolated"] = not trimmed
            notes.append(
                f"no overlap: {report.region}; "
                + (
                    "trimming/the caliper restricts the target to units with overlap"
                    if trimmed
                    else "EXTRAPOLATED (allow_no_overlap=True): the estimate there rests on "
                    "model extrapolation, not on data"
                )
            )
        elif report.status == "limited":
            notes.append(
                f"limited overlap (overlap check): {100 * report.share_limited:.1f}% of units "
                f"have an estimated propensity outside [0.01, 0.99]"
            )
        if self._limited_overlap_note and report.share_limited >= NOTE_SHARE:
            notes.append(self._limited_overlap_note.format(share=100 * report.share_limited))
        diag = dataclasses.replace(diag, notes=tuple(notes), extra=extra)
        return dataclasses.replace(result, diagnostics=diag)

    # ---------------------------------------------------------------- contract hooks
    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> BackdoorData:
        return resolve_backdoor_data(
            data,
            estimand,
            estimator=type(self).__name__,
            supported_kinds=self.supported_kinds,
            **roles,
        )

    def _bootstrap_index(self, rng: np.random.Generator) -> np.ndarray:
        """Resample within each treatment arm (keeps both arms' sizes)."""
        t = self.data_.t
        treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
        return np.concatenate(
            [rng.choice(treated, treated.size), rng.choice(control, control.size)]
        )

    def _covariate_names(self) -> tuple[str, ...]:
        return self.data_.names

    def _covariate_matrix(self, data: Any) -> np.ndarray:
        d = self.data_
        if d.columns is None or not isinstance(data, pd.DataFrame):
            return super()._covariate_matrix(data)
        # categorical covariates were one-hot encoded in fit: encode the same way, by name
        require_columns(data, list(d.columns), role="covariate")
        sub = data[list(d.columns)]
        coded = [c for c in d.columns if c not in d.covariate_names]
        dummies = pd.get_dummies(sub, columns=coded, dtype=float)
        return dummies.reindex(columns=list(d.covariate_names), fill_value=0.0).to_numpy(float)

    def _effect(self, *, treatment: Any, control: Any, population: str, X: Any) -> EffectEstimate:
        name = type(self).__name__
        c = np.zeros(2)
        c[_arm(treatment, "treatment", name)] += 1.0
        c[_arm(control, "control", name)] -= 1.0
        if not c.any():
            raise DataValidationError(
                f"{name}.effect: treatment and control are both {treatment!r}; the contrast is 0"
            )
        if X is not None:
            return self._effect_at(X, c)
        return self._population_result(c, population)

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        c = np.zeros(2)
        c[_arm(treatment, "treatment", type(self).__name__)] = 1.0
        return self._population_result(c, population)

    def _population_result(self, c: np.ndarray, population: str) -> EffectEstimate:
        quantity = POPULATIONS[population]
        self._overlap_guard(quantity)
        result = self._overlap_labelled(self._contrast(c, quantity), quantity)
        return self._named(result, c, population)

    # ---------------------------------------------------------------- family hooks
    def _fit_prepared(self, data: BackdoorData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:  # pragma: no cover
        raise NotImplementedError

    def _effect_at(self, X: Any, c: np.ndarray) -> EffectEstimate:
        raise EstimandNotSupportedError(
            f"{type(self).__name__} estimates population effects; effect(X=...) needs a CATE "
            "model (SLearner, TLearner, XLearner, DRLearner, D2VD or a neural estimator)"
        )

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _named(result: EffectEstimate, c: np.ndarray, population: str) -> EffectEstimate:
        """Name the quantity: ``ATE``/``ATT``/... for (1, 0), ``mean`` or ``effect`` otherwise."""
        head = POPULATIONS[population]
        name = head if c[1] == 1 and c[0] == -1 else "mean" if 0 in c else "effect"
        tail = result.quantity[len(head) :] if result.quantity.startswith(head) else ""
        return dataclasses.replace(result, quantity=name + tail)

    @staticmethod
    def _population_mask(t: np.ndarray, quantity: str) -> np.ndarray:
        """Units of the population of ``quantity`` (all for ATE/ATO, one arm for ATT/ATC)."""
        if quantity == "ATT":
            return t == 1
        if quantity == "ATC":
            return t == 0
        return np.ones(len(t), dtype=bool)
