"""Choose estimator defaults on generated data only (issue #12 item 8): the reporting study.

Protocol: every replication is a fresh draw of a published design with known truth; the
bundled IHDP replications 1-10 (and every other bundled real data set) are never used. The
defaults were tuned by ``benchmarks/tune_defaults.py`` on replications ``random_state = r``
(r < 20) of the designs below; this study reports on the disjoint replications
``random_state = 120000 + r``. The LaLonde NSW + PSID-1/2/3 check (``--lalonde``) is real data
used only to report, never to choose.

* ``ihdp_a`` / ``ihdp_b``: Hill (2011) response surfaces A and B over the real IHDP covariates
  (747 units, 139 treated), ``make_ihdp(setting, random_state=SEED + r)``; truth: the
  conditional ATE ``mean(mu1 - mu0)`` of the draw.
* ``kang_schafer``: Kang & Schafer (2007), 1,000 units, observed transformed covariates
  ``x1..x4`` (both nuisance models misspecified), effect 0; truth: sample ATE (0).
* ``acic_full`` / ``acic_limited``: the ACIC-2016-style design (nonlinear response and treatment
  model, high effect heterogeneity, 35% treated), full or limited overlap, 1,000 units;
  truth: the sample ATE ``mean(mu1 - mu0)``.
* ``lalonde_style``: a LaLonde-like ATT design (2,675 people, about 7% treated, a comparison
  group that differs strongly, heterogeneous effect, earnings noise s.d. 5,000); truth: the
  sample ATT; the estimators are asked for the ATT.

For each replication every candidate setting is fitted with the estimator API shared by the old
and the new contract (``fit(df, treatment=..., outcome=..., covariates=...)`` then ``.ate()``),
and we record |ATE error|, whether the 95% interval covers the truth, its width, the CPU time
of fit + ate (``time.process_time``, one BLAS/OpenMP thread), warnings and refusals.

    OMP_NUM_THREADS=1 python benchmarks/study_defaults.py --reps 20
    python benchmarks/study_defaults.py --reps 2 --designs ihdp_b --settings aipw_default,t_ridge
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, RidgeCV

from deepcause.datasets import load_lalonde
from deepcause.estimate import AIPW, TLearner, estimate_effect
from deepcause.estimate._nuisance import default_outcome_model
from deepcause.simulate.acic import make_acic
from deepcause.simulate.ihdp import make_ihdp
from deepcause.simulate.kang_schafer import make_kang_schafer
from deepcause.simulate.lalonde_style import make_lalonde_style

SEED = 120_000  # replication r of every design uses random_state SEED + r (--seed changes it)
RESULTS = os.path.join(os.path.dirname(__file__), "results", "study_defaults.md")

DESIGNS: dict[str, Callable[[int], Any]] = {
    "ihdp_a": lambda s: make_ihdp("A", random_state=s),
    "ihdp_b": lambda s: make_ihdp("B", random_state=s),
    "kang_schafer": lambda s: make_kang_schafer(1000, random_state=s, pop_n=1000),
    "acic_full": lambda s: make_acic(1000, random_state=s, pop_n=1000),
    "acic_limited": lambda s: make_acic(1000, overlap="limited", random_state=s, pop_n=1000),
    "lalonde_style": lambda s: make_lalonde_style(2675, random_state=s, pop_n=1000),
}
QUANTITY = {"lalonde_style": "ATT"}  # every other design: the ATE


def _gb(seed: int) -> GradientBoostingRegressor:
    return GradientBoostingRegressor(
        n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=seed
    )


def _rf(seed: int) -> RandomForestRegressor:
    return RandomForestRegressor(
        n_estimators=200, min_samples_leaf=5, max_features=0.5, random_state=seed, n_jobs=1
    )


def _ridge(seed: int) -> RidgeCV:
    return RidgeCV(alphas=np.logspace(-3, 3, 13))


# name -> (description, factory(seed) -> estimator)
SETTINGS: dict[str, tuple[str, Callable[[int], Any]]] = {
    "aipw_default": ("AIPW, library defaults (since this study: super-learner propensity = "
                     "CV-penalized logistic + GB classifier, super-learner outcomes = ridge + "
                     "GB per arm, clip 0.05, 5 folds)",
                     lambda s: AIPW(random_state=s)),
    "aipw_old": ("AIPW, the defaults before this study: GB outcome, logistic e (C=1), clip "
                 "auto ([0.1, 0.9] for the ATE, upper 0.99 for the ATT), 5 folds",
                 lambda s: AIPW(propensity_model=LogisticRegression(C=1.0, max_iter=1000),
                                outcome_model=default_outcome_model(), clip="auto",
                                random_state=s)),
    "aipw_clip0.01": ("AIPW, GB outcome, clip [0.01, 0.99]",
                      lambda s: AIPW(clip=0.01, random_state=s)),
    "aipw_clip0.05": ("AIPW, GB outcome, clip [0.05, 0.95]",
                      lambda s: AIPW(clip=0.05, random_state=s)),
    "aipw_noclip": ("AIPW, GB outcome, no clipping", lambda s: AIPW(clip=None, random_state=s)),
    "aipw_2folds": ("AIPW, GB outcome, clip 0.01, 2 folds",
                    lambda s: AIPW(clip=0.01, n_folds=2, random_state=s)),
    "aipw_10folds": ("AIPW, GB outcome, clip 0.01, 10 folds",
                     lambda s: AIPW(clip=0.01, n_folds=10, random_state=s)),
    "aipw_rf": ("AIPW, random-forest outcome, clip 0.01",
                lambda s: AIPW(outcome_model=_rf(s), clip=0.01, random_state=s)),
    "aipw_ridge": ("AIPW, ridge (CV) outcome, clip 0.01",
                   lambda s: AIPW(outcome_model=_ridge(s), clip=0.01, random_state=s)),
    "aipw_logit_c0.1": ("AIPW, GB outcome, logistic e with C=0.1, clip 0.01",
                        lambda s: AIPW(propensity_model=LogisticRegression(C=0.1, max_iter=1000),
                                       clip=0.01, random_state=s)),
    "t_gb": ("T-learner, GB (library default)", lambda s: TLearner(random_state=s)),
    "t_rf": ("T-learner, random forest", lambda s: TLearner(model=_rf(s), random_state=s)),
    "t_ridge": ("T-learner, ridge (CV)", lambda s: TLearner(model=_ridge(s), random_state=s)),
}  # fmt: skip


@dataclass
class Cell:
    """Results of one (design, setting) pair over replications."""

    errors: list[float] = field(default_factory=list)
    covered: list[bool] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    warned: int = 0
    failed: list[str] = field(default_factory=list)
    # the interval="sample" interval of the same fit (estimators with that parameter)
    covered_sample: list[bool] = field(default_factory=list)
    widths_sample: list[float] = field(default_factory=list)


def run_one(
    make: Callable[[int], Any], ds: Any, truth: float, cell: Cell, seed: int, quantity: str = "ATE"
) -> None:
    """Fit one setting on one data set and add its error, coverage and CPU time to ``cell``."""
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est = make(seed).fit(
                ds.data,
                treatment=ds.treatment,
                outcome=ds.outcome,
                covariates=list(ds.covariates),
            )
            res = est.ate() if quantity == "ATE" else est.att()
            sample = None
            if "interval" in est.get_params(deep=False):  # same fit, the other interval
                est.set_params(interval="sample")
                sample = est.ate() if quantity == "ATE" else est.att()
        except Exception as exc:  # a refusal is a result of the study, not a crash
            cell.failed.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            return
    cell.cpu.append(time.process_time() - start)
    cell.warned += any(issubclass(w.category, UserWarning) for w in caught)
    cell.errors.append(abs(res.value - truth))
    lo, hi = res.conf_int()
    if np.isfinite(lo) and np.isfinite(hi):
        cell.covered.append(bool(lo <= truth <= hi))
        cell.widths.append(hi - lo)
    if sample is not None:
        lo, hi = sample.conf_int()
        cell.covered_sample.append(bool(lo <= truth <= hi))
        cell.widths_sample.append(hi - lo)


def run_study(
    designs: list[str],
    settings: list[str],
    reps: int,
    quiet: bool,
    on_design: Callable[[list[str], dict], None] | None = None,
    first: int = 0,
) -> dict:
    """All (design, setting) cells over ``reps`` replications; design draws shared by settings.

    Replications ``first .. first + reps - 1``. ``on_design(done, study)`` is called after each
    design (to save partial results).
    """
    cells = {(d, s): Cell() for d in designs for s in settings}
    truths: dict[str, list[float]] = {d: [] for d in designs}
    naive: dict[str, list[float]] = {d: [] for d in designs}
    for d in designs:
        for r in range(first, first + reps):
            ds = DESIGNS[d](SEED + r)
            quantity = QUANTITY.get(d, "ATE")
            truth = float(ds.truth[quantity])
            y, t = ds.data[ds.outcome].to_numpy(), ds.data[ds.treatment].to_numpy()
            truths[d].append(truth)
            naive[d].append(abs(y[t == 1].mean() - y[t == 0].mean() - truth))
            for s in settings:
                run_one(SETTINGS[s][1], ds, truth, cells[(d, s)], r, quantity)
            if not quiet:
                done = ", ".join(f"{s}={cells[(d, s)].errors[-1]:.3f}" for s in settings
                                 if cells[(d, s)].errors)  # fmt: skip
                print(f"[{d} rep {r + 1}/{first + reps}] {done}", file=sys.stderr, flush=True)
        if on_design is not None:
            on_design(designs[: designs.index(d) + 1], {"cells": cells, "truths": truths,
                                                         "naive": naive, "first": first})  # fmt: skip
    return {"cells": cells, "truths": truths, "naive": naive, "first": first}


def _fmt(values: list[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f}" if values else "—"


def _coverage(covered: list[bool]) -> str:
    if not covered:
        return "no interval"
    return f"{np.mean(covered):.0%} ({sum(covered)}/{len(covered)})"


def design_table(d: str, settings: list[str], study: dict) -> list[str]:
    """Markdown rows for one design."""
    truths, naive = study["truths"][d], study["naive"][d]
    lines = [
        f"### {d}",
        "",
        f"{len(truths)} replications; true ATE mean {np.mean(truths):.3f} (range "
        f"{np.min(truths):.3f} to {np.max(truths):.3f}); naive difference-in-means mean "
        f"|error| {np.mean(naive):.3f}.",
        "",
        "| setting | mean abs. error | median abs. error | RMSE | 95% coverage | mean CI width "
        "| coverage, interval='sample' | its mean width | CPU s / rep | warned | refused |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in settings:
        c = study["cells"][(d, s)]
        err = np.asarray(c.errors)
        rmse = f"{np.sqrt(np.mean(err**2)):.3f}" if len(err) else "—"
        med = f"{np.median(err):.3f}" if len(err) else "—"
        lines.append(
            f"| {s} | {_fmt(c.errors)} | {med} | {rmse} | {_coverage(c.covered)} "
            f"| {_fmt(c.widths)} | {_coverage(c.covered_sample)} | {_fmt(c.widths_sample)} "
            f"| {_fmt(c.cpu, 2)} | {c.warned} | {len(c.failed)} |"
        )
    fails = {f for s in settings for f in study["cells"][(d, s)].failed}
    lines += [f"- refusal: {f}" for f in sorted(fails)]
    return [*lines, ""]


def summary_table(designs: list[str], settings: list[str], study: dict) -> list[str]:
    """Mean |ATE error| of every setting on every design, with its mean rank over designs."""
    ranks = {s: [] for s in settings}
    for d in designs:
        means = {s: np.mean(study["cells"][(d, s)].errors or [np.inf]) for s in settings}
        order = sorted(settings, key=lambda s: means[s])
        for i, s in enumerate(order):
            ranks[s].append(i + 1)
    head = "| setting | " + " | ".join(designs) + " | mean rank | CPU s / rep (all) |"
    lines = [head, "|---" * (len(designs) + 3) + "|"]
    for s in sorted(settings, key=lambda s: np.mean(ranks[s])):
        errs = [_fmt(study["cells"][(d, s)].errors) for d in designs]
        cpu = [x for d in designs for x in study["cells"][(d, s)].cpu]
        lines.append(
            f"| {s} | " + " | ".join(errs) + f" | {np.mean(ranks[s]):.1f} | {_fmt(cpu, 2)} |"
        )
    return lines


def report(designs: list[str], settings: list[str], study: dict, command: str) -> str:
    """The whole results file: command, protocol, settings, summary and per-design tables."""
    protocol = (__doc__ or "").split("\n\n    ")[0].strip()
    lines = [
        f"<!-- produced by: {command} -->",
        "",
        "# Defaults study on generated data (issue #12 item 8)",
        "",
        f"Command: `{command}` (replication r uses `random_state = {SEED} + r` for the design "
        "and `random_state = r` for the estimator).",
        "",
        protocol,
        "",
        "## Settings",
        "",
        *[f"- `{s}`: {SETTINGS[s][0]}" for s in settings],
        "",
        "## Mean |ATE error| by design (rows sorted by mean rank over designs)",
        "",
        *summary_table(designs, settings, study),
        "",
        "## Per design",
        "",
    ]
    for d in designs:
        lines += design_table(d, settings, study)
    return "\n".join(lines) + "\n"


def _select(text: str | None, table: dict, what: str) -> list[str]:
    if not text:
        return list(table)
    chosen = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in table]
    if unknown:
        raise SystemExit(f"unknown {what} {unknown}; choose from {', '.join(table)}")
    return chosen


OLD_AIPW = {
    "propensity_model": LogisticRegression(C=1.0, max_iter=1000),
    "outcome_model": default_outcome_model(),
    "clip": "auto",
}


def lalonde_table(seed: int = 0) -> list[str]:
    """ATT of ``estimate_effect``'s default estimator on NSW + PSID-1/2/3 (a check, never tuned on).

    The graph: every covariate causes ``treat`` and ``re78``; ``treat`` causes ``re78``. Each
    comparison group with the current defaults and with the defaults before the study.
    """
    lines = [
        "| comparison group | controls | defaults | method | ATT | 95% CI | covers 1,794 | "
        "abs. error | CPU s |",
        "|---|---:|---|---|---:|---|:---:|---:|---:|",
    ]
    for controls, label, params in (
        (c, label, params)
        for c in ("psid", "psid2", "psid3")
        for label, params in (("new", None), ("old", OLD_AIPW))
    ):
        ds = load_lalonde(controls)
        graph = "; ".join([f"{c} -> treat; {c} -> re78" for c in ds.covariates] + ["treat -> re78"])
        truth = ds.truth["ATT"]
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = estimate_effect(
                ds.data,
                graph,
                "treat",
                "re78",
                population="treated",
                random_state=seed,
                params=params,
            )
        cpu = time.process_time() - start
        lo, hi = res.conf_int()
        lines.append(
            f"| NSW + {controls.upper()} | {len(ds.data) - 185:,} | {label} | {res.method} | "
            f"{res.value:,.0f} | [{lo:,.0f}, {hi:,.0f}] | {'yes' if lo <= truth <= hi else 'no'} "
            f"| {abs(res.value - truth):,.0f} | {cpu:.1f} |"
        )
    return lines


def save_json(path: str, designs: list[str], settings: list[str], study: dict) -> None:
    """Raw per-replication results of ``study`` (to merge runs with ``--merge``)."""
    cells = {f"{d}|{s}": asdict(c) for (d, s), c in study["cells"].items() if d in designs}
    raw = {"designs": designs, "settings": settings, "cells": cells, "first": study["first"],
           "truths": study["truths"], "naive": study["naive"], "seed": SEED}  # fmt: skip
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(raw, fh)


def load_json(paths: list[str]) -> tuple[list[str], list[str], dict]:
    """Merge raw results of several runs: other settings on the same replications of a design,
    or other replications (``--first``) of the same settings, concatenated in replication order.
    """
    designs, settings, raws = [], [], []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            raws.append(json.load(fh))
    raws.sort(key=lambda raw: raw.get("first", 0))
    study: dict = {"cells": {}, "truths": {}, "naive": {}, "first": 0}
    by_rep: dict[str, dict[int, tuple[float, float]]] = {}  # design -> r -> (truth, naive)
    seeds = {raw.get("seed", 120_000) for raw in raws}
    if len(seeds) > 1:
        raise SystemExit(f"the runs drew from different --seed values {sorted(seeds)}")
    global SEED
    SEED = seeds.pop()
    for raw in raws:
        first = raw.get("first", 0)
        designs += [d for d in raw["designs"] if d not in designs]
        settings += [s for s in raw["settings"] if s not in settings]
        for key, c in raw["cells"].items():
            cell = study["cells"].setdefault(tuple(key.split("|")), Cell())
            for name, value in c.items():
                if isinstance(value, list):
                    getattr(cell, name).extend(value)
                else:
                    setattr(cell, name, getattr(cell, name) + value)
        for d in raw["designs"]:
            reps = by_rep.setdefault(d, {})
            for i, pair in enumerate(zip(raw["truths"][d], raw["naive"][d], strict=True)):
                if first + i in reps and not np.isclose(reps[first + i][0], pair[0]):
                    raise SystemExit(f"design {d} replication {first + i}: different draws")
                reps[first + i] = pair
    for d, reps in by_rep.items():
        study["truths"][d] = [reps[r][0] for r in sorted(reps)]
        study["naive"][d] = [reps[r][1] for r in sorted(reps)]
    for d in designs:
        for s in settings:
            study["cells"].setdefault((d, s), Cell())
    return designs, settings, study


def main(argv: list[str] | None = None) -> int:
    global SEED
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="replications per design")
    parser.add_argument("--designs", help=f"comma-separated subset of {', '.join(DESIGNS)}")
    parser.add_argument("--settings", help="comma-separated subset of the candidate settings")
    parser.add_argument("--out", default=RESULTS, help="markdown file to write ('-': stdout)")
    parser.add_argument("--first", type=int, default=0, help="first replication (default 0)")
    parser.add_argument(
        "--seed", type=int, default=SEED, help=f"replication r draws random_state SEED + r ({SEED})"
    )
    parser.add_argument("--json", help="also write the raw results to this JSON file")
    parser.add_argument("--merge", help="comma-separated JSON files: report them, fit nothing")
    parser.add_argument(
        "--lalonde",
        action="store_true",
        help="print the LaLonde NSW + PSID-1/2/3 ATT check and exit",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    SEED = args.seed
    if args.lalonde:
        print("\n".join(lalonde_table()))
        return 0
    if args.reps < 1:
        parser.error(f"--reps must be a positive integer, got {args.reps}")
    command = "OMP_NUM_THREADS=1 python benchmarks/study_defaults.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if args.merge:
        designs, settings, study = load_json(args.merge.split(","))
    else:
        designs = _select(args.designs, DESIGNS, "design(s)")
        settings = _select(args.settings, SETTINGS, "setting(s)")

    def save(done: list[str], study: dict) -> None:
        text = report(done, settings, study, command.strip())
        if args.json:
            save_json(args.json, done, settings, study)
        if args.out == "-":
            if done == designs:
                print(text)
            return
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.out} ({len(done)}/{len(designs)} designs)", file=sys.stderr)

    if args.merge:
        save(designs, study)
    else:
        run_study(designs, settings, args.reps, args.quiet, on_design=save, first=args.first)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
