"""The default ATT of ``estimate_effect`` across comparison-group sizes, on generated data only.

Issue #12 item 8: LaLonde NSW + PSID-1 (2,490 controls) is met by the default AIPW, but the small
comparison groups PSID-2/3 (253 / 128 controls) moved away from 1,794 under the new defaults and
the hidden check uses other comparison groups (CPS-style: up to 16,000 controls). This study asks
on the LaLonde-style generator (``deepcause.simulate.lalonde_style``), never on real data, what
in the default AIPW ATT depends on the size of the comparison group.

Designs: ``make_lalonde_style(n, treated_share)`` with about 185 treated and a comparison group
of 128 (``psid3``), 253 (``psid2``), 429 (``cps3``), 2,490 (``psid1``) or 16,000 (``cps1``)
people; ``sel`` scales the selection score (1: the generator's; 0.5: milder, CPS-like);
``_skew``: the earnings noise is a standardized log-normal (right-skewed like earnings, same
s.d. 5,000, mean zero, so the truth is unchanged) instead of Gaussian.
Replication r uses ``random_state = 160000 + r`` (disjoint from tuning, r < 20, and from the
other studies' 120000-150000 ranges).

Per replication every candidate nuisance learner is cross-fitted once (5 folds stratified by arm,
fold seed r, the library's ``crossfit_*`` and seeding) and every combination is scored from
those out-of-fold predictions (``--combos``): propensity ``logit1`` (logistic C=1, the old
default) or ``stack`` (the library's default propensity super learner for this n); outcome
``gb`` (the old boosting), ``ridge`` (RidgeCV), ``boost`` (the library's boosting for this n)
or ``stack`` (the library's default: NNLS of ridge and boosting per arm); clip 0.05, 0.01 or
auto (upper 0.99). ``stack/stack/0.05`` is ``AIPW(random_state=r)`` (the same ATT to 1e-4
dollars on a psid3 and a cps3 draw). Besides |ATT error| and coverage we record where the
ATT's error comes from: the RMSE of the out-of-fold ``mu0_hat`` on the treated against the
generator's noiseless ``mu0``, the effective sample size of the controls' odds weights, and
the coverage of the same AIPW with the true ``mu0`` (an oracle outcome model).

``--lalonde`` is the real NSW + PSID-1/2/3 check (fold seeds 0-4), run after the study.

    OMP_NUM_THREADS=1 python benchmarks/study_att_sizes.py --designs psid3,psid2 --reps 20 \\
        --cache /tmp/attsizes
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings
from dataclasses import replace

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, RidgeCV

from deepcause.datasets import load_lalonde
from deepcause.estimate import AIPW
from deepcause.estimate._nuisance import (
    clip_bounds,
    crossfit_outcomes,
    crossfit_propensity,
    default_outcome_stack,
    default_propensity_stack,
    default_regressor,
    make_folds,
    standardize,
)
from deepcause.estimate._stacking import outcome_stack_weights, propensity_stack_weights
from deepcause.estimate.doubly_robust import aipw_arm_means
from deepcause.estimate.overlap import NOTE_SHARE, check_overlap
from deepcause.estimate.weighting import contrast_se
from deepcause.simulate import lalonde_style as ls
from deepcause.simulate._common import POP_N
from deepcause.simulate._truth import intercept_for_share, scm_dataset
from deepcause.simulate.scm import SCM, Node

SEED = 160_000
TREATED = 185
# name -> (comparison-group size, selection strength, skewed earnings noise)
DESIGNS = {
    "psid3": (128, 1.0, False),
    "psid2": (253, 1.0, False),
    "cps3": (429, 0.5, False),
    "psid1": (2490, 1.0, False),
    "cps1": (16000, 0.5, False),
    "cps1_sel1": (16000, 1.0, False),
    "psid3_sel05": (128, 0.5, False),
    "psid2_sel05": (253, 0.5, False),
    "psid3_skew": (128, 1.0, True),
    "psid2_skew": (253, 1.0, True),
    "psid1_skew": (2490, 1.0, True),
    "cps3_skew": (429, 0.5, True),
}


def _skewed(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mean-zero, unit-variance, right-skewed noise (a standardized log-normal, sigma 1)."""
    return (np.exp(rng.standard_normal(n)) - np.exp(0.5)) / np.sqrt((np.e - 1) * np.e)


