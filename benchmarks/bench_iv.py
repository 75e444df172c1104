"""Instrumental-variable estimators: Card (1995) and the Hartford et al. (2017) demand design.

Prints markdown tables:

1. Card college-proximity data: OLS and 2SLS coefficient on ``educ`` (textbook: OLS 0.07469,
   2SLS 0.13150 with conventional standard error 0.05496), robust standard error, first-stage F.
2. Demand design (instrument ``c``, exogenous ``t``, ``s``; ``y = h + 158 e``): for each
   ``n``, ``rho`` and method, the mean ± standard error over seeds of the out-of-sample MSE of
   the structural function ``h`` on 2800 i.i.d. draws of (p, t, s) ("on-support") and on the
   20 x 20 x 7 grid p in [10, 25], t in [0, 10], s in 1..7 ("grid"), the MSE of the *effect*
   ``h(p, t, s) - h(p0, t, s)`` (p0 = 17.5) on the i.i.d. draws (comparable for estimators that
   only give effects, such as EconML's), and the fit time (wall clock and CPU time of the
   process; run with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` on a busy machine, where
   the CPU time is the time the fit would take alone on one core).

Methods are registered in ``METHODS`` as ``(name, factory)`` where ``factory(n, seed)`` returns
an unfitted estimator with the deepcause IV contract (``fit(df, treatment=, outcome=,
instruments=, covariates=)`` and ``predict(T, X)``). To add an estimator (e.g. DeepIV, DFIV,
CB-IV), append one line to ``METHODS``. Baselines: gradient boosting ignoring the instrument,
and EconML's IV estimators when installed (effect-only: only the effect column is comparable).

Run: ``.venv/bin/python benchmarks/bench_iv.py`` (all settings; ``--quick`` for a smoke run;
``--n 5000 --rho 0.5 --seeds 3 --methods KernelIV "2SLS (linear)"`` to select).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

import deepcause
from deepcause.datasets import load_card
from deepcause.estimate.iv import (
    KernelIV,
    PolynomialTwoStageLeastSquares,
    TwoStageLeastSquares,
)
from deepcause.estimate.registry import get_estimator_class
from deepcause.simulate.iv import demand_grid, demand_test_points, make_demand

CARD_CONTROLS = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [
    f"reg66{i}" for i in range(2, 10)
]
ROLES = dict(treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
P0 = 17.5

# (name, factory(n, seed) -> unfitted IV estimator); add new IV estimators here
METHODS: list[tuple[str, Callable[[int, int], Any]]] = [
    ("2SLS (linear)", lambda n, seed: TwoStageLeastSquares()),
    ("2SLS (poly 2)", lambda n, seed: PolynomialTwoStageLeastSquares(degree=2)),
    ("2SLS (poly 3)", lambda n, seed: PolynomialTwoStageLeastSquares(degree=3)),
    ("2SLS (poly 4)", lambda n, seed: PolynomialTwoStageLeastSquares(degree=4)),
    ("KernelIV (Nystrom)", lambda n, seed: KernelIV(random_state=seed)),
    # neural IV estimators need torch: resolved lazily through the method registry
    ("DFIV", lambda n, seed: get_estimator_class("dfiv")(random_state=seed, verbose=False)),
    ("DeepIV", lambda n, seed: get_estimator_class("deepiv")(random_state=seed, verbose=False)),
    ("CB-IV", lambda n, seed: get_estimator_class("cbiv")(random_state=seed, verbose=False)),
    ("KernelIV (RFF)", lambda n, seed: KernelIV(approximation="rff", random_state=seed)),
]


# ---------------------------------------------------------------------- baselines
class _IgnoreInstrument:
    """Gradient boosting of y on (p, t, s): the regression that ignores the instrument."""

    def fit(self, df: pd.DataFrame, **_: Any) -> _IgnoreInstrument:
        self.model_ = HistGradientBoostingRegressor(random_state=0).fit(
            df[["p", "t", "s"]].to_numpy(), df["y"].to_numpy()
        )
        return self

    def predict(self, T: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict(np.column_stack([T.to_numpy(), X.to_numpy()]))


class _EconML:
    """An EconML IV estimator (effects only): effect(p) = h(p, x) - h(P0, x)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def fit(self, df: pd.DataFrame, **_: Any) -> _EconML:
        self.model_ = self.make()
        self.model_.fit(
            df["y"].to_numpy(),
            df["p"].to_numpy(),
            Z=df[["c"]].to_numpy(),
            X=df[["t", "s"]].to_numpy(),
        )
        return self

    def effect_from_p0(self, T: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        return self.model_.effect(X.to_numpy(), T0=np.full(len(T), P0), T1=T.to_numpy().ravel())


def _econml_methods() -> list[tuple[str, Callable[[int, int], Any]]]:
    try:
        from econml.iv.dml import DMLIV, OrthoIV
        from econml.iv.sieve import SieveTSLS  # noqa: F401
    except ImportError:
        return []
    from sklearn.preprocessing import PolynomialFeatures

    def gbr(seed: int) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(random_state=seed)

    return [
        (
            "EconML OrthoIV (poly-3 CATE)",
            lambda n, seed: _EconML(
                lambda: OrthoIV(
                    model_y_xw=gbr(seed),
                    model_t_xw=gbr(seed),
                    model_z_xw=gbr(seed),
                    featurizer=PolynomialFeatures(3, include_bias=False),
                    projection=False,
                    random_state=seed,
                )
            ),
        ),
        (
            "EconML DMLIV (poly-3 CATE)",
            lambda n, seed: _EconML(
                lambda: DMLIV(
                    model_y_xw=gbr(seed),
                    model_t_xw=gbr(seed),
                    model_t_xwz=gbr(seed),
                    featurizer=PolynomialFeatures(3, include_bias=False),
                    random_state=seed,
                )
            ),
        ),
    ]


BASELINES: list[tuple[str, Callable[[int, int], Any]]] = [
    ("GBR ignoring instrument", lambda n, seed: _IgnoreInstrument()),
]


# ---------------------------------------------------------------------- Card
def card_table() -> str:
    df = load_card().data
    X = np.column_stack([np.ones(len(df)), df[["educ", *CARD_CONTROLS]]])
    ols = np.linalg.lstsq(X, df["lwage"].to_numpy(), rcond=None)[0][1]
    kw = dict(treatment="educ", outcome="lwage", instruments=["nearc4"], covariates=CARD_CONTROLS)
    classic = TwoStageLeastSquares(cov_type="nonrobust").fit(df, **kw)
    robust = TwoStageLeastSquares(cov_type="HC1").fit(df, **kw)
    rows = [
        "| estimator | coef on educ | std. error | textbook | first-stage F |",
        "|---|---|---|---|---|",
        f"| OLS | {ols:.5f} | | 0.07469 | |",
        f"| 2SLS (conventional s.e.) | {classic.coef_['educ']:.5f} | "
        f"{classic.std_error_['educ']:.5f} | 0.13150 (0.05496) | "
        f"{classic.first_stage_f_['educ']:.2f} |",
        f"| 2SLS (HC1 s.e.) | {robust.coef_['educ']:.5f} | {robust.std_error_['educ']:.5f} "
        f"| | {robust.first_stage_f_['educ']:.2f} (robust) |",
    ]
    return "\n".join(rows)


# ---------------------------------------------------------------------- demand
def _evaluate(est: Any, points: pd.DataFrame) -> tuple[float, float]:
    """(MSE of h, MSE of h(p) - h(P0)) at ``points``; NaN when not available."""
    T, X = points[["p"]], points[["t", "s"]]
    true_eff = points["h"] - deepcause.simulate.iv.demand_structural(P0, points["t"], points["s"])
    if hasattr(est, "effect_from_p0"):
        eff = np.asarray(est.effect_from_p0(T, X)).ravel()
        return float("nan"), float(np.mean((eff - true_eff) ** 2))
    h = np.asarray(est.predict(T, X)).ravel()
    h0 = np.asarray(est.predict(T.assign(p=P0), X)).ravel()
    return float(np.mean((h - points["h"]) ** 2)), float(np.mean((h - h0 - true_eff) ** 2))


def demand_rows(
    ns: list[int],
    rhos: list[float],
    seeds: int,
    methods: list[tuple[str, Callable]],
    seed_start: int = 0,
) -> pd.DataFrame:
    test = demand_test_points(2800, random_state=10_000)
    grid = demand_grid()
    records = []
    for n in ns:
        for rho in rhos:
            for seed in range(seed_start, seed_start + seeds):
                ds = make_demand(n, rho=rho, random_state=seed)
                for name, factory in methods:
                    est = factory(n, seed)
                    start, cpu = time.perf_counter(), time.process_time()
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            est.fit(ds.data, **ROLES)
                    except Exception as exc:  # report, keep going
                        print(f"  {name} n={n} rho={rho} seed={seed}: {exc!r}", file=sys.stderr)
                        continue
                    seconds = time.perf_counter() - start
                    cpu_seconds = time.process_time() - cpu
                    mse, eff_mse = _evaluate(est, test)
                    grid_mse, _ = _evaluate(est, grid)
                    records.append(
                        dict(
                            method=name,
                            n=n,
                            rho=rho,
                            seed=seed,
                            mse=mse,
                            grid_mse=grid_mse,
                            effect_mse=eff_mse,
                            seconds=seconds,
                            cpu_seconds=cpu_seconds,
                        )
                    )
                    print(
                        f"  n={n} rho={rho} seed={seed} {name}: on-support {mse:,.0f} grid "
                        f"{grid_mse:,.0f} effect {eff_mse:,.0f} ({seconds:.1f}s wall, {cpu_seconds:.1f}s CPU)",
                        file=sys.stderr,
                        flush=True,
                    )
    return pd.DataFrame(records)


def _mean_se(values: pd.Series) -> str:
    v = values.dropna()
    if v.empty:
        return "—"
    if len(v) == 1:
        return f"{v.iloc[0]:,.0f}"
    return f"{v.mean():,.0f} ± {v.std(ddof=1) / np.sqrt(len(v)):,.0f}"


def _seconds(values: pd.Series) -> str:
    v = values.dropna()
    return "—" if v.empty else f"{v.mean():.1f}"


def demand_table(results: pd.DataFrame) -> str:
    rows = [
        "| n | rho | method | on-support MSE of h | grid MSE of h | effect MSE | fit s (wall) "
        "| fit s (CPU) | seeds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (n, rho), block in results.groupby(["n", "rho"], sort=True):
        order = list(dict.fromkeys(block["method"]))
        for name in order:
            r = block[block["method"] == name]
            rows.append(
                f"| {n} | {rho} | {name} | {_mean_se(r['mse'])} | {_mean_se(r['grid_mse'])} | "
                f"{_mean_se(r['effect_mse'])} | {r['seconds'].mean():.1f} | "
                f"{_seconds(r['cpu_seconds'])} | {len(r)} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--rho", type=float, nargs="+", default=[0.1, 0.5, 0.9])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-start", type=int, default=0, help="first seed")
    parser.add_argument("--csv", help="also save the per-seed results to this CSV file")
    parser.add_argument("--methods", nargs="+", help="names of methods to run (default: all)")
    parser.add_argument("--no-peers", action="store_true", help="skip EconML")
    parser.add_argument("--no-card", action="store_true")
    parser.add_argument("--quick", action="store_true", help="n=1000, rho=0.5, one seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rho, args.seeds = [1000], [0.5], 1
    methods = METHODS + BASELINES + ([] if args.no_peers else _econml_methods())
    if args.methods:
        methods = [m for m in methods if m[0] in args.methods]
    if not args.no_card:
        print("## Card (1995): returns to schooling, educ instrumented by nearc4\n")
        print(card_table() + "\n")
    print(
        "## Demand design (Hartford et al. 2017), y = h + 158 e: MSE of h (mean ± s.e. over "
        f"seeds), effect MSE of h(p) - h({P0})\n"
    )
    results = demand_rows(args.n, args.rho, args.seeds, methods, args.seed_start)
    if args.csv:
        results.to_csv(args.csv, index=False)
    print(demand_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
