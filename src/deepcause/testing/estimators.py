"""Conformance checks every binary-treatment effect estimator must pass.

``check_estimator(est)`` runs copies (``sklearn.base.clone``) of ``est`` on a small confounded
data set (or the :class:`~deepcause.datasets.CausalDataset` you pass) through the back-door
:class:`~deepcause.identification.estimand.Estimand` identified from the data set's graph, and checks:

* ``get_params`` round-trips: ``type(est)(**params)``, ``clone`` and ``set_params`` give equal
  parameters, and ``fit`` changes neither the parameters nor the input DataFrame;
* ``ate()`` before ``fit`` raises :class:`~deepcause.exceptions.NotFittedError`, and so does a
  ``clone`` of a fitted estimator (a clone carries no learned state);
* ``fit`` returns ``self``;
* ``ate()`` returns an :class:`~deepcause.results.EffectEstimate` with ``quantity == "ATE"``, a
  finite value and a finite confidence interval ``lower <= upper`` (from ``bootstrap()`` when
  ``ate()`` is documented as a point estimate only), and, with ``atol``, a value within
  ``atol`` of the data set's true ATE;
* determinism: two fits with the same ``random_state`` give the same numbers bit for bit;
* bad input is refused with :class:`~deepcause.exceptions.DataValidationError` (at ``fit`` or
  at ``ate()``): a treatment with three values, a NaN outcome, a NaN covariate, a single arm;
* an estimand whose ``kind`` is not in ``supported_kinds`` is refused with
  :class:`~deepcause.exceptions.EstimandNotSupportedError` naming that kind.

Raises ``AssertionError`` naming the estimator and the failed property.

>>> from deepcause.estimate import IPW
>>> check_estimator(IPW(), atol=0.75)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from ..exceptions import DataValidationError, EstimandNotSupportedError, NotFittedError

__all__ = ["check_estimator", "default_check_data"]

# kinds tried, in order, when looking for an estimand the estimator does not support
_OTHER_KINDS = ("frontdoor", "general", "iv")
_GRAPHS = {
    "frontdoor": "{t} -> M -> {y}; {t} <-> {y}",
    "general": "W1 -> W2 -> {t} -> {y}; W1 <-> {t}; W1 <-> {y}",  # the napkin
}


def default_check_data(n: int = 400, random_state: int = 0) -> Any:
    """The data set used when ``check_estimator`` gets none: confounded binary, 3 covariates."""
    from ..simulate import make_confounded_binary

    return make_confounded_binary(
        n, n_covariates=3, random_state=random_state, population_truth=False
    )


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


def _raises(kind: type[Exception], call: Callable[[], Any], name: str, what: str) -> Exception:
    try:
        call()
    except kind as err:
        return err
    except Exception as err:  # noqa: BLE001 - reported as a conformance failure
        raise AssertionError(
            f"{name}: {what} raised {type(err).__name__} ({err}) instead of {kind.__name__}"
        ) from err
    raise AssertionError(f"{name}: {what} did not raise {kind.__name__}")


def _numbers(result: Any) -> tuple[float, ...]:
    lo, hi = result.conf_int(0.05)
    se = math.nan if result.std_error is None else result.std_error
    return (result.value, se, lo, hi)


def _same_numbers(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def _unsupported_estimand(est: Any, backdoor: Any, treatment: str, outcome: str) -> Any:
    """A real estimand of a kind ``est`` does not support (``None`` if it supports them all)."""
    from ..identification.algorithm import identify

    supported = tuple(getattr(est, "supported_kinds", ("backdoor",)))
    for kind in _OTHER_KINDS:
        if kind in supported:
            continue
        if kind in _GRAPHS:
            found = identify(_GRAPHS[kind].format(t=treatment, y=outcome), treatment, outcome)
            if found.kind == kind:
                return found
        else:  # no graph gives an IV "estimand": relabel the back-door one
            return replace(backdoor, kind=kind)
    return None


def check_estimator(
    estimator: Any,
    data: Any = None,
    *,
    random_state: int = 0,
    atol: float | None = None,
    n_boot: int = 20,
) -> None:
    """Run the conformance checks on clones of ``estimator``; raise ``AssertionError`` on failure.

    ``data`` is a :class:`~deepcause.datasets.CausalDataset` with a binary treatment and a graph
    in which the treatment's effect is identified by back-door adjustment (default:
    :func:`default_check_data`). ``random_state`` is set on the clones that have that
    parameter. With ``atol``, the ATE must be within ``atol`` of ``data.truth["ATE"]``. An
    estimator whose ``ate()`` is a point estimate only (no standard error, e.g. the S/T/X
    meta-learners) must give a finite interval through ``bootstrap(n_boot=n_boot)`` instead;
    ``n_boot=0`` requires the interval from ``ate()`` itself.
    """
    from ..identification.algorithm import identify
    from ..results import EffectEstimate

    name = type(estimator).__name__
    ds = default_check_data(random_state=random_state) if data is None else data
    df, treatment, outcome = ds.data, ds.treatment, ds.outcome
    estimand = identify(ds.graph, treatment, outcome)
    assert estimand.kind == "backdoor", f"check data: the estimand is {estimand.kind}, not backdoor"

    # ---------------------------------------------------------------- parameters
    params = estimator.get_params(deep=False)
    rebuilt = type(estimator)(**params).get_params(deep=False)
    assert _same_params(params, rebuilt), f"{name}: __init__ does not store parameters as given"
    assert _same_params(params, clone(estimator).get_params(deep=False)), (
        f"{name}: clone changes the parameters"
    )
    probe = clone(estimator)
    assert probe.set_params(**params) is probe, f"{name}: set_params does not return self"

    def fresh() -> Any:
        est = clone(estimator)
        if "random_state" in params:
            est.set_params(random_state=random_state)
        return est

    # ---------------------------------------------------------------- fit / not fitted
    _raises(NotFittedError, fresh().ate, name, "ate() before fit")
    est = fresh()
    before_params = est.get_params(deep=False)
    before_data = df.copy(deep=True)
    fitted = est.fit(df, estimand)
    assert fitted is est, f"{name}: fit returned {type(fitted).__name__}, not self"
    assert _same_params(before_params, est.get_params(deep=False)), (
        f"{name}: fit changed the hyper-parameters"
    )
    try:
        pd.testing.assert_frame_equal(df, before_data)
    except AssertionError as err:
        raise AssertionError(f"{name}: fit modified the input DataFrame") from err

    # ---------------------------------------------------------------- the estimate
    result = est.ate()
    assert isinstance(result, EffectEstimate), (
        f"{name}: ate() returned {type(result).__name__}, not EffectEstimate"
    )
    assert result.quantity == "ATE", f"{name}: ate() has quantity {result.quantity!r}"
    value, _, lo, hi = _numbers(result)
    assert math.isfinite(value), f"{name}: ate() value is {value}"
    where = "ate()"
    if math.isnan(lo) and math.isnan(hi) and n_boot and hasattr(est, "bootstrap"):
        # point-estimate-only estimators (documented as such) must give one via bootstrap()
        where = f"bootstrap(n_boot={n_boot})"
        boot = est.bootstrap("ATE", n_boot=n_boot, random_state=random_state, verbose=False)
        assert boot.value == value, f"{name}: {where} changes the point estimate"
        lo, hi = boot.conf_int(0.05)
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi, (
        f"{name}: {where} confidence interval is ({lo}, {hi})"
    )
    truth = ds.truth.get("ATE") if atol is not None else None
    if truth is not None:
        assert abs(value - truth) <= atol, (
            f"{name}: ATE {value:.4f} is {abs(value - truth):.4f} from the truth {truth:.4f} "
            f"(> atol {atol})"
        )

    # ---------------------------------------------------------------- clone and determinism
    _raises(NotFittedError, clone(est).ate, name, "ate() on a clone of a fitted estimator")
    again = _numbers(fresh().fit(df, estimand).ate())
    assert _same_numbers(_numbers(result), again), (
        f"{name}: two fits with random_state={random_state} differ: {_numbers(result)} vs {again}"
    )

    # ---------------------------------------------------------------- bad data
    covariate = ds.covariates[0] if ds.covariates else None
    t_values = df[treatment].to_numpy()
    bad_frames = {
        "a treatment with values 0, 1, 2": df.assign(
            **{treatment: np.where(np.arange(len(df)) % 5 == 0, 2, t_values)}
        ),
        "a NaN outcome": df.assign(**{outcome: df[outcome].where(df.index != df.index[3])}),
        "a single treatment arm": df.assign(**{treatment: np.ones(len(df), dtype=t_values.dtype)}),
    }
    if covariate is not None:
        bad_frames["a NaN covariate"] = df.assign(
            **{covariate: df[covariate].astype(float).where(df.index != df.index[5])}
        )
    for what, bad in bad_frames.items():
        err = _raises(
            DataValidationError,
            lambda bad=bad: fresh().fit(bad, estimand).ate(),
            name,
            f"fit on data with {what}",
        )
        assert str(err).strip(), f"{name}: empty error message for data with {what}"

    # ---------------------------------------------------------------- unsupported estimand
    other = _unsupported_estimand(estimator, estimand, treatment, outcome)
    if other is not None:
        extra = df.assign(**{v: df[outcome].to_numpy() for v in ("M", "W1", "W2")})
        err = _raises(
            EstimandNotSupportedError,
            lambda: fresh().fit(extra, other).ate(),
            name,
            f"fit with a {other.kind!r} estimand",
        )
        assert other.kind in str(err), f"{name}: the error does not name the kind: {err}"
