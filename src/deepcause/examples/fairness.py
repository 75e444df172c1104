"""DECAF-style fair synthetic data (van Breugel et al. 2021) with a causal generative model
(needs the ``deep`` extra: PyTorch).

Fit a :class:`~deepcause.generative.CausalGenerativeModel` on data with a sensitive attribute
``A``, then generate synthetic data with chosen edges removed *at generation time*
(``sample(n, remove_edges=...)``: a child sees an independent draw of the parent instead of the
unit's own value):

* faithful: no edge removed (the synthetic data copy the bias);
* FTU (fairness through unawareness): remove the direct edge ``A -> Y``;
* DP (demographic parity): remove every edge out of ``A`` on a path to ``Y``.

A logistic-regression classifier trained on each synthetic set is evaluated on real held-out
data: AUROC (utility), the FTU gap ``|mean p(x, A=1) - mean p(x, A=0)|`` and the DP gap
``|P(yhat=1 | A=1) - P(yhat=1 | A=0)|``; the DP gap of the synthetic labels themselves is shown
too.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from .._optional import require_torch
from ..simulate.scm import SCM, Node, gaussian

__all__ = ["TITLE", "FEATURES", "SETTINGS", "biased_population", "main"]

TITLE = "Fair synthetic data: DECAF-style edge removal"

FEATURES = ["A", "age", "edu", "income"]
SETTINGS = {
    "faithful": [],
    "FTU": [("A", "Y")],
    "DP": [("A", "edu"), ("A", "income"), ("A", "Y")],
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def biased_population() -> SCM:
    """A hiring-style SCM: the sensitive attribute A affects education, income and the label.

    >>> print(biased_population().graph)
    A -> edu; A -> income; A -> Y; age -> edu; age -> income; edu -> income; edu -> Y; income -> Y
    """
    return SCM(
        [
            Node(
                "A",
                fn=lambda pa, u: (u < 0.5).astype(float),
                noise=lambda r, n: r.random(n),
                discrete=True,
            ),
            Node("age", noise=gaussian(1.0)),
            Node(
                "edu",
                ("A", "age"),
                lambda pa, u: 0.8 * pa["A"] + 0.3 * pa["age"] + u,
                gaussian(0.8),
            ),
            Node(
                "income",
                ("A", "age", "edu"),
                lambda pa, u: 0.7 * pa["A"] + 0.5 * pa["edu"] + 0.4 * np.tanh(pa["age"]) + u,
                gaussian(0.6),
            ),
            Node(
                "Y",
                ("A", "edu", "income"),
                lambda pa, u: (
                    u < _sigmoid(1.2 * pa["A"] + pa["income"] + 0.5 * pa["edu"] - 1.0)
                ).astype(float),
                noise=lambda r, n: r.random(n),
                discrete=True,
            ),
        ]
    )


def _scores(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    clf = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["Y"].astype(int))
    p = clf.predict_proba(test[FEATURES])[:, 1]
    p1 = clf.predict_proba(test[FEATURES].assign(A=1))[:, 1]
    p0 = clf.predict_proba(test[FEATURES].assign(A=0))[:, 1]
    yhat = p > 0.5
    a = test["A"].to_numpy() == 1
    return {
        "AUROC": roc_auc_score(test["Y"], p),
        "FTU gap": float(abs(p1.mean() - p0.mean())),
        "DP gap": float(abs(yhat[a].mean() - yhat[~a].mean())),
        "label DP gap": float(
            abs(train["Y"][train["A"] == 1].mean() - train["Y"][train["A"] == 0].mean())
        ),
    }


def main(
    quick: bool = False,
    *,
    out: TextIO = sys.stdout,
    n: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Fit, generate the three synthetic sets, print and return the comparison table (one row
    per data set). ``quick``: 1,500 rows and 20 epochs unless ``n`` / ``epochs`` are given
    (else 5,000 rows and the mechanisms' default epochs).

    Examples
    --------
    Takes about 25 s on two cores (tests/test_examples.py runs it and checks the numbers):

    >>> import io
    >>> r = main(quick=True, out=io.StringIO())  # doctest: +SKIP
    >>> type(r).__name__  # doctest: +SKIP
    """
    torch = require_torch("the fair-synthetic-data example")
    from ..generative import CausalGenerativeModel  # imports torch

    n = n if n is not None else (1500 if quick else 5000)
    epochs = epochs if epochs is not None else (20 if quick else None)
    scm = biased_population()
    real = scm.sample(n, random_state=seed)
    test = scm.sample(max(n // 2, 500), random_state=seed + 1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks train fastest on one thread
    try:
        model = CausalGenerativeModel(
            scm.graph, max_epochs=epochs, random_state=seed, verbose=False
        )
        model.fit(real)
        rows: dict[str, Any] = {"real data": _scores(real, test)}
        for name, edges in SETTINGS.items():
            synthetic = model.sample(n, remove_edges=edges, random_state=seed + 2)
            rows[f"synthetic, {name}"] = _scores(synthetic, test)
    finally:
        torch.set_num_threads(threads)
    table = pd.DataFrame(rows).T
    print(f"graph: {scm.graph}", file=out)
    print("classifier trained on each data set, evaluated on real held-out data:", file=out)
    print(table.round(3).to_string(), file=out)
    return table
