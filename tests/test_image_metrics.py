"""Image metrics on exact truths: the Morpho-style digits' counterfactuals score perfectly and
the fresh-noise baseline (abduction skipped) scores measurably worse, so the metrics can fail."""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.exceptions import DataValidationError
from deepcause.metrics import (
    attribute_tv,
    composition,
    counterfactual_pixel_error,
    effectiveness,
    feature_mmd,
    frechet_distance,
    realism,
    reversibility,
    save_image_grid,
)
from deepcause.simulate import colored_digits_napkin, morpho_digits, train_attribute_readers


@pytest.fixture(scope="module")
def morpho():
    scm = morpho_digits(28)
    return scm, train_attribute_readers(scm, random_state=0)


@pytest.fixture(scope="module")
def units(morpho):
    scm, _ = morpho
    noise = scm.sample_noise(400, random_state=11)
    factual, cf = scm.counterfactual(noise, do={"thickness": 3.5})
    fresh = scm.sample(400, do={"thickness": 3.5}, random_state=12)  # new noise: no abduction
    return noise, factual, cf, fresh


def test_attribute_tv_identical_zero_shifted_positive(morpho):
    scm, reader = morpho
    a = scm.sample(500, random_state=0)["image"]
    b = scm.sample(500, random_state=1)["image"]
    thick = scm.sample(500, do={"thickness": 4.0}, random_state=2)["image"]
    assert attribute_tv(a, a, reader) == 0.0
    same = attribute_tv(a, b, reader, attributes="digit")
    assert same < 0.12
    assert attribute_tv(a, thick, reader, attributes="thickness") > 0.5
    assert attribute_tv(a, thick, reader, attributes="digit") < 0.15  # digits unaffected
    assert attribute_tv(np.array([0, 0, 1, 1]), np.array([1, 1, 1, 1])) == 0.5
    with pytest.raises(DataValidationError, match="not read"):
        attribute_tv(a, b, reader, attributes="color")


def test_feature_mmd_symmetric_and_sensitive(morpho):
    scm, reader = morpho
    a = scm.sample(300, random_state=0)["image"]
    b = scm.sample(300, random_state=1)["image"]
    thin = scm.sample(300, do={"thickness": 0.5}, random_state=2)["image"]
    assert feature_mmd(a, b, reader) == pytest.approx(feature_mmd(b, a, reader), abs=1e-12)
    assert feature_mmd(a, thin, reader) > 10 * max(feature_mmd(a, b, reader), 1e-3)


def test_frechet_and_realism(morpho):
    scm, reader = morpho
    a = scm.sample(400, random_state=0)["image"]
    b = scm.sample(400, random_state=1)["image"]
    assert realism(a, a, reader) == 0.0
    noise = np.random.default_rng(0).uniform(size=a.shape).astype(np.float32)
    assert realism(noise, a, reader) > 20 * realism(b, a, reader)
    f = np.random.default_rng(1).normal(size=(300, 5))
    assert frechet_distance(f, f) == 0.0
    assert frechet_distance(f, f + 2.0) == pytest.approx(20.0, rel=1e-6)


def test_axioms_on_exact_counterfactuals_and_fresh_noise_baseline(morpho, units):
    scm, reader = morpho
    noise, factual, cf, fresh = units
    # effectiveness: the exact counterfactual shows the intervened thickness and keeps the digit
    assert effectiveness(cf["image"], 3.5, reader, "thickness") < 0.1 * (4.5 - 0.25)
    assert effectiveness(cf["image"], factual["digit"], reader, "digit") >= 0.9
    assert effectiveness(factual["image"], 3.5, reader, "thickness") > 1.0  # not intervened
    assert effectiveness(fresh["image"], factual["digit"], reader, "digit") < 0.3
    # composition: the null intervention returns the factual image
    _, null = scm.counterfactual(noise, do={"thickness": factual["thickness"]})
    comp = composition(factual["image"], null["image"], reader)
    assert comp == {"l1": 0.0, "feature": 0.0}
    assert composition(factual["image"], fresh["image"], reader)["l1"] > 0.05
    # reversibility: do(thickness = 3.5) then back to the factual thickness, same noise
    _, back = scm.counterfactual(noise, do={"thickness": factual["thickness"]})
    assert reversibility(factual["image"], back["image"])["l1"] == 0.0
    # exact pixel error: 0 for the truth, large for the fresh-noise baseline
    assert counterfactual_pixel_error(cf["image"], cf["image"]) == 0.0
    base = counterfactual_pixel_error(fresh["image"], cf["image"])
    assert base > 0.2
    per_unit = counterfactual_pixel_error(fresh["image"], cf["image"], per_unit=True)
    assert per_unit.shape == (400,) and np.sqrt(np.mean(per_unit**2)) == pytest.approx(base)


def test_metric_input_errors(morpho):
    _, reader = morpho
    a = np.zeros((3, 1, 28, 28), dtype=np.float32)
    with pytest.raises(DataValidationError, match="same shape"):
        counterfactual_pixel_error(a, np.zeros((2, 1, 28, 28)))
    with pytest.raises(DataValidationError, match=r"\(n, C, H, W\)"):
        composition(np.zeros((3, 28, 28)), a)
    with pytest.raises(DataValidationError, match="does not read"):
        effectiveness(a, 1, reader, "color")
    with pytest.raises(DataValidationError, match="images of shape"):
        reader.predict(np.zeros((2, 3, 16, 16)))
    with pytest.raises(DataValidationError, match="reader"):
        effectiveness(a, 1, None, "digit")


def test_colored_attribute_tv_separates_do_from_conditioning():
    """The conditioning baseline of the napkin query is far from the truth in attribute TV."""
    scm = colored_digits_napkin()
    reader = train_attribute_readers(scm, n=2000, random_state=0)
    obs = scm.sample(12_000, random_state=0, include_latent=True)
    keep = (obs["W2"] == 1) & (obs["X_color"] == 3)  # images showing a yellow 1
    do = scm.sample(2000, do={"W2": 1, "X_color": 3}, random_state=1)
    assert attribute_tv(obs["Y"][keep], do["Y"], reader, attributes="color") > 0.2
    other = scm.sample(2000, do={"W2": 1, "X_color": 3}, random_state=2)
    assert attribute_tv(other["Y"], do["Y"], reader, attributes="color") < 0.05


def test_save_image_grid(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    images = colored_digits_napkin().sample(10, random_state=0)["X"]
    path = save_image_grid(images, tmp_path / "grid.png", ncols=5)
    grid = mpimg.imread(path)
    assert grid.shape[:2] == (2 * 17, 5 * 17)
    with pytest.raises(DataValidationError, match="1 or 3 channels"):
        save_image_grid(np.zeros((2, 2, 4, 4)), tmp_path / "bad.png")
