"""Counterfactuals of image SCMs whose parents move spatial structure (session 16, s16-hvae).

Re-creates two designs of run 11 of ``results/bench_images_fresh.md`` (session 15's scratch
script is gone), each image a deterministic render of its parents and its own noise, so every
unit's counterfactual image is exact:

* ``cross`` (3x28x28 RGB): ``H -> S <- P``, ``S -> L``. ``H ~ U(0, 0.6)`` the hue of a
  plus-shaped cross (cosine colour wheel), ``P ~ N(0, 1)`` its column ``14 + 7 tanh P``; own
  noise: row ``U(8, 20)``, arm length ``U(3, 5.5)``, arm thickness ``U(1.5, 3)``, brightness
  ``U(0.6, 1)``, grey background ``U(0, 0.15)``. ``L`` is read off the image (twice the cross's
  weighted red-minus-blue plus its column offset / 7) plus ``0.2 N(0, 1)``.
* ``grating`` (1x20x20 grey): ``W -> G``, a vertical sinusoidal grating whose angular
  frequency is ``1.25 + 0.5 tanh(W / 1.5)`` rad/px (``W ~ N(0, 1)``); own noise: phase
  ``U(0, 2 pi)``, contrast ``U(0.15, 0.45)`` (``G = 0.5 + c sin(w x + phi)``). The grating of
  run 11's ``twoparents`` design, on its own.

Readers (exact functions of an image, applied alike to model and true images): ``cross`` the
background (mean of the four corner pixels), the weights ``max_c |pixel - background|``, their
centre (comx, comy) and sum (mass), the weighted colour (r-b, g) and the peak contrast (the
largest weight; a "dim smudge" is a peak below 0.3); ``grating`` the frequency (mean absolute
horizontal difference over mean absolute deviation, ``2 sin(w / 2)`` on a render), the
contrast (pixel s.d.) and the phase-sensitive column profile's correlation with the truth.

Counterfactuals of ``--n-test`` held-out units under each query; the fresh-noise baseline is
``model.sample(n, do={parents: their counterfactual values})``; ``factual`` copies the factual
image. Attribute errors are RMSEs in s.d. of the attribute over the training images.

    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_hvae_geometry.py \
        cross --n 4000 --seeds 0 1 [--mech '{"decoder_coords": true}']
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings
from typing import Any

import numpy as np

from deepcause.generative import CausalGenerativeModel, load_model
from deepcause.generative.mechanisms import ImageHVAEMechanism
from deepcause.simulate.scm import SCM, Node, gaussian, uniform


def _col(v: Any) -> np.ndarray:
    return np.asarray(v, np.float32)[:, None, None]


# ----------------------------------------------------------------------------- cross
def hue_colour(h: np.ndarray) -> np.ndarray:
    """Cosine colour wheel ``(n, 3)``: 0 red, 1/6 yellow, 1/3 green, 1/2 cyan."""
    shift = np.array([0.0, 1.0, 2.0]) / 3.0
    return (0.5 + 0.5 * np.cos(2 * np.pi * (h[:, None] - shift[None]))).astype(np.float32)


def render_cross(h: Any, p: Any, u: np.ndarray, size: int = 28) -> np.ndarray:
    """Crosses ``(n, 3, size, size)`` of hue ``h`` at column ``14 + 7 tanh p``; ``u`` in U(0,1)^5."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    cx = _col(size / 2 + 7.0 * np.tanh(np.asarray(p, np.float64)))
    cy, arm = _col(8 + 12 * u[:, 0]), _col(3 + 2.5 * u[:, 1])
    half, bright, bg = _col(0.75 + 0.75 * u[:, 2]), _col(0.6 + 0.4 * u[:, 3]), 0.15 * u[:, 4]
    dx, dy = np.abs(xx[None] - cx), np.abs(yy[None] - cy)
    inside = lambda a, b: np.clip(half + 0.5 - a, 0, 1) * np.clip(arm + 0.5 - b, 0, 1)  # noqa: E731
    mask = np.maximum(inside(dx, dy), inside(dy, dx))
    colour = hue_colour(np.asarray(h, np.float64)) * bright[:, :, 0]
    img = bg[:, None, None, None] + mask[:, None] * (
        colour[:, :, None, None] - bg[:, None, None, None]
    )
    return np.clip(img, 0, 1).astype(np.float32)


