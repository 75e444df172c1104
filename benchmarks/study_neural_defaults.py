"""Choose the defaults of the neural effect estimators on generated data only (issue #12).

Protocol: every replication is a fresh draw of a published design with known truth; the
bundled IHDP replications (and every other bundled real data set) are never used.

* Tuning designs (replication r uses ``random_state = TUNE_SEED + r``):
  ``ihdp_a`` / ``ihdp_b`` — Hill (2011) response surfaces A and B over the real IHDP covariates
  (747 units, 139 treated), ``make_ihdp(setting, random_state=...)``; ``acic`` — the
  ACIC-2016-style design (nonlinear response and treatment, high heterogeneity, 35% treated,
  1,000 units), ``make_acic(1000, random_state=..., pop_n=1000)``.
* Reporting design: ``ihdp_b_report`` — ``make_ihdp("B", random_state=REPORT_SEED + r)``,
  r = 0..99, never looked at while tuning.

Truth is the conditional ATE of the draw, ``mean(mu1 - mu0)`` over its units. Each setting is
fitted on all units (factual outcomes only) with ``fit(df, treatment="t", outcome="y",
covariates=...)``; we record the ATE error, whether the 95% interval of ``effect()`` covers the
truth (and its width), the in-sample ``sqrt(PEHE)`` of ``predict_cate`` against
``mu1 - mu0``, and the CPU seconds of fit + effect (``time.process_time``, one torch thread).

One JSON line per (setting + read-out, design, replication) is appended to ``--out``;
``--summary`` turns such files into markdown tables. Settings are named in :data:`SETTINGS`;
``*_default`` means "the defaults of whatever deepcause is on PYTHONPATH" (run it once with the
old source tree for the old defaults; ``cfr_old`` / ``dragonnet_old`` spell the old defaults
out for the new tree). A fitted model is read out several ways at no extra training cost
(:data:`VARIANTS`: ``+aipw``, ``+plugin``; :data:`CLASS_VARIANTS`: for DragonNet also
``+aipw_overlapg``, the AIPW score with the overlap check's propensity; for CFR
``+aipw_c0.01``, its propensity clipped to [0.01, 0.99] (CFR's read-out before
``study_cfr_readout.py``), and ``+aipw_stack``, AIPW's cross-fitted propensity super learner).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/study_neural_defaults.py \
        --design ihdp_b_report --reps 0-99 --settings cfr_default,dragonnet_default \
        --tag new --out /tmp/neural_report.jsonl
    python benchmarks/study_neural_defaults.py --summary /tmp/neural_report.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

TUNE_SEED = 130_000
REPORT_SEED = 140_000


def _designs() -> dict[str, Callable[[int], Any]]:
    from deepcause.simulate.acic import make_acic
    from deepcause.simulate.ihdp import make_ihdp

    return {
        "ihdp_a": lambda r: make_ihdp("A", random_state=TUNE_SEED + r),
        "ihdp_b": lambda r: make_ihdp("B", random_state=TUNE_SEED + r),
        "acic": lambda r: make_acic(1000, random_state=TUNE_SEED + r, pop_n=1000),
        "ihdp_b_report": lambda r: make_ihdp("B", random_state=REPORT_SEED + r),
    }


#: setting name -> (class name, keyword arguments on top of the class defaults)
SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "tarnet_default": ("TARNet", {}),
    "cfr_default": ("CFR", {}),
    "dragonnet_default": ("DragonNet", {}),
}
#: the defaults before this study, spelled out for the new source tree (same numbers)
_OLD = {
    "representation_hidden_sizes": (200, 200, 200),
    "head_hidden_sizes": (100, 100),
    "n_members": 5,
    "uncertainty": "bootstrap",
    "population_estimate": "plugin",
}
SETTINGS["cfr_old"] = ("CFR", _OLD)
SETTINGS["dragonnet_old"] = ("DragonNet", _OLD)


def _grid() -> None:
    """Candidate settings of the study (added to :data:`SETTINGS`)."""
    small = {"representation_hidden_sizes": (100, 100), "head_hidden_sizes": (50,)}
    nob = {"uncertainty": None, "n_members": 3}
    for name, cls in (("tarnet", "TARNet"), ("cfr", "CFR"), ("dragonnet", "DragonNet")):
        SETTINGS[f"{name}_small_nob"] = (cls, {**small, **nob})
        SETTINGS[f"{name}_small_boot5"] = (
            cls,
            {**small, "n_members": 5, "uncertainty": "bootstrap"},
        )
        SETTINGS[f"{name}_big_nob"] = (cls, {**nob})
        SETTINGS[f"{name}_small_nob_wd1e-3"] = (cls, {**small, **nob, "weight_decay": 1e-3})
        SETTINGS[f"{name}_small_nob_bs256"] = (cls, {**small, **nob, "batch_size": 256})
        SETTINGS[f"{name}_small_nob_m5"] = (cls, {**small, **nob, "n_members": 5})
    for alpha in (0.1, 0.3):
        SETTINGS[f"cfr_small_nob_a{alpha}"] = ("CFR", {**small, **nob, "alpha": alpha})


_grid()


#: read-outs of one fitted model: parameters that only change how effects are computed
VARIANTS: dict[str, dict[str, Any]] = {
    "aipw": {"population_estimate": "aipw"},
    "plugin": {"population_estimate": "plugin"},
}
#: per class: the AIPW score with each of its other propensities
CLASS_VARIANTS = {
    "DragonNet": {"aipw_overlapg": {"population_estimate": "aipw", "propensity": "overlap_check"}},
    "CFR": {  # the default is the overlap check's propensity clipped to [0.05, 0.95]
        "aipw_c0.01": {
            "population_estimate": "aipw",
            "propensity": "overlap_check",
            "propensity_clip": 0.01,
        },
        "aipw_stack": {
            "population_estimate": "aipw",
            "propensity": "stack",
            "propensity_clip": 0.01,
        },
    },
}


def run_one(setting: str, design: str, rep: int, threads: int) -> list[dict[str, Any]]:
    """Fit one setting on one replication and score each read-out against the truth.

    A setting fitted by a source tree with ``population_estimate`` is read out as every
    :data:`VARIANTS` (``setting+variant``; CPU time = fit + that read-out); otherwise once.
    """
    import torch

    import deepcause.estimate.neural as neural

    torch.set_num_threads(threads)
    cls_name, kwargs = SETTINGS[setting]
    ds = _designs()[design](rep)
    covs = list(ds.roles["covariates"])
    df, tau = ds.data, ds.mu1 - ds.mu0
    truth = float(np.mean(tau))
    model = getattr(neural, cls_name)(random_state=rep, verbose=False, **kwargs)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df, treatment="t", outcome="y", covariates=covs)
    fit_cpu = time.process_time() - start
    pehe = float(np.sqrt(np.mean((model.predict_cate(df) - tau) ** 2)))
    variants = {"": {}}
    if "population_estimate" in model.get_params():
        variants = {**VARIANTS, **CLASS_VARIANTS.get(cls_name, {})}
    rows = []
    for variant, params in variants.items():
        model.set_params(**params)
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = model.effect(treatment=1, control=0)
        cpu = fit_cpu + time.process_time() - start
        lo, hi = est.conf_int()
        has_ci = bool(np.isfinite(lo) and np.isfinite(hi))
        extra = est.diagnostics.extra
        rows.append(
            {
                "setting": f"{setting}+{variant}" if variant else setting,
                "design": design,
                "rep": rep,
                "truth": truth,
                "estimate": float(est.value),
                "error": float(est.value - truth),
                "covered": bool(lo <= truth <= hi) if has_ci else None,
                "width": float(hi - lo) if has_ci else None,
                "pehe": pehe,
                "cpu": cpu,
                "se": est.std_error,
                "se_influence": extra.get("se_influence"),
                "se_members": extra.get("se_members"),
            }
        )
    return rows


def _reps(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def summarize(paths: list[str]) -> str:
    """Markdown table per design: mean |error| (s.e.), median, coverage, sqrt(PEHE), CPU."""
    rows: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for path in paths:
        with open(path) as fh:
            for line in fh:
                r = json.loads(line)
                rows[(r["design"], r.get("tag", ""), r["setting"])].append(r)
    out = []
    for design in sorted({k[0] for k in rows}):
        out += [
            f"\n### {design}\n",
            "| tag | setting | reps | mean \\|ATE err\\| (s.e.) | median | 95% CI coverage "
            "| mean CI width | √PEHE mean (median) | CPU s / rep |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        keys = sorted((k for k in rows if k[0] == design), key=lambda k: (k[1], k[2]))
        for key in keys:
            rs = rows[key]
            err = np.abs([r["error"] for r in rs])
            cov = [r["covered"] for r in rs if r["covered"] is not None]
            wid = [r["width"] for r in rs if r["width"] is not None]
            pehe = np.array([r["pehe"] for r in rs])
            coverage = f"{100 * np.mean(cov):.0f}% ({sum(cov)}/{len(cov)})" if cov else "none"
            width = f"{np.mean(wid):.3f}" if wid else "—"
            out.append(
                f"| {key[1]} | {key[2]} | {len(rs)} | {err.mean():.3f} "
                f"({err.std(ddof=1) / np.sqrt(len(err)) if len(err) > 1 else 0:.3f}) | "
                f"{np.median(err):.3f} | {coverage} | {width} | {pehe.mean():.2f} "
                f"({np.median(pehe):.2f}) | {np.mean([r['cpu'] for r in rs]):.1f} |"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ihdp_b")
    parser.add_argument("--reps", default="0-4")
    parser.add_argument("--settings", default="cfr_default,dragonnet_default")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", default="/tmp/study_neural.jsonl")
    parser.add_argument("--summary", nargs="*", help="summarize these JSONL files and exit")
    args = parser.parse_args(argv)
    if args.summary:
        print(summarize(args.summary))
        return
    for rep in _reps(args.reps):
        for setting in args.settings.split(","):
            for row in run_one(setting, args.design, rep, args.threads):
                row["tag"] = args.tag
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
