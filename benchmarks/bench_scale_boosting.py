"""Which distributed gradient-boosting learner the Dask engine uses: XGBoost's or LightGBM's.

On ``make_confounded_binary`` (10 covariates, nonlinear outcome, 10^6 training rows written
as 10 Parquet files and read with ``dd.read_parquet``) and a ``LocalCluster`` with 2 workers
(threads, 1 thread each), each library's Dask estimator fits

* a regressor of the outcome ``y`` on ``(t, x1..x10)`` and
* a classifier of the treatment ``t`` on ``x1..x10``

with comparable settings (100 trees, learning rate 0.1, depth 6 for XGBoost / 63 leaves for
LightGBM, histogram with 255 bins, seed 0). Reported: wall time of the fit and of predicting the
10^5-row held-out table (another seed of the same design), held-out R^2 and RMSE of the
regressor, and held-out log-loss and AUC of the classifier against the true propensity's.

With ``--aipw N``: AIPW (2 folds) with XGBoost nuisances on N rows, on the Dask path
(2 workers) and in memory, against the simulator's truth (appended to the results).

Run: ``OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_scale_boosting.py``
(``--n 1e6 --repeats 2``, then ``--aipw 1e6``); the table goes to
``benchmarks/results/bench_scale_boosting.md``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_scale_boosting.md"
P = 10
FILES = 10
SETTINGS = dict(n_estimators=100, learning_rate=0.1, random_state=0, n_jobs=1)


def write_data(path: Path, n: int, seed: int) -> tuple[Path, np.ndarray]:
    """``n`` rows as ``FILES`` Parquet files; returns the directory and the true propensity."""
    from deepcause.simulate import make_confounded_binary

    ds = make_confounded_binary(
        n, n_covariates=P, outcome="nonlinear", random_state=seed, population_truth=False
    )
    path.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(np.array_split(np.arange(n), FILES)):
        ds.data.iloc[rows].to_parquet(path / f"part-{i:03d}.parquet", index=False)
    return path, np.asarray(ds.extras["propensity"])


def learners(library: str):
    """(regressor, classifier) Dask estimators of ``library`` with the shared settings."""
    if library == "xgboost":
        import xgboost.dask as xgb_dask

        kw = dict(SETTINGS, max_depth=6, tree_method="hist", max_bin=256)
        return xgb_dask.DaskXGBRegressor(**kw), xgb_dask.DaskXGBClassifier(**kw)
    import lightgbm as lgb

    kw = dict(SETTINGS, num_leaves=63, max_bin=255, verbose=-1)
    return lgb.DaskLGBMRegressor(**kw), lgb.DaskLGBMClassifier(**kw)


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (no ties in continuous scores)."""
    ranks = np.empty(len(score))
    ranks[np.argsort(score)] = np.arange(1, len(score) + 1)
    pos = label == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _logloss(p: np.ndarray, label: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(label * np.log(p) + (1 - label) * np.log(1 - p)))


def run(library: str, train: Path, test, e_true: np.ndarray) -> dict[str, float]:
    """Fit and score both learners of ``library`` on the cluster in use."""
    import dask.dataframe as dd

    source = dd.read_parquet(train)
    # one partition per file for every column subset (dask-expr fuses narrow projections)
    frame = dd.from_delayed(source.to_delayed(), meta=source._meta, verify_meta=False)
    covs = [f"x{i}" for i in range(1, P + 1)]
    reg, clf = learners(library)
    out: dict[str, float] = {}
    tic = time.perf_counter()
    reg.fit(frame[["t", *covs]], frame["y"])
    out["fit_reg"] = time.perf_counter() - tic
    tic = time.perf_counter()
    clf.fit(frame[covs], frame["t"])
    out["fit_clf"] = time.perf_counter() - tic
    tic = time.perf_counter()
    y_hat = np.asarray(reg.predict(test[["t", *covs]]).compute())
    e_hat = np.asarray(clf.predict_proba(test[covs]).compute())[:, 1]
    out["predict"] = time.perf_counter() - tic
    y, t = test["y"].compute().to_numpy(), test["t"].compute().to_numpy()
    out["rmse"] = float(np.sqrt(np.mean((y - y_hat) ** 2)))
    out["r2"] = 1.0 - out["rmse"] ** 2 / float(np.var(y))
    out["logloss"], out["auc"] = _logloss(e_hat, t), _auc(e_hat, t)
    out["logloss_oracle"], out["auc_oracle"] = _logloss(e_true, t), _auc(e_true, t)
    return out


AIPW_HEADER = "## AIPW with XGBoost nuisances, end to end"


