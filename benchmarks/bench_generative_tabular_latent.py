"""``sample(do=...)`` of both latent strategies on fresh tabular SCMs with hidden confounders.

Session 10's outside-evaluator pass (``bench_generative.md``, "Tabular API audit"): three SCMs
written for it, not used to choose any default, with latent confounders that the model sees
only as bidirected edges. Truth: 200,000 draws of the SCM under the same intervention (for a
conditional query ``P(Y | do(X = x), M = m)`` of the front door, ``do(X = x, M = m)``: once X is
set, M has no back-door path to Y).

* ``frontdoor``: U -> X (tanh), X -> M (sin + linear), M -> Y (quadratic), U -> Y; graph
  ``X -> M -> Y; X <-> Y``; do(X = -1, 0, 1) and the conditional query above at (0.5, 0.8).
* ``napkin``: U1 -> {W1, X}, U2 -> {W1, Y}, W1 -> W2 (tanh), W2 -> X, X -> Y (sin + linear);
  graph ``W1 -> W2 -> X -> Y; W1 <-> X; W1 <-> Y``; do(X = -1, 0, 1).
* ``iv``: U -> {X, Y}, Z -> X -> Y (tanh); graph ``Z -> X -> Y; X <-> Y``: do(X) is not
  identifiable and must be refused; do(Z = -1, +1) is.

Per query: the model's and the truth's mean, 10/50/90% quantiles and s.d. of Y (the error of
the mean in the truth's s.d.), the warnings raised, the sampling CPU time; the naive
observational ``E[Y | X near x]`` for comparison.

    PYTHONPATH=src python benchmarks/bench_generative_tabular_latent.py --seed 0 [--n 3000]
        [--strategies joint idgen] [--cases frontdoor napkin iv] [--max-epochs N]
"""

from __future__ import annotations

import argparse
import resource
import warnings
from typing import Any

import numpy as np

from deepcause.generative import CausalGenerativeModel
from deepcause.simulate import SCM, Node

Query = tuple[dict[str, float], dict[str, float] | None]


def frontdoor() -> tuple[SCM, str, list[Query]]:
    """Front door with nonlinear mechanisms (see the module docstring)."""
    scm = SCM([
        Node("U", latent=True),
        Node("X", ("U",), lambda p, u: np.tanh(1.5 * p["U"]) + 0.6 * u),
        Node("M", ("X",), lambda p, u: np.sin(1.5 * p["X"]) + 0.5 * p["X"] + 0.4 * u),
        Node("Y", ("M", "U"), lambda p, u: 0.8 * p["M"] ** 2 - p["M"] + 1.2 * p["U"] + 0.5 * u),
    ])  # fmt: skip
    queries: list[Query] = [({"X": x}, None) for x in (-1.0, 0.0, 1.0)]
    return scm, "X -> M -> Y; X <-> Y", [*queries, ({"X": 0.5}, {"M": 0.8})]


def napkin() -> tuple[SCM, str, list[Query]]:
    """Napkin with continuous W's (see the module docstring)."""
    scm = SCM([
        Node("U1", latent=True),
        Node("U2", latent=True),
        Node("W1", ("U1", "U2"), lambda p, u: p["U1"] + p["U2"] + 0.5 * u),
        Node("W2", ("W1",), lambda p, u: np.tanh(p["W1"]) + 0.5 * u),
        Node("X", ("W2", "U1"), lambda p, u: 0.8 * p["W2"] + 0.8 * p["U1"] + 0.5 * u),
        Node("Y", ("X", "U2"), lambda p, u: np.sin(p["X"]) + 0.5 * p["X"] + p["U2"] + 0.4 * u),
    ])  # fmt: skip
    return scm, "W1 -> W2 -> X -> Y; W1 <-> X; W1 <-> Y", [({"X": x}, None) for x in (-1, 0, 1)]


def iv() -> tuple[SCM, str, list[Query]]:
    """Instrument with a hidden confounder: do(X) is not identifiable, do(Z) is."""
    scm = SCM([
        Node("U", latent=True),
        Node("Z", (), lambda p, u: u),
        Node("X", ("Z", "U"), lambda p, u: 0.9 * p["Z"] + p["U"] + 0.5 * u),
        Node("Y", ("X", "U"), lambda p, u: np.tanh(p["X"]) + p["U"] + 0.5 * u),
    ])  # fmt: skip
    return (
        scm,
        "Z -> X -> Y; X <-> Y",
        [({"X": 1.0}, None), ({"Z": -1.0}, None), ({"Z": 1.0}, None)],
    )


CASES = {"frontdoor": frontdoor, "napkin": napkin, "iv": iv}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def score(model: Any, scm: SCM, do: dict, given: dict | None, n: int = 4000) -> dict[str, Any]:
    """The model's ``Y`` under the query against the SCM's truth (see the module docstring)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = model.sample(n, do=do, given=given, random_state=1)
    truth = scm.sample(200_000, do={**do, **(given or {})}, random_state=2)["Y"]
    q = [0.1, 0.5, 0.9]
    return {
        "mean": float(s["Y"].mean()),
        "truth": float(truth.mean()),
        "err_sd": abs(float(s["Y"].mean() - truth.mean())) / float(truth.std()),
        "q": np.quantile(s["Y"], q).round(2).tolist(),
        "q_truth": np.quantile(truth, q).round(2).tolist(),
        "sd": float(s["Y"].std()),
        "sd_truth": float(truth.std()),
        "warnings": sorted({type(w.message).__name__ for w in caught}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--max-epochs", type=int, default=None)
    ap.add_argument("--strategies", nargs="+", default=["joint", "idgen"])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = ap.parse_args()
    for case in args.cases:
        scm, graph, queries = CASES[case]()
        data = scm.sample(args.n, random_state=args.seed)
        for strategy in args.strategies:
            t0 = _cpu()
            model = CausalGenerativeModel(
                graph, latent_strategy=strategy, max_epochs=args.max_epochs,
                random_state=args.seed, verbose=False,
            ).fit(data)  # fmt: skip
            for do, given in queries:
                t1 = _cpu()
                head = f"{case:9s} {strategy:5s} do={do} given={given}:"
                try:
                    r = score(model, scm, do, given)
                except Exception as exc:  # noqa: BLE001 (a refusal is a result here)
                    print(f"{head} REFUSED {type(exc).__name__}: {str(exc).splitlines()[0]}")
                    continue
                print(
                    f"{head} E[Y] {r['mean']:+.3f} truth {r['truth']:+.3f} (error "
                    f"{r['err_sd']:.3f} sd); q10/50/90 {r['q']} truth {r['q_truth']}; sd "
                    f"{r['sd']:.3f} truth {r['sd_truth']:.3f}; warnings {r['warnings']}; cpu "
                    f"{_cpu() - t1:.0f}s",
                    flush=True,
                )
            print(f"{case:9s} {strategy:5s} fit + queries cpu {_cpu() - t0:.0f}s", flush=True)
        for do, given in queries:
            near = data
            for k, v in {**do, **(given or {})}.items():
                near = near[np.abs(near[k] - v) < 0.15]
            truth = scm.sample(200_000, do={**do, **(given or {})}, random_state=2)["Y"]
            print(
                f"{case:9s} naive do={do} given={given}: E[Y | near] {near['Y'].mean():+.3f} "
                f"(n = {len(near)}) truth {truth.mean():+.3f}"
            )


if __name__ == "__main__":
    main()
