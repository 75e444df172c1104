"""Benchmark: identify() on random ADMGs, side by side with y0 when it is installed.

Random ADMGs (``deepcause.testing.random_admg``, average degree 3, 20% bidirected edges) with
10 to 200 nodes; for each, single-treatment/single-outcome queries (X an ancestor of Y),
multi-variable queries (two treatments, two outcomes) and single queries that have no back-door
set (so the ID recursion itself runs, and hedges occur). Every query is answered by both
libraries; the table shows the median time per query, the verdicts, how often the two
libraries agree on identifiability, and the speed ratio. A last table evaluates both answers
for the napkin graph against the truth computed by intervention.

Run:  .venv/bin/python benchmarks/bench_identify.py          (deepcause only)
      .venv/bin/python benchmarks/bench_identify.py --confounders 1000,2000,10000
          (only the many-confounder rows: C_i -> X, C_i -> Y, X -> Y and variants)
      .bench-venv/bin/python benchmarks/bench_identify.py  (with y0; built by `make bench-env`)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from deepcause.exceptions import NotIdentifiableError
from deepcause.graph.criteria import find_adjustment_set
from deepcause.identification.algorithm import identify
from deepcause.testing import random_admg

try:  # y0 is optional
    from y0.algorithm.identify import identify_outcomes
    from y0.dsl import Variable
    from y0.graph import NxMixedGraph

    HAVE_Y0 = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_Y0 = False


KINDS = {  # label -> (number of treatments/outcomes, only queries without a back-door set)
    "1 X, 1 Y": (1, False),
    "2 X, 2 Y": (2, False),
    "1 X, 1 Y, no back-door set": (1, True),
}


def make_queries(g, n_queries: int, kind: str, rng: random.Random):
    k, hard = KINDS[kind]
    nodes = list(g.nodes)
    out = []
    tries = 0
    while len(out) < n_queries and tries < 200 * n_queries:
        tries += 1
        ys = rng.sample(nodes, k)
        anc = sorted(g.ancestors(ys) - set(ys))
        if len(anc) < k:
            continue
        xs = rng.sample(anc, k)
        if hard and find_adjustment_set(g, xs, ys) is not None:
            continue  # keep only queries that need the ID algorithm proper
        out.append((xs, ys))
    return out


def time_call(fn, repeats: int) -> tuple[float, object]:
    best = float("inf")
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def ours(g, xs, ys):
    try:
        return identify(g, xs, ys)
    except NotIdentifiableError:
        return None


def _y0_name(name: str) -> str:
    return f"v{name}"  # y0 rejects some names (e.g. "P")


def y0_graph(g):
    def pairs(edges):
        return [(_y0_name(u), _y0_name(v)) for u, v in edges]

    return NxMixedGraph.from_str_edges(
        nodes=[_y0_name(n) for n in g.nodes],
        directed=pairs(g.directed_edges),
        undirected=pairs(g.bidirected_edges),
    )


Y0_ERROR = object()


def theirs(yg, xs, ys):
    try:
        treatments = {Variable(_y0_name(x)) for x in xs}
        return identify_outcomes(yg, treatments, {Variable(_y0_name(y)) for y in ys})
    except Exception:  # y0 0.2.11 crashes when a node becomes isolated in G_bar(X)
        return Y0_ERROR


def run_size(
    n: int, graphs: int, queries: int, repeats: int, use_y0: bool, seed: int, frac_bi: float
):
    rng = random.Random(seed)
    rows = []
    for kind in KINDS:
        t_ours, t_y0, t_both = [], [], []
        ident = hedges = agree = total = errors = 0
        for gi in range(graphs):
            g = random_admg(n, avg_degree=3.0, frac_bidirected=frac_bi, random_state=seed + gi)
            yg = y0_graph(g) if use_y0 else None
            for xs, ys in make_queries(g, queries, kind, rng):
                dt, est = time_call(lambda g=g, xs=xs, ys=ys: ours(g, xs, ys), repeats)
                t_ours.append(dt)
                total += 1
                ident += est is not None
                hedges += est is None
                if use_y0:
                    dt2, expr = time_call(lambda yg=yg, xs=xs, ys=ys: theirs(yg, xs, ys), repeats)
                    if expr is Y0_ERROR:
                        errors += 1
                        continue
                    t_y0.append(dt2)
                    t_both.append(t_ours[-1])
                    agree += (expr is not None) == (est is not None)
        if not t_ours:
            continue
        med = statistics.median(t_ours) * 1e3
        row = {
            "nodes": n,
            "bidirected": frac_bi,
            "query": kind,
            "queries": total,
            "identified": ident,
            "hedge": hedges,
            "ours_ms": med,
        }
        if use_y0:
            med2 = statistics.median(t_y0) * 1e3 if t_y0 else float("nan")
            ratio = statistics.median(t_y0) / statistics.median(t_both) if t_y0 else float("nan")
            row.update(y0_ms=med2, ratio=ratio, agree=agree, errors=errors)
        rows.append(row)
    return rows


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def napkin_check(use_y0: bool) -> list[str]:
    from deepcause.examples.identification import napkin_scm
    from deepcause.identification.estimand import Estimand, P

    scm = napkin_scm()  # truth by intervening on the simulator; the estimand sees samples
    joint = scm.sample(400_000, random_state=0)
    truth = {1: float(scm.sample(400_000, do={"X": 1}, random_state=1)["Y"].mean())}
    est = identify("W -> R -> X -> Y; W <-> X; W <-> Y", "X", "Y")
    lines = [
        "| library | estimand for the napkin P(Y \\| do(X)) | P(Y=1 \\| do(X=1)) | truth |",
        "|---|---|---|---|",
        f"| deepcause | `{_cell(est.expression)}` | {est.probability(joint, {'X': 1}, {'Y': 1}):.6f} "
        f"| {truth[1]:.6f} |",
    ]
    if use_y0:
        g = NxMixedGraph.from_str_edges(
            directed=[("W", "R"), ("R", "X"), ("X", "Y")], undirected=[("W", "X"), ("W", "Y")]
        )
        expr = identify_outcomes(g, Variable("X"), Variable("Y"))
        text = str(expr)
        value = "n/a"
        if text.replace(" ", "") == "P(Y|X)":  # y0 0.2.11 returns P(Y | X) here
            wrong = Estimand(P("Y", "X"), ("X",), ("Y",))
            value = f"{wrong.probability(joint, {'X': 1}, {'Y': 1}):.6f}"
        lines.append(f"| y0 | `{_cell(text)}` | {value} | {truth[1]:.6f} |")
    return lines


CONFOUNDED = {  # name -> (extra directed edges, bidirected edges) beside C_i -> X, C_i -> Y
    "X -> Y": ([("X", "Y")], []),
    "mediator + 3 bidirected": (
        [("X", "M"), ("M", "Y"), ("X", "Y")],
        [("C0", "C1"), ("C2", "Y"), ("C3", "X")],
    ),
    "front door (X <-> Y)": ([("X", "M"), ("M", "Y")], [("X", "Y")]),
    "napkin (ID recursion)": ([("W", "R"), ("R", "X"), ("X", "Y")], [("W", "X"), ("W", "Y")]),
}


def confounder_rows(sizes: list[int]) -> list[str]:
    """Seconds (one run) of the adjustment-set functions and identify with k confounders."""
    from deepcause import CausalGraph
    from deepcause.graph.criteria import backdoor_sets, is_valid_adjustment_set

    calls = {
        "find_adjustment_set": lambda g, k: find_adjustment_set(g, "X", "Y"),
        "backdoor_sets": lambda g, k: backdoor_sets(g, "X", "Y"),
        "backdoor_sets(minimal=False)": lambda g, k: backdoor_sets(
            g, "X", "Y", minimal=False, max_sets=16
        ),
        "is_valid_adjustment_set": lambda g, k: is_valid_adjustment_set(
            g, "X", "Y", [f"C{i}" for i in range(k)]
        ),
        "identify": lambda g, k: ours(g, "X", "Y"),
    }
    lines = [
        "| confounders | graph | " + " | ".join(calls) + " | identify kind |",
        "|---|---|" + "---|" * (len(calls) + 1),
    ]
    for k in sizes:
        base = [(f"C{i}", "X") for i in range(k)] + [(f"C{i}", "Y") for i in range(k)]
        for name, (directed, bidirected) in CONFOUNDED.items():
            g = CausalGraph(directed=base + directed, bidirected=bidirected)
            cells, est = [], None
            for call in calls.values():
                dt, est = time_call(lambda call=call, g=g, k=k: call(g, k), 1)
                cells.append(f"{dt:.3f}")
            kind = est.kind if est is not None else "not identifiable"
            lines.append(f"| {k} | {name} | " + " | ".join(cells) + f" | {kind} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,20,50,100,200")
    parser.add_argument("--graphs", type=int, default=5, help="random graphs per size")
    parser.add_argument("--queries", type=int, default=20, help="queries per graph and kind")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best kept)")
    parser.add_argument(
        "--bidirected", default="0.2,0.5", help="fractions of bidirected edges (one table each)"
    )
    parser.add_argument("--no-y0", action="store_true")
    parser.add_argument(
        "--confounders", default="", help="only the many-confounder rows, e.g. 1000,2000,10000"
    )
    args = parser.parse_args(argv)
    if args.confounders:
        print("seconds per call (one run), k confounders C_i -> X, C_i -> Y\n")
        print("\n".join(confounder_rows([int(k) for k in args.confounders.split(",")])))
        return 0
    use_y0 = HAVE_Y0 and not args.no_y0
    rows = []
    for frac in (float(f) for f in args.bidirected.split(",")):
        for n in (int(s) for s in args.sizes.split(",")):
            rows += run_size(n, args.graphs, args.queries, args.repeats, use_y0, n, frac)
    head = "| nodes | bidirected | query | queries | identified | hedge | deepcause ms/query |"
    sep = "|---|---|---|---|---|---|---|"
    if use_y0:
        head += " y0 ms/query | y0 / deepcause | same verdict | y0 crashed |"
        sep += "---|---|---|---|"
    print(f"python {sys.version.split()[0]}; y0 {'installed' if use_y0 else 'not installed'}")
    print(
        f"median time per query (best of {args.repeats} repeats), random ADMGs with average "
        f"degree 3, {args.graphs} graphs per size, {args.queries} queries per graph and kind\n"
    )
    print(head)
    print(sep)
    for r in rows:
        line = (
            f"| {r['nodes']} | {r['bidirected']:.0%} | {r['query']} | {r['queries']} "
            f"| {r['identified']} | {r['hedge']} "
            f"| {r['ours_ms']:.3f} |"
        )
        if use_y0:
            answered = r["queries"] - r["errors"]
            line += (
                f" {r['y0_ms']:.3f} | {r['ratio']:.1f}x | {r['agree']}/{answered} | {r['errors']} |"
            )
        print(line)
    print()
    print("\n".join(napkin_check(use_y0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
