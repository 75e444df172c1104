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

from deepcause.estimate.distributed import BOOSTED_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_scale_boosting.md"
P = 10
FILES = 10
SETTINGS = dict(n_estimators=100, learning_rate=0.1, random_state=0, n_jobs=1)
ROLES = dict(treatment="t", outcome="y")


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
STUDY_HEADER = "## Where the bias comes from: nuisance errors, in memory"
# "before": XGBoost's usual depth-6 trees, the learner comparison's settings;
# "after": deepcause.estimate.distributed.BOOSTED_SETTINGS (boosted_nuisances)
NUISANCES = {
    "before": (dict(n_estimators=100, learning_rate=0.1, max_depth=6),) * 2,
    "after": (BOOSTED_SETTINGS["propensity"], BOOSTED_SETTINGS["outcome"]),
}


def aipw_estimator(name: str):
    """AIPW (2 folds, seed 0) with the XGBoost nuisance settings ``name`` of ``NUISANCES``."""
    from xgboost import XGBClassifier, XGBRegressor

    from deepcause.estimate import AIPW

    base = dict(random_state=0, n_jobs=1, tree_method="hist", max_bin=256)
    ps, om = NUISANCES[name]
    return AIPW(XGBClassifier(**base, **ps), XGBRegressor(**base, **om), n_folds=2, random_state=0)


