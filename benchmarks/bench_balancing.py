"""Balancing, meta-learner, plug-in and front-door estimators on benchmark data.

Prints markdown tables:

1. LaLonde NSW-treated + PSID-1 controls: ATT (experimental benchmark 1794.34), standard error,
   95% CI, whether it covers 1794.34, and the spread over seeds for seed-dependent estimators.
2. IHDP replications 1-10: mean |ATE error| (truth = mean(mu1 - mu0)) per estimator and seed,
   with peers (econml T-learner with gradient boosting) when installed.
3. Simulated confounded data (known SCM, truth by intervention): estimate, standard error and
   |error| / s.e. for every back-door estimator.
4. Kidney stones and the smoking front-door table through PlugIn/FrontDoor.

Run: ``.venv/bin/python benchmarks/bench_balancing.py [--quick]``. The functions
``lalonde_rows``, ``ihdp_rows`` and ``simulated_rows`` are importable by other benchmarks.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from deepcause.datasets import load_ihdp, load_kidney_stones, load_lalonde
from deepcause.estimate import (
    D2VD,
    DCB,
    ApproximateResidualBalancing,
    DRLearner,
    EntropyBalancing,
    FrontDoor,
    PlugIn,
    SLearner,
    TLearner,
    XLearner,
)
from deepcause.graph import CausalGraph
from deepcause.identification.algorithm import identify
from deepcause.simulate import make_confounded_binary

LALONDE_ATT = 1794.34


def dw_covariates(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Dehejia-Wahba (1999) PSID specification: squares, u74/u75 and educ*re74."""
    df = df.copy()
    df["age2"] = df["age"] ** 2
    df["educ2"] = df["education"] ** 2
    df["u74"] = (df["re74"] == 0).astype(int)
    df["u75"] = (df["re75"] == 0).astype(int)
    df["re74_2"] = df["re74"] ** 2
    df["re75_2"] = df["re75"] ** 2
    df["educ_re74"] = df["education"] * df["re74"]
    base = ["age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75"]
    extra = ["age2", "educ2", "u74", "u75", "re74_2", "re75_2", "educ_re74"]
    return df, base + extra


def markdown(rows: list[dict]) -> str:
    """A list of dicts as a GitHub markdown table (no tabulate dependency)."""
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(r[c]).replace("|", "\\|") for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def lalonde_rows(seeds: tuple[int, ...] = (0, 1, 2, 3, 4)) -> list[dict]:
    """ATT on NSW-treated + PSID-1 for each estimator/specification."""
    ds = load_lalonde("psid")
    base = list(ds.covariates)
    df, dw = dw_covariates(ds.data)
    specs: list[tuple[str, Callable[[int], object], list[str], bool]] = [
        ("EntropyBalancing (means)", lambda s: EntropyBalancing(), base, False),
        ("EntropyBalancing (means+variances)", lambda s: EntropyBalancing(moments=2), base, False),
        ("EntropyBalancing (means), DW spec", lambda s: EntropyBalancing(), dw, False),
        (
            "EntropyBalancing (means+var.), DW spec",
            lambda s: EntropyBalancing(moments=2),
            dw,
            False,
        ),
        (
            "ApproximateResidualBalancing",
            lambda s: ApproximateResidualBalancing(random_state=s),
            base,
            True,
        ),
        (
            "ApproximateResidualBalancing, DW spec",
            lambda s: ApproximateResidualBalancing(random_state=s),
            dw,
            True,
        ),
        ("DCB", lambda s: DCB(), base, False),
        ("DCB, DW spec", lambda s: DCB(), dw, False),
        ("DRLearner (GBM, 5-fold)", lambda s: DRLearner(random_state=s), base, True),
        ("TLearner (GBM), bootstrap s.e.", lambda s: TLearner(random_state=s), base, True),
    ]
    rows = []
    for name, make, cov, seeded in specs:
        values, ses, covers = [], [], []
        t0 = time.perf_counter()
        for seed in seeds if seeded else seeds[:1]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = make(seed).fit(df, treatment="treat", outcome="re78", covariates=cov)
                r = (
                    est.bootstrap(30, random_state=seed, population="treated", verbose=False)
                    if isinstance(est, TLearner)
                    else est.effect(treatment=1, control=0, population="treated")
                )
            lo, hi = r.conf_int()
            values.append(r.value)
            ses.append(r.std_error)
            covers.append(lo <= LALONDE_ATT <= hi)
        rows.append(
            {
                "estimator": name,
                "covariates": len(cov),
                "ATT": _fmt(float(np.mean(values))),
                "sd over seeds": _fmt(float(np.std(values))) if seeded else "—",
                "s.e.": _fmt(float(np.mean(ses))),
                "95% CI (seed 0)": f"[{_fmt(values[0] - 1.96 * ses[0], 0)}, {_fmt(values[0] + 1.96 * ses[0], 0)}]",
                "abs. error vs 1794.34": _fmt(abs(float(np.mean(values)) - LALONDE_ATT)),
                "CI covers": f"{sum(covers)}/{len(covers)}",
                "seconds": f"{(time.perf_counter() - t0) / len(values):.2f}",
            }
        )
    return rows


