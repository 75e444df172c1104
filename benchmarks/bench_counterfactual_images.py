"""Counterfactual images against the simulators' exact unit-level truth (issue 14).

Three image SCMs whose renders are deterministic given each unit's noise, so every test unit's
true counterfactual image is known: the Morpho-style digits (28x28, ``do(thickness)``), the
pendulum-and-light scene (``do(angle)``) and the back-door coloured digits
``confounded_digit_label`` (16x16, ``do(C)``: a new colour group). Models, side by side:

* the deep SCM (``CausalGenerativeModel``) with each image mechanism: ``image_vae``,
  ``image_hvae`` and ``image_diffusion`` (abduction by the encoder / DDIM inversion);
* ``image_vae_p0``: ``image_vae`` with the standard normal prior (``prior_modes=0``; its default
  is a 12-mode mixture prior); ``image_hvae_m0``: ``image_hvae`` drawing fresh noise from the
  standard normal (``noise_modes=0``; its default is a mixture fitted to the abducted noise);
  ``--beta`` defaults to each mechanism's own KL weight;
* ``image_vae_cf`` / ``image_hvae_cf``: counterfactual training on (``cf_weight``, 1.0 or
  ``--cf-weight``; :mod:`deepcause.generative.mechanisms._cf_training`); ``*_nocf``: off;
* ``CausalVAE`` on the pendulum (its ``intervene``);
* ``fresh noise``: the first mechanism's (``image_vae``) deep SCM as a conditional generator
  that samples new noise under the counterfactual parents instead of abducting the unit's own;
* with ``--ablate``, ``latent not standardised``: the same fitted (H)VAE without the parents'
  moments of the latent (the raw posterior mean as the noise; see
  :mod:`deepcause.generative.mechanisms._noise_moments`);
* ``editor``: a non-causal editor, the first mechanism's deep SCM with ``do()`` on the
  attribute and its tabular descendants held at their factual values (on the coloured digits
  ``C`` has no tabular mediator, so the editor coincides with the deep SCM there).

Metrics on ``--n-test`` held-out units (pixels in [0, 1]): effectiveness per attribute of the
image (attribute readers on the counterfactual image against the true counterfactual's
attribute: accuracy for classes, MAE for continuous attributes), composition (the null
intervention ``do(x = factual x)``: mean L1 to the factual image; through
``CausalGenerativeModel.counterfactual`` this is 0 by construction, since a unit whose parents
are unchanged keeps its factual image), the mechanism's own round trip ``mechanism_null_l1``
(deep SCM rows: ``model.reconstruct``, the image's noise abducted by its mechanism and decoded
under the factual parents, mean L1 to the factual image: what composition measured before that
rule), reversibility (the counterfactual, then the reverse intervention: mean L1 to the
factual image; ``rev_passthrough``, the share of units whose reverted image is the
counterfactual image unchanged, checks that the mechanism ran), realism (Fréchet
distance in the readers' feature space to the true counterfactual images), the exact
counterfactual pixel RMSE, fit and counterfactual time (wall clock, on a shared machine).

Run: ``python benchmarks/bench_counterfactual_images.py [--n-train 3000] [--n-test 300]
[--epochs 20] [--diffusion-epochs 10] [--scms morpho pendulum colored] [--jobs 3]
[--mechanisms image_vae image_hvae image_diffusion image_vae_p0 image_hvae_m0] [--beta B]
[--image-epochs 60] [--independence W] [--ablate] [--diffusion-guidance W]
[--diffusion-p-uncond P] [--diffusion-sample-steps K] [--diffusion-inversion-iters K]
[--diffusion-width W] [--diffusion-dropout P]
[--out benchmarks/results/bench_counterfactual_images.md]``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from deepcause.generative import CausalGenerativeModel, CausalVAE
from deepcause.generative.mechanisms import MECHANISMS
from deepcause.metrics import (
    composition,
    counterfactual_pixel_error,
    effectiveness,
    realism,
    reversibility,
)
from deepcause.simulate import (
    confounded_digit_label,
    morpho_digits,
    pendulum_scm,
    train_attribute_readers,
    train_pendulum_readers,
)
from deepcause.simulate.pendulum import ANGLE_RANGE, PENDULUM_CONCEPTS

IMAGE_MECHANISMS = ("image_vae", "image_hvae", "image_diffusion")
# extra rows: a mechanism with one setting changed from its default (name -> (mechanism, keys))
VARIANTS = {
    "image_vae_p0": ("image_vae", {"prior_modes": 0}),
    "image_hvae_m0": ("image_hvae", {"noise_modes": 0}),
    "image_vae_cf": ("image_vae", {"cf_weight": 1.0}),
    "image_hvae_cf": ("image_hvae", {"cf_weight": 1.0}),
    "image_vae_nocf": ("image_vae", {"cf_weight": 0.0}),
    "image_hvae_nocf": ("image_hvae", {"cf_weight": 0.0}),
}
DIFFUSION_OPTIONS = {
    "guidance": float,
    "p_uncond": float,
    "sample_steps": int,
    "inversion_iters": int,
    "width": int,
    "dropout": float,
}
Data = dict[str, np.ndarray]


@dataclass
class Case:
    """One SCM: training data, test units (factual, noise), the intervention and its truth."""

    name: str
    graph: str
    train: Data
    fact: Data
    do: dict[str, np.ndarray]
    true_cf: Data
    reader: Any
    attributes: dict[str, str]  # reader attribute -> node of the true counterfactual
    editor_keep: tuple[str, ...]  # tabular descendants the non-causal editor holds fixed
    image: str = "image"
    rows: list[dict[str, Any]] = field(default_factory=list)


def _split(scm: Any, n_train: int, n_test: int, seed: int) -> tuple[Data, Data, dict]:
    noise = scm.sample_noise(n_train + n_test, np.random.default_rng(seed))
    full = scm.to_arrays(scm.propagate(noise))
    observed = [v for v in full if v in scm.graph.nodes]
    train = {v: full[v][:n_train] for v in observed}
    fact = {v: full[v][n_train:] for v in observed}
    return train, fact, {k: v[n_train:] for k, v in noise.items()}


def _truth(scm: Any, noise: dict, do: Mapping[str, Any]) -> Data:
    _, cf = scm.counterfactual(noise, do=do, include_latent=True, as_arrays=True)
    return cf


def _case(title: str, scm: Any, sizes: tuple[int, int], make_do: Any, *rest: Any) -> Case:
    """Split the units, set the intervention ``make_do(factual)``, compute its exact truth."""
    train, fact, noise = _split(scm, *sizes, 0)
    do = make_do(fact)
    return Case(title, str(scm.graph), train, fact, do, _truth(scm, noise, do), *rest)


def _uniform(node: str, lo: float, hi: float) -> Any:
    return lambda fact: {node: np.random.default_rng(1).uniform(lo, hi, len(fact[node]))}


def morpho_case(n_train: int, n_test: int, size: int = 28) -> Case:
    scm = morpho_digits(size)
    reader = train_attribute_readers(scm, random_state=0)
    title = f"morpho digits {size}x{size}, do(thickness ~ U(1, 4))"
    attrs = dict(scm.attributes["image"])
    return _case(
        title,
        scm,
        (n_train, n_test),
        _uniform("thickness", 1.0, 4.0),
        reader,
        attrs,
        ("intensity",),
    )


def pendulum_case(n_train: int, n_test: int, size: int = 28) -> Case:
    title = f"pendulum {size}x{size}, do(angle ~ U{ANGLE_RANGE})"
    reader = train_pendulum_readers(size, random_state=0)
    attrs = {c: c for c in PENDULUM_CONCEPTS}
    return _case(
        title,
        pendulum_scm(size),
        (n_train, n_test),
        _uniform("angle", *ANGLE_RANGE),
        reader,
        attrs,
        ("shadow_length", "shadow_position"),
    )


def colored_case(n_train: int, n_test: int, size: int = 16) -> Case:
    scm = confounded_digit_label(size)
    title = f"coloured digits {size}x{size} (back-door), do(C = C + 1 mod 3)"
    reader = train_attribute_readers(scm, random_state=0)
    return _case(
        title,
        scm,
        (n_train, n_test),
        lambda f: {"C": (f["C"] + 1) % 3},
        reader,
        dict(scm.attributes["X"]),
        (),
        "X",
    )


CASES: dict[str, Callable[..., Case]] = {
    "morpho": morpho_case,
    "pendulum": pendulum_case,
    "colored": colored_case,
}


# ----------------------------------------------------------------------------- models
def _deep_scm(case: Case, mech: str, epochs: int, args: argparse.Namespace) -> Any:
    keys: dict[str, Any] = {"max_epochs": args.image_epochs}
    if args.beta is not None:
        keys["beta"] = args.beta
    if args.independence is not None:
        keys["independence"] = args.independence
    base, extra = VARIANTS.get(mech, (mech, {}))
    if args.cf_weight is not None and extra.get("cf_weight"):
        extra = {**extra, "cf_weight": args.cf_weight}
    spec = (
        MECHANISMS[base](**keys, **extra) if base != "image_diffusion" else _diffusion(epochs, args)
    )
    model = CausalGenerativeModel(
        case.graph, mechanisms={case.image: spec}, max_epochs=epochs, random_state=0, verbose=False
    )
    return model.fit(case.train)


def _diffusion(epochs: int, args: argparse.Namespace) -> Any:
    """The diffusion mechanism: by name (its defaults), or with the options given."""
    keys = {k: getattr(args, f"diffusion_{k}") for k in DIFFUSION_OPTIONS}
    keys = {k: v for k, v in keys.items() if v is not None}
    return MECHANISMS["image_diffusion"](max_epochs=epochs, **keys) if keys else "image_diffusion"


def _parents(case: Case, model: Any) -> list[str]:
    return list(model.parents_[case.image])


def counterfactual_fns(case: Case, args: argparse.Namespace) -> dict[str, tuple[Any, ...]]:
    """Each model's ``(fit seconds, cf(factual mapping, do) -> counterfactual mapping[,
    null(factual mapping) -> the mechanism's round trip of the image])``."""
    fns: dict[str, tuple[Any, ...]] = {}
    fitted = {}
    for mech in args.mechanisms:
        epochs = args.diffusion_epochs if mech == "image_diffusion" else args.epochs
        t0 = time.perf_counter()
        fitted[mech] = model = _deep_scm(case, mech, epochs, args)
        fns[f"deep SCM {mech}"] = (time.perf_counter() - t0, _bind_cf(model), _null_fn(model, case))
        if args.ablate and hasattr(model.mechanisms_[case.image], "noise_moments"):
            fns[f"deep SCM {mech}, latent not standardised"] = (
                fns[f"deep SCM {mech}"][0],
                _unstandardised_fn(model, case.image),
            )
    base = args.mechanisms[0]  # the baselines reuse the first mechanism's fitted model
    model, fit_base = fitted[base], fns[f"deep SCM {base}"][0]
    fns[f"fresh noise ({base})"] = (fit_base, _fresh_fn(model, _parents(case, model), case.image))
    fns[f"editor ({base})"] = (fit_base, _editor_fn(model, case.editor_keep))
    if case.name.startswith("pendulum"):
        t0 = time.perf_counter()
        cvae = CausalVAE(
            concepts=list(PENDULUM_CONCEPTS),
            concept_order=list(PENDULUM_CONCEPTS),
            max_epochs=args.epochs,
            random_state=0,
            verbose=False,
        ).fit(case.train)
        fns["CausalVAE"] = (time.perf_counter() - t0, _causal_vae_fn(cvae))
    return fns


