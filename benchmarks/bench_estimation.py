"""Back-door estimators on LaLonde, IHDP, ACIC 2016 and simulated data of growing size.

Run with either venv; with .bench-venv/bin/python the installed peers (DoWhy, EconML) run
on the same data side by side.

    python benchmarks/bench_estimation.py                 # all sections
    python benchmarks/bench_estimation.py --sections lalonde,ihdp --methods aipw,ipw
    python benchmarks/bench_estimation.py --sections scaling --sizes 1e4,1e5,1e6 [--with-1e7]

Tables: (1) ATT on NSW treated + PSID-1 controls vs the experimental 1794.34; (2) IHDP reps
1-10 |ATE error| (in-sample, split="all"); (3) ACIC 2016 instances 1-5 |ATE error|; (4) wall
time and peak memory (ru_maxrss of a fresh subprocess) of AIPW and IPW, and EconML's
DRLearner with the same learners (logistic propensity, ridge outcome, same folds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

import deepcause
from deepcause.datasets import load_acic2016, load_ihdp, load_lalonde
from deepcause.estimate.registry import ESTIMATORS, make_estimator

LALONDE_TRUTH = 1794.34
SKIP = {"plugin", "frontdoor"}  # not back-door binary-treatment estimators
SEED_STUDY = ("aipw", "drlearner", "xlearner")  # cross-fitted / randomized learners

# extra configurations shown besides the registry defaults
VARIANTS = {
    "aipw": {},
    "aipw (trim=crump)": {"trim": "crump"},
    "ipw": {},
    "ipw (Horvitz-Thompson)": {"normalize": False},
    "matching": {},
    "matching (propensity, M=3)": {"distance": "propensity", "n_neighbors": 3},
    "entropy_balancing": {},
    # Hainmueller's (2012) LaLonde specification: means and variances balanced
    "entropy_balancing (moments=2)": {"moments": 2},
    # approximate balance (standardized imbalance <= 0.05) where exact balance is infeasible
    "entropy_balancing (tol=0.05)": {"tol": 0.05},
}


def _methods(selected: list[str] | None) -> dict[str, tuple[str, dict]]:
    table: dict[str, tuple[str, dict]] = {}
    for label, params in VARIANTS.items():
        table[label] = (label.split(" ")[0], params)
    for name in ESTIMATORS:
        if name not in SKIP and name not in table:
            table[name] = (name, {})
    if selected:
        table = {k: v for k, v in table.items() if v[0] in selected}
    return table


POPULATION = {"ATE": "all", "ATT": "treated", "ATC": "controls"}


def _fit(name: str, params: dict, ds, quantity: str, seed: int = 0):
    est = make_estimator(name, **params)
    if "random_state" in est.get_params():
        est.set_params(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(ds.data, treatment=ds.treatment, outcome=ds.outcome, covariates=ds.covariates)
        return est.effect(treatment=1, control=0, population=POPULATION[quantity])


def _timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), wall seconds, CPU seconds of this process)``."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w0, time.process_time() - c0


def _refusal(exc: BaseException, width: int = 400) -> str:
    """One table-safe line: the exception's class and the first line of its message."""
    lines = str(exc).strip().splitlines() or [""]
    text = f"{type(exc).__name__}: {lines[0]}".replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _fmt(x: float, digits: int = 0) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"


# ----------------------------------------------------------------------------- old figures
def read_old(path: str | None) -> dict[str, dict[str, list[str]]]:
    """Rows of an earlier results file: ``{section key: {row label: cells after the label}}``.

    Section keys are ``lalonde``, ``ihdp`` and ``acic`` (the ``## LaLonde``, ``## IHDP`` and
    ``## ACIC`` headings); the seed-study bullets (``- aipw over seeds 0-4: ...``) are kept
    under the label ``"<method> over seeds 0-4"`` with the figure as the only cell.

    >>> import tempfile
    >>> text = "## IHDP replications\\n\\n| method | err |\\n|---|---:|\\n| ipw | 0.094 |\\n"
    >>> with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
    ...     _ = f.write(text)
    >>> read_old(f.name)["ihdp"]["ipw"]
    ['0.094']
    """
    out: dict[str, dict[str, list[str]]] = {"lalonde": {}, "ihdp": {}, "acic": {}}
    if not path:
        return out
    key = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("## "):
                head = line[3:].lower()
                key = next((k for k in out if head.startswith(k)), None)
            elif key and line.startswith("| ") and not line.startswith("|---"):
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                out[key].setdefault(cells[0], cells[1:])
            elif key and line.startswith("- ") and " over seeds 0-4: " in line:
                label, _, value = line[2:].partition(": ")
                out[key][label] = [value.replace(" (sd)", "").strip()]
    return out


