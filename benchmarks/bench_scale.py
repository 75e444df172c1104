"""Scale: the Dask engine against the in-memory path and EconML's DRLearner.

1. Agreement (``--agree N``, default 10^6 rows): IPW, AIPW (logistic + linear nuisances),
   regression adjustment (T-learner, linear) on ``make_confounded_binary`` with 10 covariates,
   and 2SLS on ``make_linear_iv``, written as Parquet and read back with ``dd.read_parquet`` on a
   ``LocalCluster`` with 2 workers; the largest absolute difference of the estimate and its
   standard error from the pandas path (the propensity model is scikit-learn's
   ``LogisticRegression(solver="newton-cholesky", tol=1e-12)`` so both paths reach the optimum).
2. Out of core (``--sizes``): for each size, a Parquet table of that many rows x 10 covariates
   is written partition by partition (10^6 rows per file; never materialized), then AIPW
   (logistic + linear, 5 folds) runs on a LocalCluster with 1 and with 2 workers, the pandas
   path (read into memory) and EconML's ``DRLearner`` (logistic + linear, 5 folds, in
   ``.bench-venv``, or the interpreter in ``DEEPCAUSE_BENCH_PYTHON``) each in a fresh subprocess, which reports its wall time and peak resident
   memory (``ru_maxrss``; for the cluster runs the workers are threads of that process).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale.py --sizes 1e6 1e7``
(add ``1e8`` if the disk holds ~10 GB); the table goes to ``benchmarks/results/bench_scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_scale.md"
BENCH_PYTHON = Path(
    os.environ.get("DEEPCAUSE_BENCH_PYTHON", ROOT / ".bench-venv" / "bin" / "python")
)
CHUNK = 1_000_000
P = 10
COVS = [f"x{i}" for i in range(1, P + 1)]


def write_table(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` rows of ``make_confounded_binary`` (10 covariates) as Parquet files of 10^6 rows."""
    from deepcause.simulate import make_confounded_binary

    path.mkdir(parents=True, exist_ok=True)
    chunks = -(-n // CHUNK)
    for i in range(chunks):
        part = path / f"part-{i:05d}.parquet"
        if part.exists():  # resume an interrupted write (each part is written whole, then renamed)
            continue
        rows = min(CHUNK, n - i * CHUNK)
        ds = make_confounded_binary(
            rows, n_covariates=P, random_state=seed * 100_000 + i, population_truth=False
        )
        ds.data.to_parquet(path / "partial.tmp", index=False)
        (path / "partial.tmp").rename(part)
    return path


def _logit():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=200)


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    return cluster, Client(cluster)