def _bind_cf(model: Any) -> Any:
    return lambda fact, do: model.counterfactual(fact, do=do)


def _null_fn(model: Any, case: Case) -> Any:
    return lambda fact: model.reconstruct(fact, case.image)


def _unstandardised_fn(model: Any, image: str) -> Any:
    """The counterfactual with the latent's parent moments set to the identity (the raw
    posterior mean as the noise, as before issue 14's fix; the training is unchanged)."""
    moments = model.mechanisms_[image].noise_moments

    def cf(fact: Data, do: Mapping[str, Any]) -> Data:
        fitted = {k: v.clone() for k, v in moments.state_dict().items()}
        moments.mean_w.zero_()
        moments.var_w.zero_()
        moments.var_w[-1] = 1.0
        try:
            return model.counterfactual(fact, do=do)
        finally:
            moments.load_state_dict(fitted)

    return cf


def _fresh_fn(model: Any, parents: list[str], image: str) -> Any:
    def cf(fact: Data, do: Mapping[str, Any]) -> Data:
        out = model.counterfactual(fact, do=do)  # the parents' counterfactual values
        n = len(fact[image])
        fresh = model.sample(n, do={p: out[p] for p in parents}, random_state=123)
        return {**out, image: fresh[image]}

    return cf


def _editor_fn(model: Any, keep: tuple[str, ...]) -> Any:
    return lambda fact, do: model.counterfactual(fact, do={**do, **{k: fact[k] for k in keep}})


