"""Diagnostics behind bench_generative_seeds.md (sessions 5-6): one node's edge error, model seeds.

``edge``: one node's location-scale mechanism refitted alone on the suite protocol's data
(5,000 rows, data seed s), with its location network as on main (``base``), plus a
zero-initialised linear skip connection (``skip``) or additive in the parents (``gam``: one
small MLP per input column plus a linear term), or trained with weight averaging (``ema``).
``--model-seeds`` refits with other training seeds (default: the data seed). Prints the
held-out log-likelihood per row and the node's *local* counterfactual RMSE / bias in its s.d.
at several do values: abduction on the factual row, decoding with the true counterfactual
parents.

``seeds``: bench-protocol interventional MMD² of the outcome (2,000 samples, truth seeds
100s+10+i, model seeds 100s+i) for every (data seed, model seed) pair, plus MMD² of 5,000 model
samples against 5,000 independent truth draws and the error of E[outcome | do] between those
samples (outcome s.d.). ``--average 0|1`` overrides auto's weight averaging
(``selection.AVERAGE_WEIGHTS``).

    PYTHONPATH=src python benchmarks/bench_generative_diag.py edge ladder_nonlinear Y1 0 1 2 3
    PYTHONPATH=src python benchmarks/bench_generative_diag.py seeds vector_mediator 0 1 2 3 \
        --model-seeds 0 1 2 3 --mechanisms auto [--average 0]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import torch

from deepcause._torch import mlp, nn, seed_from
from deepcause.generative import CausalGenerativeModel, selection
from deepcause.generative._training import validation_split
from deepcause.generative.mechanisms import FlowMechanism
from deepcause.generative.mechanisms import flow as flow_module
from deepcause.generative.mechanisms.additive import ContextNet
from deepcause.metrics import mmd_rbf
from deepcause.simulate.suite import get_case

N_TRAIN, N_CF = 5000, 1000


class _Skip(ContextNet):
    """The main location network plus a zero-initialised linear map of the parents."""

    def __init__(self, c: int, d: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__(c, d, hidden_sizes)
        self.lin = nn.Linear(c, d, bias=False)
        nn.init.zeros_(self.lin.weight)

    def forward(self, ctx: torch.Tensor) -> torch.Tensor:
        return super().forward(ctx) + self.lin(ctx)


class _Additive(nn.Module):
    """Additive in the input columns: one 32x32 SiLU MLP per column plus a linear term."""

    def __init__(self, c: int, d: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.nets = nn.ModuleList([mlp(1, (32, 32), d, activation="silu") for _ in range(c)])
        self.lin = nn.Linear(c, d)

    def forward(self, ctx: torch.Tensor) -> torch.Tensor:
        return self.lin(ctx) + sum(n(ctx[:, i : i + 1]) for i, n in enumerate(self.nets))


_NETS = {"base": ContextNet, "skip": _Skip, "gam": _Additive}


class _Variant(FlowMechanism):
    """The location-scale mechanism with another location-scale network (built in its place,
    so the other layers draw the same initial weights)."""

    def __init__(self, variant: str, **kw) -> None:  # noqa: ANN003
        self.variant = "base" if variant == "ema" else variant
        super().__init__(conditional=False, **kw)
        self.average_weights = variant == "ema"  # weight averaging (_training._WeightAverage)

    def _build(self) -> None:
        flow_module.ContextNet = _NETS[self.variant]
        try:
            super()._build()
        finally:
            flow_module.ContextNet = ContextNet


def edge(
    case_name: str, node: str, seeds: list[int], variants: list[str], model_seeds: list[int]
) -> None:
    case = get_case(case_name)
    for seed in seeds:
        df = case.sample(N_TRAIN, random_state=seed)
        enc_model = CausalGenerativeModel(
            case.graph, mechanisms="additive", max_epochs=1, random_state=seed
        ).fit(df)  # only its encoding (standardisation) is used
        enc = enc_model.encode(df)
        x, ctx = enc[node], enc_model.context(node, enc)
        noise = case.scm.sample_noise(N_CF, random_state=100 * seed + 5)
        fe = enc_model.encode(case.scm.to_frame(case.scm.propagate(noise)))
        for model_seed, variant in ((m, v) for m in model_seeds or [seed] for v in variants):
            _, val = validation_split(N_TRAIN, seed_from(model_seed))  # as the fit splits
            c0 = time.process_time()
            mech = _Variant(variant).fit(x, ctx, random_state=model_seed, verbose=False)
            fit_cpu = time.process_time() - c0
            out = []
            with torch.no_grad():
                ll = float(mech.log_prob(x[val], ctx[val]).mean())
                u = mech.abduct(fe[node], enc_model.context(node, fe), None)
                for v in (-1.0, -0.8, -0.5, 1.0):
                    truth = case.scm.propagate(noise, {case.treatment: v})
                    te = enc_model.encode(case.scm.to_frame(truth))
                    e = (mech.decode(u, enc_model.context(node, te, n=N_CF)) - te[node]).numpy()
                    out.append(f"do{v:+.1f}: {np.sqrt((e**2).mean()):.3f}/{e.mean():+.3f}")
            print(
                f"s{seed} rs{model_seed} {node} {variant:5s} held-out ll {ll:.4f}  "
                + "  ".join(out)
                + f"  fit CPU {fit_cpu:.1f} s",
                flush=True,
            )


def seeds(case_name: str, data_seeds: list[int], model_seeds: list[int], mechanisms) -> None:  # noqa: ANN001
    case = get_case(case_name)
    t, ycols = case.treatment, case.outcome_columns()
    for seed in data_seeds:
        df = case.sample(N_TRAIN, random_state=seed)
        sd = float(np.linalg.norm(df[ycols].std().to_numpy()))
        for rs in model_seeds:
            model = CausalGenerativeModel(
                case.graph,
                mechanisms=mechanisms,
                node_columns=case.node_columns,
                random_state=rs,
            ).fit(df)
            bench, big, err = [], [], []
            for i, v in enumerate(case.do_values):
                ts = case.truth(2000, v, random_state=100 * seed + 10 + i)[ycols].to_numpy()
                s = model.sample(2000, do={t: v}, random_state=100 * seed + i)[ycols].to_numpy()
                bench.append(float(mmd_rbf(s, ts)))
                bt = case.truth(5000, v, random_state=777 + i)[ycols].to_numpy()
                bs = model.sample(5000, do={t: v}, random_state=555 + i)[ycols].to_numpy()
                big.append(float(mmd_rbf(bs, bt)))
                err.append(round(float(np.linalg.norm(bs.mean(0) - bt.mean(0)) / sd), 3))
            choice = {k: r["mechanism"] for k, r in (model.mechanism_choice_ or {}).items()}
            print(
                f"data s{seed} model rs{rs}: bench MMD2 {np.mean(bench):.4f}  "
                f"MMD2(5000, indep) {np.mean(big):.5f}  |mean err|/sd {err} {choice}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("edge")
    e.add_argument("case")
    e.add_argument("node")
    e.add_argument("seeds", nargs="+", type=int)
    e.add_argument("--variants", nargs="+", default=["base", "skip", "gam"], help="or ema")
    e.add_argument("--model-seeds", nargs="+", type=int, help="default: the data seed")
    s = sub.add_parser("seeds")
    s.add_argument("case")
    s.add_argument("seeds", nargs="+", type=int)
    s.add_argument("--model-seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    s.add_argument("--mechanisms", default="auto", help="a name or a JSON node -> name mapping")
    s.add_argument("--average", type=int, choices=(0, 1), help="auto: weight averaging or not")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("DEEPCAUSE_PROGRESS", "0")
    warnings.simplefilter("ignore")
    if args.cmd == "edge":
        edge(args.case, args.node, args.seeds, args.variants, args.model_seeds)
    else:
        if args.average is not None:
            selection.AVERAGE_WEIGHTS = bool(args.average)
        mech = json.loads(args.mechanisms) if args.mechanisms.startswith("{") else args.mechanisms
        seeds(args.case, args.seeds, args.model_seeds, mech)


if __name__ == "__main__":
    main()
