"""The Dask engine against the in-memory path, on a LocalCluster started by the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import dask.dataframe as dd  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge  # noqa: E402

from deepcause.estimate import AIPW, IPW, PlugIn, TLearner, estimate_effect  # noqa: E402
from deepcause.estimate._nuisance import make_folds  # noqa: E402
from deepcause.estimate.distributed import boosted_nuisances  # noqa: E402
from deepcause.estimate.distributed._nuisance import design  # noqa: E402
from deepcause.estimate.iv import TwoStageLeastSquares  # noqa: E402
from deepcause.exceptions import DataValidationError, EstimandNotSupportedError  # noqa: E402
from deepcause.simulate import make_confounded_binary  # noqa: E402
from deepcause.simulate.iv import make_linear_iv  # noqa: E402

# dask 2026.8's Parquet reader calls reset_index(inplace=True), deprecated in pandas 3.1
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")
TOL = 1e-8
# scikit-learn's own solver run to convergence, so that both paths reach the same optimum
LOGIT = LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12, max_iter=200)
ROLES = dict(treatment="t", outcome="y")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def backdoor(tmp_path_factory):
    ds = make_confounded_binary(
        20_000, n_covariates=4, effect="heterogeneous", random_state=5, population_truth=False
    )
    path = tmp_path_factory.mktemp("backdoor")
    _write_parquet(ds.data, path, 4)
    return ds, path


def _write_parquet(df, path, parts):
    """Partitions as Parquet files (pandas + pyarrow; dask's writer warns under pandas 3.1)."""
    for i, rows in enumerate(np.array_split(np.arange(len(df)), parts)):
        df.iloc[rows].to_parquet(path / f"part-{i:03d}.parquet", index=False)
    return path


def _close(a, b):
    assert abs(a.value - b.value) < TOL
    if b.std_error is not None:
        assert abs(a.std_error - b.std_error) < TOL
    assert a.quantity == b.quantity and a.n == b.n


@pytest.mark.parametrize(
    "est",
    [
        IPW(LOGIT, random_state=0),
        IPW(LOGIT, n_folds=3, trim=0.1, normalize=False, random_state=1),
        AIPW(LOGIT, LinearRegression(), random_state=0),
        AIPW(LOGIT, Ridge(alpha=5.0), n_folds=3, normalize=False, random_state=2),
        TLearner(LinearRegression()),
    ],
    ids=["ipw", "ipw-trim-ht", "aipw-ols", "aipw-ridge", "tlearner"],
)
def test_backdoor_matches_pandas_on_parquet(client, backdoor, est):
    ds, path = backdoor
    frame = dd.read_parquet(path)
    for population in ("all", "treated", "controls"):
        on_dask = est.fit(frame, **ROLES).effect(population=population)
        in_memory = est.fit(ds.data, **ROLES).effect(population=population)
        _close(on_dask, in_memory)
    # and it is a good estimate: the truth is within 4 standard errors (or 0.1 for T-learner)
    res = est.fit(frame, **ROLES).effect()
    assert abs(res.value - ds.truth["ATE"]) < 4 * (res.std_error or 0.025)


def test_diagnostics_are_reduced_like_the_pandas_ones(client, backdoor):
    ds, path = backdoor
    est = AIPW(LOGIT, LinearRegression(), random_state=0)
    a = est.fit(dd.read_parquet(path), **ROLES).effect().diagnostics
    b = est.fit(ds.data, **ROLES).effect().diagnostics
    assert np.allclose(a.balance.to_numpy(), b.balance.to_numpy(), atol=1e-10)
    assert a.overlap["treated"] == pytest.approx(b.overlap["treated"])
    assert a.ess == pytest.approx(b.ess)


def test_estimate_effect_and_two_sls(client, tmp_path):
    ds = make_linear_iv(20_000, effect=2.0, random_state=0)
    _write_parquet(ds.data, tmp_path, 3)
    frame = dd.read_parquet(tmp_path)
    roles = dict(treatment="d", outcome="y", instruments=["z1", "z2"], covariates=["x1", "x2"])
    for cov_type in ("HC1", "nonrobust"):
        est = TwoStageLeastSquares(cov_type=cov_type)
        a = est.fit(frame, **roles).effect()
        f_a, j_a = est.first_stage_f_["d"], est.overid_test_["hansen_j"]["statistic"]
        b = est.fit(ds.data, **roles).effect()
        _close(a, b)
        assert f_a == pytest.approx(est.first_stage_f_["d"], rel=1e-9)
        assert j_a == pytest.approx(est.overid_test_["hansen_j"]["statistic"], rel=1e-6)
    with pytest.raises(EstimandNotSupportedError, match="mean"):
        TwoStageLeastSquares().fit(frame, **roles).mean(treatment=1)


def test_estimate_effect_by_scheduler_address(backdoor):
    ds, path = backdoor
    graph = "; ".join(f"x{i} -> t; x{i} -> y" for i in range(1, 5)) + "; t -> y"
    params = {"propensity_model": LOGIT, "outcome_model": LinearRegression()}
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        a = estimate_effect(
            dd.read_parquet(path),
            graph,
            "t",
            "y",
            params=params,
            scheduler=cluster.scheduler_address,
        )
    b = estimate_effect(ds.data, graph, "t", "y", params=params)
    _close(a, b)
    assert a.method == "AIPW" and a.diagnostics.extra["engine"] == "dask"


def test_plugin_on_discrete_data(client):
    rng = np.random.default_rng(0)
    z = rng.integers(0, 3, 5000)
    t = rng.binomial(1, 0.2 + 0.2 * z)
    y = rng.binomial(1, 0.1 + 0.2 * t + 0.1 * z)
    import pandas as pd

    df = pd.DataFrame({"z": z, "t": t, "y": y})
    a = PlugIn().fit(dd.from_pandas(df, npartitions=3), treatment="t", outcome="y").effect()
    b = PlugIn().fit(df, treatment="t", outcome="y").effect()
    assert abs(a.value - b.value) < 1e-12 and a.n == b.n == 5000


def test_refusals_name_the_fix(client, backdoor):
    _, path = backdoor
    frame = dd.read_parquet(path)
    from sklearn.ensemble import HistGradientBoostingRegressor

    with pytest.raises(DataValidationError, match="LinearRegression or Ridge.*XGBRegressor"):
        AIPW(outcome_model=HistGradientBoostingRegressor()).fit(frame, **ROLES)
    with pytest.raises(DataValidationError, match="trim=0.05"):
        IPW(trim="crump").fit(frame, **ROLES).effect()
    est = AIPW(LOGIT, LinearRegression()).fit(frame, **ROLES)
    with pytest.raises(DataValidationError, match="bootstrap"):
        est.bootstrap(5)
    with pytest.raises(DataValidationError, match="binary 0/1"):
        AIPW(LOGIT, LinearRegression()).fit(frame, treatment="x1", outcome="y")


def test_cli_engine_dask_matches_pandas(backdoor, capsys):
    import json

    from deepcause.cli import main

    ds, path = backdoor
    csv = path.parent / "backdoor.csv"
    ds.data.to_csv(csv, index=False)
    args = ["estimate", "-t", "t", "-o", "y", "--method", "ipw", "--json"]
    assert main([*args, str(path / "*.parquet"), "--engine", "dask"]) == 0
    on_dask = json.loads(capsys.readouterr().out)
    assert main([*args, str(csv)]) == 0
    in_memory = json.loads(capsys.readouterr().out)
    # default LogisticRegression: scikit-learn's lbfgs stops at tol=1e-4, the engine at the optimum (they differ by 3e-4 here)
    assert on_dask["value"] == pytest.approx(in_memory["value"], abs=2e-3)
    assert on_dask["method"] == in_memory["method"]


# XGBoost nuisances: small models on a nonlinear design whose truth is the mean of mu1 - mu0
BOOST = dict(n_estimators=40, max_depth=3, learning_rate=0.1, n_jobs=1)


@pytest.fixture(scope="module")
def nonlinear():
    return make_confounded_binary(
        3000, n_covariates=4, outcome="nonlinear", random_state=3, population_truth=False
    )


def test_boosted_aipw_recovers_truth_and_matches_pandas(client, nonlinear):
    xgboost = pytest.importorskip("xgboost")
    est = AIPW(
        xgboost.XGBClassifier(**BOOST), xgboost.XGBRegressor(**BOOST), n_folds=2, random_state=0
    )
    frame = dd.from_pandas(nonlinear.data, npartitions=4)
    on_dask = est.fit(frame, **ROLES).effect()
    assert on_dask.diagnostics.extra["engine"] == "dask"
    # partitions are placed on the workers by a fixed rule: same seed, same numbers
    assert est.fit(frame, **ROLES).effect().value == on_dask.value
    lo, hi = on_dask.conf_int()
    assert lo < nonlinear.truth["ATE"] < hi
    in_memory = est.fit(nonlinear.data, **ROLES).effect()
    # 2 workers: XGBoost sums the gradient histograms across workers in another order than
    # in memory (measured difference 5e-9 here; the quantile cuts are exact at this size, at
    # 20,000 rows the merged sketches differ and so do the estimates, by 0.3 standard errors)
    assert on_dask.value == pytest.approx(in_memory.value, abs=1e-6)
    assert on_dask.std_error == pytest.approx(in_memory.std_error, abs=1e-6)


def test_boosted_on_one_worker_equals_pandas_exactly(nonlinear):
    xgboost = pytest.importorskip("xgboost")
    from xgboost.dask import DaskXGBClassifier, DaskXGBRegressor

    frame = dd.from_pandas(nonlinear.data, npartitions=3)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster),
    ):
        dask_models = (DaskXGBClassifier(**BOOST), DaskXGBRegressor(**BOOST))
        ipw = IPW(dask_models[0], n_folds=2, random_state=1).fit(frame, **ROLES).effect()
        aipw = AIPW(*dask_models, n_folds=2, random_state=1).fit(frame, **ROLES).effect()
    local = (xgboost.XGBClassifier(**BOOST), xgboost.XGBRegressor(**BOOST))
    for a, b in (
        (ipw, IPW(local[0], n_folds=2, random_state=1).fit(nonlinear.data, **ROLES).effect()),
        (aipw, AIPW(*local, n_folds=2, random_state=1).fit(nonlinear.data, **ROLES).effect()),
    ):
        assert a.value == pytest.approx(b.value, abs=1e-12)
        assert a.std_error == pytest.approx(b.std_error, abs=1e-12)