def _causal_vae_fn(cvae: Any) -> Any:
    def cf(fact: Data, do: Mapping[str, Any]) -> Data:
        return {**fact, **do, "image": cvae.intervene(fact["image"], do)}

    return cf


# ----------------------------------------------------------------------------- scoring
def score(case: Case, fit_time: float, cf_fn: Any, null_fn: Any = None) -> dict[str, Any]:
    """Every metric of one model on one case (``null_fn``: the mechanism's round trip)."""
    fact, img = case.fact, case.image
    t0 = time.perf_counter()
    cf = cf_fn(fact, case.do)
    cf_time = time.perf_counter() - t0
    node = next(iter(case.do))
    null = cf_fn(fact, {node: fact[node]})[img]
    back = cf_fn(cf, {node: fact[node]})[img]
    row: dict[str, Any] = {
        "fit_s": fit_time,
        "cf_s": cf_time,
        "pixel_rmse": counterfactual_pixel_error(cf[img], case.true_cf[img]),
        "composition_l1": composition(fact[img], null, case.reader)["l1"],
        "reversibility_l1": reversibility(fact[img], back, case.reader)["l1"],
        "rev_passthrough": _passthrough(back, cf[img]),
        "realism_fd": realism(cf[img], case.true_cf[img], case.reader),
    }
    if null_fn is not None:
        row["mechanism_null_l1"] = composition(fact[img], null_fn(fact), case.reader)["l1"]
    for attr, v in case.attributes.items():
        row[f"eff_{attr}"] = effectiveness(cf[img], case.true_cf[v], case.reader, attr)
    return row


