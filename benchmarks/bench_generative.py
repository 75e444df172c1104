"""Causal generative models on the ground-truth simulator suite (deepcause.simulate.suite).

For every SCM of the suite and every mechanism type: fit ``CausalGenerativeModel`` on
``--n-train`` observational rows, draw ``--n-samples`` samples of ``P(outcome | do(x))`` for
each query value and compare with samples from the intervened simulator: RBF-kernel MMD^2
(median heuristic, on the outcome's columns), error of ``E[Y | do(x)]`` in units of std(Y)
(truth from 100k simulator draws), unit-level counterfactual RMSE / std(Y) (no-latent cases;
truth from the simulator with the same noise) and fit time. The last column lists the query
values whose answer the fitted model flags as an extrapolation (a ``PositivityWarning``: the
value lies outside the observed range of the treatment; ladder_nonlinear's ``do(X1 = -1)``);
the other methods' rows of the same case repeat it (same data, same query). Latent-confounder graphs are fitted
with their bidirected edges (district-wise joint training) and also with the ID-GEN sampler;
the non-identifiable ``bow`` must be refused.

DoWhy gcm runs side by side when importable here or in .bench-venv (built by ``make bench-env``; run there in a
subprocess); it cannot express hidden confounders, so it gets the graph without bidirected
edges.

Run: ``.venv/bin/python benchmarks/bench_generative.py [--mechanisms additive flow]
[--cases NAME ...] [--n-train 5000] [--n-samples 2000] [--out benchmarks/results/bench_generative.md]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PEER_PYTHON = str(Path(__file__).resolve().parent.parent / ".bench-venv" / "bin" / "python")


# ----------------------------------------------------------------------------- DoWhy gcm
def _gcm_worker(workdir: str) -> None:
    """Runs inside a Python with dowhy: fit gcm, write interventional/counterfactual samples."""
    import networkx as nx
    from dowhy import gcm
    from dowhy.gcm.causal_mechanisms import InvertibleFunctionalCausalModel

    spec = json.loads(Path(workdir, "spec.json").read_text())
    df = pd.read_csv(Path(workdir, "train.csv"))
    g = nx.DiGraph()
    g.add_nodes_from(df.columns)
    g.add_edges_from(spec["edges"])
    scm = gcm.InvertibleStructuralCausalModel(g)
    gcm.auto.assign_causal_mechanisms(scm, df, quality=gcm.auto.AssignmentQuality.GOOD)
    t0 = time.perf_counter()
    gcm.fit(scm, df)
    out = {"fit_time": time.perf_counter() - t0}
    if spec["counterfactual"]:  # gcm counterfactuals need invertible (additive-noise) nodes
        spec["counterfactual"] = all(
            isinstance(scm.causal_mechanism(n), InvertibleFunctionalCausalModel)
            or not list(g.predecessors(n))
            for n in g.nodes
        )
    np.random.seed(0)  # noqa: NPY002  (gcm draws from the global numpy generator)
    factual = pd.read_csv(Path(workdir, "factual.csv")) if spec["counterfactual"] else None
    for i, v in enumerate(spec["values"]):
        s = gcm.interventional_samples(
            scm,
            {c: (lambda x, v=v: np.full_like(x, v)) for c in spec["treatment"]},
            num_samples_to_draw=spec["n_samples"],
        )
        s.to_csv(Path(workdir, f"do_{i}.csv"), index=False)
        if factual is not None:
            cf = gcm.counterfactual_samples(
                scm,
                {c: (lambda x, v=v: np.full_like(x, v)) for c in spec["treatment"]},
                observed_data=factual,
            )
            cf.to_csv(Path(workdir, f"cf_{i}.csv"), index=False)
    Path(workdir, "out.json").write_text(json.dumps(out))


def _gcm_python() -> str | None:
    try:
        import dowhy  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    if Path(PEER_PYTHON).exists():
        ok = subprocess.run([PEER_PYTHON, "-c", "import dowhy"], capture_output=True)
        if ok.returncode == 0:
            return PEER_PYTHON
    return None


def run_gcm(python: str, case, df, values, n_samples, factual) -> dict | None:
    """gcm on the graph without bidirected edges (vector nodes split into scalar columns)."""
    cols = case.scm.node_columns
    edges = [(a, b) for p, c in case.graph.directed_edges for a in cols[p] for b in cols[c]]
    with tempfile.TemporaryDirectory() as d:
        df.to_csv(Path(d, "train.csv"), index=False)
        if factual is not None:
            factual.to_csv(Path(d, "factual.csv"), index=False)
        spec = {
            "edges": edges,
            "treatment": cols[case.treatment],
            "values": list(values),
            "n_samples": n_samples,
            "counterfactual": factual is not None,
        }
        Path(d, "spec.json").write_text(json.dumps(spec))
        t0 = time.perf_counter()
        res = subprocess.run(
            [python, os.path.abspath(__file__), "--gcm-worker", d],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"},
        )
        if res.returncode != 0:
            print(f"  gcm failed on {case.name}: {res.stderr.strip()[-300:]}", file=sys.stderr)
            return None
        out = {"fit_time": time.perf_counter() - t0, "do": [], "cf": []}
        for i in range(len(values)):
            out["do"].append(pd.read_csv(Path(d, f"do_{i}.csv")))
            if Path(d, f"cf_{i}.csv").exists():
                out["cf"].append(pd.read_csv(Path(d, f"cf_{i}.csv")))
        return out


# ----------------------------------------------------------------------------- ours
@contextlib.contextmanager
def _flagging(flags: list[str], label: str):
    """Record ``label`` in ``flags`` when the block warns that it extrapolates beyond a node's
    observed range (a counterfactual's joint-support warnings: :func:`_off_support`)."""
    from deepcause.generative._support import recording_extrapolation

    with recording_extrapolation() as notes:
        yield
    if any("off their joint support" not in n for n in notes) and label not in flags:
        flags.append(label)


def _off_support(flags: list[str], label: str, cf) -> None:  # noqa: ANN001
    """Record the nodes a counterfactual flagged as off their parents' joint support."""
    for node, rec in cf.attrs.get("off_support", {}).items():
        flags.append(f"{label} joint: {node} {rec['share']:.0%}")


def score(case, samples, values, obs, truth_mean, truth_samples, cf_pred=None, cf_true=None):
    from deepcause.metrics import counterfactual_rmse, interventional_mean_error, mmd_rbf

    ycols = case.outcome_columns()
    sd = float(np.linalg.norm(obs[ycols].std().to_numpy()))
    mmds, errs, cfs = [], [], []
    for i, _ in enumerate(values):
        s = samples[i][ycols].to_numpy(float)
        mmds.append(mmd_rbf(s, truth_samples[i][ycols].to_numpy(float)))
        if len(ycols) == 1:
            errs.append(interventional_mean_error(s[:, 0], truth_mean[i], scale=sd))
        if cf_pred is not None:
            cfs.append(
                counterfactual_rmse(
                    cf_pred[i][ycols].to_numpy(float), cf_true[i][ycols].to_numpy(float), scale=sd
                )
            )
    return (
        float(np.mean(mmds)),
        float(np.mean(errs)) if errs else float("nan"),
        float(np.mean(cfs)) if cfs else float("nan"),
    )


def _choices(model) -> str:  # noqa: ANN001
    """``mechanisms="auto"``'s choice per non-root continuous node, e.g. ``"B additive 0.93,
    C location_scale"`` (the additive choice's scale shrinkage when it has one); kept in the
    rows' JSON, not in the table."""
    out = []
    for node, rep in getattr(model, "mechanism_choice_", {}).items():
        if rep.get("reason") == "root node":
            continue
        shrink = rep.get("scale_shrinkage")
        text = f"{node} {rep['mechanism']}" + ("" if shrink is None else f" {shrink:.2f}")
        if "mean_loss_z" in rep:  # spline_if_better: the refit's z, kept or not
            text += f" [{rep.get('mean_loss', 'gaussian')} z={rep['mean_loss_z']:.2f}]"
        out.append(text)
    return ", ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcm-worker")
    ap.add_argument("--mechanisms", nargs="*", default=["additive", "flow"])
    ap.add_argument("--cases", nargs="+")
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--n-cf", type=int, default=1000)
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="fresh replicate: data, model, truth and counterfactual noise seeds move with it",
    )
    ap.add_argument(
        "--auto-average",
        type=int,
        choices=(0, 1),
        help="auto: candidates train with weight averaging (1) or without (0); default: the "
        "library's (selection.AVERAGE_WEIGHTS)",
    )
    ap.add_argument(
        "--auto-folds",
        type=int,
        help="auto: folds the candidates are cross-fitted on below 2,000 rows (1: one 15%% "
        "validation split, the rule before run 13); default: the library's "
        "(selection.CROSS_FIT_FOLDS)",
    )
    ap.add_argument(
        "--auto-mean-loss",
        choices=("gaussian", "spline"),
        help="auto: the additive and log candidates' mean fitted under a Gaussian or a learned "
        "spline noise density (run 15); default: the library's (selection.ADDITIVE_MEAN_LOSS)",
    )
    ap.add_argument(
        "--auto-chosen-mean-loss",
        choices=("gaussian", "spline", "spline_if_better"),
        help="auto, cross-fitted nodes: refit a node the choice keeps additive with this mean "
        "loss (run 16; spline_if_better: kept when its out-of-fold likelihood is higher, run "
        "20); default: the library's (selection.CHOSEN_ADDITIVE_MEAN_LOSS)",
    )
    ap.add_argument(
        "--model-offset",
        type=int,
        default=0,
        help="model seed = --seed + this (data, truth and counterfactual noise unchanged): "
        "several model seeds per data seed (runs 11-15)",
    )
    ap.add_argument("--no-gcm", action="store_true")
    ap.add_argument("--out")
    ap.add_argument(
        "--merge", nargs="+", help="row files of partial runs to merge (*.json or --out *.md)"
    )
    ap.add_argument("--drop", nargs="+", help="with --merge: leave out these methods' rows")
    ap.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="comma-separated row files (*.json) of two code versions: a per-case/seed table",
    )
    ap.add_argument("--note", nargs="+", help="paragraphs for the header (how rows were made)")
    args = ap.parse_args()
    if args.gcm_worker:
        _gcm_worker(args.gcm_worker)
        return
    if args.compare:
        before, after = (
            [r for f in arg.split(",") for r in _read_rows(f, [])] for arg in args.compare
        )
        _write_comparison(args, before, after)
        print(Path(args.out).read_text())
        return
    if args.merge:
        rows = [r for f in args.merge for r in _read_rows(f, args.drop or [])]
        lines = [_line(r) for r in rows]
        _write(args, lines, rows, "see rows")
        print(Path(args.out).read_text())
        return

    import torch

    from deepcause.exceptions import NotIdentifiableError
    from deepcause.generative import CausalGenerativeModel, selection
    from deepcause.generative.idgen import IDGenSampler
    from deepcause.simulate.suite import simulator_suite

    torch.set_num_threads(1)  # the benchmark machine is shared; 1 thread per process
    if args.auto_average is not None:
        selection.AVERAGE_WEIGHTS = bool(args.auto_average)
    if args.auto_folds is not None:
        selection.CROSS_FIT_FOLDS = int(args.auto_folds)
    if args.auto_mean_loss is not None:
        selection.ADDITIVE_MEAN_LOSS = args.auto_mean_loss
    if args.auto_chosen_mean_loss is not None:
        selection.CHOSEN_ADDITIVE_MEAN_LOSS = args.auto_chosen_mean_loss
    os.environ.setdefault("DEEPCAUSE_PROGRESS", "0")
    suite = {c.name: c for c in simulator_suite()}
    cases = [suite[name] for name in args.cases] if args.cases else list(suite.values())
    gcm_python = None if args.no_gcm else _gcm_python()
    rows: list[dict] = []
    lines: list[str] = []

    def emit(row: dict) -> None:
        row["seed"] = args.seed
        row["model_offset"] = args.model_offset
        rows.append(row)
        line = _line(row)
        lines.append(line)
        print(line, flush=True)
        if args.out:
            _write(args, lines, rows, gcm_python)

    print(_TABLE_HEAD)
    for case in cases:
        s0 = 100 * args.seed  # seed 0 keeps the seeds of the original runs
        df = case.sample(args.n_train, random_state=args.seed)
        t = case.treatment
        values = case.do_values
        truth_samples = [
            case.truth(args.n_samples, v, random_state=s0 + 10 + i) for i, v in enumerate(values)
        ]
        truth_mean = [
            float(
                case.truth(100_000, v, random_state=s0 + 20 + i)[case.outcome_columns()[0]].mean()
            )
            for i, v in enumerate(values)
        ]
        factual = cf_true = None
        if not case.has_latent:
            noise = case.scm.sample_noise(args.n_cf, random_state=s0 + 5)
            factual = case.scm.to_frame(case.scm.propagate(noise))
            cf_true = [case.scm.to_frame(case.scm.propagate(noise, {t: v})) for v in values]
        flags: list[str] = []  # the query values the fitted models flag as extrapolation
        for mech in args.mechanisms:
            model = CausalGenerativeModel(
                case.graph,
                mechanisms=mech,
                node_columns=case.node_columns,
                random_state=args.seed + args.model_offset,
            )
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                model.fit(df)
                fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
                samples = []
                for i, v in enumerate(values):
                    with _flagging(flags, f"{t}={v:g}"):
                        samples.append(model.sample(args.n_samples, do={t: v}, random_state=s0 + i))
            except NotIdentifiableError:
                emit(
                    {
                        "case": case.name,
                        "method": f"{mech} (refused: not identifiable)",
                        "mmd": float("nan"),
                        "mean_err": float("nan"),
                        "cf_rmse": float("nan"),
                        "fit_s": time.perf_counter() - t0,
                        "fit_cpu_s": time.process_time() - c0,
                    }
                )
                continue
            cf_pred = None
            if factual is not None:
                cf_pred = []
                for v in values:
                    with _flagging(flags, f"{t}={v:g}"):
                        cf_pred.append(model.counterfactual(factual, do={t: v}, random_state=0))
                    _off_support(flags, f"{t}={v:g}", cf_pred[-1])
            m, e, c = score(case, samples, values, df, truth_mean, truth_samples, cf_pred, cf_true)
            emit(
                {
                    "case": case.name,
                    "method": mech,
                    "mmd": m,
                    "mean_err": e,
                    "cf_rmse": c,
                    "fit_s": fit_s,
                    "fit_cpu_s": fit_cpu,
                    "extrapolated": ", ".join(flags),
                    "choices": _choices(model),
                }
            )
            if case.has_latent and case.identifiable:
                t0, c0 = time.perf_counter(), time.process_time()
                ig = IDGenSampler(case.graph, t, case.outcome, mechanisms=mech, random_state=0).fit(
                    df
                )
                fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
                s = []
                for i, v in enumerate(values):
                    with _flagging(flags, f"{t}={v:g}"):
                        s.append(ig.sample(args.n_samples, {t: v}, random_state=i))
                m, e, c = score(case, s, values, df, truth_mean, truth_samples)
                emit(
                    {
                        "case": case.name,
                        "method": f"idgen-{mech}",
                        "mmd": m,
                        "mean_err": e,
                        "cf_rmse": c,
                        "fit_s": fit_s,
                        "fit_cpu_s": fit_cpu,
                        "extrapolated": ", ".join(flags),
                    }
                )
        if gcm_python is not None:
            out = run_gcm(gcm_python, case, df, values, args.n_samples, factual)
            if out is not None:
                cf_pred = out["cf"] or None
                m, e, c = score(
                    case, out["do"], values, df, truth_mean, truth_samples, cf_pred, cf_true
                )
                label = "dowhy-gcm" + (" (latents ignored)" if case.has_latent else "")
                emit(
                    {
                        "case": case.name,
                        "method": label,
                        "mmd": m,
                        "mean_err": e,
                        "cf_rmse": c,
                        "fit_s": out["fit_time"],
                        "fit_cpu_s": float("nan"),  # a subprocess: wall time only
                        "extrapolated": ", ".join(flags),  # the same data and query
                    }
                )
    if args.out:
        _write(args, lines, rows, gcm_python)
    print()
    print(_summary(rows))


