"""ID-GEN's image factor ``Y | W1, W2, X`` of the coloured-digits napkin, fitted alone.

Fits the factor as :class:`~deepcause.generative.IDGenSampler` does
(``fit_factor(data, ["Y"], ["W1", "W2", "X"], seed, mechanisms={"Y": ImageVAEMechanism(**kw)},
max_epochs=EPOCHS)``) on ``N`` units of data seed 0, draws one prior sample of ``Y`` per unit of
2,000 held-out units (data seed 7) at the unit's own ``W1, W2, X`` (two draws, averaged) and
reads the samples with the simulator's readers: how often ``Y``'s digit is ``X``'s (truth 0.91),
its colour ``X``'s, its colour ``W1`` (the ``U2`` link), and the last two on the off-diagonal
cells ``W1 != W2`` that ID-GEN's numerator up-weights. The first row is the held-out data's.
Then what the latent carries (:func:`latent_report`): on the held-out units whose ``Y`` digit
is not ``X``'s ("off-digit"), how often the decoded posterior mean keeps ``Y``'s digit, and the
reconstruction's excess over the pixels' own entropy (nats per image, the Bernoulli ELBO's
term) and the KL term (nats, unweighted) on the off- and on-digit units (run 16).

Usage: ``python benchmarks/study_napkin_factor.py N SEED [JSON] [EPOCHS]`` (``JSON``: keywords
of ``ImageVAEMechanism``, e.g. ``'{"beta": 4}'``, and ``"mechanism"`` another image
mechanism's name, e.g. ``"image_vae_mixture"``; ``EPOCHS`` default 30; ``SEED`` the model's)
(results: ``benchmarks/results/bench_images.md``, runs 13, 14 and 16).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from deepcause.generative._idgen_factors import fit_factor
from deepcause.generative.mechanisms import ImageVAEMechanism, make_mechanism
from deepcause.generative.mechanisms._image_priors import normal_log_prob
from deepcause.simulate import read_color, read_digit
from deepcause.simulate.images import make_colored_digits_napkin

COLUMNS = ("digit=X", "colour=X", "colour=W1", "off: colour=W1", "off: colour=X")


def shares(digit: np.ndarray, colour: np.ndarray, test: dict) -> np.ndarray:
    """The shares of :data:`COLUMNS` for ``Y``'s digits and colours on the held-out units."""
    xd, xc = read_digit(test["X"]), read_color(test["X"])
    w1, w2 = np.asarray(test["W1"]), np.asarray(test["W2"])
    off = w1 != w2
    return np.array([
        np.mean(digit == xd), np.mean(colour == xc), np.mean(colour == w1),
        np.mean(colour[off] == w1[off]), np.mean(colour[off] == xc[off]),
    ])  # fmt: skip


def _nats(mech: ImageVAEMechanism, x: torch.Tensor, feats: torch.Tensor) -> tuple:
    """Per unit: reconstruction excess over the pixels' entropy and the KL term (one-sample
    estimates averaged over 4 draws of ``z``), and the decoded posterior means."""
    mu, log_var = mech._posterior(x, feats)
    target = (mech._image(x) + 1.0) / 2.0
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    entropy = bce(torch.logit(target.clamp(1e-6, 1 - 1e-6)), target, reduction="none").sum(
        (1, 2, 3)
    )
    gen = torch.Generator().manual_seed(0)
    rec, kl = torch.zeros(len(x)), torch.zeros(len(x))
    for _ in range(4):
        z = mu + torch.randn(mu.shape, generator=gen) * (0.5 * log_var).exp()
        rec += bce(mech._logits(z, feats), target, reduction="none").sum((1, 2, 3)) / 4
        if mech.prior is None:
            kl += 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1) / 4
        else:
            kl += (normal_log_prob(z, mu, 0.5 * log_var) - mech.prior.log_prob(z, feats)) / 4
    means = 2.0 * torch.sigmoid(mech._logits(mu, feats)) - 1.0
    return (rec - entropy).numpy(), kl.numpy(), means.reshape(-1, *mech.image_shape).numpy()


def latent_report(factor, test: dict) -> str:
    """What the fitted ``Y`` VAE's latent carries on the held-out units (see the module doc)."""
    mech = factor.mechanisms_["Y"]
    if mech.discrete_noise:
        return "latent report: not computed with discrete_noise"
    mech.eval()
    enc = factor.encode(test)
    with torch.no_grad():
        feats = mech.context_encoder(factor.context("Y", enc))
        excess, kl, means = _nats(mech, enc["Y"], feats)
    xd, yd = read_digit(test["X"]), read_digit(test["Y"])
    off, kept = yd != xd, read_digit(factor.specs_["Y"].restore_image(means)) == yd
    return (
        f"latent: posterior mean keeps Y's digit on {kept[off].mean():.3f} of the {off.sum()} "
        f"off-digit units ({kept[~off].mean():.3f} of the others); reconstruction excess "
        f"{excess[off].mean():.1f} / {excess[~off].mean():.1f} nats (off / on), "
        f"KL {kl[off].mean():.2f} / {kl[~off].mean():.2f} nats"
    )


def main() -> None:
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    kw = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    kind = kw.pop("mechanism", "image_vae")  # e.g. "image_vae_mixture" (run 17)
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    train = make_colored_digits_napkin(n, truth_n=10, random_state=0).data
    test = make_colored_digits_napkin(2000, truth_n=10, random_state=7).data
    cpu = time.process_time()
    factor = fit_factor(
        train, ["Y"], ["W1", "W2", "X"], seed, mechanisms={"Y": make_mechanism(kind, **kw)},
        max_epochs=epochs, verbose=False,
    )  # fmt: skip
    cpu = time.process_time() - cpu
    do = {k: test[k] for k in ("W1", "W2", "X")}
    draws = [np.asarray(factor.sample(2000, do=do, random_state=100 + r)["Y"]) for r in range(2)]
    model = np.mean([shares(read_digit(y), read_color(y), test) for y in draws], axis=0)
    data = shares(read_digit(test["Y"]), read_color(test["Y"]), test)
    print(f"kw={kw} model seed {seed}, {n} units, {epochs} epochs, fit CPU {cpu:.0f} s")
    print("      | " + " | ".join(COLUMNS))
    for name, row in (("data", data), ("model", model)):
        print(f"{name:5s} | " + " | ".join(f"{v:.3f}" for v in row))
    print(latent_report(factor, test))


if __name__ == "__main__":
    main()