def _passthrough(reverted: np.ndarray, start: np.ndarray) -> float:
    """The share of units whose reverted image is exactly the image it was reverted from."""
    same = np.asarray(reverted) == np.asarray(start)
    return float(same.reshape(len(same), -1).all(axis=1).mean())


def run_case(name: str, args: argparse.Namespace) -> tuple[str, list[dict[str, Any]]]:
    import torch

    torch.set_num_threads(1)
    size = {"morpho": args.morpho_size, "pendulum": args.pendulum_size, "colored": 16}[name]
    case = CASES[name](args.n_train, args.n_test, size)
    rows = []
    truth = {"fit_s": 0.0, "cf_s": 0.0, "pixel_rmse": 0.0}
    for model, (fit_time, *fns) in counterfactual_fns(case, args).items():
        rows.append({"model": model, **score(case, fit_time, *fns)})
        print(f"[{name}] {model}: {rows[-1]}", file=sys.stderr, flush=True)
    rows.append({"model": "(reader on the true counterfactual)", **truth, **_reader_truth(case)})
    return case.name, rows


def _reader_truth(case: Case) -> dict[str, float]:
    """The readers' own error on the exact counterfactual images: the floor of effectiveness."""
    img = case.true_cf[case.image]
    return {
        f"eff_{a}": effectiveness(img, case.true_cf[v], case.reader, a)
        for a, v in case.attributes.items()
    }


# ----------------------------------------------------------------------------- report
COLUMNS = (
    "pixel_rmse",
    "composition_l1",
    "mechanism_null_l1",
    "reversibility_l1",
    "rev_passthrough",
    "realism_fd",
    "fit_s",
    "cf_s",
)


