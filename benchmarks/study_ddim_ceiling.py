"""The ceiling of DDIM abduction on the morpho digits: DDIM counterfactuals with the exact denoiser.

Given its parents (digit, thickness, intensity), a morpho image is one of finitely many renders:
the digit's glyphs (uniform, picked by the style noise) times the nine whole-pixel shifts
(uniform), each drawn deterministically at the given thickness and intensity. So the exact
posterior mean ``E[x_0 | x_t, pa]`` of a diffusion model of this law is a softmax-weighted mean
of those renders, and the exact noise prediction follows. Running the image_diffusion
mechanism's own DDIM inversion and sampling (its noise levels, ``sample_steps`` and
``inversion_iters``) with that exact noise predictor gives the counterfactuals a perfectly
trained noise network would give: what DDIM abduction itself can reach on this SCM. The
tabular counterfactual values (thickness set, intensity through its own noise) are the SCM's
exact ones, so only the image step is scored. Same split, intervention and readers as
``bench_counterfactual_images.py`` (its test units).

Also reported, for every counterfactual image: whether the render nearest to it (among the
digit's glyphs x shifts at the true counterfactual parents) is the unit's own glyph and shift
(``style_kept``), i.e. whether the counterfactual kept the unit's style.

Run: ``python benchmarks/study_ddim_ceiling.py [--n-test 200] [--sample-steps 25]
[--inversion-iters 2] [--chunk 25]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench_counterfactual_images as bench  # noqa: E402

from deepcause.generative.mechanisms import ImageDiffusionMechanism  # noqa: E402
from deepcause.simulate import morpho_digits  # noqa: E402
from deepcause.simulate._render import glyph_bank, render_digits  # noqa: E402

SHIFTS = np.array([(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)])


def renders(size: int, digit: np.ndarray, thickness: np.ndarray, intensity: np.ndarray) -> Any:
    """Every unit's candidate renders in ``[-1, 1]`` ``(n, K, D)`` (padded), a validity mask
    ``(n, K)``, and each candidate's glyph index and shift."""
    bank = glyph_bank(size)
    k = int(bank.counts.max()) * len(SHIFTS)
    n = len(digit)
    cand = np.zeros((n, k, size * size), dtype=np.float32)
    mask = np.zeros((n, k), dtype=bool)
    glyph = np.repeat(np.arange(k // len(SHIFTS)), len(SHIFTS))
    shift = np.tile(SHIFTS, (k // len(SHIFTS), 1))
    for i in range(n):  # one unit's candidates per call (different digit and parents)
        c = int(bank.counts[digit[i]])
        m = c * len(SHIFTS)
        r = render_digits(
            np.full(m, digit[i]),
            size=size,
            style=(glyph[:m] + 0.5) / c,
            thickness=thickness[i],
            intensity=intensity[i],
            shift=shift[:m],
        )
        cand[i, :m], mask[i, :m] = 2.0 * r.reshape(m, -1) - 1.0, True
    return torch.from_numpy(cand), torch.from_numpy(mask), glyph, shift


class ExactDenoiser(ImageDiffusionMechanism):
    """The mechanism's DDIM sampler and inversion with the exact noise of a finite mixture of
    point masses (context: the row of the candidate set each unit uses)."""

    bank: tuple[torch.Tensor, torch.Tensor]
    norms: torch.Tensor

    def _guided(self, x: torch.Tensor, t: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        cand, mask = self.bank
        lo = int(feats[0, 0])  # the rows are a contiguous range of the bank
        c, m = cand[lo : lo + len(x)], mask[lo : lo + len(x)]
        ab, xd = self.alpha_bar[t].double(), x.double()
        # |x - s c|^2 up to the per-unit constant |x|^2, as a batched product
        cross = torch.bmm(c, xd[:, :, None])[:, :, 0]
        d2 = (ab * self.norms[lo : lo + len(x)] - 2.0 * ab.sqrt() * cross) / (2.0 * (1.0 - ab))
        w = torch.softmax(torch.where(m, -d2, -torch.inf), dim=1)
        x0 = torch.einsum("nk,nkd->nd", w, c)
        return ((x.double() - ab.sqrt() * x0) / (1.0 - ab).sqrt()).float()


def ceiling_fn(scm: Any, noise: dict, size: int, args: argparse.Namespace) -> Any:
    """``cf(mapping, do)``: the SCM's exact tabular counterfactual, the image by exact DDIM."""
    mech = ExactDenoiser(
        dim=size * size,
        context_dim=1,
        image_shape=(1, size, size),
        width=8,
        sample_steps=args.sample_steps,
        inversion_iters=args.inversion_iters,
    )

    def cf(fact: bench.Data, do: dict) -> bench.Data:
        _, out = scm.counterfactual(noise, do=do, as_arrays=True)
        images = []
        for lo in range(0, len(fact["image"]), args.chunk):
            s = slice(lo, lo + args.chunk)
            src = renders(size, fact["digit"][s], fact["thickness"][s], fact["intensity"][s])
            dst = renders(size, out["digit"][s], out["thickness"][s], out["intensity"][s])
            n = len(fact["image"][s])
            mech.bank = (torch.cat([src[0], dst[0]]).double(), torch.cat([src[1], dst[1]]))
            mech.norms = mech.bank[0].pow(2).sum(-1)
            rows = torch.arange(2 * n, dtype=torch.float32)[:, None]
            x = torch.from_numpy(2.0 * fact["image"][s].reshape(n, -1) - 1.0).float()
            with torch.no_grad():
                x_cf = mech.decode(mech.encode(x, rows[:n]), rows[n:])
            images.append(((x_cf + 1.0) / 2.0).numpy().reshape(n, 1, size, size))
        return {**out, "image": np.concatenate(images)}

    return cf


def style_kept(cf: np.ndarray, truth: bench.Data, noise: dict, size: int) -> dict[str, float]:
    """The share of counterfactuals whose nearest render has the unit's own glyph, shift, both."""
    bank = glyph_bank(size)
    d = truth["digit"].astype(np.int64)
    u = noise["image"]
    own = np.floor(np.clip(u[:, 0], 0, 1 - 1e-9) * bank.counts[d]).astype(np.int64)
    own_shift = np.floor(3 * u[:, 1:]).astype(np.int64) - 1
    cand, mask, glyph, shift = renders(size, d, truth["thickness"], truth["intensity"])
    x = torch.from_numpy(2.0 * cf.reshape(len(cf), -1) - 1.0)
    d2 = torch.where(mask, (cand - x[:, None]).pow(2).sum(-1), torch.inf)
    j = d2.argmin(1).numpy()
    g, s = glyph[j] == own, (shift[j] == own_shift).all(1)
    return {"glyph_kept": g.mean(), "shift_kept": s.mean(), "style_kept": (g & s).mean()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=3000, help="units before the test units")
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--sample-steps", type=int, default=25)
    ap.add_argument("--inversion-iters", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=25, help="units per batch (memory)")
    ap.add_argument("--size", type=int, default=28, choices=(16, 28))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    scm = morpho_digits(args.size)
    case = bench.morpho_case(args.n_train, args.n_test, args.size)
    _, _, noise = bench._split(scm, args.n_train, args.n_test, 0)  # the case's test units
    fn = ceiling_fn(scm, noise, args.size, args)
    t0 = time.perf_counter()
    row = bench.score(case, 0.0, fn)
    kept = style_kept(fn(case.fact, case.do)["image"], case.true_cf, noise, args.size)
    row = {**row, **kept}
    head = [k for k in row if k.startswith("eff_")] + [*bench.COLUMNS[:4], *kept]
    print(f"{case.name}; {args.sample_steps} DDIM steps, {args.inversion_iters} refinements")
    print("| model | " + " | ".join(head) + " |\n|" + "---|" * (len(head) + 1))
    print("| DDIM, exact denoiser | " + " | ".join(bench._fmt(row[k]) for k in head) + " |")
    print(f"wall clock {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