def _old(old: dict[str, list[str]], label: str, index: int) -> str:
    cells = old.get(label)
    return cells[index] if cells and len(cells) > index and cells[index] else "—"


# ----------------------------------------------------------------------------- peers
def _peers_available() -> dict[str, bool]:
    out = {}
    for mod in ("dowhy", "econml"):
        try:
            __import__(mod)
            out[mod] = True
        except Exception:
            out[mod] = False
    return out


def _econml_makers():
    from econml.dml import LinearDML
    from econml.dr import DRLearner

    return (
        ("EconML LinearDML", lambda s: LinearDML(discrete_treatment=True, random_state=s)),
        ("EconML DRLearner", lambda s: DRLearner(random_state=s)),
    )


def _arrays(ds):
    X = ds.data[list(ds.covariates)].to_numpy(float)
    return X, ds.data[ds.treatment].to_numpy(), ds.data[ds.outcome].to_numpy(float)


def _peer_att_lalonde(ds) -> list[tuple[str, float, str, float]]:
    """``(peer, ATT, note, CPU seconds)`` for each installed peer."""
    rows = []
    avail = _peers_available()
    X, T, Y = _arrays(ds)
    if avail["econml"]:
        for label, make in _econml_makers():
            vals = []
            c0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for s in range(3):
                    est = make(s).fit(Y, T, X=X)
                    vals.append(float(est.ate(X[T == 1])))
            note = f"± {np.std(vals):,.0f} over 3 seeds"
            rows.append((label, float(np.mean(vals)), note, time.process_time() - c0))
    if avail["dowhy"]:
        value, _, cpu = _timed(_dowhy, ds, "att")
        rows.append(("DoWhy IPW", value, "", cpu))
    return rows


