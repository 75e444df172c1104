"""Tune AIPW's nuisance defaults on generated data only (issue #12 item 8): the protocol.

Tuning replications are disjoint from the reporting ones of ``study_defaults.py``: replication
r of a design uses ``random_state = r`` here (r = 0..reps-1) and ``120000 + r`` there. No
bundled or real data set is used (not the bundled IHDP replications, not LaLonde NSW/PSID).

1. For every tuning replication of every design, each candidate nuisance learner is cross-fitted
   once (5 folds stratified by arm, fold seed r) on standardized covariates and its out-of-fold
   predictions are kept: propensity ``logit1`` (logistic, C=1: the old default), ``logitcv``
   (logistic, C by 3-fold CV of the log-loss over 1e-3..1e2), ``gbc`` (gradient boosting, 100
   trees of depth 2); outcomes per arm ``gb`` (the old default boosting), ``ridge`` (RidgeCV),
   ``spline`` (cubic splines, 4 knots, + RidgeCV), ``inter`` (pairwise products + RidgeCV).
2. Every combination (propensity candidate or a log-loss stack of two; outcome candidate or an
   NNLS stack; clipping level) gives a cross-fitted AIPW estimate (the ATT for
   ``lalonde_style``, the ATE otherwise) from those predictions; we record |error| against the
   sample truth and whether the influence-function 95% interval covers it. A clipping level c
   bounds the scores as the library does (``clip_bounds``: the ATE to [c, 1 - c], the ATT's
   scores from above only).
3. Selection rule, fixed before looking: rank the combinations by mean |error| within each
   design, average the ranks over the designs, take the best; clipping "auto" ([0.1, 0.9]) is
   excluded beforehand (it biases the ATE under limited overlap, issue #12).

    OMP_NUM_THREADS=1 python benchmarks/tune_defaults.py --cache /tmp/oof \\
        --out benchmarks/results/tune_defaults.md

``--ipw`` applies the same rule to IPW's clipping level (its other defaults fixed) and writes
``benchmarks/results/tune_defaults_ipw.md``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import sys
import time
import warnings

import numpy as np
from scipy.optimize import minimize_scalar, nnls
from scipy.stats import rankdata
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, SplineTransformer

from deepcause.estimate import IPW
from deepcause.estimate._nuisance import (
    clip_bounds,
    crossfit_outcomes,
    crossfit_propensity,
    default_regressor,
    make_folds,
    standardize,
)
from deepcause.estimate.doubly_robust import aipw_arm_means
from deepcause.estimate.weighting import contrast_se
from deepcause.simulate.acic import make_acic
from deepcause.simulate.ihdp import make_ihdp
from deepcause.simulate.kang_schafer import make_kang_schafer
from deepcause.simulate.lalonde_style import make_lalonde_style

# design -> (generator(seed), quantity, tuning replications)
DESIGNS = {
    "ihdp_a": (lambda s: make_ihdp("A", random_state=s), "ATE", 10),
    "ihdp_b": (lambda s: make_ihdp("B", random_state=s), "ATE", 20),
    "lalonde_style": (lambda s: make_lalonde_style(2675, random_state=s, pop_n=1000), "ATT", 20),
    "acic_full": (lambda s: make_acic(1000, random_state=s, pop_n=1000), "ATE", 10),
    "acic_limited": (
        lambda s: make_acic(1000, overlap="limited", random_state=s, pop_n=1000),
        "ATE",
        10,
    ),
    "kang_schafer": (lambda s: make_kang_schafer(1000, random_state=s, pop_n=1000), "ATE", 10),
}
ALPHAS = np.logspace(-3, 3, 13)
OUTCOME = {
    "gb": lambda: default_regressor(),
    "ridge": lambda: RidgeCV(alphas=ALPHAS),
    "spline": lambda: make_pipeline(SplineTransformer(n_knots=4, degree=3), RidgeCV(alphas=ALPHAS)),
    "inter": lambda: make_pipeline(PolynomialFeatures(2, include_bias=False), RidgeCV(ALPHAS)),
}
PROPENSITY = {
    "logit1": lambda: LogisticRegression(C=1.0, max_iter=1000),
    # the library's default uses the equivalent GridSearchCV(LogisticRegression) form
    "logitcv": lambda: LogisticRegressionCV(
        Cs=np.logspace(-3, 2, 6), cv=3, scoring="neg_log_loss", max_iter=1000
    ),
    "gbc": lambda: GradientBoostingClassifier(
        n_estimators=100, max_depth=2, learning_rate=0.1, subsample=0.8
    ),
}
PS_COMBOS = ["logit1", "logitcv", "gbc", "logitcv+gbc"]
OUT_COMBOS = ["gb", "ridge", "spline", "inter", "ridge+gb", "spline+gb", "ridge+spline+gb",
              "ridge+spline+inter+gb"]  # fmt: skip
CLIPS = [0.05, 0.01, 0.001]
SYMMETRIC = False  # --symmetric-clip: the clipping rule the defaults were first chosen under
IPW_HEAD = """# Tuning IPW's clipping default on generated data (issue #12 items 2 and 8)

