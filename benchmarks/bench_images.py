"""Image SCMs: sampling ``P(Y | do(X = x))`` by four routes, scored against the simulator.

For each image SCM of :mod:`deepcause.simulate.images` and each of its queries, side by side:

* ``joint`` — the district-joint neural causal model,
  ``CausalGenerativeModel(graph, latent_strategy="joint")``;
* ``idgen`` — ID-GEN, ``CausalGenerativeModel(graph, latent_strategy="idgen")`` (a query it
  refuses is reported with the reason);
* ``conditioning`` — the conditioning baseline ``P(Y | X = x)``: the outcomes of the ``--k``
  training units whose treatment is nearest to ``x`` (pixel distance for an image treatment,
  equality for a label), which ignores the hidden confounders;
* ``non-causal`` — a conditional generator of ``Y`` given ``X`` alone (the model
  ``X -> Y``, or ``X -> M -> Y`` for the front-door design, without the confounding);
* ``truth`` — ``--n-samples`` fresh draws of the intervened simulator (other seeds): the
  estimator's noise floor, what a perfect sampler scores against the ``--truth-n`` truth draws.

Scores, against ``--truth-n`` samples of the intervened simulator: the total-variation distance
between the outcome's attribute distributions (digit and colour read off generated images by
the attribute readers of :func:`deepcause.simulate._readers.train_attribute_readers`, or the
label itself), the squared MMD in the readers' feature space (:func:`deepcause.metrics.
feature_mmd`; on the label for tabular outcomes), fit time and the time of 1,000 samples.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_images.py [--scms napkin backdoor
frontdoor] [--n-train 3000] [--epochs 30] [--image-mechanism image_vae] [--n-samples 1000]
[--truth-n 2000] [--k 100] [--image-own-budget] [--image-beta 4] [--big-n-samples 4000
--big-truth-n 20000] [--out benchmarks/results/bench_images.md]``

``--big-n-samples N`` adds the column ``TV big``: ``N`` samples of each route (the truth route:
``N`` other simulator draws) scored against ``--big-truth-n`` truth draws, whose noise floor
is lower than that of the default 1,000 against 2,000, so the model's own error shows.

``--epochs`` caps every mechanism's epochs; with ``--image-own-budget`` it caps the tabular
ones only and the image mechanisms (given as instances) keep their own budget (``image_vae``:
up to 60 epochs, early stopping on the held-out ELBO), as in the slow napkin tests;
``--image-beta`` sets those instances' KL weight (the slow ID-GEN napkin test uses 4; see
``benchmarks/results/bench_images.md``, run 7); ``--image-kwargs '{"decoder_dropout": 0.5}'``
adds keywords of those instances (JSON). ``--save-fraction PATH`` pickles the fitted ID-GEN
sampler's fraction generator (the napkin's :class:`~deepcause.generative._idgen_reweight.
TwoStageFraction`) of the last SCM run, for ``benchmarks/study_napkin_stages.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from deepcause.examples.images import nearest_outcomes
from deepcause.exceptions import DeepCauseError
from deepcause.generative import CausalGenerativeModel
from deepcause.generative.mechanisms import make_mechanism
from deepcause.metrics import attribute_tv, feature_mmd, mmd_rbf
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import (
    make_colored_digits_napkin,
    make_confounded_digit_label,
    make_frontdoor_image_mediator,
)

ROUTES = ("joint", "idgen", "conditioning", "non-causal", "truth")


def _designs(n: int, seed: int) -> dict[str, dict[str, Any]]:
    """Per SCM: data set maker, non-causal graph, queries (name, treatment value)."""

    def napkin() -> Any:
        return make_colored_digits_napkin(n, truth_n=10, random_state=seed)

    def backdoor() -> Any:
        return make_confounded_digit_label(n, truth_n=10, random_state=seed)

    def frontdoor() -> Any:
        return make_frontdoor_image_mediator(n, truth_n=10, random_state=seed)

    return {
        "napkin": {"make": napkin, "noncausal": "X -> Y", "queries": "refs"},
        "backdoor": {"make": backdoor, "noncausal": "X -> Y", "queries": "refs"},
        "frontdoor": {"make": frontdoor, "noncausal": "X -> M; M -> Y", "queries": (0, 1)},
    }


def _queries(ds: Any, spec: Any) -> list[tuple[str, Any]]:
    if spec == "refs":
        return [(f"do(X=ref{i})", ref) for i, ref in enumerate(ds.extras["x_reference"])]
    return [(f"do(X={v})", v) for v in spec]


def _score(gen: np.ndarray, true: np.ndarray, reader: Any) -> tuple[float, float]:
    """(attribute TV, MMD) between generated and true outcomes (images or labels)."""
    if gen.ndim == 4:
        return attribute_tv(gen, true, reader), feature_mmd(gen, true, reader)
    g, t = gen.astype(np.int64), true.astype(np.int64)
    return attribute_tv(g, t), mmd_rbf(g[:, None].astype(float), t[:, None].astype(float))


def _nearest(ds: Any, value: Any, k: int) -> np.ndarray:
    """Outcomes of the ``k`` training units whose treatment is nearest to ``value``."""
    x = np.asarray(ds.data["X"])
    if x.ndim == 4:
        return nearest_outcomes(x, np.asarray(ds.data["Y"]), value, k)
    return np.asarray(ds.data["Y"])[x == value]


def _note(ds: Any, route: str, k: int) -> str:
    if route == "truth":
        return f"{k} simulator draws (noise floor)"
    if route != "conditioning":
        return ""
    return f"{k} nearest images" if np.asarray(ds.data["X"]).ndim == 4 else f"{k} units with X = x"


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _fit_routes(ds: Any, design: dict, args: argparse.Namespace, first: Any) -> dict[str, Any]:
    """Fitted models (or the refusal message) and fit times per route (ID-GEN trains its
    generators on the first query, ``do(X = first)``, which is timed as its fit)."""
    kw = {"max_epochs": args.epochs, "random_state": 0, "verbose": False}
    mech = args.image_mechanism
    out: dict[str, Any] = {}
    for route, graph, strategy, keep in (
        ("joint", ds.graph, "joint", None),
        ("idgen", ds.graph, "idgen", None),
        ("non-causal", design["noncausal"], "joint", design["noncausal"]),
    ):
        if route not in args.routes:
            continue
        nodes = [v for v in ds.data if keep is None or v in keep]
        data = {v: ds.data[v] for v in nodes}
        if args.image_own_budget:  # instances keep their own max_epochs and early stopping
            extra = {} if args.image_beta is None else {"beta": args.image_beta}
            extra.update(json.loads(args.image_kwargs))
            mech = {
                v: make_mechanism(args.image_mechanism, **extra) for v in nodes if data[v].ndim > 1
            }
        model = CausalGenerativeModel(graph, mechanisms=mech, latent_strategy=strategy, **kw)
        try:
            fitted, seconds = _timed(lambda m=model, d=data: m.fit(d))
            if strategy == "idgen":
                _, more = _timed(lambda m=fitted: m.sample(2, do={"X": first}, random_state=0))
                seconds += more
            out[route] = (fitted, seconds)
        except DeepCauseError as exc:
            out[route] = (f"refused: {type(exc).__name__}: {exc}", np.nan)
        print(f"  fitted {route}: {out[route][1]:.1f}s", file=sys.stderr, flush=True)
    return out


def _draw(route: str, ds: Any, fitted: dict, value: Any, qi: int, n: int, args: Any) -> tuple:
    """``(outcomes, seconds, fit seconds)`` of one route at ``do(X = value)``: ``n`` samples
    (the conditioning baseline's ``--k`` neighbours), or the refusal message as outcomes."""
    if route == "conditioning":
        gen, seconds = _timed(lambda: _nearest(ds, value, args.k))
        return gen, seconds, 0.0
    if route == "truth":  # the noise floor: a perfect sampler's score
        seed = (500 if n == args.n_samples else 700) + qi
        draw = ds.scm.sample(n, do={"X": value}, random_state=seed, as_arrays=True)
        return np.asarray(draw["Y"]), 0.0, 0.0
    model, fit = fitted[route]
    if isinstance(model, str):
        return model, np.nan, np.nan
    out, seconds = _timed(lambda: model.sample(n, do={"X": value}, random_state=qi))
    return np.asarray(out["Y"]), seconds, fit


def _save_fraction(fitted: dict, path: str) -> None:
    """Pickle the fitted ID-GEN route's only fraction generator to ``path``."""
    model = fitted["idgen"][0]
    if isinstance(model, str):
        raise SystemExit(f"--save-fraction: ID-GEN did not fit ({model})")
    (sampler,) = model.route_.samplers.values()
    (fraction,) = sampler.fractions_.values()
    with open(path, "wb") as fh:
        pickle.dump(fraction, fh)


def run_scm(name: str, design: dict, reader: Any, args: argparse.Namespace) -> list[dict]:
    """Rows (one per query and route) of TV, MMD, fit and sampling time; with
    ``--big-n-samples`` also the TV of that many samples against ``--big-truth-n`` truth draws
    (a lower noise floor, so the model's own error shows)."""
    ds = design["make"]()
    queries = _queries(ds, design["queries"])
    fitted = _fit_routes(ds, design, args, queries[0][1])
    rows = []
    for qi, (label, value) in enumerate(queries):
        true = ds.scm.sample(args.truth_n, do={"X": value}, random_state=100 + qi, as_arrays=True)
        big = None
        if args.big_n_samples:
            big = ds.scm.sample(args.big_truth_n, do={"X": value}, random_state=300 + qi,
                                as_arrays=True)["Y"]  # fmt: skip
        for route in args.routes:
            row = {"scm": name, "query": label, "model": route}
            gen, seconds, fit = _draw(route, ds, fitted, value, qi, args.n_samples, args)
            if isinstance(gen, str):
                rows.append({**row, "TV": np.nan, "MMD": np.nan, "fit s": np.nan,
                             "sample s": np.nan, "note": gen[:160]})  # fmt: skip
                continue
            tv, mmd = _score(gen, np.asarray(true["Y"]), reader)
            rows.append({**row, "TV": tv, "MMD": mmd, "fit s": fit, "sample s": seconds,
                         "note": _note(ds, route, len(gen))})  # fmt: skip
            if big is not None:
                more = _draw(route, ds, fitted, value, qi, args.big_n_samples, args)
                rows[-1]["TV big"] = _score(more[0], big, reader)[0]
                rows[-1]["big sample s"] = more[1]
            print(f"  {label} {route}: TV {tv:.3f} {rows[-1].get('TV big', '')}",
                  file=sys.stderr, flush=True)  # fmt: skip
    if args.save_fraction and "idgen" in fitted:
        _save_fraction(fitted, args.save_fraction)
    return rows


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    s = table.groupby(["scm", "model"], sort=False)[["TV", "MMD", "fit s", "sample s"]]
    agg = {"TV": ["mean", "max"], "MMD": "mean", "fit s": "max", "sample s": "max"}
    names = ["mean TV", "max TV", "mean MMD", "fit s", "sample s (1000)"]
    if "TV big" in table:
        s = table.groupby(["scm", "model"], sort=False)[[*agg, "TV big"]]
        agg["TV big"] = ["mean", "max"]
        names += ["mean TV big", "max TV big"]
    out = s.agg(agg)
    out.columns = names
    base = table[table.model == "conditioning"].groupby("scm")["TV"].mean()
    out["conditioning TV / TV"] = [
        base.get(scm, np.nan) / tv if tv > 0 else np.nan for (scm, _), tv in out["mean TV"].items()
    ]
    return out.reset_index()


def markdown(table: pd.DataFrame) -> str:
    """A markdown table (floats to 3 decimals, NaN as a dash)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "—" if np.isnan(v) else f"{v:.3f}"
        return str(v).replace("|", "/").replace("\n", " ")

    lines = ["| " + " | ".join(map(str, table.columns)) + " |"]
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scms", nargs="+", default=["napkin", "backdoor", "frontdoor"])
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--image-mechanism", default="image_vae")
    ap.add_argument("--n-samples", type=int, default=1000)
    ap.add_argument("--truth-n", type=int, default=2000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--big-n-samples", type=int, default=0)
    ap.add_argument("--big-truth-n", type=int, default=20000)
    ap.add_argument("--routes", nargs="+", default=list(ROUTES), choices=ROUTES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--image-own-budget", action="store_true")
    ap.add_argument("--image-beta", type=float, default=None)
    ap.add_argument("--image-kwargs", default="{}", help="JSON keywords of those instances")
    ap.add_argument("--out", default="benchmarks/results/bench_images.md")
    ap.add_argument("--save-fraction", default="", help="pickle ID-GEN's fraction generator")
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    designs = _designs(args.n_train, args.seed)
    rows: list[dict] = []
    for name in args.scms:
        print(f"{name}:", file=sys.stderr, flush=True)
        reader = train_attribute_readers(designs[name]["make"]().scm, n=3000)
        rows += run_scm(name, designs[name], reader, args)
    table = pd.DataFrame(rows)
    runtime = time.perf_counter() - start
    text = "\n".join(
        [
            "# Image SCMs: P(Y | do(X = x)) against the simulator's truth",
            "",
            f"Command: `nice -n {os.nice(0)} .venv/bin/python benchmarks/bench_images.py "
            f"{' '.join(sys.argv[1:])}` (niceness and load average at the end read by the "
            f"script: {os.getloadavg()[0]:.1f})",
            "",
            f"Total runtime {runtime / 60:.1f} min on 2 shared CPU cores (torch 1 thread); "
            f"n_train={args.n_train}, epochs={args.epochs}, image mechanism "
            f"{args.image_mechanism}, {args.n_samples} samples per query, truth from "
            f"{args.truth_n} simulator draws per query"
            + (
                f" (TV big: {args.big_n_samples} samples against {args.big_truth_n} other "
                "truth draws)"
                if args.big_n_samples
                else ""
            )
            + ". TV: attribute total variation "
            "(digit x colour of image outcomes read by the attribute readers; the label "
            "otherwise); MMD: squared MMD in reader features (on the label otherwise). "
            "Targets (issue 13, napkin): TV <= 0.10 and >= 3x below conditioning; fit < 10 "
            "min per SCM; 1,000 samples < 10 s.",
            "",
            "## Summary",
            "",
            markdown(_summary(table)),
            "",
            "## Per query",
            "",
            markdown(table),
            "",
        ]
    )
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