def test_boosted_refusals_name_the_fix(client, nonlinear, monkeypatch):
    xgboost = pytest.importorskip("xgboost")
    from deepcause.estimate.distributed import _boosted

    frame = dd.from_pandas(nonlinear.data, npartitions=2)
    with pytest.raises(DataValidationError, match="must be an XGBRegressor"):
        AIPW(outcome_model=xgboost.XGBClassifier(**BOOST)).fit(frame, **ROLES)
    with pytest.raises(DataValidationError, match="XGBRegressor for both arms"):
        TLearner(xgboost.XGBRegressor(**BOOST), LinearRegression()).fit(frame, **ROLES)
    monkeypatch.setattr(_boosted, "_current_client", lambda: None)  # Dask's local scheduler
    with pytest.raises(DataValidationError, match="needs a dask.distributed client"):
        IPW(xgboost.XGBClassifier(**BOOST)).fit(frame, **ROLES)


def test_boosted_tlearner_matches_pandas(client, nonlinear):
    xgboost = pytest.importorskip("xgboost")
    est = TLearner(xgboost.XGBRegressor(**BOOST), random_state=0)
    frame = dd.from_pandas(nonlinear.data, npartitions=4)
    for population in ("all", "treated"):
        a = est.fit(frame, **ROLES).effect(population=population)
        b = est.fit(nonlinear.data, **ROLES).effect(population=population)
        assert a.value == pytest.approx(b.value, abs=1e-6)  # as AIPW on 2 workers
        assert a.diagnostics.extra["cate_std"] == pytest.approx(
            b.diagnostics.extra["cate_std"], abs=1e-5
        )
    # (no truth check: a T-learner of small boosted models keeps their regularization bias,
    # 0.27 on the ATT here; the doubly robust AIPW above recovers the truth)
    fitted = est.fit(frame, **ROLES)
    assert fitted.predict_cate(nonlinear.data.iloc[:5]).shape == (5,)