def agreement(n: int, tmp: Path) -> list[str]:
    """Rows of the agreement table (Dask path minus pandas path)."""
    import dask.dataframe as dd
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from deepcause.estimate import AIPW, IPW, TLearner
    from deepcause.estimate.iv import TwoStageLeastSquares
    from deepcause.simulate.iv import make_linear_iv

    path = write_table(tmp / f"agree_{n}", n)
    frame = dd.read_parquet(path)
    df = pd.read_parquet(path)
    iv = make_linear_iv(n, effect=2.0, random_state=0).data
    iv_path = tmp / f"iv_{n}"
    iv_path.mkdir(exist_ok=True)
    for i, rows in enumerate(np.array_split(np.arange(n), max(1, n // CHUNK))):
        iv.iloc[rows].to_parquet(iv_path / f"part-{i:05d}.parquet", index=False)
    roles = dict(treatment="t", outcome="y", covariates=COVS)
    iv_roles = dict(treatment="d", outcome="y", instruments=["z1", "z2"], covariates=["x1", "x2"])
    cases = [
        ("IPW", IPW(_logit(), random_state=0), roles, df, frame),
        (
            "AIPW (logistic + linear, 5 folds)",
            AIPW(_logit(), LinearRegression(), random_state=0),
            roles,
            df,
            frame,
        ),
        (
            "regression adjustment (T-learner, linear)",
            TLearner(LinearRegression()),
            roles,
            df,
            frame,
        ),
        ("2SLS (HC1)", TwoStageLeastSquares(), iv_roles, iv, dd.read_parquet(iv_path)),
    ]
    rows = []
    cluster, client = _cluster(2)
    try:
        for name, est, r, mem, lazy in cases:
            t0 = time.perf_counter()
            a = est.fit(lazy, **r).effect()
            t_dask = time.perf_counter() - t0
            t0 = time.perf_counter()
            b = est.fit(mem, **r).effect()
            t_mem = time.perf_counter() - t0
            dse = abs((a.std_error or 0.0) - (b.std_error or 0.0))
            rows.append(
                f"| {name} | {a.value:.10f} | {abs(a.value - b.value):.1e} | {dse:.1e} | "
                f"{t_dask:.1f} | {t_mem:.1f} |"
            )
            print(rows[-1], flush=True)
    finally:
        client.close()
        cluster.close()
    return rows


# --------------------------------------------------------------------------- subprocess runs
def run_one(kind: str, path: str, workers: int) -> dict:
    """One AIPW fit in this process: ``dask`` (LocalCluster), ``pandas`` or ``econml``."""
    t0 = time.perf_counter()
    if kind == "econml":
        import pandas as pd
        from econml.dr import LinearDRLearner
        from sklearn.linear_model import LinearRegression, LogisticRegression

        df = pd.read_parquet(path)
        # no effect modifiers (X=None): the final stage is a constant, i.e. the ATE
        est = LinearDRLearner(
            model_propensity=LogisticRegression(),
            model_regression=LinearRegression(),
            cv=5,
            random_state=0,
        )
        est.fit(df["y"].to_numpy(), df["t"].to_numpy(), X=None, W=df[COVS].to_numpy())
        value = float(est.ate())
    else:
        from sklearn.linear_model import LinearRegression

        from deepcause.estimate import AIPW

        est = AIPW(_logit(), LinearRegression(), random_state=0)
        roles = dict(treatment="t", outcome="y", covariates=COVS)
        if kind == "pandas":
            import pandas as pd

            value = est.fit(pd.read_parquet(path), **roles).effect().value
        else:
            import dask.dataframe as dd

            cluster, client = _cluster(workers)
            t0 = time.perf_counter()
            value = est.fit(dd.read_parquet(path), **roles).effect().value
            client.close()
            cluster.close()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"value": value, "seconds": seconds, "peak_gib": peak}


def _subprocess(kind: str, path: Path, workers: int, timeout: float) -> dict | str:
    python = str(BENCH_PYTHON) if kind == "econml" else sys.executable
    if kind == "econml" and not BENCH_PYTHON.exists():
        return "EconML not installed (make bench-env)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [python, __file__, "--run", kind, str(path), str(workers)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout:.0f} s"
    if out.returncode:
        return "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:80]
    return json.loads(out.stdout.strip().splitlines()[-1])


RUNS = {
    "dask1": ("dask", 1),
    "dask2": ("dask", 2),
    "pandas": ("pandas", 0),
    "econml": ("econml", 0),
}


def scale(sizes: list[int], tmp: Path, timeout: float, runs: list[str]) -> list[str]:
    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        path = write_table(tmp / f"scale_{n}", n)
        print(f"wrote {n:.0e} rows in {time.perf_counter() - t0:.0f} s", flush=True)
        for kind, workers in (RUNS[r] for r in runs):
            if kind != "dask" and n > 10**7:
                res: dict | str = "skipped (does not fit in memory)"
            else:
                res = _subprocess(kind, path, workers, timeout)
            label = {
                "dask": f"deepcause AIPW, Dask, {workers} worker(s)",
                "pandas": "deepcause AIPW, in memory",
                "econml": "EconML DRLearner",
            }[kind]
            if isinstance(res, str):
                rows.append(f"| {n:.0e} | {label} | – | – | – | {res} |")
            else:
                per = res["seconds"] / (n / 10**7)
                rows.append(
                    f"| {n:.0e} | {label} | {res['value']:.6f} | {res['seconds']:.0f} | "
                    f"{per:.0f} | {res['peak_gib']:.2f} |"
                )
            print(rows[-1], flush=True)
    return rows


def _key(row: str) -> tuple[str, str]:
    cells = [c.strip() for c in row.strip("|").split("|")]
    return cells[0], cells[1]


def _old_rows() -> dict[str, list[str]]:
    """Table rows of the current results file: ``agree`` and ``big`` (kept by ``--keep``)."""
    if not RESULTS.exists():
        return {}
    sections: dict = {"agree": [], "big": []}
    current = None
    for line in RESULTS.read_text().splitlines():
        if line.startswith("## "):
            current = "agree" if "Dask path vs pandas" in line else "big"
            if current == "agree":
                sections["agree_rows"] = line.split(", ")[1].split(" rows")[0]
        elif current and line.startswith("| ") and not line.startswith(("| estimator", "| rows")):
            sections[current].append(line)
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agree", type=float, default=1e6, help="rows of the agreement check")
    parser.add_argument("--sizes", type=float, nargs="*", default=[1e7])
    parser.add_argument("--tmp", default="/tmp/deepcause_bench_scale")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--runs", nargs="*", choices=sorted(RUNS), default=list(RUNS))
    parser.add_argument(
        "--keep", action="store_true", help="keep the rows of the results file not re-run now"
    )
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        kind, path, workers = args.run
        print(json.dumps(run_one(kind, path, int(workers))))
        return
    tmp = Path(args.tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    old = _old_rows() if args.keep else {}
    agree = agreement(int(args.agree), tmp) if args.agree else old.get("agree", [])
    agree_rows = f"{int(args.agree):.0e}" if args.agree else old.get("agree_rows", "?")
    big = scale([int(s) for s in args.sizes], tmp, args.timeout, args.runs)
    new_keys = {_key(r) for r in big}
    big = [r for r in old.get("big", []) if _key(r) not in new_keys] + big
    big.sort(key=lambda r: float(_key(r)[0]))
    text = [
        "# bench_scale: the Dask engine",
        "",
        f"Command: `OMP_NUM_THREADS=1 python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}`",
        f"Machine: {os.cpu_count()} CPU(s) visible to the process; LocalCluster workers are threads.",
        "",
        f"## Dask path vs pandas path, {agree_rows} rows (LocalCluster, 2 workers)",
        "",
        "| estimator | Dask estimate | abs. difference | SE difference | Dask s | pandas s |",
        "|---|---|---|---|---|---|",
        *agree,
        "",
        "## AIPW (logistic + linear, 5 folds), 10 covariates, Parquet out of core",
        "",
        "| rows | run | ATE | seconds | s per 10^7 rows | peak memory GiB |",
        "|---|---|---|---|---|---|",
        *big,
        "",
    ]
    RESULTS.write_text("\n".join(text))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