def _ihdp_estimators() -> dict[str, Callable[[int], object]]:
    return {
        "TLearner (GBM)": lambda s: TLearner(random_state=s),
        "SLearner (GBM)": lambda s: SLearner(random_state=s),
        "XLearner (GBM)": lambda s: XLearner(random_state=s),
        "DRLearner (GBM)": lambda s: DRLearner(random_state=s),
        "EntropyBalancing": lambda s: EntropyBalancing(),
        "EntropyBalancing (means+var.)": lambda s: EntropyBalancing(moments=2),
        "ApproximateResidualBalancing": lambda s: ApproximateResidualBalancing(random_state=s),
        "DCB": lambda s: DCB(),
        "D2VD": lambda s: D2VD(),
    }


def _peer_tlearner(seed: int):
    try:
        from econml.metalearners import TLearner as EconTLearner
        from sklearn.ensemble import GradientBoostingRegressor
    except ImportError:
        return None
    return EconTLearner(models=GradientBoostingRegressor(random_state=seed))


def ihdp_rows(replications=range(1, 11), seeds=(0, 1, 2)) -> list[dict]:
    """Mean |ATE error| over IHDP replications, per estimator (mean ± sd over seeds)."""
    data = [load_ihdp(r) for r in replications]
    rows = []
    seed_free = {"EntropyBalancing", "EntropyBalancing (means+var.)", "DCB", "D2VD"}
    for name, make in _ihdp_estimators().items():
        t0 = time.perf_counter()
        per_seed = []
        for seed in seeds[:1] if name in seed_free else seeds:
            errs = []
            for ds in data:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = make(seed).fit(
                        ds.data, treatment="t", outcome="y", covariates=ds.covariates
                    )
                    errs.append(abs(est.ate().value - ds.truth["ATE"]))
            per_seed.append(np.mean(errs))
        rows.append(_ihdp_row(name, per_seed, t0, len(data)))
    peer = _peer_tlearner(0)
    if peer is not None:
        t0 = time.perf_counter()
        per_seed = []
        for seed in seeds:
            errs = []
            for ds in data:
                X = ds.data[list(ds.covariates)].to_numpy()
                m = _peer_tlearner(seed).fit(ds.data["y"].to_numpy(), ds.data["t"].to_numpy(), X=X)
                errs.append(abs(float(np.mean(m.effect(X))) - ds.truth["ATE"]))
            per_seed.append(np.mean(errs))
        rows.append(_ihdp_row("econml TLearner (GBM) [peer]", per_seed, t0, len(data)))
    return rows


def _ihdp_row(name: str, per_seed: list[float], t0: float, reps: int) -> dict:
    return {
        "estimator": name,
        "mean abs. ATE error": f"{np.mean(per_seed):.4f}",
        "sd over seeds": f"{np.std(per_seed):.4f}" if len(per_seed) > 1 else "—",
        "seeds": len(per_seed),
        "seconds / fit": f"{(time.perf_counter() - t0) / (len(per_seed) * reps):.2f}",
    }