def _dask_nuisances(est):
    """Out-of-fold ``(t, y, e, mu, folds)`` of a fitted Dask AIPW, row by row (test helper)."""
    nuis, rows = est.engine_.nuisances, []
    for i, part in enumerate(est.data_.parts):
        Z1, t, y, _, folds = design(part.compute(), i, nuis.plan)
        rows.append((t, y, nuis.scores(Z1, folds), nuis.means(Z1, folds), folds))
    return [np.concatenate(c) for c in zip(*rows)]


def test_boosted_crossfitting_is_honest(client):
    """Each fold's boosters never saw the fold: on pure noise, out-of-fold predictions of
    deliberately overfitting models carry no information about the fold's own labels."""
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    df.insert(0, "y", rng.normal(size=n))  # independent of everything
    df.insert(0, "t", rng.integers(0, 2, n))
    over = dict(n_estimators=60, max_depth=8, learning_rate=0.5, n_jobs=1)
    est = AIPW(xgboost.XGBClassifier(**over), xgboost.XGBRegressor(**over), n_folds=2, clip=None)
    est.set_params(random_state=4).fit(dd.from_pandas(df, npartitions=3), **ROLES)
    t, y, e, mu, folds = _dask_nuisances(est)
    # the same fold rule as the in-memory path, whatever the partitioning
    assert (folds == make_folds(df["t"].to_numpy(), 2, random_state=4)).all()
    arm = [t == a for a in (0, 1)]
    honest = [np.corrcoef(y[g], mu[g, a])[0, 1] for a, g in enumerate(arm)]
    honest.append(np.corrcoef(t, e)[0, 1])
    assert np.abs(honest).max() < 0.1  # sampling s.d. about 0.03
    # the check can fail: the same boosters scored on their own training rows fit the noise
    nuis = est.engine_.nuisances
    Z1 = np.column_stack([np.ones(n), (df[["x1", "x2", "x3"]] - nuis.plan.mean) / nuis.plan.scale])
    leaky = np.corrcoef(t, nuis.scores(Z1, 1 - folds))[0, 1]
    assert leaky > 0.5


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::deepcause.exceptions.PositivityWarning")  # a few e < 0.01
def test_boosted_dask_aipw_is_unbiased_within_its_errors(client):
    """AIPW with the measured boosted nuisances, on 2 workers, is within 3 standard errors of
    the truth on each of three small designs; the check fails for underfitted boosters (10
    depth-2 trees at rate 0.1), whose errors in the two nuisances multiply into a bias."""
    pytest.importorskip("xgboost")
    from xgboost import XGBClassifier, XGBRegressor

    underfit = dict(n_estimators=10, max_depth=2, learning_rate=0.1, n_jobs=1)
    z = {"measured": [], "underfit": []}
    for seed in range(3):
        ds = make_confounded_binary(
            20_000,
            n_covariates=4,
            outcome="nonlinear",
            noise=0.5,
            random_state=seed,
            population_truth=False,
        )
        frame = dd.from_pandas(ds.data, npartitions=4)
        for name, models in (
            ("measured", boosted_nuisances(random_state=0)),
            ("underfit", (XGBClassifier(**underfit), XGBRegressor(**underfit))),
        ):
            res = AIPW(*models, n_folds=2, random_state=seed).fit(frame, **ROLES).effect()
            z[name].append((res.value - ds.truth["ATE"]) / res.std_error)
    assert np.abs(z["measured"]).max() < 3.0, z
    assert np.mean(z["underfit"]) > 3.0, z
