"""Gradient-boosted nuisance models on the Dask engine, fitted by XGBoost's Dask interface.

XGBoost was chosen over LightGBM's Dask interface by measurement: on 10^6 rows x 10 covariates
on a 2-worker ``LocalCluster`` both reach the same held-out accuracy (R^2 0.912 vs 0.913,
log-loss 0.601 vs 0.601) and XGBoost fits faster (see
``benchmarks/results/bench_scale_boosting.md``).

The user passes ``xgboost.dask.DaskXGBRegressor`` / ``DaskXGBClassifier`` or, for convenience,
the scikit-learn-API ``xgboost.XGBRegressor`` / ``XGBClassifier`` (converted to the Dask class
with the same parameters; the in-memory path fits the local class itself). Each fold's model is
trained on the other folds' rows (a filter of the Dask DataFrame; the folds follow the shared
rule of :mod:`deepcause.estimate._folds`) by ``dask.distributed``; its booster then predicts
the fold's rows partition by partition inside the passes of the influence-function reduction.
Unlike the passes, training holds the training rows in the workers' memory (XGBoost's
``DaskDMatrix``). On one worker the boosters equal the in-memory ones; on several, XGBoost
merges per-worker quantile sketches, so they differ slightly, reproducibly (the partitions are
placed on the workers by a fixed rule, :func:`_placed`).

Cross-fitting does not remove the bias of a doubly robust estimate whose two nuisance models
err in the same direction: AIPW's error is, besides sampling noise, the mean product of the
propensity's and the outcome model's errors, and boosted models of fixed capacity shrink both
towards their means along the confounding direction, so the product does not shrink with n.
:func:`boosted_nuisances` gives settings chosen by measuring that product
(``benchmarks/bench_scale_boosting.py --study``).

>>> import numpy as np
>>> from xgboost import XGBRegressor
>>> spec = boosted_spec(XGBRegressor(n_estimators=10), "outcome_model", random_state=0)
>>> spec.classifier, spec.params["n_estimators"], spec.params["random_state"] is not None
(False, 10, True)
>>> boosted_spec(np.zeros(2), "outcome_model") is None  # not XGBoost: the linear path decides
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import DataValidationError
from .._nuisance import seeded
from ._engine import _current_client

__all__ = [
    "BoostedSpec",
    "boosted_spec",
    "as_xgboost",
    "fit_fold_models",
    "predict_folds",
    "BOOSTED_CLASSES",
    "BOOSTED_SETTINGS",
    "boosted_nuisances",
]

# class name -> whether it is a classifier (propensity) or a regressor (outcome)
BOOSTED_CLASSES = {
    "XGBRegressor": False,
    "DaskXGBRegressor": False,
    "XGBClassifier": True,
    "DaskXGBClassifier": True,
}


# Settings of boosted_nuisances, chosen by measurement (benchmarks/bench_scale_boosting.py
# --study; results/bench_scale_boosting.md): XGBoost's usual depth-6, 100-tree, rate-0.1 models
# leave AIPW biased by the product of two nuisance errors that do not shrink with n (product
# term +0.017, 7 standard errors, at 10^6 rows; 1.7 with these). Shallow trees with more,
# larger steps fit the smooth propensity and outcome surfaces of the generated designs more
# closely, for about 1.3x the tree levels.
BOOSTED_SETTINGS = {
    "propensity": dict(n_estimators=300, learning_rate=0.3, max_depth=1),
    "outcome": dict(n_estimators=500, learning_rate=0.3, max_depth=2),
}


def boosted_nuisances(random_state: Any = None, n_jobs: int = 1) -> tuple[Any, Any]:
    """``(XGBClassifier, XGBRegressor)`` nuisance models with the measured settings.

    For :class:`~deepcause.estimate.AIPW` / :class:`~deepcause.estimate.IPW` on a Dask
    DataFrame (or in memory): the propensity model boosts stumps, 300 rounds at rate 0.3; the
    outcome model depth-2 trees, 500 rounds at rate 0.3 (``BOOSTED_SETTINGS``; histogram
    method, 256 bins). On ``make_confounded_binary`` (10 covariates, nonlinear outcome) they
    cut the nuisance errors and with them the doubly robust estimate's bias, which is the
    product of the two errors: with XGBoost's usual depth-6, 100-tree models that product
    was 7 standard errors at 10^6 rows, with these settings 1.7
    (``benchmarks/results/bench_scale_boosting.md``). On larger tables give both models more
    rounds (``set_params(n_estimators=1000)``: 1.0-1.1 at 10^6 rows, 1.7-2x the time).

    Parameters
    ----------
    random_state : int or None, default None
        Seed of both models (None: the estimator seeds them from its own ``random_state``).
    n_jobs : int, default 1
        Threads per model (per worker on the Dask engine).

    Returns
    -------
    tuple
        Unfitted ``xgboost.XGBClassifier`` and ``xgboost.XGBRegressor``.

    Examples
    --------
    >>> ps, om = boosted_nuisances(random_state=0)
    >>> ps.get_params()["max_depth"], om.get_params()["n_estimators"]
    (1, 500)
    """
    import xgboost

    common = dict(tree_method="hist", max_bin=256, random_state=random_state, n_jobs=n_jobs)
    return (
        xgboost.XGBClassifier(**common, **BOOSTED_SETTINGS["propensity"]),
        xgboost.XGBRegressor(**common, **BOOSTED_SETTINGS["outcome"]),
    )


@dataclass(frozen=True)
class BoostedSpec:
    """The parameters of an XGBoost model (seeded like the in-memory path) and its kind."""

    params: dict[str, Any]
    classifier: bool


def boosted_spec(model: Any, role: str, random_state: Any = None) -> BoostedSpec | None:
    """The :class:`BoostedSpec` of an XGBoost estimator, ``None`` for any other object.

    ``random_state`` seeds a model whose own ``random_state`` is None exactly as the in-memory
    path does (:func:`deepcause.estimate._nuisance.seeded`), so both fit the same parameters.
    A regressor given as propensity model (or a classifier as outcome model) is refused.

    Examples
    --------
    >>> from xgboost import XGBClassifier
    >>> boosted_spec(XGBClassifier(max_depth=2, random_state=7), "propensity_model").params[
    ...     "random_state"]
    7
    >>> boosted_spec(XGBClassifier(), "outcome_model")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: outcome_model must be an XGBRegressor (or its Dask class), got XGBClassifier
    """
    kind = type(model).__name__
    if not (type(model).__module__ or "").startswith("xgboost") or kind not in BOOSTED_CLASSES:
        return None
    classifier = BOOSTED_CLASSES[kind]
    if classifier != (role == "propensity_model"):
        wanted = "XGBClassifier" if role == "propensity_model" else "XGBRegressor"
        raise DataValidationError(f"{role} must be an {wanted} (or its Dask class), got {kind}")
    return BoostedSpec(seeded(model, random_state).get_params(deep=False), classifier)


def as_xgboost(booster: Any) -> Any:
    """An in-memory ``xgboost.XGBRegressor`` carrying a fitted ``booster`` (for ``predict``).

    >>> from xgboost import XGBRegressor
    >>> X = np.arange(8.0)[:, None]
    >>> b = XGBRegressor(n_estimators=2, random_state=0).fit(X, X[:, 0]).get_booster()
    >>> bool((as_xgboost(b).predict(X) == b.inplace_predict(X)).all())
    True
    """
    import xgboost

    model = xgboost.XGBRegressor()
    model.load_model(bytearray(booster.save_raw("json")))
    return model


def require_client() -> Any:
    """The ``dask.distributed`` client XGBoost trains on, or a one-line refusal."""
    client = _current_client()
    if client is None:
        raise DataValidationError(
            "gradient-boosted nuisance models on the Dask engine are trained by XGBoost's Dask "
            "interface, which needs a dask.distributed client: start one (distributed.Client()) "
            "or pass scheduler='tcp://host:8786'"
        )
    return client


def fit_fold_models(
    frame: Any, features: list[str], target: str, spec: BoostedSpec, n_folds: int, client: Any
) -> tuple[Any, ...]:
    """One booster per fold, trained on the rows of the other folds (all rows when 1 fold).

    ``frame`` is a Dask DataFrame holding ``features``, ``target`` and the ``fold`` column.
    """
    import xgboost.dask as xgb_dask

    cls = xgb_dask.DaskXGBClassifier if spec.classifier else xgb_dask.DaskXGBRegressor
    boosters = []
    for k in range(n_folds):
        rows = _placed(frame if n_folds == 1 else frame[frame["fold"] != k], client)
        model = cls(**spec.params)
        model.client = client
        model.fit(rows[features], rows[target])
        boosters.append(model.get_booster())
    return tuple(boosters)


def _placed(frame: Any, client: Any) -> Any:
    """``frame`` computed on the workers, partition ``i`` on worker ``i mod W`` (by address).

    XGBoost sketches the quantiles of each worker's rows and merges them, so the fit depends on
    which worker holds which partition: a fixed placement makes it reproducible on a cluster.
    XGBoost holds the training rows in the workers' memory anyway.
    """
    import dask.dataframe as dd

    # asked of the scheduler each time: ``scheduler_info()`` answers from a cache that the
    # client's periodic refresh may leave without per-worker entries
    workers = sorted(client.nthreads())
    if not workers:
        raise RuntimeError("the Dask cluster has no workers: start some, then fit again")
    futures = [
        client.compute(part, workers=[workers[i % len(workers)]], allow_other_workers=False)
        for i, part in enumerate(frame.to_delayed())
    ]
    return dd.from_delayed(futures, meta=frame._meta, verify_meta=False)


def predict_folds(boosters: tuple[Any, ...], Z: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each row's prediction by its fold's booster (probability of T=1 for a classifier).

    >>> from xgboost import XGBRegressor
    >>> X = np.arange(8.0)[:, None]
    >>> b = XGBRegressor(n_estimators=2, random_state=0).fit(X, X[:, 0]).get_booster()
    >>> predict_folds((b, b), X, np.array([0, 1] * 4)).shape
    (8,)
    """
    out = np.empty(len(folds))
    if len(boosters) == 1:
        out[:] = boosters[0].inplace_predict(Z)
        return out
    for k, booster in enumerate(boosters):
        rows = folds == k
        if rows.any():
            out[rows] = booster.inplace_predict(Z[rows])
    return out