def _dowhy(ds, target: str) -> float:
    import logging

    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    df = ds.data.copy()
    df[ds.treatment] = df[ds.treatment].astype(bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(
            data=df,
            treatment=ds.treatment,
            outcome=ds.outcome,
            common_causes=list(ds.covariates),
        )
        ident = model.identify_effect(proceed_when_unidentifiable=True)
        est = model.estimate_effect(
            ident, method_name="backdoor.propensity_score_weighting", target_units=target
        )
    return float(est.value)


# ----------------------------------------------------------------------------- sections
def _lalonde_row(label: str, name: str, params: dict, ds, old: dict) -> str:
    olds = f"{_old(old, label, 0)} | {_old(old, label, 1)} | {_old(old, label, 3)}"
    try:
        r, wall, cpu = _timed(_fit, name, params, ds, "ATT")
    except Exception as exc:  # a refusal (or a failure): shown in the row, keep going
        return f"| {label} | refused: {_refusal(exc)} | | | | {olds} | | |"
    lo, hi = r.conf_int()
    cover = "yes" if lo <= LALONDE_TRUTH <= hi else "no"
    return (
        f"| {label} | {_fmt(r.value)} | [{_fmt(lo)}, {_fmt(hi)}] | {cover} | "
        f"{_fmt(abs(r.value - LALONDE_TRUTH))} | {olds} | {cpu:.1f} | {wall:.1f} |"
    )


def section_lalonde(methods, old: dict) -> None:
    ds = load_lalonde("psid")
    print("\n## LaLonde: NSW treated (185) + PSID-1 controls (2490), ATT")
    print(f"\nExperimental benchmark {LALONDE_TRUTH:,.2f}; naive difference -15,204.78.\n")
    print(
        "| method | ATT | 95% CI | covers 1794 | abs. error | old ATT | old 95% CI | "
        "old abs. error | CPU s | wall s |"
    )
    print("|---|---:|---:|:---:|---:|---:|---:|---:|---:|---:|")
    for label, (name, params) in methods.items():
        print(_lalonde_row(label, name, params, ds, old), flush=True)
    print()
    for label, (name, params) in methods.items():
        if label not in SEED_STUDY:
            continue
        was = _old(old, f"{label} over seeds 0-4", 0)
        try:
            vals = [_fit(name, params, ds, "ATT", seed=s).value for s in range(5)]
        except Exception as exc:
            print(f"- {label} over seeds 0-4: refused: {_refusal(exc)} (old: {was})")
            continue
        print(
            f"- {label} over seeds 0-4: {np.mean(vals):,.0f} ± {np.std(vals):,.0f} (sd; old: {was})"
        )
    print("- weighting, balancing and matching estimators are deterministic (no seed)")
    peers = _peer_att_lalonde(ds)
    if peers:
        print("\n| peer (defaults) | ATT | note | old ATT | CPU s |\n|---|---:|---|---:|---:|")
        for label, v, note, cpu in peers:
            print(f"| {label} | {_fmt(v)} | {note} | {_old(old, label, 0)} | {cpu:.1f} |")


def _replication_errors(name: str, params: dict, datasets: list, truth_key: str):
    """Per-dataset |ATE error| (nan where refused), refusals (class name per dataset, None
    where fitted; the first message of each class) and the CPU seconds of the fits."""
    errs, kinds, messages, cpu = [], [], {}, 0.0
    for ds in datasets:
        try:
            r, _, c = _timed(_fit, name, params, ds, "ATE")
        except Exception as exc:  # a refusal (or a failure): recorded, keep going
            errs.append(float("nan"))
            kinds.append(type(exc).__name__)
            messages.setdefault(type(exc).__name__, _refusal(exc))
            continue
        cpu += c
        errs.append(abs(r.value - ds.truth[truth_key]))
        kinds.append(None)
    return np.array(errs), kinds, " / ".join(messages.values()), cpu


def _old_same(old: dict[str, list[str]], label: str, errors: np.ndarray) -> str:
    """The old mean over the replications fitted now, when some were refused (else "").

    >>> _old_same({"ipw": ["0.2", "0.3", "0.300, 0.100"]}, "ipw", np.array([np.nan, 0.5]))
    ' (0.100 on the same 1)'
    """
    fitted = np.isfinite(errors)
    try:
        was = np.array([float(x) for x in _old(old, label, 2).split(", ")])
    except ValueError:
        return ""
    if fitted.all() or not fitted.any() or len(was) != len(errors):
        return ""
    return f" ({was[fitted].mean():.3f} on the same {int(fitted.sum())})"


def _replication_table(title: str, datasets: list, methods, truth_key: str, old: dict) -> None:
    print(f"\n## {title}\n")
    print(
        "| method | mean abs. ATE error ± s.e. | max | old mean ± s.e. | old max | "
        "per replication | CPU s (all) |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for label, (name, params) in methods.items():
        t0 = time.perf_counter()
        e, kinds, refusal, cpu = _replication_errors(name, params, datasets, truth_key)
        ok = e[np.isfinite(e)]
        olds = f"{_old(old, label, 0)}{_old_same(old, label, e)} | {_old(old, label, 1)}"
        if not len(ok):
            per = ", ".join(kinds)
            print(f"| {label} | refused ({len(e)} of {len(e)}) | | {olds} | {per}: {refusal} | |")
            continue
        se = ok.std(ddof=1) / np.sqrt(len(ok)) if len(ok) > 1 else float("nan")
        per = ", ".join(f"{x:.3f}" if k is None else f"refused ({k})" for x, k in zip(e, kinds))
        mean = f"{ok.mean():.3f} ± {se:.3f}"
        if len(ok) < len(e):
            mean += f" ({len(ok)} of {len(e)} fitted)"
            per += f"; refused: {refusal}"
        wall = time.perf_counter() - t0
        print(
            f"| {label} | {mean} | {ok.max():.3f} | {olds} | {per} | {cpu:.1f} ({wall:.0f} wall) |",
            flush=True,
        )


def _peer_errors(datasets, truth_key: str):
    """``(peer, |ATE error| per dataset, CPU seconds)`` for each installed peer, as computed."""
    avail = _peers_available()
    if avail["econml"]:
        for label, make in _econml_makers():
            errs = []
            c0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for ds in datasets:
                    X, T, Y = _arrays(ds)
                    est = make(0).fit(Y, T, X=X)
                    errs.append(abs(float(est.ate(X)) - ds.truth[truth_key]))
            yield label, np.array(errs), time.process_time() - c0
    if avail["dowhy"]:
        c0 = time.process_time()
        errs = [abs(_dowhy(ds, "ate") - ds.truth[truth_key]) for ds in datasets]
        yield "DoWhy IPW", np.array(errs), time.process_time() - c0


def _peer_replications(datasets, truth_key: str, old: dict) -> None:
    if not any(_peers_available().values()):
        return
    print(
        "\n| peer (defaults) | mean abs. ATE error ± s.e. | max | old mean ± s.e. | old max "
        "| CPU s (all) |\n|---|---:|---:|---:|---:|---:|"
    )
    for label, e, cpu in _peer_errors(datasets, truth_key):
        print(
            f"| {label} | {e.mean():.3f} ± {e.std(ddof=1) / np.sqrt(len(e)):.3f} | "
            f"{e.max():.3f} | {_old(old, label, 0)} | {_old(old, label, 1)} | {cpu:.1f} |",
            flush=True,
        )


def section_ihdp(methods, old: dict) -> None:
    datasets = [load_ihdp(r, split="all") for r in range(1, 11)]
    title = "IHDP replications 1-10 (in-sample ATE)"
    _replication_table(title, datasets, methods, "ATE", old)
    _peer_replications(datasets, "ATE", old)


def section_acic(methods, old: dict) -> None:
    datasets = [load_acic2016(i) for i in range(1, 6)]
    _replication_table("ACIC 2016 instances 1-5 (ATE)", datasets, methods, "ATE", old)
    _peer_replications(datasets, "ATE", old)


# ----------------------------------------------------------------------------- scaling
def child(method: str, n: int) -> None:
    """Run one fit in this (fresh) process and print a JSON line."""
    from deepcause.simulate import make_confounded_binary

    ds = make_confounded_binary(n, n_covariates=10, population_truth=False, random_state=0)
    truth = ds.truth["ATE"]
    if method.startswith("econml"):  # imports outside the timed region
        from econml.dr import DRLearner
        from sklearn.linear_model import LogisticRegression, RidgeCV
    else:
        make_estimator(method)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method.startswith("econml"):
            X = ds.data[list(ds.covariates)].to_numpy()
            T = ds.data["t"].to_numpy()
            Y = ds.data["y"].to_numpy()
            est = DRLearner(
                model_propensity=LogisticRegression(C=1.0, max_iter=1000),
                model_regression=RidgeCV(alphas=np.logspace(-3, 3, 7)),
                cv=5,
                random_state=0,
            ).fit(Y, T, W=X)
            value = float(est.ate())
        else:
            est = make_estimator(method)
            est.fit(ds.data, treatment="t", outcome="y")
            value = est.ate().value
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"seconds": seconds, "peak_mib": peak, "data_mib": base, "err": abs(value - truth)}
        )
    )


