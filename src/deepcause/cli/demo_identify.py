"""Demo section: identification worked examples, each estimand printed and evaluated."""

from __future__ import annotations

import itertools
from importlib import resources
from typing import TextIO

import numpy as np
import pandas as pd

from ..exceptions import NotIdentifiableError
from ..identification.algorithm import identify


def _kidney(out: TextIO) -> None:
    path = (
        resources.files("deepcause.datasets")
        / "data"
        / "kidney_stones"
        / "kidney_stones_patients.csv"
    )
    with resources.as_file(path) as p:
        df = pd.read_csv(p)
    est = identify(
        "stone_size -> treatment -> success; stone_size -> success", "treatment", "success"
    )
    naive = df.groupby("treatment")["success"].mean()
    print("1. Kidney stones (700 patients; stone size confounds treatment and success)", file=out)
    print(f"   {est}", file=out)
    for t in ("A", "B"):
        p_do = est.probability(df, {"treatment": t}, {"success": 1})
        print(
            f"   P(success | do(treatment={t})) = {p_do:.5f}   (naive P(success | {t}) = "
            f"{naive[t]:.3f})",
            file=out,
        )
    print("   Simpson's paradox: A is better once stone size is adjusted for.\n", file=out)


def _frontdoor(out: TextIO) -> None:
    rows = []
    for (s, t), pst, pc in zip(
        [(0, 0), (1, 0), (0, 1), (1, 1)], [0.475, 0.025, 0.025, 0.475], [0.10, 0.90, 0.05, 0.85]
    ):
        rows += [
            {"smoking": s, "tar": t, "cancer": 1, "probability": pst * pc},
            {"smoking": s, "tar": t, "cancer": 0, "probability": pst * (1 - pc)},
        ]
    table = pd.DataFrame(rows)
    est = identify("smoking -> tar -> cancer; smoking <-> cancer", "smoking", "cancer")
    print("2. Front door: smoking -> tar -> cancer, smoking <-> cancer (a genotype)", file=out)
    print(f"   {est}   [{est.kind}; mediators: {', '.join(est.mediators or ())}]", file=out)
    for s in (1, 0):
        p = est.probability(table, {"smoking": s}, {"cancer": 1})
        print(f"   P(cancer=1 | do(smoking={s})) = {p:.4f}", file=out)
    print("", file=out)


def _napkin_model() -> tuple[pd.DataFrame, dict[int, float]]:
    """Exact joint of a binary napkin SCM (latents U1: W<->X, U2: W<->Y) and the truth."""
    grid = np.array(list(itertools.product([0, 1], repeat=6)))
    u1, u2, w, r, x, y = grid.T

    def bern(p: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.where(v == 1, p, 1 - p)

    prob = (
        0.5
        * 0.5
        * bern(0.1 + 0.4 * u1 + 0.4 * u2, w)
        * bern(0.2 + 0.6 * w, r)
        * bern(0.05 + 0.3 * r + 0.6 * u1, x)
        * bern(0.05 + 0.4 * x + 0.5 * u2, y)
    )
    joint = (
        pd.DataFrame({"W": w, "R": r, "X": x, "Y": y, "probability": prob})
        .groupby(["W", "R", "X", "Y"], as_index=False)["probability"]
        .sum()
    )
    truth = {xv: 0.05 + 0.4 * xv + 0.5 * 0.5 for xv in (0, 1)}  # Σ_u2 P(u2) P(Y=1 | x, u2)
    return joint, truth


def _napkin(out: TextIO) -> None:
    joint, truth = _napkin_model()
    est = identify("W -> R -> X -> Y; W <-> X; W <-> Y", "X", "Y")
    naive = identify("X -> Y", "X", "Y")  # what y0 0.2.11 returns for the napkin: P(Y | X)
    print(
        "3. Napkin: W -> R -> X -> Y, W <-> X, W <-> Y (no back-door or front-door set)", file=out
    )
    print(f"   {est}", file=out)
    for xv in (1, 0):
        got = est.probability(joint, {"X": xv}, {"Y": 1})
        wrong = naive.probability(joint, {"X": xv}, {"Y": 1})
        print(
            f"   P(Y=1 | do(X={xv})) = {got:.6f}   truth by intervention {truth[xv]:.6f}   "
            f"(P(Y=1 | X={xv}) = {wrong:.6f})",
            file=out,
        )
    print("", file=out)


def _bow(out: TextIO) -> None:
    print("4. Bow: X -> Y, X <-> Y", file=out)
    try:
        identify("X -> Y; X <-> Y", "X", "Y")
    except NotIdentifiableError as exc:
        for line in str(exc).splitlines():
            print(f"   {line}", file=out)


def run(out: TextIO) -> None:
    """Kidney stones, front door, napkin and bow through ``identify``."""
    _kidney(out)
    _frontdoor(out)
    _napkin(out)
    _bow(out)
