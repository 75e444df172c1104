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
[--slow-reps 20] [--out benchmarks/results/bench_coverage.md]``. ``--only``/``--designs``
(name prefixes) select estimators and designs; ``--raw FILE`` appends each dataset's rows as
they come, ``--first-rep N`` resumes a stopped run, ``--from-raw F1,F2`` tabulates stored rows.
``AIPW (interval='sample')`` is scored on the AIPW fit itself (no refit, :data:`REUSE`).

``--family latent`` runs the IV and latent-variable estimators instead (KernelIV and CB-IV on
three IV designs of ``deepcause.simulate.iv``, CEVAE on two back-door designs) and replaces
only their section of ``--out`` (below the marker line), keeping the back-door table;
``--raw FILE`` keeps every replication there, so ``--only CEVAE`` re-runs one estimator and
the table still shows the stored rows of the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
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
from deepcause.estimate.iv import CBIV, KernelIV, TwoStageLeastSquares
from deepcause.estimate.neural import CEVAE
from deepcause.exceptions import DeepCauseError, DeepCauseWarning
from deepcause.simulate import (
    make_confounded_binary,
    make_kang_schafer,
    make_limited_overlap,
    make_nonlinear_confounded,
)
from deepcause.simulate.iv import make_demand, make_linear_iv

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
#: the same fit scored with other parameters (no refit): name -> (fitted estimator, params)
REUSE: dict[str, tuple[str, dict]] = {
    # the interval for the sample ATE, the truth of these designs
    "AIPW (interval='sample')": ("AIPW", {"interval": "sample"}),
}


def run_one(
    make: Callable,
    data: pd.DataFrame,
    truth: float,
    roles: dict | None = None,
    query: dict | None = None,
    n_boot: int | None = None,
    fitted: list | None = None,
    prefit: bool = False,
) -> dict:
    """Fit one estimator on one dataset; the effect, its interval and the CPU time.

    With ``n_boot`` the interval is the normal one with the standard error of
    ``bootstrap(n_boot)`` (every refit repeats the whole fit), for estimators without one.
    ``fitted``: a list the fitted estimator is appended to (for :data:`REUSE`); ``prefit``:
    ``make()`` returns a fitted estimator (not refitted)."""
    start = time.process_time()
    roles = roles or {"treatment": "t", "outcome": "y"}
    try:
        est = make() if prefit else make().fit(data, **roles)
        if fitted is not None:
            fitted.append(est)
        if n_boot:
            res = est.bootstrap(n_boot, random_state=0, verbose=False, **(query or {}))
            res = dataclasses.replace(res, ci_method="normal")
        else:
            res = est.effect(**(query or {}))
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


_TRUTH_SEED = 20_250_101


def _iv_linear(seed: int, n: int = 1000, **design) -> tuple:
    ds = make_linear_iv(n, random_state=seed, **design)
    roles = {"instruments": list(ds.instruments), "covariates": list(ds.covariates) or None}
    return ds.data, {"treatment": "d", "outcome": "y", **roles}, {}, ds.truth["effect"]


def _iv_demand(seed: int) -> tuple:
    """Demand design, n = 2000: the average effect of moving the price from 15 to 20."""
    ds = make_demand(2000, random_state=seed)
    big = ds.scm.sample(100_000, random_state=_TRUTH_SEED)
    gap = ds.structural(big.assign(p=20.0)) - ds.structural(big.assign(p=15.0))
    roles = {"treatment": "p", "outcome": "y", "instruments": ["c"], "covariates": ["t", "s"]}
    return ds.data, roles, {"treatment": 20.0, "control": 15.0}, float(np.mean(gap))


def _backdoor(maker: Callable, n: int, **design) -> Callable:
    def draw(seed: int) -> tuple:
        ds = maker(n, random_state=seed, **design)
        roles = {
            "treatment": ds.treatment,
            "outcome": ds.outcome,
            "covariates": list(ds.covariates),
        }
        return ds.data, roles, {}, ds.truth["ATE"]

    return draw


