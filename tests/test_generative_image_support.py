"""do() images unlike the node's training images warn (PositivityWarning), through both latent
strategies and after save/load; do-images from the training distribution do not.

The design: ``T`` sets the column of a vertical bar in an 8x8 grey image ``I``; a horizontal
bar is an image no unit ever had. The rule (module docstring of
``deepcause.generative._image_support``) is checked on the repository's image simulators too:
fresh images of the same SCM are flagged at about the calibrated false-alarm rate, images of
another SCM far more often.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deepcause.exceptions import PositivityWarning
from deepcause.generative import CausalGenerativeModel, load_model
from deepcause.generative._image_support import ImageSupport
from deepcause.simulate.images import make_confounded_digit_label, make_morpho_digits

FAST = {"max_epochs": 1, "random_state": 0, "verbose": False}


def _horizontal(n: int = 1) -> np.ndarray:
    img = np.zeros((n, 1, 8, 8))
    img[:, 0, 3, :] = 0.8
    return img


def _warnings(call) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if issubclass(w.category, PositivityWarning)]


@pytest.fixture(scope="module")
def bars(bar_images):
    data = bar_images(600, 0)
    return data, CausalGenerativeModel("T -> I; I -> Y", **FAST).fit(data)


def test_a_do_image_unlike_the_training_images_warns_and_a_training_image_does_not(
    bars, bar_images
):
    data, m = bars
    said = _warnings(lambda: m.sample(5, do={"I": _horizontal()[0]}, random_state=0))
    assert len(said) == 1 and "unlike the training images of 'I'" in said[0], said
    assert "extrapolation" in said[0]
    assert not _warnings(lambda: m.sample(5, do={"I": data["I"][7]}, random_state=0))
    fresh = bar_images(300, 1)  # new units of the same SCM, one image each: no warning
    assert not _warnings(lambda: m.counterfactual(fresh, do={"I": bar_images(300, 2)["I"]}))


def test_a_counterfactual_with_many_unlike_images_warns_with_the_share(bars, bar_images):
    _, m = bars
    fresh = bar_images(300, 1)
    images = fresh["I"].copy()
    images[:150] = _horizontal(150)  # half the units get a horizontal bar
    said = _warnings(lambda: m.counterfactual(fresh, do={"I": images}))
    mine = [s for s in said if s.startswith("do(I) sets ")]
    assert len(mine) == 1 and "of 300 images" in mine[0] and "'I'" in mine[0], said


def test_the_check_survives_save_and_load(bars, tmp_path):
    _, m = bars
    m.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    said = _warnings(lambda: back.sample(5, do={"I": _horizontal()[0]}, random_state=0))
    assert len(said) == 1 and "'I'" in said[0]


def test_the_idgen_route_checks_its_do_images_too(bar_images):
    data = bar_images(600, 0)
    m = CausalGenerativeModel("T -> I; I -> Y", latent_strategy="idgen", **FAST).fit(data)
    said = _warnings(lambda: m.sample(5, do={"I": _horizontal()[0]}, random_state=0))
    assert any("unlike the training images of 'I'" in s for s in said), said
    assert not _warnings(lambda: m.sample(5, do={"I": data["I"][3]}, random_state=0))


def test_few_training_images_are_not_checked(bar_images):
    assert ImageSupport.fit(bar_images(150, 0)["I"]) is None


@pytest.mark.parametrize("size", [16, 28])
def test_false_alarms_and_detection_on_the_image_simulators(size):
    """Fresh images of the SCM a model was trained on are flagged one at a time at about the
    calibrated rate (at most 1 in n_cal + 1 in expectation: 0.13% with 750 calibration images),
    and never as a 500-image array; the other SCM's digits far more often."""
    train = make_confounded_digit_label(3000, size=size, truth_n=500, random_state=0).data["X"]
    sup = ImageSupport.fit(train)
    fresh = make_confounded_digit_label(3000, size=size, truth_n=500, random_state=1).data["X"]
    single = np.mean([sup.message("X", img) is not None for img in fresh[:1000]])
    assert single <= 0.006, single
    assert all(sup.message("X", fresh[i : i + 500]) is None for i in range(0, 3000, 500))
    grey = make_morpho_digits(200, size=size, truth_n=500, random_state=2).data["image"]
    other = np.repeat(grey, 3, axis=1) * (train.max() / grey.max())
    assert np.mean([sup.message("X", img) is not None for img in other[:100]]) >= 0.5
    assert sup.message("X", other[:100]) is not None


def _transpose(images: np.ndarray) -> np.ndarray:
    return np.swapaxes(images, -1, -2).copy()  # vertical bars become horizontal ones


def test_a_shift_that_turns_the_images_into_unlike_ones_warns(bars, bar_images):
    _, m = bars
    fresh = bar_images(300, 1)
    said = _warnings(lambda: m.counterfactual(fresh, do={"I": _transpose}))
    mine = [s for s in said if s.startswith("the shift do(I) sets ")]
    assert len(mine) == 1 and "of 300 images" in mine[0], said
    # a shift that keeps the images like the training ones: a slightly dimmer bar
    assert not _warnings(lambda: m.counterfactual(fresh, do={"I": lambda x: x * 0.9}))


def test_a_shift_is_not_blamed_for_the_models_own_unlike_draws(bars):
    """One epoch of training: the model's own images of ``I`` are off the training images, the
    identity shift leaves them so, and the check counts only what the shift moved farther."""
    _, m = bars
    natural = m.sample(300, random_state=0)["I"]
    assert m.image_support_["I"].message("I", natural) is not None  # the draws themselves
    assert not _warnings(lambda: m.sample(300, do={"I": lambda x: x}, random_state=0))
    said = _warnings(lambda: m.sample(300, do={"I": _transpose}, random_state=0))
    assert any(s.startswith("the shift do(I) sets ") for s in said), said


def test_the_idgen_route_checks_its_given_images(bar_images):
    data = bar_images(600, 0)
    m = CausalGenerativeModel("T -> I; I -> Y", latent_strategy="idgen", **FAST).fit(data)
    said = _warnings(lambda: m.sample(5, do={"T": 0.0}, given={"I": _horizontal()[0]}))
    assert any(s.startswith("given(I) sets an image unlike") for s in said), said
    assert not _warnings(lambda: m.sample(5, do={"T": 0.0}, given={"I": data["I"][3]}))