_TABLE_HEAD = (
    "| case | method | MMD² | mean err (sd) | CF RMSE (sd) | fit s | fit CPU s | "
    "extrapolated do() |\n"
    "|---|---|---|---|---|---|---|---|"
)


def _line(row: dict) -> str:
    return (
        f"| {row['case']} | {row['method']} | {row['mmd']:.4f} | {row['mean_err']:.3f} | "
        f"{row['cf_rmse']:.3f} | {row['fit_s']:.1f} | {row.get('fit_cpu_s', float('nan')):.1f} | "
        f"{row.get('extrapolated') or '-'} |"
    )


def _read_rows(path: str, drop: list[str]) -> list[dict]:
    """Rows of a ``--out`` file: its ``.json`` twin, or the first table of a ``.md`` file."""
    if path.endswith(".json"):
        rows = json.loads(Path(path).read_text())
    else:
        rows = []
        keys = [
            "case",
            "method",
            "mmd",
            "mean_err",
            "cf_rmse",
            "fit_s",
            "fit_cpu_s",
            "extrapolated",
        ]
        for line in Path(path).read_text().split("## Summary")[0].splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 6 or cells[0] in ("case", "---") or not line.startswith("|"):
                continue
            row = {
                k: (v if i < 2 or i > 6 else float(v)) for i, (k, v) in enumerate(zip(keys, cells))
            }
            rows.append({**row, "extrapolated": row.get("extrapolated", "").strip("-")})
    return [
        r for r in rows if not any(r["method"].split(" ")[0] in (d, f"idgen-{d}") for d in drop)
    ]