Command: `OMP_NUM_THREADS=1 python benchmarks/tune_defaults.py --ipw --out
benchmarks/results/tune_defaults_ipw.md`. The same tuning replications as AIPW's
(`random_state = r`, r < 10 or 20 per design; no bundled or real data), IPW with its
other defaults (logistic regression C = 1 on standardized covariates, in-sample scores, Hajek
weights), one fit per replication and every clipping level applied to the same scores
(`clip_bounds`: a number c bounds the ATE's scores to [c, 1 - c], the ATT's from above only;
"auto" is the old default, [0.1, 0.9] for the ATE and upper 0.99 for the ATT). Rule (AIPW's,
fixed beforehand): rank the levels by mean |error| within each design, average the ranks over
the designs (tied levels share their mean rank), take the best; "auto" is excluded (it biases
the ATE under limited overlap).
Cells: mean |error| (lalonde_style in dollars / 1000) and 95% interval coverage."""


def oof_predictions(design: str, r: int) -> dict:
    """Out-of-fold predictions of every candidate on replication ``r`` of ``design``."""
    make, quantity, _ = DESIGNS[design]
    ds = make(r)
    X = standardize(ds.data[list(ds.covariates)].to_numpy(float))
    t = ds.data[ds.treatment].to_numpy().astype(int)
    y = ds.data[ds.outcome].to_numpy(float)
    folds = make_folds(t, 5, r)
    rec = {"truth": float(ds.truth[quantity]), "t": t, "y": y, "q": quantity, "cpu": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, f in PROPENSITY.items():
            start = time.process_time()
            rec["e_" + k] = crossfit_propensity(f(), X, t, folds, 5, r)
            rec["cpu"]["e_" + k] = time.process_time() - start
        for k, f in OUTCOME.items():
            start = time.process_time()
            rec["mu_" + k] = crossfit_outcomes(f(), X, t, y, folds, 5, r)
            rec["cpu"]["mu_" + k] = time.process_time() - start
    return rec


def _logloss(e: np.ndarray, t: np.ndarray) -> float:
    e = np.clip(e, 1e-6, 1 - 1e-6)
    return float(-np.mean(t * np.log(e) + (1 - t) * np.log(1 - e)))


def propensity(rec: dict, combo: str) -> np.ndarray:
    """A candidate's scores, or the log-loss-optimal convex mix of two."""
    if "+" not in combo:
        return rec["e_" + combo]
    a, b = (rec["e_" + k] for k in combo.split("+"))
    fit = minimize_scalar(
        lambda w: _logloss(w * a + (1 - w) * b, rec["t"]), bounds=(0, 1), method="bounded"
    )
    return fit.x * a + (1 - fit.x) * b


def outcomes(rec: dict, combo: str) -> tuple[np.ndarray, np.ndarray]:
    """A candidate's (mu0, mu1), or the per-arm NNLS stack (weights normalized to one)."""
    names = combo.split("+")
    mus = []
    for arm in (0, 1):
        P = np.column_stack([rec["mu_" + k][arm] for k in names])
        m = rec["t"] == arm
        w, _ = nnls(P[m], rec["y"][m])
        w = w / w.sum() if w.sum() > 0 else np.full(len(names), 1 / len(names))
        mus.append(P @ w)
    return mus[0], mus[1]


def evaluate(rec: dict, ps: str, out: str, clip: float) -> tuple[float, bool]:
    """|error| and coverage of the AIPW estimate of one combination."""
    # the library's rule (ATT: upper side only); SYMMETRIC: [c, 1 - c] for every quantity
    lo, hi = (clip, 1 - clip) if SYMMETRIC else clip_bounds(clip, rec["q"])
    e = np.clip(propensity(rec, ps), max(lo, 1e-6), min(hi, 1 - 1e-6))
    mu0, mu1 = outcomes(rec, out)
    means, psi = aipw_arm_means(rec["y"], rec["t"], e, mu0, mu1, rec["q"], True)
    c = np.array([-1.0, 1.0])
    err = float(means @ c) - rec["truth"]
    return abs(err), bool(abs(err) <= 1.96 * contrast_se(psi, c))


def table(data: dict[str, list[dict]]) -> list[str]:
    """Markdown: every combination's mean |error| (coverage) per design, sorted by mean rank."""
    designs = list(data)
    rows = {}
    for ps, out, clip in itertools.product(PS_COMBOS, OUT_COMBOS, CLIPS):
        res = {d: [evaluate(rec, ps, out, clip) for rec in data[d]] for d in designs}
        rows[f"{ps} / {out} / {clip:g}"] = {
            d: (np.mean([a for a, _ in v]), np.mean([c for _, c in v])) for d, v in res.items()
        }
    ranks = {k: 0.0 for k in rows}
    for d in designs:
        for i, k in enumerate(sorted(rows, key=lambda k: rows[k][d][0])):
            ranks[k] += (i + 1) / len(designs)
    lines = [
        "| propensity / outcome / clip | " + " | ".join(designs) + " | mean rank |",
        "|---" * (len(designs) + 2) + "|",
    ]
    for k in sorted(rows, key=ranks.get):
        scale = {d: 1000.0 if d == "lalonde_style" else 1.0 for d in designs}
        cells = [f"{rows[k][d][0] / scale[d]:.3f} ({rows[k][d][1]:.0%})" for d in designs]
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {ranks[k]:.1f} |")
    return lines


