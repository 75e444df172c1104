"""Causal generative models (needs the ``deep`` extra: PyTorch).

1. Kidney stones (bundled data, Charig et al. 1986): a model of stone size -> treatment ->
   success with categorical mechanisms samples P(success | do(treatment)); the reference is the
   identified back-door formula evaluated exactly on the same data.
2. A simulated nonlinear SCM with Gumbel noise: E[Y | do(X = 1)] and unit-level
   counterfactuals from the fitted model against the simulator's own intervention and
   counterfactuals.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .._optional import require_torch
from ..datasets import load_kidney_stones
from ..identification.algorithm import identify
from ..simulate.scm import SCM, Node, gaussian, gumbel

__all__ = ["TITLE", "continuous_scm", "main"]

TITLE = "Causal generative models: sampling under do()"


def continuous_scm() -> SCM:
    """Z -> X -> Y, Z -> Y with nonlinear mechanisms and Gumbel noise on Y.

    >>> print(continuous_scm().graph)
    Z -> X; Z -> Y; X -> Y
    """
    return SCM(
        [
            Node("Z", noise=gaussian(1.0)),
            Node("X", ("Z",), lambda pa, u: 1.5 * np.tanh(pa["Z"]) + u, gaussian(0.6)),
            Node("Y", ("X", "Z"), lambda pa, u: pa["X"] + 2 * np.sin(pa["Z"]) + u, gumbel(0.4)),
        ]
    )


def _kidney(model_class: Any, epochs: int, n_samples: int, out: TextIO) -> dict[str, Any]:
    ds = load_kidney_stones()
    df = ds.data
    estimand = identify(ds.graph, ds.treatment, ds.outcome)
    model = model_class(ds.graph, max_epochs=epochs, random_state=0, verbose=False).fit(df)
    print(f"graph: {ds.graph}   ({len(df)} patients, all nodes discrete)", file=out)
    print(
        f"{'treatment':>10} {'naive P(success|t)':>20} {'sampled P(success|do(t))':>26} {'formula':>8}",
        file=out,
    )
    res = {}
    for t in ("A", "B"):
        naive = float(df.loc[df[ds.treatment] == t, ds.outcome].mean())
        sampled = float(
            model.sample(n_samples, do={ds.treatment: t}, random_state=1)[ds.outcome].mean()
        )
        exact = estimand.probability(df, {ds.treatment: t}, {ds.outcome: 1})
        res[t] = {"naive": naive, "sampled": sampled, "formula": exact}
        print(f"{t:>10} {naive:>20.4f} {sampled:>26.4f} {exact:>8.4f}", file=out)
    print(
        "The naive comparison favours B; sampling under do() recovers that A is better.", file=out
    )
    return res


def _continuous(model_class: Any, epochs: int, n: int, out: TextIO) -> dict[str, Any]:
    scm = continuous_scm()
    df = scm.sample(n, random_state=0)
    model = model_class(scm.graph, max_epochs=epochs, random_state=0, verbose=False).fit(df)
    truth = float(scm.sample(20_000, do={"X": 1.0}, random_state=1)["Y"].mean())
    sampled = float(model.sample(20_000, do={"X": 1.0}, random_state=2)["Y"].mean())
    naive = float(df.loc[(df["X"] - 1.0).abs() < 0.1, "Y"].mean())
    print(f"\nSCM {scm.graph} (Gumbel noise on Y), {n} training rows", file=out)
    print(
        f"E[Y | do(X=1)]: model {sampled:.3f}   truth {truth:.3f}   conditioning E[Y | X~1] {naive:.3f}",
        file=out,
    )
    factual, cf_true = scm.counterfactual(5, do={"X": lambda x: x + 1}, random_state=3)
    cf = model.counterfactual(factual, do={"X": lambda x: x + 1})
    table = pd.DataFrame(
        {"X": factual["X"], "Y": factual["Y"], "Y if X+1 (model)": cf["Y"], "(truth)": cf_true["Y"]}
    )
    print("unit-level counterfactuals, do(X := X + 1):", file=out)
    print(table.round(3).to_string(index=False), file=out)
    return {
        "mean_do_x1": sampled,
        "truth_do_x1": truth,
        "conditional": naive,
        "counterfactual": cf["Y"].to_numpy(),
        "counterfactual_truth": cf_true["Y"].to_numpy(),
    }


def main(quick: bool = False, *, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Fit the two models; return the sampled and reference numbers
    (``quick``: 30 instead of 60 epochs, 1,000 instead of 2,000 training rows).

    Examples
    --------
    Takes about 25 s on two cores (tests/test_examples.py runs it and checks the numbers):

    >>> import io
    >>> r = main(quick=True, out=io.StringIO())  # doctest: +SKIP
    >>> sorted(r)  # doctest: +SKIP
    """
    torch = require_torch("the generative-model example")
    from ..generative import CausalGenerativeModel  # imports torch

    epochs = 30 if quick else 60
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks train fastest on one thread
    try:
        return {
            "kidney": _kidney(CausalGenerativeModel, epochs, 20_000, out),
            "continuous": _continuous(CausalGenerativeModel, epochs, 1000 if quick else 2000, out),
        }
    finally:
        torch.set_num_threads(threads)