def simulated_rows(n: int = 3000, seed: int = 7) -> list[dict]:
    """Every back-door estimator on make_confounded_binary (truth by intervention)."""
    ds = make_confounded_binary(
        n,
        effect="heterogeneous",
        confounding_strength=1.5,
        population_truth=False,
        random_state=seed,
    )
    estimators = {**_ihdp_estimators()}
    rows = []
    naive = ds.data.groupby("t")["y"].mean().diff().iloc[-1]
    rows.append(
        {
            "estimator": "difference in means",
            "quantity": "ATE",
            "estimate": f"{naive:.3f}",
            "truth": f"{ds.truth['ATE']:.3f}",
            "s.e.": "—",
            "abs. err / s.e.": "—",
        }
    )
    for name, make in estimators.items():
        for quantity in ("ATE", "ATT"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = make(0).fit(ds.data, treatment="t", outcome="y", covariates=ds.covariates)
                population = {"ATE": "all", "ATT": "treated"}[quantity]
                r = est.effect(treatment=1, control=0, population=population)
                if r.std_error is None:
                    r = est.bootstrap(50, random_state=0, population=population, verbose=False)
            err = abs(r.value - ds.truth[quantity])
            rows.append(
                {
                    "estimator": name,
                    "quantity": quantity,
                    "estimate": f"{r.value:.3f}",
                    "truth": f"{ds.truth[quantity]:.3f}",
                    "s.e.": f"{r.std_error:.3f}",
                    "abs. err / s.e.": f"{err / r.std_error:.2f}",
                }
            )
    return rows


def discrete_rows() -> list[dict]:
    """Kidney stones (back-door) and the smoking table (front-door) through PlugIn/FrontDoor."""
    ks = load_kidney_stones()
    g = CausalGraph("stone_size -> treatment -> success; stone_size -> success")
    plug = PlugIn().fit(ks.data, identify(g, "treatment", "success"))
    rows = []
    for arm, truth in (("A", 0.83255), ("B", 0.77888)):
        r = plug.bootstrap(200, random_state=0, treatment=arm, control=None)
        lo, hi = r.conf_int()
        rows.append(
            {
                "query": f"P(success | do(treatment={arm}))",
                "method": "PlugIn",
                "estimate": f"{r.value:.5f}",
                "expected": f"{truth:.5f}",
                "95% CI": f"[{lo:.4f}, {hi:.4f}]",
            }
        )
    s = np.repeat([0, 1, 0, 1], [1900, 100, 100, 1900])
    t = np.repeat([0, 0, 1, 1], [1900, 100, 100, 1900])
    c = np.concatenate(
        [
            np.r_[np.ones(k), np.zeros(m - k)]
            for k, m in zip([190, 90, 5, 1615], [1900, 100, 100, 1900])
        ]
    )
    smoke = pd.DataFrame({"S": s, "T": t, "C": c.astype(int)})
    est = identify(CausalGraph("S -> T -> C; S <-> C"), "S", "C")
    plug = PlugIn().fit(smoke, est)
    fd = FrontDoor().fit(smoke, est)
    for x, truth in ((1, 0.4525), (0, 0.4975)):  # P(C=1 | do(S=x)) = E[C | do(S=x)]
        for name, fitted in (("PlugIn", plug), ("FrontDoor", fd)):
            r = fitted.bootstrap(200, random_state=0, treatment=x, control=None)
            lo, hi = r.conf_int()
            rows.append(
                {
                    "query": f"P(C=1 | do(S={x}))",
                    "method": name,
                    "estimate": f"{r.value:.5f}",
                    "expected": f"{truth:.5f}",
                    "95% CI": f"[{lo:.4f}, {hi:.4f}]",
                }
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and replications")
    args = parser.parse_args(argv)
    seeds = (0,) if args.quick else (0, 1, 2)
    reps = range(1, 4) if args.quick else range(1, 11)
    print("## LaLonde: NSW treated (185) + PSID-1 controls (2490), ATT (benchmark 1794.34)\n")
    print(markdown(lalonde_rows(seeds=(0, 1) if args.quick else (0, 1, 2, 3, 4))))
    print(f"\n## IHDP replications {reps.start}-{reps.stop - 1}: mean |ATE error|\n")
    print(markdown(ihdp_rows(reps, seeds)))
    print("\n## Simulated confounded data (n=3000, heterogeneous effect; truth by intervention)\n")
    print(markdown(simulated_rows()))
    print("\n## Discrete estimands (PlugIn / FrontDoor)\n")
    print(markdown(discrete_rows()))
    print(f"\n_python {sys.version.split()[0]}, numpy {np.__version__}_")


if __name__ == "__main__":
    main()
