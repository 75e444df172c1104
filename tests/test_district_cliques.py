"""The district-joint model's latent: one independent block per hidden confounder.

A district's bidirected edges are its hidden confounders. ``JointDistrictStrategy`` gives each
maximal clique of them its own latent block and a node reads only the blocks of its cliques,
so two nodes of a district that share no bidirected edge (the napkin's ``X`` and ``Y``) share
no latent: the model adds no confounding the graph rules out.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy
from deepcause.simulate.images import make_colored_digits_napkin
from deepcause.simulate.suite import get_case


@pytest.fixture(scope="module")
def napkin():
    case = get_case("napkin")
    return case, case.sample(300, random_state=0)


def _fit(case, df, strategy="joint"):  # noqa: ANN001
    model = CausalGenerativeModel(
        case.graph, max_epochs=2, random_state=0, latent_strategy=strategy, verbose=False
    )
    return model.fit(df)


def test_napkin_latent_blocks_follow_the_bidirected_cliques(napkin):
    case, df = napkin
    model = _fit(case, df)  # clique blocks: the default
    (district,) = model.districts_
    assert district.cliques == [("W1", "X"), ("W1", "Y")]
    b = district.block_dim
    assert district.latent_dim == 2 * b and district.latent_modes == 0  # tabular: N(0, I)
    # parents (W2 for X, X for Y, none for W1) then the node's own blocks
    widths = {v: model.mechanisms_[v].context_dim for v in ("W1", "X", "Y")}
    assert widths == {"W1": 2 * b, "X": 1 + b, "Y": 1 + b}
    z = district.sample_latent(5, torch.Generator().manual_seed(0))
    parts = district.node_latents(z)
    assert torch.equal(parts["W1"], z)
    assert torch.equal(parts["X"], z[:, :b]) and torch.equal(parts["Y"], z[:, b:])


def test_tabular_district_default_is_clique_blocks(napkin):
    """Clique blocks everywhere (tabular districts too), N(0, I) per block, step size 1e-2;
    one block for the whole district on request."""
    case, df = napkin
    model = _fit(case, df)
    (district,) = model.districts_
    assert district.cliques == [("W1", "X"), ("W1", "Y")] and district.latent_blocks == "cliques"
    assert not district.encoder_stats and district.priors is None
    assert district.learning_rate == 1e-2 and district.posterior == "full"
    assert model.mechanisms_["X"].context_dim == 1 + district.block_dim
    one = JointDistrictStrategy(model, district.district, latent_blocks="district")
    assert one.cliques == [("W1", "X", "Y")] and one.latent_dim == one.block_dim
    with pytest.raises(DataValidationError, match="latent_blocks must be"):
        JointDistrictStrategy(model, district.district, latent_blocks="edges")


def test_mixture_prior_per_block(napkin):
    """Independent mixture priors per block: finite draws and densities."""

    class _Modes(JointDistrictStrategy):
        def __init__(self, model, district, **kwargs):  # noqa: ANN001
            super().__init__(model, district, **{"latent_modes": 3, **kwargs})

    case, df = napkin
    modes = _fit(case, df, _Modes).districts_[0]
    assert len(modes.priors) == 2 and modes.priors[0].k == 3
    z = modes.sample_latent(400, torch.Generator().manual_seed(0))
    assert z.shape == (400, modes.latent_dim) and torch.isfinite(z).all()
    log_p = modes._log_prior(z[None])
    assert log_p.shape == (1, 400) and torch.isfinite(log_p).all()


def test_image_district_defaults_round_trip_through_save(tmp_path):
    """An image district gets clique blocks, mixture priors and colour statistics by default;
    the saved model samples the same images."""
    ds = make_colored_digits_napkin(120, truth_n=10, random_state=0)
    model = CausalGenerativeModel(ds.graph, max_epochs=1, random_state=0, verbose=False)
    model.fit(ds.data)
    (district,) = model.districts_
    assert district.latent_blocks == "cliques" and district.encoder_stats
    assert district.posterior == "diagonal" and district.learning_rate == 3e-3
    assert len(district.priors) == 2 and district.latent_modes == 12
    back = CausalGenerativeModel.load(str(model.save(tmp_path / "napkin")))
    ref = ds.extras["x_reference"][0]
    a = model.sample(8, do={"X": ref}, random_state=1)["Y"]
    assert np.array_equal(a, back.sample(8, do={"X": ref}, random_state=1)["Y"])
