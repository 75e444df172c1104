"""Split a fitted ID-GEN napkin fraction's error between its tabular stage and its image factor.

Reads the :class:`~deepcause.generative._idgen_reweight.TwoStageFraction` that
``benchmarks/bench_images.py --save-fraction PATH`` pickled (coloured-digits napkin) and, per
reference image (digit ``d``, colour ``c``), draws ``N`` units at ``do(X = ref)``:

* ``W1 TV``: the tabular stage's resampled ``W1`` against the numerator's exact law
  ``P(W1 | X's colour = c)`` (0.379 on ``c``, 0.124 on each other colour, from the SCM's coins);
* ``full``: the fraction's own draws of ``Y`` against 20,000 draws of the intervened simulator
  (the bench's big truth, seeds ``300 + q``), attribute TV joint (digit x colour), digit, colour,
  with the bench's readers;
* ``exact W1``: ``W1`` from the exact law, ``W2 = d``, ``Y`` from the image factor: the image
  factor's own error;
* ``digit=X``: the share of ``Y``'s digits equal to ``d`` (model; truth about 0.90).

Usage: ``python benchmarks/study_napkin_stages.py FRACTION.pkl [N]`` (``N`` default 4,000)
(results: ``benchmarks/results/bench_images.md``, run 15).
"""

from __future__ import annotations

import pickle
import sys

import numpy as np

from deepcause.metrics import attribute_tv
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import make_colored_digits_napkin

REFERENCES = ((0, 0), (1, 3), (3, 1), (5, 2))  # (digit, colour) of the four reference images


def w1_laws() -> np.ndarray:
    """``P(W1 | X's colour)``, rows the colour: ``W1`` is ``U2`` (0.55), ``U1`` (0.30) or
    uniform; ``X``'s colour is ``U1`` (0.85) or uniform, so ``P(U1 = c | colour c) = 0.875``."""
    p_u1 = np.full((6, 6), 0.025) + np.eye(6) * (0.875 - 0.025)
    return 0.55 / 6 + 0.30 * p_u1 + 0.15 / 6


def _scores(y: np.ndarray, truth: np.ndarray, reader, digit: int) -> dict[str, float]:
    return {
        "joint": attribute_tv(y, truth, reader),
        "digit": attribute_tv(y, truth, reader, attributes="digit"),
        "colour": attribute_tv(y, truth, reader, attributes="color"),
        "digit=X": float(np.mean(reader.predict(y)["digit"] == digit)),
    }


def main() -> None:
    with open(sys.argv[1], "rb") as fh:
        fraction = pickle.load(fh)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    ds = make_colored_digits_napkin(100, truth_n=10, random_state=0)  # the SCM and references
    reader = train_attribute_readers(ds.scm, n=3000)
    laws = w1_laws()
    rows = []
    for q, (digit, colour) in enumerate(REFERENCES):
        ref = ds.extras["x_reference"][q]
        x = np.broadcast_to(ref, (n, *ref.shape))
        truth = ds.scm.sample(20000, do={"X": ref}, random_state=300 + q, as_arrays=True)["Y"]
        own = fraction.sample(n, {"X": x}, random_state=2000 + q)
        w1 = np.asarray(own["W1"]).astype(int)
        w1_tv = 0.5 * np.abs(np.bincount(w1, minlength=6) / n - laws[colour]).sum()
        exact = np.random.default_rng(1000 + q).choice(6, size=n, p=laws[colour])
        do = {"W1": exact.astype(own["W1"].dtype), "W2": np.full(n, digit, own["W2"].dtype), "X": x}
        hybrid = np.asarray(fraction.image.sample(n, do=do, random_state=3000 + q)["Y"])
        row = {"W1 TV": w1_tv, "W2=d": float(np.mean(own["W2"] == digit))}
        row |= {
            f"full {k}": v for k, v in _scores(np.asarray(own["Y"]), truth, reader, digit).items()
        }
        row |= {f"exact W1 {k}": v for k, v in _scores(hybrid, truth, reader, digit).items()}
        row["truth digit=X"] = float(np.mean(reader.predict(truth)["digit"] == digit))
        rows.append(row)
        print(f"query {q}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    means = {k: np.mean([r[k] for r in rows]) for k in rows[0]}
    print("mean: " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))


if __name__ == "__main__":
    main()
