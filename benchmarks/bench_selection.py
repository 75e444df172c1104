"""Selection-bias benchmark: Mroz (Wooldridge Example 17.5) and simulations of the three
selection regimes (ignorable, on unobservables, on the outcome itself).

Run: ``python benchmarks/bench_selection.py [--reps 100] [--n 2000]``; prints markdown tables.
Each simulated truth comes from intervening on the simulator (``deepcause.simulate``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from deepcause.datasets import load_mroz
from deepcause.estimate.selection import HeckmanSelection, SelectionIPW, ShadowVariableEstimator
from deepcause.exceptions import PositivityWarning
from deepcause.metrics import replication_summary
from deepcause.simulate import make_selection

MROZ_ROLES = dict(
    outcome="lwage",
    selection="inlf",
    covariates=["educ", "exper", "expersq"],
    instruments=["nwifeinc", "age", "kidslt6", "kidsge6"],
)
SIM = dict(outcome="y", selection="s")


def mroz_table() -> str:
    m = load_mroz()
    rows = [
        "| estimator | educ | s.e. | lambda | s.e. | rho | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    rows.append("| Wooldridge Ex. 17.5 (textbook) | 0.10907 | 0.016 | 0.03226 | 0.134 | — | — |")
    for method in ("twostep", "mle"):
        t0 = time.perf_counter()
        h = HeckmanSelection(method=method).fit(m.data, **MROZ_ROLES)
        dt = time.perf_counter() - t0
        rows.append(
            f"| deepcause Heckman ({method}) | {h.coef_['educ']:.5f} | "
            f"{h.std_error_['educ']:.4f} | {h.coef_['lambda']:.5f} | "
            f"{h.std_error_['lambda']:.4f} | {h.rho_:.4f} | {dt:.3f} |"
        )
    sel = m.data[m.data.inlf == 1]
    X = np.column_stack([np.ones(len(sel)), sel[MROZ_ROLES["covariates"]].to_numpy(float)])
    b = np.linalg.lstsq(X, sel["lwage"].to_numpy(float), rcond=None)[0]
    rows.append(f"| naive OLS on the 428 selected | {b[1]:.5f} | — | — | — | — | — |")
    return "\n".join(rows)


def _estimators(mechanism: str):
    def naive(d):
        return d.loc[d.s == 1, "y"].mean(), None

    def naive_ate(d):
        s = d[d.s == 1]
        return s.loc[s.t == 1, "y"].mean() - s.loc[s.t == 0, "y"].mean(), None

    def ipsw(d):
        e = SelectionIPW().fit(d, **SIM, covariates=["x", "z"], treatment="t")
        return e.mean(), e.effect(treatment=1, control=0)

    def heck(method):
        def run(d):
            h = HeckmanSelection(method=method).fit(
                d, **SIM, covariates=["x"], treatment="t", instruments=["z"]
            )
            return h.mean(), h.effect(treatment=1, control=0)

        return run

    def shadow(d):
        e = ShadowVariableEstimator().fit(
            d, **SIM, instruments=["w"], covariates=["x"], treatment="t"
        )
        return e.mean(), e.effect(treatment=1, control=0)

    return {
        "naive (selected only)": lambda d: (naive(d)[0], naive_ate(d)[0]),
        "IPSW (x, z, t)": ipsw,
        "Heckman two-step": heck("twostep"),
        "Heckman MLE": heck("mle"),
        "shadow variable (w)": shadow,
    }


def simulation_table(reps: int, n: int) -> str:
    lines = [
        "| selection | estimator | E[Y] bias | E[Y] RMSE | E[Y] 95% coverage | ATE bias | "
        "ATE RMSE | ATE 95% coverage | seconds/fit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mech in ("mar", "unobservables", "outcome"):
        data = [make_selection(n, mech, random_state=1000 + r) for r in range(reps)]
        truth_m, truth_a = data[0].truth["E[Y]"], data[0].truth["ATE"]
        for name, fn in _estimators(mech).items():
            means, ates, t0 = [], [], time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PositivityWarning)
                for ds in data:
                    m, a = fn(ds.data)
                    means.append(m)
                    ates.append(a)
            dt = (time.perf_counter() - t0) / reps
            sm, sa = replication_summary(means, truth_m), replication_summary(ates, truth_a)
            cov = lambda s: f"{s['coverage']:.2f}" if "coverage" in s else "—"  # noqa: E731
            lines.append(
                f"| {mech} | {name} | {sm['bias']:+.3f} | {sm['rmse']:.3f} | {cov(sm)} | "
                f"{sa['bias']:+.3f} | {sa['rmse']:.3f} | {cov(sa)} | {dt:.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    print("## Mroz (1987): Heckman selection model, Wooldridge Example 17.5\n")
    print(mroz_table())
    print(
        f"\n## Simulated selection (n = {args.n}, {args.reps} replications; truth E[Y] and "
        "ATE = 2 by intervention on the simulator)\n"
    )
    print(simulation_table(args.reps, args.n))
    print(
        "\nmar: selection depends on observed x, z, t only; unobservables: selection error "
        "correlated (rho = 0.7) with the outcome error, z excluded from the outcome; outcome: "
        "selection depends on y itself, w = y + noise is a shadow variable."
    )


if __name__ == "__main__":
    main()