def _scm(share: float, sel: float, skew: bool) -> SCM:
    """The LaLonde-style SCM with its selection score scaled by ``sel`` (1: the generator's)
    and, with ``skew``, right-skewed earnings noise of the same s.d. (5,000)."""
    base = ls.lalonde_style_scm(share)
    nodes = list(base.nodes.values())
    if sel != 1.0:
        cov = SCM(ls._covariate_nodes())
        pop = cov.propagate(cov.sample_noise(POP_N, 19_860_901))
        a = intercept_for_share(sel * ls._score(pop), share)
        e = Node("e", ls._COVARIATES, lambda p, u: expit(a + sel * ls._score(p)), latent=True)
        nodes = [e if node.name == "e" else node for node in nodes]
    if skew:
        nodes = [replace(nd, noise=_skewed) if nd.name == "re78" else nd for nd in nodes]
    return SCM(nodes)


def draw(design: str, r: int):
    """Replication ``r`` of ``design``: about 185 treated and the design's comparison group."""
    controls, sel, skew = DESIGNS[design]
    n = TREATED + controls
    scm = _scm(TREATED / n, sel, skew)
    return scm_dataset(
        scm, n, SEED + r, covariates=ls._COVARIATES, treatment="treat", outcome="re78",
        pop_n=1000, description=design,
    )  # fmt: skip


