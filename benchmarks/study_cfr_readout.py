"""CFR's population read-out on generated data: which propensity, clipping, normalization.

Companion of ``study_neural_defaults.py`` (same designs, seeds and scores; the bundled IHDP
replications are never used). CFR has no propensity head, so its AIPW read-out needs a
propensity from elsewhere. Each fit dumps the members' heads on the training rows
(``mu``, shape (n_members, 2, n)) with ``t``, ``y``, the covariates and the truth to an
``.npz``; ``--readouts`` then scores every read-out of :func:`readouts` on those fits without
training again (each read-out's CPU time is the fit's plus its own propensity fit).

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/study_cfr_readout.py --fit \
        --design ihdp_b --reps 0-19 --settings cfr_default --dump /tmp/cfr_mu
    python benchmarks/study_cfr_readout.py --readouts /tmp/cfr_mu --out rows.jsonl
    python benchmarks/study_neural_defaults.py --summary rows.jsonl
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
import warnings
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


def fit_dump(setting: str, design: str, rep: int, dump: str) -> str:
    """Fit one setting of ``study_neural_defaults.SETTINGS`` on one replication; save heads."""
    import torch
    from study_neural_defaults import SETTINGS, _designs

    import deepcause.estimate.neural as neural

    torch.set_num_threads(1)
    cls_name, kwargs = SETTINGS[setting]
    ds = _designs()[design](rep)
    covs = list(ds.roles["covariates"])
    df = ds.data
    model = getattr(neural, cls_name)(random_state=rep, verbose=False, **kwargs)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, treatment="t", outcome="y", covariates=covs)
    mu = model._member_outcomes(model.data_.X)
    cpu = time.process_time() - start
    extra = {}
    if cls_name == "DragonNet":
        extra["g_head"] = model._member_propensity(model.data_.X)
    path = os.path.join(dump, f"{design}__{setting}__{rep}.npz")
    np.savez(
        path,
        mu=mu,
        t=model.data_.t,
        y=model.data_.y,
        X=model.data_.X,
        tau=np.asarray(ds.mu1 - ds.mu0, dtype=float),
        overlap_e=model.overlap_.propensity,
        cpu=cpu,
        **extra,
    )
    return path


def _propensities(X: np.ndarray, t: np.ndarray, rep: int) -> dict[str, tuple[np.ndarray, float]]:
    """Candidate propensities of the AIPW score, each with its CPU seconds."""
    from sklearn.linear_model import LogisticRegression

    from deepcause.estimate._nuisance import default_propensity_stack, make_folds, standardize
    from deepcause.estimate._stacking import fit_propensity_nuisance

    Z = standardize(X)
    folds = make_folds(t, 5, rep)
    out: dict[str, tuple[np.ndarray, float]] = {}
    n_min = int(min(t.sum(), len(t) - t.sum()))
    cands = {
        "stack": default_propensity_stack(len(t), n_min),
        "logit": LogisticRegression(C=1.0, max_iter=2000),
    }
    for name, model in cands.items():
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e, _ = fit_propensity_nuisance(model, Z, t, folds, 5, rep)
        out[name] = (e, time.process_time() - start)
    return out


def aipw_readout(
    mu: np.ndarray, t: np.ndarray, y: np.ndarray, e: np.ndarray, clip: float, hajek: bool
) -> tuple[float, float]:
    """ATE and its standard error: members' AIPW scores (optionally Hajek), se as the library."""
    e = np.clip(e, clip, 1 - clip)
    p = np.stack([1.0 - e, e], axis=-2)
    arm = np.stack([t == 0, t == 1])
    w = arm / p  # (..., 2, n)
    if hajek:
        w = w * len(t) / w.sum(axis=-1, keepdims=True)
    scores = mu + w * (y - mu)
    contrast = scores[:, 1] - scores[:, 0]  # (members, n)
    members = contrast.mean(axis=1)
    theta = members.mean()
    influence = contrast.mean(axis=0) - theta
    se_if = np.std(influence, ddof=1) / np.sqrt(len(t))
    spread = np.std(members, ddof=1) if len(members) > 1 else 0.0
    return float(theta), float(np.hypot(se_if, spread))


def readouts(path: str) -> list[dict[str, Any]]:
    """Every read-out of one dumped fit, as ``study_neural_defaults`` JSON rows."""
    d = np.load(path)
    design, setting, rep = os.path.basename(path)[:-4].split("__")
    rep = int(rep)
    mu, t, y, tau = d["mu"], d["t"].astype(int), d["y"], d["tau"]
    truth = float(tau.mean())
    pehe = float(np.sqrt(np.mean((mu.mean(axis=0)[1] - mu.mean(axis=0)[0] - tau) ** 2)))
    fit_cpu = float(d["cpu"])
    props = {"overlap": (d["overlap_e"], 0.0), **_propensities(d["X"], t, rep)}
    if "g_head" in d:
        props["head"] = (d["g_head"], 0.0)
    rows = []

    def row(name: str, value: float, se: float | None, cpu: float) -> None:
        lo, hi = (value - 1.96 * se, value + 1.96 * se) if se is not None else (None, None)
        rows.append(
            {
                "setting": f"{setting}+{name}",
                "design": design,
                "rep": rep,
                "truth": truth,
                "estimate": value,
                "error": value - truth,
                "covered": bool(lo <= truth <= hi) if se is not None else None,
                "width": hi - lo if se is not None else None,
                "pehe": pehe,
                "cpu": cpu,
                "se": se,
            }
        )

    members = (mu[:, 1] - mu[:, 0]).mean(axis=1)
    row("plugin", float(members.mean()), None, fit_cpu)
    for pname, (e, pcpu) in props.items():
        for clip in (0.01, 0.05, 0.1):
            for hajek in (False, True):
                value, se = aipw_readout(mu, t, y, e, clip, hajek)
                tag = f"aipw_{pname}_c{clip}" + ("_hajek" if hajek else "")
                row(tag, value, se, fit_cpu + pcpu)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--design", default="ihdp_b")
    parser.add_argument("--reps", default="0-4")
    parser.add_argument("--settings", default="cfr_default")
    parser.add_argument("--dump", default="/tmp/cfr_mu")
    parser.add_argument("--readouts", help="score every dumped fit in this folder")
    parser.add_argument("--out", default="/tmp/cfr_readout.jsonl")
    parser.add_argument("--tag", default="tune")
    args = parser.parse_args(argv)
    from study_neural_defaults import _reps

    if args.fit:
        os.makedirs(args.dump, exist_ok=True)
        for rep in _reps(args.reps):
            for setting in args.settings.split(","):
                print(fit_dump(setting, args.design, rep, args.dump), flush=True)
        return
    with open(args.out, "w") as fh:
        for path in sorted(glob.glob(os.path.join(args.readouts, "*.npz"))):
            for r in readouts(path):
                fh.write(json.dumps({"tag": args.tag, **r}) + "\n")


if __name__ == "__main__":
    main()
