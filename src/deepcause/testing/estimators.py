"""Conformance checks for every causal-effect estimator, one small named check each.

Like scikit-learn's ``parametrize_with_checks``: :func:`estimator_checks` lists the checks that
apply to an estimator as ``(name, callable)`` pairs, so a test suite can give each its own test
id; :func:`check_estimator` runs them all and raises an ``AssertionError`` naming every failure.
Each check runs on clones, on a :class:`~deepcause.testing.cases.CheckCase` (default: the
confounded binary back-door case).

>>> from deepcause.estimate import IPW
>>> [name for name, _ in estimator_checks(IPW())][:3]
['check_not_fitted', 'check_fit_returns_self', 'check_params_round_trip']
>>> check_estimator(IPW(random_state=0))
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from ..estimate._base import BaseEffectEstimator
from ..estimate._contract import ROLES
from ..exceptions import (
    DataValidationError,
    DeepCauseError,
    EstimandNotSupportedError,
    InvalidParameterError,
    NotFittedError,
)
from ..identification import identify
from ..results import POPULATIONS, EffectEstimate
from .cases import CheckCase, backdoor_case

__all__ = ["check_estimator", "estimator_checks"]

Check = Callable[[Any, CheckCase], None]


# ------------------------------------------------------------------ helpers
def _fresh(est: Any) -> Any:
    new = clone(est)
    if "random_state" in new.get_params(deep=False) and new.random_state is None:
        new.set_params(random_state=0)
    return new


def _fit(est: Any, case: CheckCase, data: pd.DataFrame | None = None, **roles: Any) -> Any:
    return est.fit(case.data if data is None else data, **{**case.roles, **roles})


def _raises(kind: type[Exception], call: Callable[[], Any], what: str) -> Exception:
    try:
        call()
    except kind as err:
        assert str(err).strip(), f"{what} raised {kind.__name__} with an empty message"
        return err
    except Exception as err:  # noqa: BLE001 - reported as a conformance failure
        raise AssertionError(
            f"{what} raised {type(err).__name__} ({err}) instead of {kind.__name__}"
        ) from err
    raise AssertionError(f"{what} did not raise {kind.__name__}")


def _same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, va in a.items():
        vb = b[key]
        if isinstance(va, BaseEstimator) or isinstance(vb, BaseEstimator):
            if type(va) is not type(vb):
                return False
            if not _same_params(va.get_params(deep=False), vb.get_params(deep=False)):
                return False
        elif isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            if not np.array_equal(va, vb):
                return False
        elif va is not vb and va != vb:
            return False
    return True


def _numbers(result: EffectEstimate) -> tuple[float, ...]:
    lo, hi = result.conf_int(0.05)
    se = math.nan if result.std_error is None else result.std_error
    return (result.value, se, lo, hi)


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


# ------------------------------------------------------------------ the checks
def check_not_fitted(est: Any, case: CheckCase) -> None:
    """``effect()`` before ``fit`` and on a clone of a fitted estimator raise NotFittedError."""
    _raises(NotFittedError, lambda: _fresh(est).effect(), "effect() before fit")
    fitted = _fit(_fresh(est), case)
    _raises(NotFittedError, lambda: clone(fitted).effect(), "effect() on a clone of a fit")


def check_fit_returns_self(est: Any, case: CheckCase) -> None:
    """``fit`` returns ``self`` and changes neither the hyper-parameters nor the input frame."""
    new = _fresh(est)
    before, frame = new.get_params(deep=False), case.data.copy(deep=True)
    fitted = _fit(new, case)
    assert fitted is new, f"fit returned {type(fitted).__name__}, not self"
    assert _same_params(before, new.get_params(deep=False)), "fit changed the hyper-parameters"
    try:
        pd.testing.assert_frame_equal(case.data, frame)
    except AssertionError as err:
        raise AssertionError("fit modified the input DataFrame") from err


def check_params_round_trip(est: Any, case: CheckCase) -> None:
    """``type(est)(**get_params())``, ``clone`` and ``set_params`` keep the parameters."""
    params = est.get_params(deep=False)
    rebuilt = type(est)(**params).get_params(deep=False)
    assert _same_params(params, rebuilt), "__init__ does not store parameters as given"
    assert _same_params(params, clone(est).get_params(deep=False)), "clone changes parameters"
    probe = clone(est)
    assert probe.set_params(**params) is probe, "set_params does not return self"


def check_same_seed_same_numbers(est: Any, case: CheckCase) -> None:
    """Two fits with the same ``random_state`` give the same estimate bit for bit."""
    a = _numbers(_fit(_fresh(est), case).effect(treatment=1, control=0))
    b = _numbers(_fit(_fresh(est), case).effect(treatment=1, control=0))
    assert _same(a, b), f"two fits with the same random_state differ: {a} vs {b}"


def check_finite_estimate_with_interval(est: Any, case: CheckCase) -> None:
    """``effect(treatment=1, control=0)`` is finite with a finite interval (or via bootstrap)."""
    fitted = _fit(_fresh(est), case)
    result = fitted.effect(treatment=1, control=0)
    assert isinstance(result, EffectEstimate), f"effect() returned {type(result).__name__}"
    assert result.query, "effect() has no query label"
    value, _, lo, hi = _numbers(result)
    assert math.isfinite(value), f"effect() value is {value}"
    if math.isnan(lo) and math.isnan(hi):  # a point estimate: the bootstrap gives the interval
        boot = fitted.bootstrap(10, random_state=0, treatment=1, control=0, verbose=False)
        assert boot.value == value, "bootstrap() changes the point estimate"
        lo, hi = boot.conf_int(0.05)
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi, f"interval ({lo}, {hi})"


def check_keyword_only(est: Any, case: CheckCase) -> None:
    """``effect(1, 0)`` and ``mean(1)`` are TypeErrors (keyword-only: no silent flip)."""
    fitted = _fit(_fresh(est), case)
    for call in (lambda: fitted.effect(1, 0), lambda: fitted.mean(1)):
        _raises(TypeError, call, "a positional treatment value")


def check_bad_data(est: Any, case: CheckCase) -> None:
    """Missing role columns, NaN covariates and a non-numeric outcome raise DataValidationError."""
    df, roles = case.data, case.roles
    treatment, outcome = roles["treatment"], roles["outcome"]
    bad = {
        "a missing treatment column": df.drop(columns=[treatment]),
        "a non-numeric outcome": df.assign(**{outcome: df[outcome].map(lambda v: f"v{v}")}),
    }
    cols = [c for r in ("covariates", "instruments", "mediators") for c in roles.get(r, ())]
    if cols:
        bad["a NaN in a covariate"] = df.assign(
            **{cols[0]: df[cols[0]].astype(float).where(df.index != df.index[5])}
        )
    if isinstance(est, BaseEffectEstimator):
        t = df[treatment].to_numpy()
        bad["a treatment with values 0, 1, 2"] = df.assign(
            **{treatment: np.where(np.arange(len(df)) % 5 == 0, 2, t)}
        )
        bad["a single treatment arm"] = df.assign(**{treatment: np.ones(len(df), dtype=int)})
    else:  # continuous or any-valued treatments (IV, selection): a constant one is refused
        bad["a constant treatment"] = df.assign(**{treatment: 1.0})
    if roles.get("instruments"):
        bad["a constant instrument"] = df.assign(**{roles["instruments"][0]: 1.0})
    if "selection" in roles:
        s = roles["selection"]
        bad["a selection indicator with values 0, 1, 2"] = df.assign(**{s: df[s] * 2})
        first_selected = df.index[df[s] == 1][0]
        bad["an outcome missing for a selected row"] = df.assign(
            **{outcome: df[outcome].mask(df.index == first_selected)}
        )
    for what, frame in bad.items():
        _raises(
            DataValidationError,
            lambda frame=frame: _fit(_fresh(est), case, frame).effect(treatment=1, control=0),
            f"fit on data with {what}",
        )


def check_unsupported_populations(est: Any, case: CheckCase) -> None:
    """Unknown populations are DataValidationErrors; unsupported ones EstimandNotSupported,
    in ``effect`` and ``mean`` alike (IV and selection estimators target ``"all"`` only)."""
    fitted = _fit(_fresh(est), case)
    _raises(DataValidationError, lambda: fitted.effect(population="everyone"), "population='?'")
    for population in POPULATIONS:
        if population not in type(est)._populations:
            for name in ("effect", "mean"):
                _raises(
                    EstimandNotSupportedError,
                    lambda p=population, n=name: getattr(fitted, n)(population=p),
                    f"{name}(population={population!r})",
                )


def check_rejects_unused_roles(est: Any, case: CheckCase) -> None:
    """``fit`` with a role the estimator does not take names its roles."""
    unused = next(r for r in ROLES if r not in type(est)._roles)
    value = case.roles["outcome"] if unused in ("selection",) else [case.roles["outcome"]]
    err = _raises(
        DataValidationError,
        lambda: _fit(_fresh(est), case, **{unused: value}),
        f"fit(..., {unused}=...)",
    )
    assert "its roles are" in str(err), f"the error does not name the roles: {err}"


def check_unsupported_estimand(est: Any, case: CheckCase) -> None:
    """An estimand of a kind the estimator does not support is refused, naming the kind."""
    supported = getattr(est, "supported_kinds", ())
    kind, graph = next((k, g) for k, g in _KIND_GRAPHS if k not in supported)
    estimand = identify(graph, "T", "Y")
    frame = pd.DataFrame({"T": [0, 1] * 20, "M": [0.0, 1.0] * 20, "Y": np.arange(40.0)})
    err = _raises(
        EstimandNotSupportedError,
        lambda: _fresh(est).fit(frame.assign(Z=frame["M"]), estimand),
        f"fit with a {kind!r} estimand",
    )
    assert kind in str(err), f"the error does not name the kind {kind!r}: {err}"


_KIND_GRAPHS = (("frontdoor", "T -> M -> Y; T <-> Y"), ("backdoor", "Z -> T -> Y; Z -> Y"))


def check_invalid_parameter(est: Any, case: CheckCase) -> None:
    """A declared hyper-parameter with a wrong value raises InvalidParameterError in fit."""
    name = next(iter(type(est)._parameter_constraints))
    bad = _fresh(est).set_params(**{name: object()})
    _raises(InvalidParameterError, lambda: _fit(bad, case), f"fit with {name}=object()")


def check_predict_cate_by_name(est: Any, case: CheckCase) -> None:
    """``predict_cate`` gives identical results for the covariates in two column orders and
    refuses a frame that lacks one."""
    fitted = _fit(_fresh(est), case)
    cols = list(case.covariates)
    a = fitted.predict_cate(case.data[cols])
    b = fitted.predict_cate(case.data[cols[::-1]])
    np.testing.assert_array_equal(a, b, err_msg="predict_cate depends on the column order")
    _raises(
        DataValidationError,
        lambda: fitted.predict_cate(case.data[cols[1:]]),
        "predict_cate on a frame without a covariate",
    )


def check_save_load(est: Any, case: CheckCase) -> None:
    """``save(path)`` returns the path and ``load`` restores the same estimates."""
    fitted = _fit(_fresh(est), case)
    with tempfile.TemporaryDirectory() as tmp:
        path = fitted.save(Path(tmp) / "model")
        assert isinstance(path, Path), f"save() returned {type(path).__name__}, not a Path"
        loaded = type(est).load(path)
    a = _numbers(fitted.effect(treatment=1, control=0))
    b = _numbers(loaded.effect(treatment=1, control=0))
    assert _same(a, b), f"the loaded model differs: {a} vs {b}"


# ------------------------------------------------------------------ enumeration
def _applies(est: Any, case: CheckCase) -> dict[str, bool]:
    cls = type(est)
    return {
        "check_unsupported_populations": set(POPULATIONS) != set(getattr(cls, "_populations", ())),
        "check_rejects_unused_roles": any(r not in getattr(cls, "_roles", ROLES) for r in ROLES),
        # supported_kinds = () (IV: roles only) still refuses every kind, naming it
        "check_unsupported_estimand": hasattr(cls, "supported_kinds")
        and any(k not in cls.supported_kinds for k, _ in _KIND_GRAPHS),
        "check_invalid_parameter": bool(getattr(cls, "_parameter_constraints", {})),
        "check_predict_cate_by_name": hasattr(est, "predict_cate") and len(case.covariates) > 1,
        "check_save_load": hasattr(est, "save") and hasattr(cls, "load"),
    }


_CHECKS: tuple[Check, ...] = (
    check_not_fitted,
    check_fit_returns_self,
    check_params_round_trip,
    check_same_seed_same_numbers,
    check_finite_estimate_with_interval,
    check_keyword_only,
    check_bad_data,
    check_unsupported_populations,
    check_rejects_unused_roles,
    check_unsupported_estimand,
    check_invalid_parameter,
    check_predict_cate_by_name,
    check_save_load,
)


def estimator_checks(estimator: Any, case: CheckCase | None = None) -> list[tuple[str, Callable]]:
    """The checks that apply to ``estimator``, as ``(name, callable())`` pairs.

    Parameters
    ----------
    estimator : EffectEstimator
        An unfitted estimator (the checks work on clones; ``random_state=None`` becomes 0).
    case : CheckCase, optional
        Data, roles and truth (default: :func:`~deepcause.testing.cases.backdoor_case`).

    Examples
    --------
    >>> from deepcause.estimate import TLearner
    >>> names = [name for name, _ in estimator_checks(TLearner())]
    >>> "check_predict_cate_by_name" in names, "check_save_load" in names
    (True, False)
    """
    case = backdoor_case() if case is None else case
    applies = _applies(estimator, case)
    return [
        (check.__name__, functools.partial(check, estimator, case))
        for check in _CHECKS
        if applies.get(check.__name__, True)
    ]


def check_estimator(estimator: Any, case: CheckCase | None = None) -> None:
    """Run every applicable check; raise one ``AssertionError`` listing all failures.

    Examples
    --------
    >>> from deepcause.estimate import AIPW
    >>> from sklearn.linear_model import LinearRegression
    >>> check_estimator(AIPW(outcome_model=LinearRegression(), n_folds=2))
    """
    failures = []
    for name, check in estimator_checks(estimator, case):
        try:
            check()
        except (AssertionError, DeepCauseError, TypeError, ValueError) as err:
            failures.append(f"{name}: {err}")
    if failures:
        raise AssertionError(
            f"{type(estimator).__name__} fails {len(failures)} check(s):\n" + "\n".join(failures)
        )


def with_case(case: CheckCase, **changes: Any) -> CheckCase:
    """A copy of ``case`` with fields replaced (e.g. other roles).

    >>> with_case(backdoor_case(), name="renamed").name
    'renamed'
    """
    return dataclasses.replace(case, **changes)
