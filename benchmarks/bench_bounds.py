"""Bounds: linear-program time and width against the natural bounds, on random discrete SCMs.

Prints markdown tables:

1. Time of ``deepcause.bounds(..., quantity="ate", n_boot=0)`` on a probability table (median
   over random models; the whole call: validation, LP generation from the graph and the two
   HiGHS solves) for the binary IV graph (target < 50 ms) and 4-node single-district graphs
   (target < 2 s), with the number of joint response types. Width of the LP bounds versus the
   natural (Manski) bounds, and whether the truth (computed by enumerating the explicit latent
   of the simulator) was inside every time.
3. PNS, PN, PS on the binary IV graph from observational data: the LP (which uses the
   instrument) against Tian & Pearl's closed form (which uses only P(X, Y)).
2. The conditional instrument ``W -> Z -> X -> Y, W -> Y, X <-> Y``: the joint LP over the
   strata of W versus the P(W)-average of per-stratum bounds.

4. Neural causal model bounds (``method="ncm"``, Xia et al. 2021) on the binary IV graph and
   the 4-node IV + confounded mediator graph: time of the whole call (two NCMs trained), the
   gap to the LP's sharp endpoints (positive: the NCM interval lies inside), the widths against
   the LP and natural bounds, the models' fit (L1 distance to the table) and whether the truth
   was inside (up to 0.01). ``--only ncm`` runs only these rows.

The simulator draws a latent ``U`` (``k`` values) confounding the district and random CPTs
``P(v | pa_v, U)``; ``P(V)`` and ``P(Y | do(X))`` are computed exactly by enumeration.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bounds.py [--models 20]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import deepcause

GRAPHS = {  # name: (parents in topological order, confounded nodes, treatment, outcome)
    "binary IV": ({"Z": "", "X": "Z", "Y": "X"}, "XY", "X", "Y"),
    "bow": ({"X": "", "Y": "X"}, "XY", "X", "Y"),
    "mediator <-> outcome": ({"X": "", "M": "X", "Y": "MX"}, "MY", "X", "Y"),
    "4-node: IV + confounded mediator": ({"Z": "", "X": "Z", "M": "X", "Y": "M"}, "XMY", "X", "Y"),
    "4-node clique chain": ({"A": "", "B": "A", "C": "B", "D": "C"}, "ABCD", "A", "D"),
    "4-node clique, C <- A": ({"A": "", "B": "A", "C": "AB", "D": "C"}, "ABCD", "A", "D"),
    "4-node clique, D <- A, B, C": ({"A": "", "B": "A", "C": "B", "D": "ABC"}, "ABCD", "B", "D"),
}
COND_IV = ({"W": "", "Z": "W", "X": "Z", "Y": "XW"}, "XY", "X", "Y")


def _model(parents: dict[str, str], confounded: str, rng: np.random.Generator, k: int = 3):
    """Random CPTs; returns ``prob(do)``: the exact joint array over the nodes under ``do``."""
    nodes = list(parents)
    p_u = rng.dirichlet(np.full(k, 0.5))
    cpts = {}
    for v in nodes:
        n_cond = 2 ** len(parents[v]) * (k if v in confounded else 1)
        cpts[v] = rng.dirichlet(np.full(2, 0.5), size=n_cond)

    def prob(do: dict[str, int] | None = None) -> np.ndarray:
        do = do or {}
        grid = np.indices((2,) * len(nodes) + (k,)).reshape(len(nodes) + 1, -1)
        p = p_u[grid[-1]]
        for i, v in enumerate(nodes):
            if v in do:
                p = p * (grid[i] == do[v])
                continue
            row = np.zeros(grid.shape[1], dtype=int)
            for q in parents[v]:
                row = 2 * row + grid[nodes.index(q)]
            if v in confounded:
                row = row * k + grid[-1]
            p = p * cpts[v][row, grid[i]]
        return p.reshape((2,) * len(nodes) + (k,)).sum(axis=-1)

    return nodes, prob


def _graph_text(parents: dict[str, str], confounded: str) -> str:
    edges = [f"{q} -> {v}" for v, ps in parents.items() for q in ps]
    edges += [f"{a} <-> {b}" for i, a in enumerate(confounded) for b in confounded[i + 1 :]]
    return "; ".join(edges)


def _table(nodes: list[str], p: np.ndarray) -> pd.DataFrame:
    grid = np.indices(p.shape).reshape(len(nodes), -1)
    return pd.DataFrame(dict(zip(nodes, grid, strict=True))).assign(probability=p.ravel())


def _ate(graph: str, table: pd.DataFrame, x: str, y: str, **kw) -> deepcause.Bounds:
    return deepcause.bounds(graph, table, treatment={x: 1}, control={x: 0}, outcome={y: 1},
                            quantity="ate", n_boot=0, **kw)  # fmt: skip


def _truth(nodes: list[str], prob, x: str, y: str) -> float:
    ax = nodes.index(y)
    return float(np.take(prob({x: 1}), 1, axis=ax).sum() - np.take(prob({x: 0}), 1, axis=ax).sum())


def bench_graph(name: str, n_models: int, rng: np.random.Generator) -> dict:
    parents, confounded, x, y = GRAPHS[name]
    graph = _graph_text(parents, confounded)
    times, lp_w, nat_w, inside = [], [], [], True
    for _ in range(n_models):
        nodes, prob = _model(parents, confounded, rng)
        table = _table(nodes, prob())
        t0 = time.perf_counter()
        lp = _ate(graph, table, x, y)
        times.append(time.perf_counter() - t0)
        nat = _ate(graph, table, x, y, method="natural")
        truth = _truth(nodes, prob, x, y)
        inside &= lp.lower - 1e-7 <= truth <= lp.upper + 1e-7
        lp_w.append(lp.width)
        nat_w.append(nat.width)
    n_types = lp.notes[0].split(" joint response types")[0].rsplit(" ", 1)[-1]
    return {"graph": name, "types": n_types, "median ms": 1000 * np.median(times),
            "max ms": 1000 * np.max(times), "LP width": np.mean(lp_w),
            "natural width": np.mean(nat_w), "truth inside": inside}  # fmt: skip


def bench_conditional_iv(n_models: int, rng: np.random.Generator) -> dict:
    parents, confounded, x, y = COND_IV
    graph = _graph_text(parents, confounded)
    joint_w, avg_w, gains = [], [], []
    for _ in range(n_models):
        nodes, prob = _model(parents, confounded, rng)
        table = _table(nodes, prob())
        lp = _ate(graph, table, x, y)
        per = np.zeros(2)
        for w in (0, 1):
            s = table[table["W"].eq(w)].drop(columns="W")
            pw = s["probability"].sum()
            b = _ate("Z -> X -> Y; X <-> Y", s.assign(probability=s["probability"] / pw), x, y)
            per += pw * np.array([b.lower, b.upper])
        joint_w.append(lp.width)
        avg_w.append(per[1] - per[0])
        gains.append(per[1] - per[0] - lp.width)
    return {"joint LP width": np.mean(joint_w), "per-stratum average width": np.mean(avg_w),
            "mean gain": np.mean(gains), "max gain": np.max(gains),
            "models with gain > 0.01": f"{int(np.sum(np.array(gains) > 0.01))}/{n_models}"}  # fmt: skip


def bench_causation(n_models: int, rng: np.random.Generator) -> list[dict]:
    """PNS/PN/PS on the binary IV graph: the LP (uses the instrument) vs Tian-Pearl."""
    parents, confounded, x, y = GRAPHS["binary IV"]
    graph = _graph_text(parents, confounded)
    rows = []
    for quantity in ("pns", "pn", "ps"):
        widths, times = {"lp": [], "tian-pearl": []}, []
        for _ in range(n_models):
            nodes, prob = _model(parents, confounded, rng)
            table = _table(nodes, prob())
            for method in widths:
                t0 = time.perf_counter()
                b = deepcause.bounds(graph, table, treatment={x: 1}, outcome={y: 1},
                                     quantity=quantity, method=method, n_boot=0)  # fmt: skip
                times.append(time.perf_counter() - t0) if method == "lp" else None
                widths[method].append(b.width)
        rows.append({"quantity": quantity.upper(), "LP median ms": 1000 * np.median(times),
                     "LP width": np.mean(widths["lp"]),
                     "Tian-Pearl width": np.mean(widths["tian-pearl"])})  # fmt: skip
    return rows


NCM_GRAPHS = ("binary IV", "4-node: IV + confounded mediator")


def bench_ncm(name: str, n_models: int, rng: np.random.Generator) -> dict:
    """NCM bounds against the LP: time, gaps to the sharp endpoints, widths, fit."""
    parents, confounded, x, y = GRAPHS[name]
    graph = _graph_text(parents, confounded)
    times, cpu, gaps, misfit, inside = [], [], [], [], True
    widths: dict[str, list[float]] = {"ncm": [], "lp": [], "nat": []}
    for seed in range(n_models):
        nodes, prob = _model(parents, confounded, rng)
        table = _table(nodes, prob())
        t0, c0 = time.perf_counter(), time.process_time()
        ncm = _ate(graph, table, x, y, method="ncm", random_state=seed)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        lp, nat = _ate(graph, table, x, y), _ate(graph, table, x, y, method="natural")
        truth = _truth(nodes, prob, x, y)
        inside &= ncm.lower - 0.01 <= truth <= ncm.upper + 0.01
        gaps += [ncm.lower - lp.lower, lp.upper - ncm.upper]
        for key, b in (("ncm", ncm), ("lp", lp), ("nat", nat)):
            widths[key].append(b.width)
        misfit.append(ncm.misfit)
    g = np.array(gaps)
    return {"graph": name, "models": n_models, "median s": np.median(times),
            "max s": np.max(times), "median CPU s": np.median(cpu), "mean gap": np.mean(g), "max abs gap": np.abs(g).max(),
            "gaps <= 0.05": f"{int(np.sum(np.abs(g) <= 0.05))}/{len(g)}",
            "NCM width": np.mean(widths["ncm"]), "LP width": np.mean(widths["lp"]),
            "natural width": np.mean(widths["nat"]), "max misfit (L1)": np.max(misfit),
            "truth inside": inside}  # fmt: skip


def _markdown(rows: list[dict]) -> str:
    cols = list(rows[0])
    fmt = {float: "{:.4g}", np.float64: "{:.4g}"}
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(fmt.get(type(r[c]), "{}").format(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20, help="random SCMs per graph")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["ncm"], help="run only the NCM rows")
    parser.add_argument("--ncm-models", type=int, default=10, help="random SCMs per NCM graph")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.only == "ncm":
        print(f"## Neural causal model bounds on the ATE vs the LP ({args.ncm_models} random "
              f"SCMs per graph)\n")  # fmt: skip
        print(_markdown([bench_ncm(name, args.ncm_models, rng) for name in NCM_GRAPHS]))
        return
    print(f"## LP bounds on the ATE: time and width ({args.models} random SCMs per graph)\n")
    print(_markdown([bench_graph(name, args.models, rng) for name in GRAPHS]))
    print(f"\n## Conditional instrument: joint LP vs averaged per-stratum bounds "
          f"({3 * args.models} SCMs)\n")  # fmt: skip
    print(_markdown([bench_conditional_iv(3 * args.models, rng)]))
    print(f"\n## Probabilities of causation on the binary IV graph ({args.models} SCMs)\n")
    print(_markdown(bench_causation(args.models, rng)))


if __name__ == "__main__":
    main()