def section_scaling(sizes: list[int], only: list[str] | None = None) -> None:
    print("\n## Scaling: simulated data, 10 covariates (fresh process per run)\n")
    print(
        "Peak = max resident memory of the process (includes the data: `data` column is the "
        "peak after simulating the DataFrame). AIPW and IPW with their defaults (logistic "
        "propensity; AIPW outcomes: gradient boosting up to 5,000 rows, histogram gradient "
        "boosting up to 100,000, ridge above); EconML's "
        "DRLearner with LogisticRegression(C=1) and RidgeCV outcomes; 5 folds for both."
    )
    print("\n| method | rows | seconds | peak MiB | data MiB | abs. ATE error |")
    print("|---|---:|---:|---:|---:|---:|")
    methods = ["aipw", "ipw"]
    if _peers_available().get("econml"):
        methods.append("econml DRLearner")
    if only:
        methods = [m for m in methods if m.split(" ")[0] in only]
    for n in sizes:
        for m in methods:
            cmd = [sys.executable, __file__, "--child", m, str(n)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(
                    f"| {m} | {n:,} | failed: {proc.stderr.strip().splitlines()[-1][:80]} | | | |"
                )
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"| {m} | {n:,} | {r['seconds']:.1f} | {r['peak_mib']:.0f} | "
                f"{r['data_mib']:.0f} | {r['err']:.4f} |",
                flush=True,
            )


def _header(args) -> None:
    """What ran: interpreter, library location, peers, the IPW/AIPW defaults, time and load."""
    print(f"# bench_estimation (python {sys.executable})")
    print(f"\ndeepcause from {deepcause.__file__}; peers installed: {_peers_available()}")
    for name in ("ipw", "aipw"):
        print(f"- {name} defaults: {make_estimator(name).get_params()}")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"- started {stamp}; load average {os.getloadavg()}; {os.cpu_count()} CPUs")
    if args.old:
        print(f"- old figures from {args.old}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", default="lalonde,ihdp,acic,scaling")
    p.add_argument("--methods", default=None, help="comma-separated registry names")
    p.add_argument("--sizes", default="1e4,1e5,1e6")
    p.add_argument("--with-1e7", action="store_true")
    p.add_argument("--old", default=None, help="earlier results .md to show beside the new")
    p.add_argument("--child", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], int(float(args.child[1])))
        return
    methods = _methods(args.methods.split(",") if args.methods else None)
    sections = args.sections.split(",")
    old = read_old(args.old)
    _header(args)
    if "lalonde" in sections:
        section_lalonde(methods, old["lalonde"])
    if "ihdp" in sections:
        section_ihdp(methods, old["ihdp"])
    if "acic" in sections:
        section_acic(methods, old["acic"])
    if "scaling" in sections:
        sizes = [int(float(s)) for s in args.sizes.split(",")]
        if args.with_1e7:
            sizes.append(10_000_000)
        section_scaling(sizes, args.methods.split(",") if args.methods else None)


if __name__ == "__main__":
    main()