def aipw_end_to_end(n: int) -> None:
    """AIPW (2 folds) with XGBoost nuisances on the Dask path (2 workers) and in memory."""
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster
    from xgboost import XGBClassifier, XGBRegressor

    from deepcause.estimate import AIPW
    from deepcause.simulate import make_confounded_binary

    kw = dict(SETTINGS, max_depth=6, tree_method="hist", max_bin=256)
    est = AIPW(XGBClassifier(**kw), XGBRegressor(**kw), n_folds=2, random_state=0)
    truth = make_confounded_binary(
        n, n_covariates=P, outcome="nonlinear", random_state=0, population_truth=False
    ).truth["ATE"]
    lines = [
        AIPW_HEADER,
        "",
        f"{n:,} rows, `AIPW(XGBClassifier, XGBRegressor, n_folds=2)`, "
        f"settings as above; sample truth (mean of mu1 - mu0) {truth:.4f}.",
        "",
        "| path | time (s) | ATE | std. error | ATE - truth |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = write_data(Path(tmp) / "train", n, seed=0)
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
            ) as cluster,
            Client(cluster),
        ):
            tic = time.perf_counter()
            res = est.fit(dd.read_parquet(path), treatment="t", outcome="y").effect()
            rows = [("Dask, 2 workers", time.perf_counter() - tic, res)]
        frame = pd.read_parquet(path)
        tic = time.perf_counter()
        res = est.fit(frame, treatment="t", outcome="y").effect()
        rows.append(
            ("pandas (XGBRegressor/XGBClassifier, n_jobs=1)", time.perf_counter() - tic, res)
        )
    for name, seconds, r in rows:
        lines.append(
            f"| {name} | {seconds:.0f} | {r.value:.5f} | {r.std_error:.5f} | "
            f"{r.value - truth:+.5f} |"
        )
    lines += [
        "",
        f"Dask minus pandas: {rows[0][2].value - rows[1][2].value:+.2e}.",
        "",
        f"Command: `... benchmarks/bench_scale_boosting.py --aipw {n:.0e}`",
        "",
    ]
    text = RESULTS.read_text() if RESULTS.exists() else ""
    text = text.split(AIPW_HEADER)[0].rstrip() + "\n\n" + "\n".join(lines)
    RESULTS.write_text(text)
    print("\n".join(lines))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--libraries", nargs="+", default=["xgboost", "lightgbm"])
    parser.add_argument("--aipw", type=float, default=0, help="only AIPW end to end, N rows")
    args = parser.parse_args(argv)
    if args.aipw:
        return aipw_end_to_end(int(args.aipw))
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    n = int(args.n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        train, _ = write_data(Path(tmp) / "train", n, seed=0)
        test_path, e_true = write_data(Path(tmp) / "test", n // 10, seed=1)
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
            ) as cluster,
            Client(cluster),
        ):
            test = dd.read_parquet(test_path).persist()
            for repeat in range(args.repeats):
                for library in args.libraries:
                    res = run(library, train, test, e_true)
                    print(library, repeat, {k: round(v, 4) for k, v in res.items()}, flush=True)
                    rows.append((library, repeat, res))
    _write(rows, n, args.repeats)


def _write(rows, n: int, repeats: int) -> None:
    import lightgbm
    import xgboost

    lines = [
        "# Distributed gradient boosting for the Dask engine: XGBoost vs LightGBM",
        "",
        f"`make_confounded_binary(n={n:,}, n_covariates={P}, outcome='nonlinear')` as {FILES} "
        "Parquet files, `dd.read_parquet`; `LocalCluster(n_workers=2, threads_per_worker=1, "
        "processes=False)`; 100 trees, learning rate 0.1, depth 6 (XGBoost, `hist`) / 63 "
        f"leaves (LightGBM), 255 bins, `random_state=0`, `n_jobs=1`. Held out: {n // 10:,} rows of "
        "seed 1. Regressor: `y ~ t + x1..x10`; classifier: `t ~ x1..x10` (the oracle is the "
        "true propensity). Times in seconds (wall, 2 shared cores, `nice -n 10`).",
        "",
        f"xgboost {xgboost.__version__}, lightgbm {lightgbm.__version__}, "
        f"Python {platform.python_version()}.",
        "",
        "| library | run | fit regressor (s) | fit classifier (s) | predict held-out (s) | R^2 "
        "| RMSE | log-loss (oracle) | AUC (oracle) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for library, repeat, r in rows:
        lines.append(
            f"| {library} | {repeat + 1} | {r['fit_reg']:.1f} | {r['fit_clf']:.1f} | "
            f"{r['predict']:.1f} | {r['r2']:.4f} | {r['rmse']:.4f} | {r['logloss']:.4f} "
            f"({r['logloss_oracle']:.4f}) | {r['auc']:.4f} ({r['auc_oracle']:.4f}) |"
        )
    lines += [
        "",
        "Command: `OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python "
        f"benchmarks/bench_scale_boosting.py --n {n:.0e} --repeats {repeats}`",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
