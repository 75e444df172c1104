"""CausalVAE on the pendulum-and-light scene, scored against the scene's exact truth."""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.exceptions import DataValidationError, InvalidParameterError, ModelFileError
from deepcause.generative.causal_vae import CausalVAE
from deepcause.metrics import composition, counterfactual_pixel_error
from deepcause.simulate import (
    make_pendulum,
    pendulum_scm,
    render_pendulum,
    shadow_geometry,
    train_pendulum_readers,
)

CONCEPTS = ("angle", "light", "shadow_length", "shadow_position")
TRUE_EDGES = {
    ("angle", "shadow_length"),
    ("angle", "shadow_position"),
    ("light", "shadow_length"),
    ("light", "shadow_position"),
}
THRESHOLD = 0.3  # |A[i, j]| in standardized label units


# ---------------------------------------------------------------------- the scene
def test_pendulum_counterfactuals_are_exact():
    scm = pendulum_scm(16)
    noise = scm.sample_noise(50, random_state=3)
    f, cf = scm.counterfactual(noise, do={"angle": 5.0})
    assert np.array_equal(cf["light"], f["light"])
    length, position = shadow_geometry(np.full(50, 5.0), f["light"])
    assert np.allclose(cf["shadow_length"], length) and np.allclose(cf["shadow_position"], position)
    again = render_pendulum(5.0, f["light"], length, position, 16, style=noise["image"])
    assert np.array_equal(cf["image"], again)
    # do(shadow_length) changes no other concept; only the image follows
    f2, cf2 = scm.counterfactual(noise, do={"shadow_length": 12.0})
    for c in ("angle", "light", "shadow_position"):
        assert np.array_equal(cf2[c], f2[c])
    assert not np.array_equal(cf2["image"], f2["image"])
    ds = make_pendulum(50, size=16, random_state=3)
    f3, _ = ds.scm.counterfactual(ds.extras["noise"], do={"light": 120.0})
    assert np.array_equal(f3["image"], ds.data["image"])


def test_pendulum_readers_read_the_concepts():
    reader = train_pendulum_readers(size=16, n=1500)
    ds = make_pendulum(400, size=16, random_state=7)
    read = reader.predict(ds.data["image"])
    bounds = {"angle": 1.0, "light": 1.0, "shadow_length": 0.8, "shadow_position": 0.4}
    for c, bound in bounds.items():
        assert np.mean(np.abs(read[c] - ds.data[c])) < bound, c


def test_pendulum_refuses_bad_input():
    with pytest.raises(DataValidationError, match="size"):
        pendulum_scm(20)
    with pytest.raises(DataValidationError, match="angle"):
        render_pendulum([np.nan], 110.0, 3.0, 9.0, size=16)


# ---------------------------------------------------------------------- CausalVAE
@pytest.fixture(scope="module")
def fitted():
    ds = make_pendulum(1500, size=16, random_state=0)
    vae = CausalVAE(
        concept_order=CONCEPTS,
        concept_dim=2,
        hidden_sizes=(128,),
        max_epochs=20,
        random_state=0,
        verbose=False,
    ).fit(ds.data)
    reader = train_pendulum_readers(size=16, n=1500)
    return vae, reader, make_pendulum(300, size=16, random_state=5)


def test_learned_dag_matches_the_true_concept_dag(fitted):
    vae = fitted[0]
    graph = vae.learned_graph(threshold=THRESHOLD)
    assert set(graph.directed_edges) == TRUE_EDGES
    assert graph.nodes == CONCEPTS
    assert abs(vae.adjacency_[0, 1]) < 0.1  # angle and light: learned independent