#: family "latent": estimator -> (constructor, {design: draw(seed) -> data, roles, query,
#: truth}, n_boot): n_boot None scores the estimator's own interval, a number its bootstrap
LATENT: dict[str, tuple[Callable, dict[str, Callable], int | None]] = {
    "KernelIV": (
        lambda: KernelIV(random_state=0),
        {
            "linear IV (2 z, 2 x)": _iv_linear,
            "linear IV, heteroskedastic (1 z)": lambda s: _iv_linear(
                s, n_instruments=1, n_controls=0, heteroskedastic=True
            ),
            "demand (nonlinear, p 15 -> 20)": _iv_demand,
        },
        None,
    ),
    "CEVAE": (
        lambda: CEVAE(random_state=0, verbose=False),
        {
            "confounded (linear)": _backdoor(
                make_confounded_binary, N, n_covariates=5, population_truth=False
            ),
            "Kang-Schafer (x proxies of z)": _backdoor(
                make_kang_schafer, 1000, effect=10.0, pop_n=2
            ),
        },
        None,
    ),
    # no interval of its own: the bootstrap (first stage and networks refitted); 21 fits per
    # dataset, so a smaller design and a lighter fit (30 epochs, 2 first-stage folds)
    "CB-IV (bootstrap, 20)": (
        lambda: CBIV(max_epochs=30, cv=2, random_state=0, verbose=False),
        {"linear IV (2 z, 2 x), n = 500": lambda s: _iv_linear(s, n=500)},
        20,
    ),
}


def _reference(data: pd.DataFrame, roles: dict, query: dict) -> float:
    """The simple estimate: difference in means (binary treatment, no instruments) or 2SLS."""
    if "instruments" in roles:
        return TwoStageLeastSquares().fit(data, **roles).effect(**query).value
    t, y = data[roles["treatment"]], data[roles["outcome"]]
    return float(y[t == 1].mean() - y[t == 0].mean())