IPW_CLIPS = ["auto", 0.1, 0.05, 0.02, 0.01, 0.001, None]


def ipw_errors(design: str, r: int) -> dict[str, tuple[float, bool]]:
    """|error| and coverage of the library's IPW (its default propensity model, in-sample
    scores) at every clipping level of ``IPW_CLIPS`` on replication ``r`` of ``design``."""
    make, quantity, _ = DESIGNS[design]
    ds = make(r)
    truth = float(ds.truth[quantity])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = IPW(random_state=r).fit(
            ds.data, treatment=ds.treatment, outcome=ds.outcome, covariates=list(ds.covariates)
        )
        for clip in IPW_CLIPS:
            res = est.set_params(clip=clip).effect(
                population="all" if quantity == "ATE" else "treated"
            )
            lo, hi = res.conf_int()
            out[str(clip)] = (abs(res.value - truth), bool(lo <= truth <= hi))
    return out


def ipw_table() -> list[str]:
    """IPW's clipping levels: mean |error| (coverage) per design, rows by mean rank.

    The rule is AIPW's: rank by mean |error| within each design, average over the designs,
    take the best; "auto" is shown but excluded from the choice."""
    res = {d: [ipw_errors(d, r) for r in range(reps)] for d, (_, _, reps) in DESIGNS.items()}
    keys = [str(c) for c in IPW_CLIPS]
    rows = {
        k: {d: (np.mean([v[k][0] for v in res[d]]), np.mean([v[k][1] for v in res[d]]))
            for d in DESIGNS}
        for k in keys
    }  # fmt: skip
    ranked = [k for k in keys if k != "auto"]
    ranks = {k: 0.0 for k in ranked}
    for d in DESIGNS:  # tied levels (no score beyond either bound) share their mean rank
        for k, rank in zip(ranked, rankdata([rows[k][d][0] for k in ranked]), strict=True):
            ranks[k] += rank / len(DESIGNS)
    lines = [
        "| clip | " + " | ".join(DESIGNS) + " | mean rank |",
        "|---" * (len(DESIGNS) + 2) + "|",
    ]
    for k in sorted(keys, key=lambda k: ranks.get(k, np.inf)):
        cells = [
            f"{rows[k][d][0] / (1000.0 if d == 'lalonde_style' else 1.0):.3f} ({rows[k][d][1]:.0%})"
            for d in DESIGNS
        ]
        rank = f"{ranks[k]:.2f}" if k in ranks else "excluded"
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {rank} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="-", help="markdown file ('-': stdout)")
    parser.add_argument("--cache", help="folder for the out-of-fold predictions (pickles)")
    parser.add_argument("--symmetric-clip", action="store_true", help="clip c: [c, 1-c] always")
    parser.add_argument("--ipw", action="store_true", help="tune IPW's clipping level instead")
    args = parser.parse_args(argv)
    if args.ipw:
        _write("\n".join([IPW_HEAD, "", *ipw_table(), ""]), args.out)
        return 0
    global SYMMETRIC
    SYMMETRIC = args.symmetric_clip
    data = {}
    for d, (_, _, reps) in DESIGNS.items():
        path = os.path.join(args.cache, f"oof_{d}_0_{reps}.pkl") if args.cache else None
        if path and os.path.exists(path):
            with open(path, "rb") as fh:
                data[d] = pickle.load(fh)
        else:
            data[d] = [oof_predictions(d, r) for r in range(reps)]
            if path:
                with open(path, "wb") as fh:
                    pickle.dump(data[d], fh)
        print(f"{d}: {reps} replications", file=sys.stderr, flush=True)
    cpu = {
        k: np.mean([rec["cpu"][k] for v in data.values() for rec in v])
        for k in data["ihdp_b"][0]["cpu"]
    }
    text = "\n".join([
        "# Tuning AIPW's defaults on generated data (issue #12 item 8)", "",
        (__doc__ or "").split("\n\n    ")[0], "",
        "Mean |error| (lalonde_style: in dollars / 1000) and 95% coverage over the tuning "
        "replications; rows sorted by mean rank over the designs.", "",
        *table(data), "",
        "Mean CPU s per cross-fit of each candidate: "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()), "",
    ])  # fmt: skip
    _write(text, args.out)
    return 0


def _write(text: str, out: str) -> None:
    """Print ``text`` (``out == "-"``) or write it to the file ``out``."""
    if out == "-":
        print(text)
    else:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
