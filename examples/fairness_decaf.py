"""DECAF-style fair synthetic data (van Breugel et al. 2021) with a causal generative model.

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
too. Run ``python examples/fairness_decaf.py`` (about a minute) or call ``main(n=..., epochs=...)``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from deepcause.generative import CausalGenerativeModel
from deepcause.simulate.scm import SCM, Node, gaussian

FEATURES = ["A", "age", "edu", "income"]
SETTINGS = {
    "faithful": [],
    "FTU": [("A", "Y")],
    "DP": [("A", "edu"), ("A", "income"), ("A", "Y")],
}


def biased_population() -> SCM:
    """A hiring-style SCM: the sensitive attribute A affects education, income and the label."""

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

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
                    u < sigmoid(1.2 * pa["A"] + pa["income"] + 0.5 * pa["edu"] - 1.0)
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
    n: int = 5000, epochs: int | None = None, seed: int = 0, out: TextIO = sys.stdout
) -> pd.DataFrame:
    """Fit, generate the three synthetic sets, and print (and return) the comparison table."""
    scm = biased_population()
    real = scm.sample(n, random_state=seed)
    test = scm.sample(max(n // 2, 500), random_state=seed + 1)
    model = CausalGenerativeModel(scm.graph, max_epochs=epochs, random_state=seed, verbose=False)
    model.fit(real)
    rows = {"real data": _scores(real, test)}
    for name, edges in SETTINGS.items():
        synthetic = model.sample(n, remove_edges=edges, random_state=seed + 2)
        rows[f"synthetic, {name}"] = _scores(synthetic, test)
    table = pd.DataFrame(rows).T
    print(f"graph: {scm.graph}", file=out)
    print("classifier trained on each data set, evaluated on real held-out data:", file=out)
    print(table.round(3).to_string(), file=out)
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(n=args.n, epochs=args.epochs, seed=args.seed)
