"""Coverage of the nominal 95% intervals of every back-door estimator on simulated data.

Designs (``deepcause.simulate``, truth by intervention: the sample ATE, the mean of the
noiseless ``mu1 - mu0``): ``make_confounded_binary`` (linear outcome, constant effect),
``make_nonlinear_confounded`` (nonlinear outcome, heterogeneous effect) and
``make_limited_overlap`` (overlap 0.25: many propensities below 0.02 or above 0.98); n = 500
units and 5 covariates per dataset. Every estimator runs with its defaults and estimates the
ATE; the table gives the coverage of its 95% interval, mean |error|, mean interval width and
CPU time per fit (1 thread). Fast estimators run on ``--reps`` datasets per design, the slow
ones (gradient-boosted nuisances: AIPW, the meta-learners, ARB) on ``--slow-reps`` per design;
the table says how many. Refusals (the overlap check) and failures are counted, not scored.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_coverage.py [--reps 70]
[--slow-reps 20] [--out benchmarks/results/bench_coverage.md]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from deepcause.estimate import (
    AIPW,
    D2VD,
    DCB,
    IPW,
    ApproximateResidualBalancing,
    DRLearner,
    EntropyBalancing,
    Matching,
    SLearner,
    TLearner,
    XLearner,
)
from deepcause.exceptions import DeepCauseError, DeepCauseWarning
from deepcause.simulate import (
    make_confounded_binary,
    make_limited_overlap,
    make_nonlinear_confounded,
)

N = 500
DESIGNS: dict[str, Callable] = {
    "confounded (linear)": make_confounded_binary,
    "nonlinear (heterogeneous)": make_nonlinear_confounded,
    "limited overlap (0.25)": make_limited_overlap,
}
FAST: dict[str, Callable] = {
    "IPW": lambda: IPW(),
    "Matching": lambda: Matching(),
    "EntropyBalancing": lambda: EntropyBalancing(),
    "DCB": lambda: DCB(),
    "D2VD": lambda: D2VD(),
}
SLOW: dict[str, Callable] = {
    "AIPW": lambda: AIPW(random_state=0),
    "ApproximateResidualBalancing": lambda: ApproximateResidualBalancing(random_state=0),
    "SLearner": lambda: SLearner(random_state=0),
    "TLearner": lambda: TLearner(random_state=0),
    "XLearner": lambda: XLearner(random_state=0),
    "DRLearner": lambda: DRLearner(random_state=0),
}


def run_one(make: Callable, data: pd.DataFrame, truth: float) -> dict:
    """Fit one estimator on one dataset; the ATE, its interval and the CPU time."""
    start = time.process_time()
    try:
        res = make().fit(data, treatment="t", outcome="y").effect()
    except DeepCauseError as err:
        refused = "no overlap" in str(err)
        return {"status": "refused" if refused else "failed", "cpu": time.process_time() - start}
    cpu = time.process_time() - start
    lo, hi = res.conf_int()
    if res.std_error is None or not np.isfinite(lo):
        return {"status": "no interval", "cpu": cpu, "error": abs(res.value - truth)}
    return {
        "status": "ok",
        "cpu": cpu,
        "error": abs(res.value - truth),
        "covered": lo <= truth <= hi,
        "width": hi - lo,
    }


def simulate(reps: int, slow_reps: int) -> pd.DataFrame:
    """One row per (design, replication, estimator)."""
    rows = []
    for design, maker in DESIGNS.items():
        for rep in range(reps):
            ds = maker(N, random_state=1000 + rep, population_truth=False)
            truth = ds.truth["ATE"]
            todo = {**FAST, **(SLOW if rep < slow_reps else {})}
            for name, make in todo.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeepCauseWarning)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    rows.append(
                        {"design": design, "rep": rep, "estimator": name}
                        | run_one(make, ds.data, truth)
                    )
            print(f"{design} rep {rep}", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def table(raw: pd.DataFrame) -> pd.DataFrame:
    """Coverage, mean |error|, width and CPU time per (estimator, design), and overall."""

    def agg(g: pd.DataFrame) -> pd.Series:
        ok = g[g["status"] == "ok"]
        cov = ok["covered"].mean() if len(ok) else np.nan
        return pd.Series(
            {
                "datasets": len(g),
                "refused": int((g["status"] == "refused").sum()),
                "failed": int((g["status"] == "failed").sum()),
                "coverage %": 100 * cov,
                "mean |error|": g["error"].mean(),
                "mean width": ok["width"].mean() if len(ok) else np.nan,
                "CPU s/fit": g["cpu"].mean(),
                "in 90-98%": "yes" if 90 <= 100 * cov <= 98 else "NO",
            }
        )

    per = raw.groupby(["estimator", "design"], sort=False).apply(agg, include_groups=False)
    overall = raw.groupby("estimator", sort=False).apply(agg, include_groups=False)
    overall.index = pd.MultiIndex.from_tuples([(e, "all designs") for e in overall.index])
    return pd.concat([per, overall]).sort_index(level=0, sort_remaining=False)


def markdown(tab: pd.DataFrame) -> str:
    """A markdown table (numbers to 3 significant digits) without optional dependencies."""
    cols = ["estimator", "design", *tab.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for (est, design), row in tab.iterrows():
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join([est, design, *cells]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=70)
    parser.add_argument("--slow-reps", type=int, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    start = time.time()
    raw = simulate(args.reps, args.slow_reps)
    tab = table(raw)
    n_data = args.reps * len(DESIGNS)
    header = (
        "# Coverage of nominal 95% intervals (ATE, n = 500, 5 covariates)\n\n"
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_coverage.py "
        f"--reps {args.reps} --slow-reps {args.slow_reps}"
        + (f" --out {args.out}`" if args.out else "`")
        + f"\n\n{n_data} simulated datasets ({args.reps} per design); the fast estimators "
        f"({', '.join(FAST)}) ran on all of them, the slow ones ({', '.join(SLOW)}) on the "
        f"first {args.slow_reps} per design ({args.slow_reps * len(DESIGNS)} datasets). "
        "Truth: the sample ATE by intervention. Target coverage 90-98%. "
        f"Wall time {time.time() - start:.0f} s.\n\n"
    )
    text = header + markdown(tab) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