def cross_readings(img: np.ndarray) -> dict[str, np.ndarray]:
    """The cross's readers (module doc) of images ``(n, 3, 28, 28)`` in ``[0, 1]``."""
    corners = img[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].mean(axis=(1, 2))
    w = np.abs(img - corners[:, None, None, None]).max(axis=1)
    mass = w.sum(axis=(1, 2)) + 1e-6
    yy, xx = np.mgrid[0 : img.shape[2], 0 : img.shape[3]] + 0.5
    colour = (img * w[:, None]).sum(axis=(2, 3)) / mass[:, None]
    return dict(
        comx=(w * xx).sum(axis=(1, 2)) / mass,
        comy=(w * yy).sum(axis=(1, 2)) / mass,
        mass=mass,
        rb=colour[:, 0] - colour[:, 2],
        g=colour[:, 1],
        bg=corners,
        peak=w.reshape(len(w), -1).max(axis=1),
    )


def cross_scm() -> SCM:
    def label(pa: dict, u: np.ndarray) -> np.ndarray:
        r = cross_readings(pa["S"])
        return 2.0 * r["rb"] + (r["comx"] - 14.0) / 7.0 + u

    return SCM(
        [
            Node("H", noise=uniform(0.0, 0.6)),
            Node("P", noise=gaussian(1.0)),
            Node(
                "S",
                ("H", "P"),
                lambda pa, u: render_cross(pa["H"], pa["P"], u),
                uniform(0, 1, dim=5),
                shape=(3, 28, 28),
            ),
            Node("L", ("S",), label, gaussian(0.2)),
        ]
    )


# ----------------------------------------------------------------------------- grating
def grating_frequency(w: Any) -> np.ndarray:
    return 1.25 + 0.5 * np.tanh(np.asarray(w, np.float64) / 1.5)


def render_grating(w: Any, u: np.ndarray, size: int = 20) -> np.ndarray:
    """Vertical gratings ``(n, 1, size, size)``; ``u`` in U(0,1)^2 (phase, contrast)."""
    x = np.arange(size, dtype=np.float64)[None] + 0.5
    phase, contrast = 2 * np.pi * u[:, :1], 0.15 + 0.3 * u[:, 1:2]
    row = 0.5 + contrast * np.sin(grating_frequency(w)[:, None] * x + phase)
    return np.repeat(row[:, None, None, :], size, axis=2).astype(np.float32)


def grating_readings(img: np.ndarray) -> dict[str, np.ndarray]:
    """``freq`` (run 11's reader; it moves with the phase too), ``omega`` (the angular
    frequency maximising the column profile's Fourier magnitude: the phase does not move it),
    ``contrast`` (pixel s.d.)."""
    g = img[:, 0]
    dev = np.abs(g - g.mean(axis=(1, 2), keepdims=True)).mean(axis=(1, 2)) + 1e-6
    prof = g.mean(axis=1) - g.mean(axis=(1, 2))[:, None]
    omegas = np.linspace(0.5, 2.2, 171)
    x = np.arange(g.shape[2]) + 0.5
    power = np.abs(prof @ np.exp(-1j * np.outer(x, omegas)))
    return dict(
        freq=np.abs(np.diff(g, axis=2)).mean(axis=(1, 2)) / dev,
        omega=omegas[np.argmax(power, axis=1)],
        contrast=g.std(axis=(1, 2)),
    )


def grating_origin_rmse(img: np.ndarray, noise: dict, do: dict) -> tuple[float, float]:
    """Pixel RMSE against the best of the observationally equivalent truths.

    The grating's phase is uniform and independent of ``W``, so the SCMs that measure it from
    another column ``x0`` (``G = 0.5 + c sin(w (x - x0) + phi')``) have the same law of the
    data but other counterfactuals: a model cannot tell them apart. Returns the smallest pixel
    RMSE over ``x0`` in ``[0, 20]`` (one ``x0`` for all units) and that ``x0``.
    """
    w = noise["W"] if "W" not in do else do["W"](noise["W"])
    w0, w1 = grating_frequency(noise["W"])[:, None], grating_frequency(w)[:, None]
    phase, contrast = 2 * np.pi * noise["G"][:, :1], 0.15 + 0.3 * noise["G"][:, 1:2]
    x = np.arange(20, dtype=np.float64)[None] + 0.5
    best = (np.inf, 0.0)
    for x0 in np.linspace(0, 20, 41):
        row = 0.5 + contrast * np.sin(w1 * (x - x0) + phase + w0 * x0)
        best = min(best, (_rmse(img[:, 0], row[:, None, :]), float(x0)))
    return best


def grating_scm() -> SCM:
    return SCM(
        [
            Node("W", noise=gaussian(1.0)),
            Node(
                "G",
                ("W",),
                lambda pa, u: render_grating(pa["W"], u),
                uniform(0, 1, dim=2),
                shape=(1, 20, 20),
            ),
        ]
    )


