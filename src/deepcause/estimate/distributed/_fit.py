"""``fit`` of the scalable estimators on a Dask DataFrame (called by ``EffectEstimator.fit``).

IPW and AIPW (cross-fitted, logistic propensity and linear outcome models, or XGBoost models
trained by its Dask interface), the T-learner (regression adjustment with linear or XGBoost
models), PlugIn (discrete data: the probability table of
the estimand's variables is reduced across partitions) and two-stage least squares take a
``dask.dataframe.DataFrame``; other estimators refuse it with the list of those that do.
"""

from __future__ import annotations

from typing import Any

from ...exceptions import DataValidationError
from .._folds import fold_seed
from .._nuisance import LARGE_N, default_outcome_model, default_propensity_model
from ._boosted import BoostedSpec, as_xgboost, boosted_spec
from ._data import prepare_backdoor
from ._linear import LinearSpec, linear_spec
from ._nuisance import fit_nuisances
from ._tlearner import as_sklearn, fit_boosted_tlearner, fit_tlearner
from ._weighting import WeightingEngine

__all__ = ["fit_dask", "nuisance_spec", "DASK_ESTIMATORS"]

DASK_ESTIMATORS = ("IPW", "AIPW", "TLearner", "PlugIn", "TwoStageLeastSquares")


def _refuse_bootstrap(rng: Any) -> Any:
    raise DataValidationError(
        "bootstrap resamples rows in memory; on the Dask engine use effect()'s "
        "influence-function standard error, or compute() a sample and use the pandas path"
    )


def nuisance_spec(model: Any, role: str, random_state: Any) -> LinearSpec | BoostedSpec:
    """What the engine fits for a nuisance model: XGBoost (boosted) or linear, else refused.

    >>> from sklearn.linear_model import Ridge
    >>> nuisance_spec(Ridge(alpha=2.0), "outcome_model", 0)
    LinearSpec(kind='ridge', penalty=2.0, fit_intercept=True)
    """
    boosted = boosted_spec(model, role, random_state)
    return linear_spec(model, role) if boosted is None else boosted


def _weighting(est: Any, data: Any, kind: str) -> None:
    if getattr(est, "interval", "population") != "population":
        raise DataValidationError(
            "interval='sample' is not available on the Dask engine: use interval='population' "
            "or fit on a pandas DataFrame"
        )
    model = est.propensity_model
    model = default_propensity_model() if model is None else model
    ps = nuisance_spec(model, "propensity_model", est.random_state)
    om = None
    if kind == "aipw":
        model = est.outcome_model
        # the default outcome model of large tables (Ridge(alpha=1)) at every size
        model = default_outcome_model(LARGE_N + 1) if model is None else model
        om = nuisance_spec(model, "outcome_model", est.random_state)
    nuis = fit_nuisances(data, ps, om, est.n_folds, fold_seed(est.random_state))
    method = "AIPW"
    if kind == "ipw":
        method = "IPW (Hajek)" if est.normalize else "IPW (Horvitz-Thompson)"
    engine = WeightingEngine(data, nuis, kind, est.clip, est.trim, est.normalize, method)
    est.engine_ = engine
    est._contrast = engine.contrast  # the back-door hook, evaluated out of core


def _tlearner(est: Any, data: Any) -> None:
    if est.model is None:
        raise DataValidationError(
            "TLearner on the Dask engine needs a linear or XGBoost model: "
            "TLearner(LinearRegression()), TLearner(Ridge(alpha=...)) or TLearner(XGBRegressor())"
        )
    base0 = est.model if est.control_model is None else est.control_model
    boosted = (
        boosted_spec(base0, "control_model", est.random_state),
        boosted_spec(est.model, "model", est.random_state),
    )
    if all(boosted):
        est.engine_ = fit_boosted_tlearner(data, boosted)
        est.model0_, est.model1_ = (as_xgboost(b) for b in est.engine_.boosters)
        est._contrast = est.engine_.contrast
        return
    specs = (linear_spec(base0, "control_model"), linear_spec(est.model, "model"))
    engine = fit_tlearner(data, specs)
    est.engine_ = engine
    est.model0_, est.model1_ = (
        as_sklearn(base0, engine.coef[0]),
        as_sklearn(est.model, engine.coef[1]),
    )
    est._contrast = engine.contrast


def fit_dask(est: Any, frame: Any, estimand: Any, roles: dict[str, Any]) -> Any:
    """Fit ``est`` on the Dask DataFrame ``frame`` out of core; returns ``est``.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(2000, random_state=0, population_truth=False).data
    >>> frame = dd.from_pandas(df, npartitions=4)
    >>> est = IPW(random_state=0).fit(frame, treatment="t", outcome="y")  # calls fit_dask
    >>> pandas = IPW(random_state=0).fit(df, treatment="t", outcome="y").ate().value
    >>> bool(abs(est.ate().value - pandas) < 1e-3)  # exact solver vs lbfgs at tol 1e-4
    True
    """
    name = type(est).__name__
    if name not in DASK_ESTIMATORS:
        raise DataValidationError(
            f"{name} needs its data in memory; the Dask engine runs {', '.join(DASK_ESTIMATORS)} "
            "(or compute() the frame and use the pandas path)"
        )
    est._validate_params()
    est.fitted_from_arrays_ = False
    est._bootstrap_index = _refuse_bootstrap
    if name == "PlugIn":
        from ._other import fit_plugin

        return fit_plugin(est, frame, estimand, roles)
    if name == "TwoStageLeastSquares":
        from ._other import fit_tsls

        return fit_tsls(est, frame, estimand, roles)
    data = prepare_backdoor(frame, estimand, roles, name, est.supported_kinds)
    est.data_ = data
    if name == "TLearner":
        _tlearner(est, data)
    else:
        _weighting(est, data, name.lower())
    return est
