"""False alarms and detections of the do()-image support check on image SCMs.

For every image node of the library's image SCMs and of the held-out SCMs of
``fresh_image_scms.py``: fit :class:`~deepcause.generative._image_support.ImageSupport` on the
node's images of ``--n`` units (data seed 0, as a model's ``fit`` does), then count how often the
check warns for

* fresh images of the same SCM (data seed 1), one at a time (the single-image rule: about
  ``1 / (n_cal + 1)`` in expectation) and as arrays of 500 (the per-unit rule);
* images unlike the training images: pixel noise drawn uniformly in the training range, and
  the fresh images rolled by a quarter of their width (a translation the SCM may or may not
  produce: a detection for centred objects, maybe not for jittered ones).

Usage::

    PYTHONPATH=src:benchmarks python benchmarks/study_image_support.py --n 3000

Prints a markdown table (``--out`` also writes it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from fresh_image_scms import (
    bowfree_rect_scm,
    disc_label_scm,
    frontdoor_bar_scm,
    image_treatment_scm,
    square_ring_scm,
)

from deepcause.generative._image_support import ImageSupport
from deepcause.simulate import images as lib_images
from deepcause.simulate.pendulum import make_pendulum

N_SINGLE, ARRAY = 1000, 500


def _library(n: int, seed: int) -> dict[str, np.ndarray]:
    kw = {"truth_n": 500, "random_state": seed}
    sets = {
        "napkin": lib_images.make_colored_digits_napkin(n, **kw).data,
        "confounded label": lib_images.make_confounded_digit_label(n, **kw).data,
        "front door": lib_images.make_frontdoor_image_mediator(n, **kw).data,
        "morpho 28x28": lib_images.make_morpho_digits(n, **kw).data,
        "pendulum": make_pendulum(n, random_state=seed).data,
    }
    return {f"{k}: {v}": d[v] for k, d in sets.items() for v in d if np.ndim(d[v]) == 4}


def _fresh(n: int, seed: int) -> dict[str, np.ndarray]:
    out = {}
    for scm in (
        disc_label_scm(),
        square_ring_scm(),
        frontdoor_bar_scm(),
        bowfree_rect_scm(),
        image_treatment_scm(),
    ):
        data = scm.sample(n, random_state=seed, as_arrays=True)
        name = "/".join(sorted(data))
        out.update({f"held-out ({name}): {v}": data[v] for v in data if np.ndim(data[v]) == 4})
    return out


def _row(name: str, train: np.ndarray, fresh: np.ndarray, rng: np.random.Generator) -> str:
    t = time.process_time()
    sup = ImageSupport.fit(train)
    fit_s = time.process_time() - t
    node = name.split(": ")[-1]

    def single(images: np.ndarray) -> float:
        return float(np.mean([sup.message(node, im) is not None for im in images]))

    arrays = [fresh[i : i + ARRAY] for i in range(0, len(fresh) - ARRAY + 1, ARRAY)]
    flagged = sum(sup.message(node, a) is not None for a in arrays)
    lo, hi = float(train.min()), float(train.max())
    noise = rng.uniform(lo, hi, size=(100, *train.shape[1:])).astype(np.float32)
    rolled = np.roll(fresh[:200], train.shape[-1] // 4, axis=-1)
    return (
        f"| {name} | {tuple(train.shape[1:])} | {sup.support.n_cal} | {fit_s:.2f} | "
        f"{single(fresh[:N_SINGLE]):.2%} | {flagged} of {len(arrays)} | "
        f"{single(noise):.0%} | {single(rolled):.0%} | "
        f"{'yes' if sup.message(node, rolled) is not None else 'no'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="training (and fresh) units")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    train = {**_library(args.n, 0), **_fresh(args.n, 0)}
    fresh = {**_library(args.n, 1), **_fresh(args.n, 1)}
    lines = [
        f"Image support check, {args.n} training units (data seed 0), fresh units seed 1",
        "",
        "| SCM: node | (C, H, W) | n_cal | fit CPU s | fresh, one at a time | fresh, arrays of "
        "500 | noise images | rolled 1/4 width, one at a time | rolled, array of 200 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(k, train[k], fresh[k], rng) for k in train]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
