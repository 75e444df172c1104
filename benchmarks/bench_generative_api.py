"""Defaults of ``CausalGenerativeModel`` on two fresh mixed-type tabular SCMs (session 14's API
audit, ``bench_generative.md``, "API audit (session 14)"), through the public path only:
``CausalGenerativeModel(graph, random_state=s, verbose=False).fit(frame)``, ``sample(n, do=)``,
``counterfactual(units, do=)``. Written for the audit; not used to choose any default.

* ``A``: ``Z -> X -> M -> Y; Z -> Y; X -> Y``. ``Z`` three string levels (0.5 / 0.3 / 0.2),
  ``X = 0.8 [Z = b] - 0.6 [Z = c] + e``, ``M = exp(0.5 X + 0.3 e)`` (positive, multiplicative
  noise), ``Y = 1.5 sqrt(M) - 0.3 X^2 + 0.7 [Z = b] - 0.4 [Z = c] + (0.4 + 0.2 |X|) e``
  (heteroscedastic).
* ``B``: ``B -> X -> Y; B -> Y; B -> W -> Y``. ``B`` bool (P = 0.4), ``X = 1.2 B + e`` stored as
  float32, ``W ~ Poisson(20 + 15 B)`` (int64, more than 20 levels: a count modelled as
  continuous), ``Y = 2 tanh(X) + 0.8 B + 0.05 (W - 25) + (0.5 + 0.3 B) e``.

Interventional truth: 200,000 draws of the simulator under the same ``do``; model: 20,000
samples; error of ``E[Y]`` in the s.d. of ``Y`` under the intervention. Counterfactual truth: the
simulator re-run on 500 held-out units' own noise under the intervention; RMSE in the s.d. of
the factual column, against the model's ``sample`` of the same units' interventional values
with fresh noise (the unaffected nodes set to their factual values).

    PYTHONPATH=src python benchmarks/bench_generative_api.py --n 1500 --seeds 0 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import poisson

from deepcause.generative import CausalGenerativeModel

Noise = dict[str, np.ndarray]


def _set(do: dict[str, Any], node: str, natural: np.ndarray) -> np.ndarray:
    """``natural`` under ``do``: unchanged, shifted (a callable) or set to a value."""
    if node not in do:
        return natural
    value = do[node]
    if callable(value):
        return value(natural)
    return np.broadcast_to(np.asarray(value, dtype=natural.dtype), natural.shape).copy()


def scm_a(n: int, rng: Any, do: dict[str, Any], noise: Noise | None = None) -> tuple:
    """SCM A (see the module docstring); returns the frame and the noise used."""
    e = noise or {
        "z": rng.random(n), "x": rng.normal(size=n), "m": rng.normal(size=n),
        "y": rng.normal(size=n),
    }  # fmt: skip
    z = _set(do, "Z", np.where(e["z"] < 0.5, "a", np.where(e["z"] < 0.8, "b", "c")))
    zb, zc = (z == "b").astype(float), (z == "c").astype(float)
    x = _set(do, "X", 0.8 * zb - 0.6 * zc + e["x"])
    m = np.exp(0.5 * x + 0.3 * e["m"])
    y = 1.5 * np.sqrt(m) - 0.3 * x**2 + 0.7 * zb - 0.4 * zc + (0.4 + 0.2 * np.abs(x)) * e["y"]
    return pd.DataFrame({"Z": z.astype(str), "X": x, "M": m, "Y": y}), e


def scm_b(n: int, rng: Any, do: dict[str, Any], noise: Noise | None = None) -> tuple:
    """SCM B (see the module docstring); returns the frame and the noise used."""
    e = noise or {
        "b": rng.random(n), "x": rng.normal(size=n), "w": rng.random(n),
        "y": rng.normal(size=n),
    }  # fmt: skip
    b = _set(do, "B", e["b"] < 0.4)
    x = _set(do, "X", 1.2 * b + e["x"])
    w = _set(do, "W", poisson.ppf(e["w"], 20 + 15 * b).astype(np.int64))
    y = 2 * np.tanh(x) + 0.8 * b + 0.05 * (w - 25) + (0.5 + 0.3 * b) * e["y"]
    return pd.DataFrame({"B": b, "X": x.astype(np.float32), "W": w, "Y": y}), e


Sim = Callable[..., tuple]
SCMS: dict[str, tuple[Sim, str, list[dict], list[tuple[str, dict]]]] = {
    "A": (
        scm_a,
        "Z -> X -> M -> Y; Z -> Y; X -> Y",
        [{"X": -1.0}, {"X": 0.0}, {"X": 1.0}, {"Z": "c"}],
        [
            ("do(X = X + 1)", {"X": lambda v: v + 1}),
            ("do(X = 0)", {"X": 0.0}),
            ("do(Z = 'b')", {"Z": "b"}),
        ],
    ),  # fmt: skip
    "B": (
        scm_b,
        "B -> X -> Y; B -> Y; B -> W -> Y",
        [{"B": True}, {"B": False}, {"X": 1.0}, {"W": 30}],
        [
            ("do(X = X - 1)", {"X": lambda v: v - 1}),
            ("do(X = 0.5)", {"X": 0.5}),
            ("do(B = ~B)", {"B": lambda v: ~v}),
        ],
    ),  # fmt: skip
}


def _rmse(a: Any, b: Any, scale: float) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)) / scale)


def run(name: str, n: int, seed: int) -> None:
    sim, graph, queries, cfs = SCMS[name]
    train, _ = sim(n, np.random.default_rng(seed), {})
    t0 = time.process_time()
    m = CausalGenerativeModel(graph, random_state=seed, verbose=False).fit(train)
    choice = {k: v["mechanism"] for k, v in m.mechanism_choice_.items()}
    print(f"\n### SCM {name}, n = {n}, seed {seed}: fit {time.process_time() - t0:.0f} CPU s")
    print(
        f"chosen: {choice}\n\n| query | truth E[Y] | model E[Y] | error (s.d.) |\n|---|---|---|---|"
    )
    for q in queries:
        truth, _ = sim(200_000, np.random.default_rng(10_000 + seed), q)
        s = m.sample(20_000, do=q, random_state=seed + 1)
        err = (s["Y"].mean() - truth["Y"].mean()) / truth["Y"].std()
        label = ", ".join(f"{k}={v}" for k, v in q.items())
        print(f"| do({label}) | {truth['Y'].mean():+.3f} | {s['Y'].mean():+.3f} | {err:+.3f} |")
    held, noise = sim(500, np.random.default_rng(20_000 + seed), {})
    print("\n| counterfactual | Y RMSE (s.d.) | fresh noise | other affected nodes |")
    print("|---|---|---|---|")
    for label, do in cfs:
        truth, _ = sim(500, None, do, noise=dict(noise))
        cf = m.counterfactual(held, do=do, random_state=seed)
        affected = m.graph_.descendants(set(do))
        fixed = {c: held[c].to_numpy() for c in held if c not in affected}
        now = {k: v(held[k].to_numpy()) if callable(v) else v for k, v in do.items()}
        fresh = m.sample(500, do={**fixed, **now}, random_state=seed + 2)
        others = [
            f"{c} {_rmse(cf[c], truth[c], held[c].std()):.3f}"
            for c in held
            if c in affected and c not in do and c != "Y"
        ]
        sd = held["Y"].std()
        print(
            f"| {label} | {_rmse(cf['Y'], truth['Y'], sd):.3f} | "
            f"{_rmse(fresh['Y'], truth['Y'], sd):.3f} | {', '.join(others) or '-'} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scm", nargs="+", default=list(SCMS), choices=list(SCMS))
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args()
    for seed in args.seeds:
        for name in args.scm:
            run(name, args.n, seed)


if __name__ == "__main__":
    main()
