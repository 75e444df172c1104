"""Benchmark: adjustment-set search (deepcause.graph.criteria), side by side with DoWhy.

Graphs: X and Y with 25 common-cause covariates plus random edges among them (10% of
covariate pairs), and random ADMGs with 50/100/200 nodes (``random_admg``, average degree 3,
20% bidirected edges; X the node at a third of the topological order with most descendants,
Y the descendant of X with the largest minimal adjustment set). Times are the best of several
repeats (DoWhy: one run), in milliseconds. DoWhy's
``CausalModel.identify_effect`` runs on the 25-covariate graph when dowhy is importable.

Run:  .venv/bin/python benchmarks/bench_criteria.py          (deepcause only)
      .bench-venv/bin/python benchmarks/bench_criteria.py  (with DoWhy)
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from deepcause import (
    CausalGraph,
    backdoor_sets,
    find_adjustment_set,
    frontdoor_sets,
    instruments,
    is_valid_adjustment_set,
)
from deepcause.testing import random_admg


def best_ms(fn, repeats: int = 20) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3, out


def covariate_graph(n_cov: int = 25, p_edge: float = 0.1, seed: int = 0) -> CausalGraph:
    rng = np.random.default_rng(seed)
    cov = [f"W{i}" for i in range(n_cov)]
    directed = [(c, "X") for c in cov] + [(c, "Y") for c in cov] + [("X", "Y")]
    directed += [
        (cov[i], cov[j]) for i in range(n_cov) for j in range(i + 1, n_cov) if rng.random() < p_edge
    ]
    return CausalGraph(directed=directed)


def pick_query(g: CausalGraph) -> tuple[str, str]:
    """The (X, Y) pair, X in the middle third of the order, with the largest minimal set."""
    topo = g.topological_order()
    best, best_size = (topo[0], topo[-1]), -1
    for x in topo[len(topo) // 3 : 2 * len(topo) // 3]:
        for y in g.descendants(x) - {x}:
            z = find_adjustment_set(g, x, y)
            if z is not None and len(z) > best_size:
                best, best_size = (x, y), len(z)
    return best


def bench_graph(name: str, g: CausalGraph, x: str, y: str) -> list[str]:
    rows = []
    t, sets = best_ms(lambda: backdoor_sets(g, x, y))
    rows.append(f"| {name} | `backdoor_sets` (minimal) | {t:.3f} | {len(sets)} sets |")
    t, sets = best_ms(lambda: backdoor_sets(g, x, y, minimal=False, max_sets=100), 3)
    rows.append(
        f"| {name} | `backdoor_sets(minimal=False, max_sets=100)` | {t:.3f} | {len(sets)} sets |"
    )
    for kind in ("minimal", "optimal", "parents"):
        t, z = best_ms(lambda k=kind: find_adjustment_set(g, x, y, kind=k))
        size = "none" if z is None else f"{len(z)} nodes"
        rows.append(f"| {name} | `find_adjustment_set(kind={kind!r})` | {t:.3f} | {size} |")
    t, ivs = best_ms(lambda: instruments(g, x, y), 3)
    rows.append(f"| {name} | `instruments` | {t:.3f} | {len(ivs)} instruments |")
    t, fds = best_ms(lambda: frontdoor_sets(g, x, y), 3)
    rows.append(f"| {name} | `frontdoor_sets` | {t:.3f} | {len(fds)} sets |")
    z = find_adjustment_set(g, x, y, kind="optimal")
    if z is not None:
        t, ok = best_ms(lambda: is_valid_adjustment_set(g, x, y, z))
        rows.append(f"| {name} | `is_valid_adjustment_set` | {t:.3f} | {ok} |")
    return rows


def bench_dowhy(g: CausalGraph) -> list[str]:
    try:
        from dowhy import CausalModel
    except ImportError:
        return ["| 25 covariates | DoWhy `identify_effect` | – | dowhy not installed |"]
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    rng = np.random.default_rng(0)
    df = {n: rng.normal(size=200) for n in g.nodes}
    df["X"] = (df["X"] > 0).astype(int)
    import pandas as pd

    data = pd.DataFrame(df)
    nxg = g.to_networkx()
    for _, _, d in nxg.edges(data=True):
        d.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=data, treatment="X", outcome="Y", graph=nxg)
        t, est = best_ms(lambda: model.identify_effect(proceed_when_unidentifiable=True), 1)
    backdoor = est.get_backdoor_variables() if hasattr(est, "get_backdoor_variables") else None
    size = f"{len(backdoor)} nodes" if backdoor is not None else "?"
    return [f"| 25 covariates | DoWhy `CausalModel.identify_effect` | {t:.3f} | {size} |"]


def main() -> None:
    rows = ["| graph | call | best time (ms) | result |", "|---|---|---:|---|"]
    g = covariate_graph()
    rows += bench_graph("25 covariates", g, "X", "Y")
    rows += bench_dowhy(g)
    for n in (50, 100, 200):
        h = random_admg(n, avg_degree=3, frac_bidirected=0.2, random_state=n)
        x, y = pick_query(h)
        rows += bench_graph(f"random {n} nodes ({x} -> {y})", h, x, y)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
