"""An outside evaluator's quality check of ``CausalGenerativeModel`` on a fresh image SCM.

Written in session 12 (branch ``s12-imgaudit``) before any model was run on it; the SCM is in
no other file of the repository. ``A -> B; A -> I; B -> I; I -> K`` (plain numpy):

* ``A ~ U(-1, 1)`` sets the horizontal position of a filled ellipse ``I`` (1x16x16 grey);
* ``B = 0.5 A + 0.6 e_B`` (its own Gaussian noise) sets the ellipse's half width;
* ``I``'s own noise: half height, a jitter of the centre, the vertical centre, brightness;
* ``K`` is read off the image: its total brightness and its intensity-weighted column, plus
  Gaussian noise.

Every image is a deterministic render of its parents and its noise, so each unit's
counterfactual image is exact. The model is fitted through the public API with the defaults
(``mechanisms="auto"``) and scored on held-out units: counterfactual pixel RMSE against the
fresh-noise baseline (the model's own ``sample`` at the counterfactual parents, one per unit),
the counterfactual ``K`` likewise, and ``E[K | do(.)]`` against the simulator's.

Usage: ``python benchmarks/study_image_api_quality.py --seeds 0 1 --n 4000`` (``--uint8``: the
same images given as ``uint8`` in ``[0, 255]``; RMSEs stay on the ``[0, 1]`` scale).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from deepcause.generative import CausalGenerativeModel

GRAPH = "A -> B; A -> I; B -> I; I -> K"
SIZE = 16


def noise(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Every unit's exogenous noise."""
    return {
        "A": rng.uniform(-1, 1, n),
        "B": rng.normal(size=n),
        "h": rng.uniform(2.0, 3.5, n),  # half height
        "jx": rng.uniform(-0.75, 0.75, n),  # centre jitter
        "cy": rng.uniform(6.0, 10.0, n),  # vertical centre
        "bright": rng.uniform(0.5, 1.0, n),
        "K": rng.normal(size=n),
    }


def half_width(b: np.ndarray) -> np.ndarray:
    return 1.5 + 3.0 / (1.0 + np.exp(-1.5 * b))


def render(a: np.ndarray, b: np.ndarray, u: dict[str, np.ndarray]) -> np.ndarray:
    """The ellipse images ``(n, 1, 16, 16)`` in ``[0, 1]``, float32."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    cx = np.clip(8 + 3.5 * a + u["jx"], 3, 13)[:, None, None]
    w, h = half_width(b)[:, None, None], u["h"][:, None, None]
    rho = np.sqrt(((xx - cx) / w) ** 2 + ((yy - u["cy"][:, None, None]) / h) ** 2)
    inside = np.clip((1 - rho) * np.minimum(w, h) + 0.5, 0, 1)
    return (u["bright"][:, None, None] * inside)[:, None].astype(np.float32)


def read_k(images: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``K``: total brightness / 20 plus the intensity-weighted column's offset / 3, plus noise."""
    mass = images.sum((1, 2, 3))
    col = (images.sum((1, 2)) * (np.arange(SIZE) + 0.5)).sum(1) / np.maximum(mass, 1e-6)
    return mass / 20 + (col - 8) / 3 + 0.2 * e


def simulate(u: dict[str, np.ndarray], do: dict[str, np.ndarray] | None = None) -> dict:
    """Values of every node from the noise ``u``, with ``do`` overriding A and/or B."""
    do = do or {}
    a = do.get("A", u["A"])
    b = do.get("B", 0.5 * a + 0.6 * u["B"])
    img = render(a, b, u)
    return {"A": a, "B": b, "I": img, "K": read_k(img, u["K"])}


def _rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(x, float) - np.asarray(y, float)) ** 2)))


def eight_bit(values: dict) -> dict:
    """The data with 8-bit images (``uint8`` in ``[0, 255]``), as a camera would give them."""
    return {**values, "I": np.round(values["I"] * 255).astype(np.uint8)}


def score(seed: int, n: int, n_test: int, data_seed: int, uint8: bool = False) -> list[str]:
    train = simulate(noise(np.random.default_rng(data_seed), n))
    u_test = noise(np.random.default_rng(data_seed + 1000), n_test)
    test = simulate(u_test)
    scale = 255.0 if uint8 else 1.0  # RMSEs on the [0, 1] scale either way
    if uint8:
        train, test = eight_bit(train), eight_bit(test)
    k_sd = float(np.std(train["K"]))
    t0 = time.process_time()
    model = CausalGenerativeModel(GRAPH, random_state=seed, verbose=False).fit(train)
    fit_cpu = time.process_time() - t0
    choice = {v: m.name for v, m in model.mechanisms_.items()}
    kind = "uint8 images, " if uint8 else ""
    rows = [f"- model seed {seed}: {kind}fit {fit_cpu:.0f} CPU s; mechanisms {choice}"]
    queries = {
        "do(B = B + 1)": ({"B": lambda b: b + 1.0}, {"B": test["B"] + 1.0}),
        "do(A = 0.5)": ({"A": 0.5}, {"A": np.full(n_test, 0.5)}),
        "do(A = -A)": ({"A": -test["A"]}, {"A": -test["A"]}),
    }
    rows.append("")
    rows.append(
        "| query | I pixel RMSE cf | I fresh-noise | ratio | K RMSE cf (s.d.) | K fresh (s.d.) |"
    )
    rows.append("|---|---|---|---|---|---|")
    for name, (do_model, do_true) in queries.items():
        truth = simulate(u_test, do_true)
        cf = model.counterfactual(test, do=do_model, random_state=seed)
        fresh = model.sample(n_test, do={"A": truth["A"], "B": truth["B"]}, random_state=seed)
        assert cf["I"].dtype == fresh["I"].dtype == train["I"].dtype
        ri, rf = _rmse(cf["I"] / scale, truth["I"]), _rmse(fresh["I"] / scale, truth["I"])
        rows.append(
            f"| {name} | {ri:.4f} | {rf:.4f} | {rf / ri:.2f} | "
            f"{_rmse(cf['K'], truth['K']) / k_sd:.3f} | {_rmse(fresh['K'], truth['K']) / k_sd:.3f} |"
        )
    rows.append("")
    rows.append("| query | E[K] model | E[K] truth | error (s.d. of K) |")
    rows.append("|---|---|---|---|")
    u_big = noise(np.random.default_rng(data_seed + 2000), 20000)
    for node, value in [("B", -1.0), ("B", 0.0), ("B", 1.0), ("A", -0.5), ("A", 0.5)]:
        true_k = simulate(u_big, {node: np.full(20000, value)})["K"].mean()
        got = model.sample(4000, do={node: value}, random_state=seed)["K"].mean()
        rows.append(
            f"| do({node} = {value:g}) | {got:.3f} | {true_k:.3f} | {(got - true_k) / k_sd:+.3f} |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--uint8", action="store_true", help="give the images as uint8 in [0, 255]")
    args = ap.parse_args()
    for s in args.seeds:
        print("\n".join(score(s, args.n, args.n_test, args.data_seed, args.uint8)), flush=True)
        print()


if __name__ == "__main__":
    main()
