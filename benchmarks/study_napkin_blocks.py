"""Clique blocks or one block: the district-joint model on a tabular latent case of the suite.

Fits ``CausalGenerativeModel(graph)`` (the district-joint route) on ``N`` rows of a latent case
of :mod:`deepcause.simulate.suite` (data seed 0) with the given
:class:`~deepcause.generative.districts.JointDistrictStrategy` keywords and prints the effect
``E[Y | do(X = 1)] - E[Y | do(X = -1)]`` against the simulator's truth (200,000 draws), the
largest correlation error of 20,000 observational samples and, on the napkin, the conditional
instrument moment that identifies the effect (``W2 -> X -> Y`` given ``W1``: the partial
covariances ``cov(X, W2 | W1)``, ``cov(Y, W2 | W1)`` and their ratio, in the data and in the
model's samples) and the importance-weighted bound (256 samples) per row on 4,000 held-out rows.

Usage: ``python benchmarks/study_napkin_blocks.py CASE N EPOCHS SEED [key=json ...]``, e.g.
``napkin 2000 40 0 latent_blocks='"district"' learning_rate=0.003`` (results:
``benchmarks/results/bench_generative_blocks.md``).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy
from deepcause.simulate.suite import get_case


def _iv(d) -> tuple[float, float, float]:  # noqa: ANN001
    """Slope, cov(X, W2 | W1), cov(Y, W2 | W1) after linear regressions on W1."""
    g = np.c_[np.ones(len(d)), d["W1"].to_numpy()]
    r = {c: d[c].to_numpy() - g @ np.linalg.lstsq(g, d[c].to_numpy(), rcond=None)[0]
         for c in ("W2", "X", "Y")}  # fmt: skip
    cx, cy = np.cov(r["X"], r["W2"])[0, 1], np.cov(r["Y"], r["W2"])[0, 1]
    return round(float(cy / cx), 3), round(float(cx), 3), round(float(cy), 3)


def main(argv: list[str]) -> None:
    name, (n, epochs, seed) = argv[0], (int(a) for a in argv[1:4])
    kw = {k: json.loads(v) for k, v in (a.split("=", 1) for a in argv[4:])}

    class Strategy(JointDistrictStrategy):
        def __init__(self, model, district, **more):  # noqa: ANN001
            super().__init__(model, district, **{**kw, **more})

    torch.set_num_threads(1)
    case = get_case(name)
    t, y = case.treatment, case.outcome
    df = case.sample(n, random_state=0)
    t0 = time.time()
    m = CausalGenerativeModel(case.graph, max_epochs=epochs, random_state=seed,
                              latent_strategy=Strategy, verbose=False).fit(df)  # fmt: skip
    fit_s = time.time() - t0
    truth = float(case.truth(200_000, 1.0, random_state=1)[y].mean()
                  - case.truth(200_000, -1.0, random_state=1)[y].mean())  # fmt: skip
    est = float(m.sample(20_000, do={t: 1.0}, random_state=2)[y].mean()
                - m.sample(20_000, do={t: -1.0}, random_state=2)[y].mean())  # fmt: skip
    obs = m.sample(20_000, random_state=3)
    corr = float((obs.corr() - df.corr()).abs().to_numpy().max())
    line = (f"{name} n {n} epochs {epochs} seed {seed} {kw}: effect {est:.3f} truth {truth:.3f} "
            f"(error {abs(est - truth) / df[y].std():.3f} sd), corr error {corr:.3f}, "
            f"fit {fit_s:.0f} s")  # fmt: skip
    if name == "napkin":
        d = m.districts_[0]
        d.n_importance = 256
        vals = m.encode(case.sample(4000, random_state=99))
        with torch.no_grad():
            mechs = {v: m.mechanisms_[v] for v in d.district}
            bound = float(d._iwae(m, mechs, vals, torch.Generator().manual_seed(0)))
        line += f"; IV data {_iv(df)} model {_iv(obs)}; held-out bound {bound:.4f}"
    print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
