"""Abduction / decoding variants of one image_diffusion fit on the morpho digits (run 13).

One fit of the deep SCM with ``image_diffusion`` (15 epochs, the benchmark's settings) on the
units drawn with ``--seed`` (0: the benchmark's split; 11, 21: validation splits), saved to
``--model`` (and loaded from there when it exists), then every variant of ``--grid`` scored on
the same fit with ``study_diffusion_validation.scores`` (pixel RMSE against the exact
counterfactual images, effectiveness, composition, realism, thickness slopes, RMSE by edit size)
and ``study_ddim_ceiling.style_kept``. A variant is a JSON object:

- ``iters``: fixed-point refinements of each DDIM inversion move (the mechanism's
  ``inversion_iters``);
- ``level``: partial abduction, the share of the DDIM levels inverted (1: up to ``x_T``);
  decoding then starts from that level at the new parents;
- ``w``: contrast guidance in decoding, ``eps(x, pa_new) + (w - 1) (eps(x, pa_new) -
  eps(x, pa_factual))`` (a guidance on the parents' change; no unconditional model needed);
- ``steps``: DDIM steps of inversion and decoding.

Run: ``python benchmarks/study_diffusion_abduction.py --seed 11 --model /tmp/m11
--grid '[{"iters": 2}, {"iters": 1}, {"iters": 0}, {"level": 0.8}, {"w": 1.25}]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench_counterfactual_images as bench  # noqa: E402
from study_ddim_ceiling import style_kept  # noqa: E402
from study_diffusion_validation import scores, validation_split  # noqa: E402

from deepcause.generative import CausalGenerativeModel  # noqa: E402


def _levels(mech: Any, steps: int) -> torch.Tensor:
    """DDIM's noise levels for ``steps`` steps, from the last one down (as the mechanism)."""
    ts = torch.linspace(mech.steps - 1, 0, min(steps, mech.steps)).round().long()
    return torch.unique_consecutive(ts)


def use_variant(mech: Any, variant: dict[str, Any]) -> None:
    """Make the fitted mechanism's ``abduct`` / ``decode`` follow ``variant`` (``abduct``
    keeps the factual parents' features for the contrast guidance of the next ``decode``)."""
    one = torch.ones(())
    up = _levels(mech, variant.get("steps", mech.sample_steps)).flip(0)
    up = up[: max(1, round(variant.get("level", 1.0) * len(up)))]
    down, w, kept = up.flip(0), float(variant.get("w", 1.0)), {}
    mech.inversion_iters = int(variant.get("iters", mech.inversion_iters))
    mech.schedule = up.flip(0)  # encode() walks it upwards

    def decode(noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feats, x = mech.context_encoder(context), noise
        for i, t in enumerate(down):
            eps = mech._guided(x, t, feats)
            if w != 1.0:
                eps = eps + (w - 1.0) * (eps - mech._guided(x, t, kept["feats"]))
            ab_to = mech.alpha_bar[down[i + 1]] if i + 1 < len(down) else one
            x = mech._move(x, eps, mech.alpha_bar[t], ab_to)
        return x.clamp(-1.0, 1.0)

    def abduct(x: torch.Tensor, context: torch.Tensor, generator: Any = None) -> torch.Tensor:
        kept["feats"] = mech.context_encoder(context)
        return type(mech).encode(mech, x, context)

    mech.abduct, mech.decode = abduct, decode


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=11, help="units; the do() values use seed + 1")
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--model", required=True, help="directory to save the fit to / load from")
    ap.add_argument("--grid", default='[{"iters": 2}, {"iters": 1}, {"iters": 0}]')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    scm, reader, train, fact, noise, do, truth = validation_split(
        args.seed, args.n_train, args.n_test
    )
    if not Path(args.model).exists():
        model = CausalGenerativeModel(
            str(scm.graph),
            mechanisms={"image": "image_diffusion"},
            max_epochs=args.epochs,
            random_state=0,
            verbose=False,
        ).fit(train)
        model.save(args.model)
    rows = []
    for variant in json.loads(args.grid):
        fitted = CausalGenerativeModel.load(args.model, device="cpu")  # a fresh mechanism
        use_variant(fitted.mechanisms_["image"], variant)
        t0 = time.process_time()
        row = {"variant": json.dumps(variant), **scores(fitted, fact, do, truth, reader)}
        row["cf_cpu"] = time.process_time() - t0  # counterfactual and null intervention
        with torch.no_grad():
            cf = fitted.counterfactual(fact, do=do)["image"]
        rows.append({**row, **style_kept(cf, truth, noise, 28)})
        print(json.dumps({k: v if isinstance(v, str) else float(v) for k, v in rows[-1].items()}))
    head = list(rows[0])
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r[k] if k == "variant" else bench._fmt(r[k]) for k in head) + " |")


if __name__ == "__main__":
    main()
