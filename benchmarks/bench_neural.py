"""Neural effect estimators on IHDP replications 1-10, CFR 672/75 split.

For each replication every model is fitted on the 672 train rows (factual outcomes only) and
scored against the noiseless surfaces: sqrt(PEHE) and |ATE error| within-sample (train rows)
and out-of-sample (the 75 test rows), wall-clock and CPU seconds per replication, and whether
the 95% interval of the within-sample ATE covers the truth. Prints markdown tables next to the
published numbers (1000-replication version, so orientation only) and the references
(gradient-boosting T-learner, AIPW when ``deepcause.estimate.AIPW`` exists).

Run:  .venv/bin/python benchmarks/bench_neural.py [--reps 1-10] [--models cfr,dragonnet,...]
          [--threads 2] [--jobs 1] [--out benchmarks/results/bench_neural.md]

"s / rep (wall)" depends on what else runs on the machine; "CPU s / rep" is the process CPU
time of the fit (with ``--threads 1`` it is the time the fit takes on one free core).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from deepcause.datasets import load_ihdp

PUBLISHED = [
    # model, sqrt(PEHE) in, out, |ATE err| in, out (Shalit et al. 2017 Table 1; CEVAE paper;
    # DragonNet paper), 1000 replications with a 63/27/10 split
    ("TARNet (Shalit et al. 2017)", "0.88", "0.95", "0.26", "0.28"),
    ("CFR-Wass (Shalit et al. 2017)", "0.71", "0.76", "0.25", "0.27"),
    ("CEVAE (Louizos et al. 2017)", "2.7", "2.6", "0.34", "0.46"),
    ("DragonNet + t-reg (Shi et al. 2019)", "—", "—", "0.14", "—"),
    ("BART (Shalit et al. 2017)", "2.1", "2.3", "0.23", "0.34"),
]


def neural_models(threads: int) -> dict[str, Callable[[], object]]:
    import torch

    torch.set_num_threads(threads)
    from deepcause.estimate.neural import CEVAE, CFR, DragonNet, TARNet

    common = {"random_state": 0, "verbose": False}
    return {
        "TARNet": lambda: TARNet(**common),
        "CFR-Wass": lambda: CFR(ipm="wasserstein", **common),
        "CFR-Wass, 10 members": lambda: CFR(ipm="wasserstein", n_members=10, **common),
        "CFR-MMD-RBF": lambda: CFR(ipm="mmd_rbf", **common),
        "DragonNet": lambda: DragonNet(**common),
        "CEVAE": lambda: CEVAE(**common),
    }


def reference_models() -> dict[str, Callable[[], object]]:
    from sklearn.ensemble import GradientBoostingRegressor

    from deepcause.estimate.metalearners import TLearner

    models: dict[str, Callable[[], object]] = {
        "T-learner (gradient boosting)": lambda: TLearner(
            GradientBoostingRegressor(random_state=0), random_state=0
        )
    }
    try:
        from deepcause.estimate import AIPW  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        models["AIPW (deepcause.estimate)"] = lambda: AIPW(random_state=0)
    return models


def evaluate(make: Callable[[], object], rep: int) -> dict[str, float]:
    train, test = load_ihdp(rep, split="train"), load_ihdp(rep, split="test")
    covs = list(train.covariates)
    tau_in = train.mu1 - train.mu0
    tau_out = test.mu1 - test.mu0
    est = make()
    wall, cpu = time.perf_counter(), time.process_time()
    est.fit(train.data, treatment=train.treatment, outcome=train.outcome, covariates=covs)
    ate = est.ate()
    row = {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    row["ate_in"] = abs(ate.value - tau_in.mean())
    lo, hi = ate.conf_int(0.05)
    row["covered"] = float(lo <= tau_in.mean() <= hi) if np.isfinite(lo) else np.nan
    if hasattr(est, "predict_cate"):
        cate_in = est.predict_cate(train.data)  # covariates selected by name
        cate_out = est.predict_cate(test.data)
        row["pehe_in"] = float(np.sqrt(np.mean((cate_in - tau_in) ** 2)))
        row["pehe_out"] = float(np.sqrt(np.mean((cate_out - tau_out) ** 2)))
        row["ate_out"] = abs(cate_out.mean() - tau_out.mean())
    else:
        row.update(pehe_in=np.nan, pehe_out=np.nan, ate_out=np.nan)
    return row


def all_models(threads: int) -> dict[str, Callable[[], object]]:
    return {**neural_models(threads), **reference_models()}


def _task(args: tuple[str, int, int]) -> tuple[str, int, dict[str, float]]:
    name, rep, threads = args
    return name, rep, evaluate(all_models(threads)[name], rep)


def mean_se(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "—"
    se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else np.nan
    return f"{values.mean():.2f} ± {se:.2f}"


def median(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    return "—" if values.size == 0 else f"{np.median(values):.2f}"


def summary_table(results: dict[str, list[dict[str, float]]]) -> str:
    head = (
        "| model | √PEHE in (mean ± s.e.) | √PEHE out | median √PEHE in / out | "
        "\\|ATE err\\| in | \\|ATE err\\| out | median \\|ATE err\\| in | s / rep (wall) | "
        "CPU s / rep | 95% CI covers ATE |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for name, rows in results.items():
        col = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
        cov = col["covered"][np.isfinite(col["covered"])]
        lines.append(
            f"| {name} | {mean_se(col['pehe_in'])} | {mean_se(col['pehe_out'])} | "
            f"{median(col['pehe_in'])} / {median(col['pehe_out'])} | {mean_se(col['ate_in'])} | "
            f"{mean_se(col['ate_out'])} | {median(col['ate_in'])} | "
            f"{col['seconds'].mean():.1f} (max {col['seconds'].max():.1f}) | "
            f"{col['cpu_seconds'].mean():.1f} | "
            f"{'—' if cov.size == 0 else f'{int(cov.sum())}/{cov.size}'} |"
        )
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:.2f}" if np.isfinite(value) else "—"


def per_rep_table(results: dict[str, list[dict[str, float]]], reps: list[int]) -> str:
    names = list(results)
    lines = [
        "| rep | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for i, rep in enumerate(reps):
        cells = [
            " / ".join(_fmt(results[n][i][k]) for k in ("pehe_in", "pehe_out", "ate_in"))
            for n in names
        ]
        lines.append(f"| {rep} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_reps(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(r) for r in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", default="1-10")
    parser.add_argument("--models", default="", help="comma-separated substrings of model names")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--jobs", type=int, default=1, help="replications fitted in parallel")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    reps = parse_reps(args.reps)
    models = all_models(args.threads)
    if args.models:
        wanted = [w.strip().lower() for w in args.models.split(",")]
        models = {k: v for k, v in models.items() if any(w in k.lower() for w in wanted)}
    tasks = [(name, rep, args.threads) for name in models for rep in reps]
    rows: dict[tuple[str, int], dict[str, float]] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for name, rep, row in pool.map(_task, tasks):
            rows[name, rep] = row
            print(
                f"# {name} rep {rep}: pehe {row['pehe_in']:.3f}/{row['pehe_out']:.3f} "
                f"ate {row['ate_in']:.3f}/{row['ate_out']:.3f} {row['seconds']:.1f}s "
                f"(CPU {row['cpu_seconds']:.1f}s)",
                flush=True,
            )
    results = {name: [rows[name, rep] for rep in reps] for name in models}
    text = [
        f"## IHDP replications {reps[0]}-{reps[-1]} (CFR 672/75 split), "
        f"torch threads {args.threads}, {args.jobs} parallel job(s), {os.cpu_count()} CPUs",
        "",
        summary_table(results),
        "",
        "Per replication: √PEHE in / √PEHE out / |ATE err| in",
        "",
        per_rep_table(results, reps),
        "",
        "Published (1000 replications, 63/27/10 split; orientation only):",
        "",
        "| model | √PEHE in | √PEHE out | \\|ATE err\\| in | \\|ATE err\\| out |",
        "|---|---|---|---|---|",
        *[f"| {m} | {a} | {b} | {c} | {d} |" for m, a, b, c, d in PUBLISHED],
    ]
    report = "\n".join(text)
    print(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