def put_section(header: str, lines: list[str]) -> None:
    """Replace the section ``header`` of the results (up to the next ``## ``) or append it."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    body = "\n".join([header, *lines]).rstrip() + "\n"
    if header in text:
        head, rest = text.split(header, 1)
        tail = rest.split("\n## ", 1)
        text = head + body + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip() + "\n\n" + body
    RESULTS.write_text(text)


def aipw_end_to_end(n: int, names: list[str], paths: list[str]) -> None:
    """AIPW (2 folds) with XGBoost nuisances on the Dask path (2 workers) and/or in memory."""
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    from deepcause.simulate import make_confounded_binary

    truth = make_confounded_binary(
        n, n_covariates=P, outcome="nonlinear", random_state=0, population_truth=False
    ).truth["ATE"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = write_data(Path(tmp) / "train", n, seed=0)
        if "dask" in paths:
            with (
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
                ) as cluster,
                Client(cluster),
            ):
                for name in names:
                    tic = time.perf_counter()
                    res = aipw_estimator(name).fit(dd.read_parquet(path), **ROLES).effect()
                    rows.append((name, "Dask, 2 workers", time.perf_counter() - tic, res))
        if "pandas" in paths:
            frame = pd.read_parquet(path)
            for name in names:
                tic = time.perf_counter()
                res = aipw_estimator(name).fit(frame, **ROLES).effect()
                rows.append((name, "pandas (n_jobs=1)", time.perf_counter() - tic, res))
    lines = [
        "",
        f"{n:,} rows (seed 0), `AIPW(XGBClassifier, XGBRegressor, n_folds=2)` with the settings "
        f"{', '.join(names)} (`NUISANCES`; the diagnosis below); truth (every unit's mu1 - mu0) {truth:.4f}.",
        "",
        "| settings | path | time (s) | ATE | std. error | ATE - truth | (ATE - truth) / s.e. |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, where, seconds, r in rows:
        lines.append(
            f"| {name} | {where} | {seconds:.0f} | {r.value:.5f} | {r.std_error:.5f} | "
            f"{r.value - truth:+.5f} | {(r.value - truth) / r.std_error:+.1f} |"
        )
    lines += [
        "",
        f"Command: `OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_scale_boosting.py "
        f"--aipw {n:.0e} --settings {' '.join(names)} --paths {' '.join(paths)}`",
    ]
    put_section(AIPW_HEADER, lines)
    print("\n".join(lines))


def decompose(ds, est) -> dict[str, float]:
    """Error of a fitted AIPW split into the nuisance-error product and the rest.

    Unnormalized AIPW minus the truth is ``mean((mu1 - m1)(T/e - 1)) - mean((mu0 - m0)((1-T)/(1-e)
    - 1))`` (the product term: zero when either fitted nuisance ``e``, ``m_a`` is exact) plus the
    oracle estimator's sampling error (true ``e``, ``mu_a``).
    """
    e0, mu0, mu1 = (np.asarray(ds.extras[k]) for k in ("propensity", "mu0", "mu1"))
    t, y = ds.data["t"].to_numpy(), ds.data["y"].to_numpy()
    e, m0, m1 = est.propensity_, est.mu0_, est.mu1_
    oracle = np.mean(mu1 - mu0 + t * (y - mu1) / e0 - (1 - t) * (y - mu0) / (1 - e0))
    return {
        "product": float(
            np.mean((mu1 - m1) * (t / e - 1)) - np.mean((mu0 - m0) * ((1 - t) / (1 - e) - 1))
        ),
        "oracle": float(oracle - ds.truth["ATE"]),
        "rmse_mu": float(np.sqrt(np.mean(np.r_[m0 - mu0, m1 - mu1] ** 2))),
        "rmse_e": float(np.sqrt(np.mean((e - e0) ** 2))),
    }


def study(sizes: list[int], seeds: int, names: list[str]) -> None:
    """In-memory AIPW with each nuisance setting on ``seeds`` draws of each size."""
    from deepcause.simulate import make_confounded_binary

    rows = []
    for n in sizes:
        for seed in range(seeds):
            ds = make_confounded_binary(
                n, n_covariates=P, outcome="nonlinear", random_state=seed, population_truth=False
            )
            for name in names:
                tic = time.perf_counter()
                est = aipw_estimator(name).fit(ds.data, **ROLES)
                res = est.effect()
                seconds = time.perf_counter() - tic
                err = res.value - ds.truth["ATE"]
                rows.append((n, seed, name, err, res.std_error, seconds, decompose(ds, est)))
                print(rows[-1], flush=True)
    rows_text = ", ".join(f"{n:,}" for n in sizes)
    put_section(f"{STUDY_HEADER} ({rows_text} rows)", _study_lines(rows, sizes, seeds, names))


def _study_lines(rows, sizes, seeds, names) -> list[str]:
    lines = [
        "",
        f"`make_confounded_binary(n, n_covariates={P}, outcome='nonlinear', random_state=seed)`, "
        "in memory, `AIPW(..., n_folds=2, random_state=0)`. product: the part of the error due "
        "to the product of the two nuisance errors; oracle: the error of AIPW with the true "
        "nuisances (sampling noise); RMSE against the true mu_a (both arms) and propensity.",
        "",
        "| n | seed | settings | ATE - truth | s.e. | z | product | oracle | RMSE mu | RMSE e "
        "| time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, seed, name, err, se, sec, d in rows:
        lines.append(
            f"| {n:,} | {seed} | {name} | {err:+.4f} | {se:.4f} | {err / se:+.1f} | "
            f"{d['product']:+.4f} | {d['oracle']:+.4f} | {d['rmse_mu']:.3f} | {d['rmse_e']:.4f} "
            f"| {sec:.0f} |"
        )
    lines += ["", "| n | settings | mean error | mean z | 95% coverage | mean product |"]
    lines.append("|---|---|---|---|---|---|")
    for n in sizes:
        for name in names:
            sel = [r for r in rows if r[0] == n and r[2] == name]
            z = np.array([r[3] / r[4] for r in sel])
            lines.append(
                f"| {n:,} | {name} | {np.mean([r[3] for r in sel]):+.4f} | {z.mean():+.2f} | "
                f"{np.mean(np.abs(z) < 1.96):.0%} of {len(z)} | "
                f"{np.mean([r[6]['product'] for r in sel]):+.4f} |"
            )
    sizes_arg = " ".join(f"{n:.0e}" for n in sizes)
    lines += [
        "",
        "Command: `OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_scale_boosting.py "
        f"--study {sizes_arg} --seeds {seeds} --settings {' '.join(names)}`",
    ]
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--libraries", nargs="+", default=["xgboost", "lightgbm"])
    parser.add_argument("--aipw", type=float, default=0, help="only AIPW end to end, N rows")
    parser.add_argument("--paths", nargs="+", default=["dask", "pandas"])
    parser.add_argument("--settings", nargs="+", default=["before", "after"])
    parser.add_argument("--study", nargs="+", type=float, help="in-memory AIPW at these sizes")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.aipw:
        return aipw_end_to_end(int(args.aipw), args.settings, args.paths)
    if args.study:
        return study([int(n) for n in args.study], args.seeds, args.settings)
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