def simulate_latent(reps: int, only: list[str] | None = None) -> pd.DataFrame:
    """One row per (design, replication, estimator) of the ``latent`` family."""
    rows = []
    for name, (make, designs, n_boot) in LATENT.items():
        if only and not any(name.startswith(o) for o in only):
            continue
        for design, draw in designs.items():
            for rep in range(reps):
                data, roles, query, truth = draw(1000 + rep)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeepCauseWarning)
                    row = run_one(make, data, truth, roles, query, n_boot)
                    row["reference error"] = abs(_reference(data, roles, query) - truth)
                rows.append({"design": design, "rep": rep, "estimator": name} | row)
                print(f"{name} {design} rep {rep}: {row}", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def _one_dataset(ds, todo: dict[str, Callable]) -> list[dict]:
    """Rows of every estimator in ``todo`` (and its :data:`REUSE` variants) on one dataset."""
    truth, rows = ds.truth["ATE"], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeepCauseWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, make in todo.items():
            fitted: list = []
            rows.append({"estimator": name} | run_one(make, ds.data, truth, fitted=fitted))
            for variant, (base, params) in REUSE.items():
                if base == name and fitted:  # same fit, other interval: the fit's CPU time
                    row = run_one(
                        lambda f=fitted[0], p=params: f.set_params(**p), ds.data, truth, prefit=True
                    )
                    rows.append({"estimator": variant} | row | {"cpu": rows[-1]["cpu"]})
    return rows


def simulate(
    reps: int,
    slow_reps: int,
    only: list[str] | None = None,
    designs: list[str] | None = None,
    first_rep: int = 0,
    raw: str | None = None,
) -> pd.DataFrame:
    """One row per (design, replication, estimator); ``only``/``designs``: name prefixes.

    Replications ``first_rep`` to ``reps - 1``; with ``raw`` the rows of each dataset are
    appended to that CSV as they come (a long run can be stopped and resumed)."""
    rows: list[dict] = []
    picked = {k: v for k, v in DESIGNS.items() if not designs or k.startswith(tuple(designs))}
    for design, maker in picked.items():
        for rep in range(first_rep, reps):
            ds = maker(N, random_state=1000 + rep, population_truth=False)
            todo = {**FAST, **(SLOW if rep < slow_reps else {})}
            todo = {k: v for k, v in todo.items() if not only or k.startswith(tuple(only))}
            new = [{"design": design, "rep": rep} | r for r in _one_dataset(ds, todo)]
            rows += new
            if raw:
                header = not os.path.exists(raw)
                pd.DataFrame(new).to_csv(raw, mode="a", header=header, index=False)
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
                **({"ref. |error|": g["reference error"].mean()} if "reference error" in g else {}),
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


MARKER = "<!-- latent family: bench_coverage.py --family latent -->"


def _write_section(path: str, section: str, latent: bool) -> None:
    """Replace the back-door table (above MARKER) or the latent section (below it)."""
    try:
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    except FileNotFoundError:
        old = ""
    top, _, bottom = old.partition(MARKER)
    bottom = bottom.strip()
    text = (top.rstrip() + "\n\n" + MARKER + "\n\n" + section) if latent else section
    if not latent and bottom:
        text = section.rstrip() + "\n\n" + MARKER + "\n\n" + bottom + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _latent_header(args: argparse.Namespace, seconds: float) -> str:
    only = f" --only {','.join(args.only)}" if args.only else ""
    return (
        "## IV and latent-variable estimators (nominal 95% intervals)\n\n"
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_coverage.py --family "
        f"latent --reps {args.reps}{only}"
        + (f" --raw {args.raw}" if args.raw else "")
        + (f" --out {args.out}`" if args.out else "`")
        + " (per estimator; the table pools the stored rows)\n\n"
        f"{args.reps} datasets per design; estimators with their defaults. IV designs "
        "(`make_linear_iv`, n = 1000; `make_demand`, n = 2000): truth is the slope of the "
        "structural function (linear) or the population mean of h(20, t, s) - h(15, t, s) "
        "(demand), both by intervention on the SCM. CEVAE designs: `make_confounded_binary` "
        "(n = 500, 5 covariates, sample ATE) and `make_kang_schafer` (n = 1000, effect 10, "
        "the observed x are transforms of the confounders z). `ref. |error|`: 2SLS on the IV "
        "designs, the difference in means on the back-door ones. Target coverage 90-98%. "
        f"Wall time {seconds:.0f} s.\n\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=70)
    parser.add_argument("--slow-reps", type=int, default=20)
    parser.add_argument("--family", choices=("backdoor", "latent"), default="backdoor")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--raw", default=None, help="CSV of the raw rows")
    parser.add_argument(
        "--designs", type=lambda v: v.split(","), default=None, help="back-door design prefixes"
    )
    parser.add_argument("--first-rep", type=int, default=0, help="back-door: resume here")
    parser.add_argument("--from-raw", default=None, help="back-door: tabulate these raw CSVs")
    args = parser.parse_args(argv)
    start = time.time()
    if args.family == "latent":
        raw = simulate_latent(args.reps, args.only)
        if args.raw:  # keep the stored rows of the estimators not re-run now
            try:
                old = pd.read_csv(args.raw)
                raw = pd.concat([old[~old["estimator"].isin(set(raw["estimator"]))], raw])
            except FileNotFoundError:
                pass
            raw.to_csv(args.raw, index=False)
        tab = table(raw)
        text = _latent_header(args, time.time() - start) + markdown(tab) + "\n"
        print(text)
        if args.out:
            _write_section(args.out, text, latent=True)
        return
    if args.from_raw:  # tables of stored back-door runs (e.g. one process per design)
        raw = pd.concat([pd.read_csv(f) for f in args.from_raw.split(",")], ignore_index=True)
        print(markdown(table(raw)))
        return
    if args.raw and os.path.exists(args.raw) and not args.first_rep:
        os.remove(args.raw)  # a fresh run; --first-rep N appends to the stored rows
    raw = simulate(args.reps, args.slow_reps, args.only, args.designs, args.first_rep, args.raw)
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
        _write_section(args.out, text, latent=False)


if __name__ == "__main__":
    main()