def markdown(results: list[tuple[str, list[dict[str, Any]]]], args: argparse.Namespace) -> str:
    cmd = "python benchmarks/bench_counterfactual_images.py " + " ".join(sys.argv[1:])
    lines = [
        "# Counterfactual images against exact truth",
        "",
        f"Command: `OMP_NUM_THREADS=1 nice -n {os.nice(0)} {cmd.strip()}` (niceness and "
        f"load average at the end read by the script: {os.getloadavg()[0]:.1f})",
        "",
        f"Budget: {args.n_train} training units, {args.n_test} test units per SCM; "
        f"mechanisms {', '.join(args.mechanisms)} (VAE KL weight beta = {_beta(args)}, "
        f"noise adversary weight {_indep(args)}); at most {args.image_epochs} epochs "
        f"(image_vae, image_hvae; early stopping), {args.epochs} epochs (CausalVAE, "
        f"tabular nodes), {args.diffusion_epochs} epochs "
        f"(image_diffusion{_diffusion_keys(args)}); the baselines reuse the first mechanism's model; torch one thread per SCM, "
        f"{args.jobs} SCM(s) in parallel on a 2-core machine shared with other jobs "
        "(times are wall clock). Generated by the script; see its docstring for the metrics.",
        "",
        "Effectiveness `eff_<attribute>`: accuracy for classes (higher is better), MAE for "
        "continuous attributes (lower is better), against the true counterfactual's attribute. "
        "Composition / reversibility: mean L1 to the factual image (composition through "
        "`counterfactual` is 0 by construction; `mechanism_null_l1`: the image mechanism's own "
        "abduction and decoding under the factual parents, `model.reconstruct`; "
        "`rev_passthrough`: share of reverted images equal to the counterfactual they came "
        "from); realism: Fréchet distance "
        "in reader features to the true counterfactual images; pixel RMSE to the exact "
        "counterfactual images.",
    ]
    for title, rows in results:
        effs = [k for k in rows[0] if k.startswith("eff_")]
        head = ["model", *effs, *COLUMNS]
        lines += ["", f"## {title}", "", "| " + " | ".join(head) + " |"]
        lines.append("|" + "---|" * len(head))
        for r in rows:
            cells = [r["model"]] + [_fmt(r.get(k)) for k in head[1:]]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _diffusion_keys(args: argparse.Namespace) -> str:
    keys = [f"{k} {getattr(args, 'diffusion_' + k)}" for k in DIFFUSION_OPTIONS]
    given = [k for k in keys if not k.endswith(" None")]
    return ", " + ", ".join(given) if given else ", its defaults"


def _beta(args: argparse.Namespace) -> str:
    return "each mechanism's default" if args.beta is None else str(args.beta)


def _indep(args: argparse.Namespace) -> str:
    return "the mechanisms' default" if args.independence is None else str(args.independence)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scms", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument(
        "--mechanisms",
        nargs="+",
        default=list(IMAGE_MECHANISMS),
        choices=[*IMAGE_MECHANISMS, *VARIANTS],
        help="image_vae_p0: image_vae with the standard normal prior (prior_modes=0); "
        "image_hvae_m0: image_hvae drawing fresh noise from the standard normal (noise_modes=0)",
    )
    ap.add_argument(
        "--beta",
        type=float,
        default=None,
        help="KL weight of the (H)VAE mechanisms (default: each mechanism's own: image_vae 1.0, "
        "image_hvae 0.5)",
    )
    ap.add_argument(
        "--image-epochs", type=int, default=60, help="(H)VAE epochs (early stopping, patience 8)"
    )
    ap.add_argument(
        "--independence",
        type=float,
        default=None,
        help="weight of the (H)VAE noise's parent adversary (default: the mechanism's)",
    )
    ap.add_argument(
        "--ablate",
        action="store_true",
        help="also score the (H)VAE counterfactuals with the latent's parent moments removed",
    )
    ap.add_argument(
        "--cf-weight",
        type=float,
        default=None,
        help="counterfactual training weight of the *_cf variants (default 1.0)",
    )
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--n-test", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--diffusion-epochs", type=int, default=10)
    for key, kind in DIFFUSION_OPTIONS.items():
        flag = "--diffusion-" + key.replace("_", "-")
        ap.add_argument(flag, type=kind, default=None, help=f"image_diffusion's {key}")
    ap.add_argument("--morpho-size", type=int, default=28, choices=(16, 28))
    ap.add_argument("--pendulum-size", type=int, default=28, choices=(16, 28, 32))
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument("--out", default="benchmarks/results/bench_counterfactual_images.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.diffusion_epochs = 300, 40, 1, 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max(1, args.jobs), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_case, name, args) for name in args.scms]
        results = [f.result() for f in futures]
    text = markdown(results, args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