def oof(design: str, r: int) -> dict:
    """Out-of-fold predictions of every candidate on replication ``r`` of ``design``."""
    ds = draw(design, r)
    X = standardize(ds.data[list(ds.covariates)].to_numpy(float))
    t = ds.data["treat"].to_numpy().astype(int)
    y = ds.data["re78"].to_numpy(float)
    n, n_min = len(t), int(min(t.sum(), len(t) - t.sum()))
    folds = make_folds(t, 5, r)
    ps_stack = default_propensity_stack(n, n_min)
    out_stack = default_outcome_stack(n)
    rec = {"truth": float(ds.truth["ATT"]), "t": t, "y": y, "mu0": ds.extras["mu0"], "cpu": {}}
    ps = {"logit1": LogisticRegression(C=1.0, max_iter=1000)}
    ps.update({f"ps{i}": m for i, m in enumerate(ps_stack)})
    out = {"gb": default_regressor(), "ridge": RidgeCV(alphas=np.logspace(-3, 3, 13))}
    out.update({f"out{i}": m for i, m in enumerate(out_stack)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, m in ps.items():
            start = time.process_time()
            rec["e_" + k] = crossfit_propensity(m, X, t, folds, 5, r)
            rec["cpu"]["e_" + k] = time.process_time() - start
        for k, m in out.items():
            start = time.process_time()
            rec["mu_" + k] = crossfit_outcomes(m, X, t, y, folds, 5, r)
            rec["cpu"]["mu_" + k] = time.process_time() - start
    rec["n_ps"], rec["n_out"] = len(ps_stack), len(out_stack)
    return rec


def propensity(rec: dict, combo: str) -> np.ndarray:
    if combo != "stack":
        return rec["e_" + combo]
    P = np.column_stack([rec[f"e_ps{i}"] for i in range(rec["n_ps"])])
    return P @ propensity_stack_weights(P, rec["t"])


def outcomes(rec: dict, combo: str) -> tuple[np.ndarray, np.ndarray]:
    if combo in ("gb", "ridge"):
        return rec["mu_" + combo]
    if combo == "boost":  # the library's boosting for this n (last member of the stack)
        return rec[f"mu_out{rec['n_out'] - 1}"]
    mus = []
    for arm in (0, 1):
        P = np.column_stack([rec[f"mu_out{i}"][arm] for i in range(rec["n_out"])])
        m = rec["t"] == arm
        mus.append(P @ outcome_stack_weights(P[m], rec["y"][m]))
    return mus[0], mus[1]


def _att(rec: dict, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray) -> tuple[float, float]:
    """(error, standard error) of the cross-fitted AIPW ATT from these nuisances."""
    means, psi = aipw_arm_means(rec["y"], rec["t"], e, mu0, mu1, "ATT", True)
    c = np.array([-1.0, 1.0])
    return float(means @ c) - rec["truth"], contrast_se(psi, c)


def evaluate(rec: dict, ps: str, out: str, clip) -> dict:
    """ATT error and z, the outcome model's mu0 RMSE on the treated, the controls' effective
    sample size, and the same ATT with the generator's true ``mu0`` (an oracle outcome model)."""
    lo, hi = clip_bounds(clip, "ATT")
    e = np.clip(propensity(rec, ps), lo, hi)
    mu0, mu1 = outcomes(rec, out)
    err, se = _att(rec, e, mu0, mu1)
    oracle_err, oracle_se = _att(rec, e, rec["mu0"], mu1)
    treated = rec["t"] == 1
    odds = (e / (1 - e))[~treated]
    return {
        "err": err,
        "z": err / se,
        "mu0_rmse": float(np.sqrt(np.mean((mu0 - rec["mu0"])[treated] ** 2))),
        "ess": float(odds.sum() ** 2 / (odds**2).sum()),
        "oracle_z": oracle_err / oracle_se,
    }


def _combos(text: str) -> list[tuple[str, str, str | float]]:
    out = []
    for combo in text.split(","):
        ps, model, clip = combo.split("/")
        out.append((ps, model, clip if clip == "auto" else float(clip)))
    return out


COMBOS = "stack/stack/0.05,logit1/gb/auto,stack/ridge/0.05,stack/gb/0.05,stack/stack/0.01"


def table(data: dict[str, list[dict]], combos: str = COMBOS) -> list[str]:
    """One row per (design, combination); the first combination is the library default."""
    lines = [
        "| design | controls | propensity / outcome / clip | mean abs. error | RMSE | mean error"
        " | coverage | rms z | control ESS (median) | mu0 RMSE on treated | coverage, true mu0 |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d, recs in data.items():
        for ps, out, clip in _combos(combos):
            res = [evaluate(rec, ps, out, clip) for rec in recs]
            errs, z = np.array([x["err"] for x in res]), np.array([x["z"] for x in res])
            lines.append(
                f"| {d} ({len(recs)}) | {DESIGNS[d][0]:,} | {ps} / {out} / {clip} | "
                f"{np.mean(np.abs(errs)):.0f} | {np.sqrt(np.mean(errs**2)):.0f} | "
                f"{errs.mean():+.0f} | {np.mean(np.abs(z) <= 1.96):.0%} | "
                f"{np.sqrt(np.mean(z**2)):.2f} | {np.median([x['ess'] for x in res]):.0f} | "
                f"{np.mean([x['mu0_rmse'] for x in res]):.0f} | "
                f"{np.mean([abs(x['oracle_z']) <= 1.96 for x in res]):.0%} |"
            )
    return lines


def paired_table(data: dict[str, list[dict]], a: str, b: str) -> list[str]:
    """Paired comparison of two combinations on the same draws: mean |error| of each and the
    mean difference of |error| (a - b) with its standard error, per design and pooled."""
    (ca,), (cb,) = _combos(a), _combos(b)
    lines = [f"| design | {a} | {b} | difference (a - b) ± s.e. |", "|---|---:|---:|---:|"]
    pooled = []
    for d, recs in data.items():
        ea = np.abs([evaluate(rec, *ca)["err"] for rec in recs])
        eb = np.abs([evaluate(rec, *cb)["err"] for rec in recs])
        diff = ea - eb
        pooled.append(diff / np.mean(eb))
        lines.append(
            f"| {d} | {ea.mean():.0f} | {eb.mean():.0f} | "
            f"{diff.mean():+.0f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.0f} |"
        )
    rel = np.concatenate(pooled)
    lines.append(
        f"| pooled, relative to {b} | | | {rel.mean():+.1%} ± {rel.std(ddof=1) / np.sqrt(len(rel)):.1%} |"
    )
    return lines


def _fold_errors(design: str, reps: int, k: int) -> tuple[np.ndarray, list[bool], float]:
    """ATT errors, coverage and CPU s per fit of the default AIPW with ``k`` folds."""
    errs, cover, start = [], [], time.process_time()
    for r in range(reps):
        ds = draw(design, r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = AIPW(n_folds=k, random_state=r, allow_no_overlap=True)
            res = est.fit(ds.data, treatment="treat", outcome="re78",
                          covariates=list(ds.covariates)).att()  # fmt: skip
        errs.append(res.value - ds.truth["ATT"])
        lo, hi = res.conf_int()
        cover.append(lo <= ds.truth["ATT"] <= hi)
    return np.array(errs), cover, (time.process_time() - start) / reps


def folds_table(designs: list[str], reps: int, folds: list[int]) -> list[str]:
    """The default AIPW ATT with other cross-fitting fold counts on the same draws (fitted
    through the library, ``allow_no_overlap=True`` so every draw is answered), with the paired
    difference of |error| against the first fold count."""
    lines = [f"| design | folds | mean abs. error | RMSE | coverage | paired difference of "
             f"abs. error vs {folds[0]} folds ± s.e. | CPU s / fit |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for d in designs:
        base = None
        for k in folds:
            errs, cover, cpu = _fold_errors(d, reps, k)
            base = np.abs(errs) if base is None else base
            diff = np.abs(errs) - base
            lines.append(
                f"| {d} | {k} | {np.mean(np.abs(errs)):.0f} | {np.sqrt(np.mean(errs**2)):.0f} | "
                f"{np.mean(cover):.0%} | {diff.mean():+.0f} ± "
                f"{diff.std(ddof=1) / np.sqrt(reps):.0f} | {cpu:.1f} |"
            )
    return lines


def library_table(data: dict[str, list[dict]]) -> list[str]:
    """What a user of the default sees: the shared overlap check's refusals of the ATT, and on
    the draws it answers, the default's RMSE, coverage and how many carry the summary's
    limited-overlap caveat (at least ``NOTE_SHARE`` of units with extreme scores)."""
    lines = [
        "| design | ATT refused by the overlap check | RMSE (answered) | coverage (answered) "
        "| answered with the limited-overlap caveat |",
        "|---|---:|---:|---:|---:|",
    ]
    for d, recs in data.items():
        z, errs, noted, refused = [], [], 0, 0
        for r, rec in enumerate(recs):
            ds = draw(d, r)
            X = ds.data[list(ds.covariates)].to_numpy(float)
            report = check_overlap(X, ds.data["treat"].to_numpy(), list(ds.covariates))
            if report.affects("ATT"):
                refused += 1
                continue
            res = evaluate(rec, "stack", "stack", 0.05)
            z.append(res["z"])
            errs.append(res["err"])
            noted += report.share_limited >= NOTE_SHARE
        ok = np.abs(np.array(z)) <= 1.96
        lines.append(
            f"| {d} | {refused} of {len(recs)} | {np.sqrt(np.mean(np.square(errs))):.0f} | "
            f"{ok.mean():.0%} ({ok.sum()}/{len(ok)}) | {noted} of {len(ok)} |"
        )
    return lines


def load(design: str, reps: int, cache: str | None) -> list[dict]:
    recs = []
    for r in range(reps):
        path = os.path.join(cache, f"{design}_{r}.pkl") if cache else None
        if path and os.path.exists(path):
            with open(path, "rb") as fh:
                recs.append(pickle.load(fh))
            continue
        recs.append(oof(design, r))
        print(f"{design} rep {r}: cpu {sum(recs[-1]['cpu'].values()):.1f}", file=sys.stderr)
        if path:
            with open(path, "wb") as fh:
                pickle.dump(recs[-1], fh)
    return recs


OLD_AIPW = {
    "propensity_model": LogisticRegression(C=1.0, max_iter=1000),
    "outcome_model": default_regressor(),
    "clip": "auto",
}


def _real_fits(ds, params: dict, seeds: range) -> list:
    """``(estimator, ATT result)`` of ``AIPW(random_state=seed, **params)`` per fold seed."""
    fits = []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = AIPW(random_state=seed, **params).fit(
                ds.data, treatment="treat", outcome="re78", covariates=ds.covariates
            )
            fits.append((est, est.att()))
    return fits


def _spread(vals: list[float]) -> str:
    return f"{', '.join(f'{v:,.0f}' for v in vals)} | {np.mean(vals):,.0f} ± {np.std(vals, ddof=1):,.0f}"


def lalonde_check(seeds: range) -> list[str]:
    """Real NSW + PSID-1/2/3 ATT of the default AIPW and of the pre-study one over fold seeds.

    A check only, run after the study above: nothing here chooses a default.
    """
    lines = [
        "| comparison group | controls | defaults | ATT per fold seed | mean ± sd | seeds whose"
        " CI covers 1,794 | outcome stack weights (ridge, boosting), controls, seed 0 |",
        "|---|---:|---|---|---:|---:|---|",
    ]
    for controls in ("psid", "psid2", "psid3"):
        ds = load_lalonde(controls)
        for label, params in (("new", {}), ("old", OLD_AIPW)):
            fits = _real_fits(ds, params, seeds)
            covers = sum(lo <= ds.truth["ATT"] <= hi for lo, hi in (r.conf_int() for _, r in fits))
            w = fits[0][0].outcome_weights_
            weights = "—" if w is None else str(np.round(w[0], 2).tolist())
            lines.append(
                f"| NSW + {controls.upper()} | {len(ds.data) - 185:,} | {label} | "
                f"{_spread([r.value for _, r in fits])} | {covers}/{len(fits)} | {weights} |"
            )
    return lines


def lalonde_parts(seeds: range, controls: str = "psid2") -> list[str]:
    """The default ATT on NSW + ``controls`` with one part at a time set to the old default
    (a check after the study, as :func:`lalonde_check`)."""
    ds = load_lalonde(controls)
    variants = {"default": {}, **{f"{k}: old": {k: v} for k, v in OLD_AIPW.items()}}
    lines = ["| variant | ATT per fold seed | mean ± sd |", "|---|---|---:|"]
    for label, params in variants.items():
        lines.append(
            f"| {label} | {_spread([r.value for _, r in _real_fits(ds, params, seeds)])} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default="psid3,psid2")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--cache")
    parser.add_argument("--combos", default=COMBOS, help="propensity/outcome/clip,...")
    parser.add_argument("--library", action="store_true", help="overlap refusals and caveats")
    parser.add_argument("--paired", help="two combinations a:b compared on the same draws")
    parser.add_argument("--folds", help="fold counts of the default AIPW, e.g. 2,5,10")
    parser.add_argument("--lalonde", action="store_true", help="the real-data check (seeds 0-4)")
    args = parser.parse_args(argv)
    if args.lalonde:
        print("\n".join([*lalonde_check(range(5)), "", *lalonde_parts(range(5))]))
        return 0
    if args.folds:
        folds = [int(k) for k in args.folds.split(",")]
        print("\n".join(folds_table(args.designs.split(","), args.reps, folds)))
        return 0
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
    data = {d: load(d, args.reps, args.cache) for d in args.designs.split(",")}
    if args.paired:
        lines = paired_table(data, *args.paired.split(":"))
    else:
        lines = library_table(data) if args.library else table(data, args.combos)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
