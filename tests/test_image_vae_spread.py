"""The spread of what an image's own noise sets, in ``image_vae`` samples, against the simulator.

The fresh front door (``benchmarks/fresh_image_scms.py``: ``T -> M -> Y``, ``T <-> Y``, ``M``
a 20x20 bar whose horizontal centre is uniform over 2 px by its own noise, whatever ``T``)
showed ``image_vae``'s samples with the bar's centre at the mean: W1 0.81-0.84 observational
s.d. against the simulator's ``do(T)`` (session 10). At the default KL weight the latent does
not carry the centre (the reconstructions lose it too), so no prior can bring it back; with
``beta=0.1`` the latent carries it, and ``noise_modes`` draws fresh noise from a mixture of
the training units' abducted noise, where the decoder renders real bars (the standard normal
spreads the samples too wide at that weight). Session 11, branch ``s11-spread``.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel
from deepcause.generative.mechanisms import ImageVAEMechanism
from deepcause.metrics import wasserstein_1d


@pytest.fixture(scope="module")
def fs(benchmark_module):
    return benchmark_module("fresh_image_scms")


def _centre_x(images: np.ndarray) -> np.ndarray:
    """Intensity-weighted horizontal centre of each image (exact for the symmetric bars)."""
    g = np.asarray(images, np.float64)[:, 0]
    xx = np.arange(g.shape[-1]) + 0.5
    return (g * xx).sum((1, 2)) / g.sum((1, 2))


def _centre_spread(fs, mech: ImageVAEMechanism) -> tuple[float, float]:
    """(W1, s.d. ratio) of the generated bars' centre x against the simulator's under
    ``do(T = 1)``, in units of the true s.d.; ``M``'s mechanism fitted given ``T`` alone."""
    scm = fs.frontdoor_bar_scm(20)
    data = scm.sample(3000, random_state=0, as_arrays=True)
    model = CausalGenerativeModel(
        "T -> M", mechanisms={"M": mech}, random_state=0, verbose=False
    ).fit({"T": data["T"], "M": data["M"]})
    got = _centre_x(model.sample(1000, do={"T": 1.0}, random_state=1)["M"])
    want = _centre_x(scm.sample(1000, do={"T": 1.0}, random_state=2, as_arrays=True)["M"])
    sd = want.std()
    return wasserstein_1d(got, want) / sd, got.std() / sd


@pytest.mark.slow
def test_bar_centre_spread_against_the_simulator(fs):
    """The centre's law under ``do(T = 1)``: W1 under 0.3 s.d. and the s.d. within 30%
    (measured: W1 0.13, s.d. ratio 1.17, 58 CPU s; the default ``image_vae``, 12-mode prior at
    ``beta=1``, gives W1 0.80 and a ratio of 0.09 here; at 1,500 units and 25 epochs the
    latent did not pick the centre up yet at ``beta=0.1`` either: W1 0.76)."""
    w1, ratio = _centre_spread(fs, ImageVAEMechanism(beta=0.1, prior_modes=0, noise_modes=16))
    assert w1 < 0.3 and 0.7 < ratio < 1.3, (w1, ratio)


def test_noise_modes_needs_the_standard_normal_prior():
    """The mixture prior's noise holds Gumbel draws: a mixture fitted to it is refused."""
    with pytest.raises(
        DataValidationError, match="set prior_modes=0 and discrete_noise=0, or noise_modes=0"
    ):
        ImageVAEMechanism(dim=64, context_dim=1, image_shape=(1, 8, 8), noise_modes=4)
    with pytest.raises(DataValidationError, match="no discrete noise"):
        ImageVAEMechanism(
            dim=64, context_dim=1, image_shape=(1, 8, 8), prior_modes=0, discrete_noise=3,
            noise_modes=4,
        )  # fmt: skip