def _summary(rows: list[dict]) -> str:
    df = pd.DataFrame(rows)
    if df.empty:
        return ""
    if "fit_cpu_s" not in df:
        df["fit_cpu_s"] = float("nan")
    df["latent"] = df["case"].isin(["frontdoor", "napkin", "bow_mediator", "bow"])
    out = [
        "| method | cases | mean MMD² | mean err (sd) | mean CF RMSE (sd) | max fit s | "
        "max fit CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (latent, method), g in df.groupby(["latent", "method"], sort=True):
        if "refused" in method:
            continue
        label = f"{method}{' [latent graphs]' if latent else ''}"
        out.append(
            f"| {label} | {len(g)} | {g['mmd'].mean():.4f} | {g['mean_err'].mean():.3f} | "
            f"{g['cf_rmse'].mean():.3f} | {g['fit_s'].max():.1f} | "
            f"{g['fit_cpu_s'].max():.1f} |"
        )
    if "extrapolated" in df and df["extrapolated"].fillna("").astype(bool).any():
        flagged = df[df["extrapolated"].fillna("").astype(bool)].drop_duplicates("case")
        out += [
            "",
            "Queries outside the training data (the fitted model warns, PositivityWarning; every "
            "method's answer there is an extrapolation): "
            + "; ".join(f"{r.case} do({r.extrapolated})" for r in flagged.itertuples()),
        ]
    gcm = df[df["method"] == "dowhy-gcm"].set_index("case")
    if not gcm.empty:
        out += [
            "",
            "Paired with DoWhy gcm on the same no-latent cases (mean over the cases both ran):",
            "",
            "| method | cases | mean MMD² | gcm mean MMD² | mean err | gcm mean err | "
            "CF RMSE | gcm CF RMSE |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for method, g in df[~df["latent"]].groupby("method", sort=True):
            if method == "dowhy-gcm":
                continue
            g = g.set_index("case")
            common = g.index.intersection(gcm.index)
            if common.empty:
                continue
            a, b = g.loc[common], gcm.loc[common]
            out.append(
                f"| {method} | {len(common)} | {a['mmd'].mean():.4f} | {b['mmd'].mean():.4f} | "
                f"{a['mean_err'].mean():.3f} | {b['mean_err'].mean():.3f} | "
                f"{a['cf_rmse'].mean():.3f} | {b['cf_rmse'].mean():.3f} |"
            )
    return "\n".join(out)


def _write_comparison(args, before: list[dict], after: list[dict]) -> None:
    """Per case and seed: MMD², counterfactual RMSE and fit CPU time before and after."""
    key = lambda r: (r["case"], int(r.get("seed", 0)))  # noqa: E731
    old = {key(r): r for r in before}
    new = {key(r): r for r in after}
    lines = [
        "| case | seed | MMD² before | MMD² after | CF RMSE before (sd) | CF RMSE after (sd) | "
        "fit CPU s before | fit CPU s after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    nan = {"mmd": float("nan"), "cf_rmse": float("nan"), "fit_cpu_s": float("nan")}
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k, nan), new.get(k, nan)
        lines.append(
            f"| {k[0]} | {k[1]} | {a['mmd']:.4f} | {b['mmd']:.4f} | {a['cf_rmse']:.3f} | "
            f"{b['cf_rmse']:.3f} | {a['fit_cpu_s']:.1f} | {b['fit_cpu_s']:.1f} |"
        )
    head = [
        "# bench_generative: before/after across seeds",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_generative.py {' '.join(_argv())}`",
        *([""] + args.note if args.note else []),
        "",
    ]
    Path(args.out).write_text("\n".join([*head, *lines, ""]))


def _argv() -> list[str]:
    """The command line without the ``--note`` paragraphs (they are printed below it)."""
    out, skip = [], False
    for a in sys.argv[1:]:
        if a.startswith("--"):
            skip = a == "--note"
        if not skip:
            out.append(a)
    return out + (["--note ..."] if "--note" in sys.argv else [])


def _write(args, lines: list[str], rows: list[dict], gcm_python) -> None:
    head = [
        "# bench_generative",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_generative.py {' '.join(_argv())}`",
        f"(n_train={args.n_train}, n_samples={args.n_samples}, dowhy gcm: "
        f"{'yes' if gcm_python else 'not installed'}; torch threads 1 per process)",
        *([""] + args.note if args.note else []),
        "",
        _TABLE_HEAD,
    ]
    text = "\n".join([*head, *lines, "", "## Summary", "", _summary(rows), ""])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