# ----------------------------------------------------------------------------- designs
DESIGNS: dict[str, dict[str, Any]] = {
    "cross": dict(
        scm=cross_scm,
        image="S",
        parents=("H", "P"),
        read=cross_readings,
        queries={
            "do(H = 0.55 - H)": {"H": lambda v: 0.55 - v},
            "do(P = P + 1)": {"P": lambda v: v + 1.0},
            "do(P = -P)": {"P": lambda v: -v},
        },
    ),
    "grating": dict(
        scm=grating_scm,
        image="G",
        parents=("W",),
        read=grating_readings,
        origin_rmse=grating_origin_rmse,
        queries={
            "do(W = W + 0.5)": {"W": lambda v: v + 0.5},
            "do(W = W + 1.5)": {"W": lambda v: v + 1.5},
            "do(W = -W)": {"W": lambda v: -v},
        },
    ),
}


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - b) ** 2)))


def score(design: dict, model: Any, fact: dict, noise: dict, sd: dict) -> list[dict]:
    """One row per query: pixel RMSEs (cf, fresh, factual), attribute RMSEs in s.d."""
    scm, v, read = design["scm"](), design["image"], design["read"]
    rows = []
    for name, do in design["queries"].items():
        truth = scm.propagate(noise, do)
        cf_do = {p: truth[p] for p in do}
        cf = model.counterfactual(fact, do=cf_do)[v]
        parents = {p: truth[p] for p in design["parents"]}
        fresh = model.sample(len(cf), do=parents, random_state=5)[v]
        row: dict[str, Any] = dict(
            query=name,
            rmse_cf=_rmse(cf, truth[v]),
            rmse_fresh=_rmse(fresh, truth[v]),
            rmse_factual=_rmse(fact[v], truth[v]),
        )
        row["ratio"] = row["rmse_fresh"] / row["rmse_cf"]
        t, c, f = read(truth[v]), read(cf), read(fresh)
        for k in sd:
            row[k] = (round(_rmse(c[k], t[k]) / sd[k], 3), round(_rmse(f[k], t[k]) / sd[k], 3))
        if "origin_rmse" in design:  # the grating's counterfactual is identified up to x0
            row["rmse_cf_x0"], row["x0"] = design["origin_rmse"](cf, noise, do)
            row["rmse_fresh_x0"] = design["origin_rmse"](fresh, noise, do)[0]
        if "peak" in t:
            row["dim_cf"] = float(np.mean(c["peak"] < 0.3))
            row["dim_fresh"] = float(np.mean(f["peak"] < 0.3))
            row["dim_truth"] = float(np.mean(t["peak"] < 0.3))
        rows.append(row)
    return rows


def run(args: argparse.Namespace, seed: int) -> dict:
    design = DESIGNS[args.design]
    scm, v = design["scm"](), design["image"]
    noise = scm.sample_noise(args.n + args.n_test, random_state=args.data_seed)
    values = scm.propagate(noise)
    keep = [k for k in scm.order if not scm.nodes[k].latent]
    train = {k: values[k][: args.n] for k in keep}
    fact = {k: values[k][args.n :] for k in keep}
    test_noise = {k: u[args.n :] for k, u in noise.items()}
    attrs = design["read"](train[v])
    sd = {k: float(np.std(a)) for k, a in attrs.items() if k != "peak"}
    mech = ImageHVAEMechanism(
        **json.loads(args.mech), **({"max_epochs": args.max_epochs} if args.max_epochs else {})
    )
    t0 = time.process_time()
    if args.load:  # rescore a saved model (the --save path of the same design and seed)
        model = load_model(f"{args.load}_{args.design}_{seed}")
    else:
        model = CausalGenerativeModel(
            scm.graph, mechanisms={v: mech}, random_state=seed, verbose=False
        ).fit(train)
    fit_s = time.process_time() - t0
    null = model.counterfactual(fact, do={p: fact[p] for p in design["parents"]})[v]
    out = dict(
        design=args.design,
        seed=seed,
        mech=args.mech,
        fit_cpu_s=round(fit_s, 1),
        epochs=getattr(model.mechanisms_[v], "epochs_", None),
        null_rmse=_rmse(null, fact[v]),
        rows=score(design, model, fact, test_noise, sd),
    )
    if args.save:
        model.save(f"{args.save}_{args.design}_{seed}")
    return out


def main() -> None:
    warnings.simplefilter("ignore")  # positivity warnings of shifted roots: true extrapolations
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("design", choices=sorted(DESIGNS))
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--mech", default="{}", help="JSON keywords of ImageHVAEMechanism")
    ap.add_argument("--max-epochs", type=int, default=0)
    ap.add_argument("--save", default="", help="save the models as SAVE_design_seed")
    ap.add_argument("--load", default="", help="rescore models saved with --save LOAD")
    args = ap.parse_args()
    for seed in args.seeds:
        res = run(args, seed)
        res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