def test_interventions_move_descendants_in_the_right_direction(fitted):
    vae, reader, test = fitted
    x = test.data["image"]
    noise = test.extras["noise"]
    low, high = (vae.intervene(x, do={"angle": a}) for a in (-30.0, 10.0))
    _, true_low = test.scm.counterfactual(noise, do={"angle": -30.0})
    _, true_high = test.scm.counterfactual(noise, do={"angle": 10.0})
    r_low, r_high = reader.predict(low), reader.predict(high)
    for c in ("angle", "shadow_length", "shadow_position"):
        model = np.mean(r_high[c] - r_low[c])
        truth = np.mean(true_high[c] - true_low[c])
        assert np.sign(model) == np.sign(truth) and abs(model) > 0.5 * abs(truth), c
    assert abs(np.mean(r_high["light"] - r_low["light"])) < 1.0  # not a descendant
    far, near = (reader.predict(vae.intervene(x, do={"light": v})) for v in (130.0, 105.0))
    for c in ("shadow_length", "shadow_position"):
        assert np.mean(far[c] - near[c]) > 0.5, c
    # the counterfactual images are closer to the truth than the factual ones are
    assert counterfactual_pixel_error(high, true_high["image"]) < counterfactual_pixel_error(
        x, true_high["image"]
    )


def test_null_intervention_reproduces_the_image(fitted):
    vae, _, test = fitted
    x = test.data["image"]
    null = vae.intervene(x, do={"angle": vae.predict_concepts(x)["angle"]})
    assert np.allclose(null, vae.reconstruct(x), atol=1e-5)
    assert composition(x, null)["l1"] < 0.05  # measured 0.026


def test_same_seed_same_results_and_save_load(tmp_path):
    ds = make_pendulum(200, size=16, random_state=1)
    kw = dict(hidden_sizes=(32,), concept_dim=2, max_epochs=2, random_state=4, verbose=False)
    a, b = CausalVAE(**kw).fit(ds.data), CausalVAE(**kw).fit(ds.data)
    x = ds.data["image"][:5]
    assert np.array_equal(a.adjacency_, b.adjacency_)
    out = a.intervene(x, do={"light": 110.0})
    assert np.array_equal(out, b.intervene(x, do={"light": 110.0}))
    loaded = CausalVAE.load(a.save(tmp_path / "vae"))
    assert np.array_equal(loaded.intervene(x, do={"light": 110.0}), out)
    assert loaded.learned_graph(0.01).directed_edges == a.learned_graph(0.01).directed_edges
    (tmp_path / "vae" / "weights.pt").write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="checksum"):
        CausalVAE.load(tmp_path / "vae")


def test_causal_vae_refuses_bad_input():
    ds = make_pendulum(60, size=16, random_state=2)
    with pytest.raises(InvalidParameterError, match="max_epochs"):
        CausalVAE(max_epochs=0).fit(ds.data)
    with pytest.raises(DataValidationError, match="concept_order"):
        CausalVAE(concept_order=("angle", "light"), max_epochs=1, verbose=False).fit(ds.data)
    with pytest.raises(DataValidationError, match="image entry"):
        CausalVAE(image="img").fit(ds.data)
    vae = CausalVAE(hidden_sizes=(16,), max_epochs=1, random_state=0, verbose=False).fit(ds.data)
    with pytest.raises(DataValidationError, match="not a concept"):
        vae.intervene(ds.data["image"][:2], do={"colour": 1.0})
    with pytest.raises(DataValidationError, match="shape"):
        vae.intervene(np.zeros((2, 3, 28, 28)), do={"angle": 0.0})


@pytest.mark.slow
def test_learned_order_without_a_prior_is_a_dag():
    """Without ``concept_order`` the acyclicity constraint holds, but least squares over
    standardized labels does not orient the shadow edges correctly on this scene (the
    shadows are near-deterministic, so regressing a root on them fits better): we assert
    only what holds (a DAG; not the true one, so that a future fix shows up here)."""
    ds = make_pendulum(1500, size=16, random_state=0)
    vae = CausalVAE(
        concept_dim=2, hidden_sizes=(128,), max_epochs=20, random_state=0, verbose=False
    ).fit(ds.data)
    assert vae.history_[-1]["h"] < 1e-2  # the acyclicity constraint holds
    graph = vae.learned_graph(threshold=THRESHOLD)  # a CausalGraph is acyclic by construction
    assert set(graph.directed_edges) != TRUE_EDGES  # measured: only shadow_length -> light
