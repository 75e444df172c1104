"""The image-node contract of CausalGenerativeModel as an outside evaluator meets it (session
12's audit, ``benchmarks/results/bench_images_fresh.md``, "Image API audit (session 12)").

What goes in comes out: 8-bit and other integer images come back in their dtype, rounded and
inside the training range, boolean masks as booleans, do-images in the model's dtype through
both latent strategies; a user's mistake (channels-last arrays, grey images without a channel
axis, images too small for the conv stacks, images scaled to [0, 1] given to a model of 8-bit
images) gets one line naming the problem and the fix. Every test here failed on the source
before the audit; the fits are tiny (one epoch, 8x8 images, a few seconds in all).
"""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.exceptions import DataValidationError, DeepCauseError
from deepcause.generative import CausalGenerativeModel, load_model

FAST = {"max_epochs": 1, "random_state": 0, "verbose": False}
GRAPH = "T -> I; I -> Y"


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert isinstance(exc.value, DeepCauseError) and "\n" not in msg, msg
    return msg


@pytest.fixture(scope="module")
def eight_bit(bar_images):
    data = bar_images()
    data["I"] = np.round(data["I"] * 255).astype(np.uint8)
    return data, CausalGenerativeModel(GRAPH, **FAST).fit(data)


# ------------------------------------------------------------------ what goes in comes out
def test_uint8_images_come_back_uint8_inside_the_training_range(eight_bit):
    data, m = eight_bit
    lo, hi = data["I"].min(), data["I"].max()
    fact = {k: v[:5] for k, v in data.items()}
    for out in (
        m.sample(20, random_state=0),
        m.sample(20, do={"T": 1.0}, random_state=0),
        m.counterfactual(fact, do={"T": 0.5}),
    ):
        assert out["I"].dtype == np.uint8
        assert lo <= out["I"].min() and out["I"].max() <= hi
    # a do-image given as floats on the 0-255 scale comes back rounded, in uint8
    out = m.sample(3, do={"I": data["I"][0] + 0.4}, random_state=0)
    assert out["I"].dtype == np.uint8
    np.testing.assert_array_equal(out["I"][1], data["I"][0])
    # factual images given as floats come back as the uint8 images they are
    cf = m.counterfactual({**fact, "I": fact["I"].astype(np.float64)}, do={"Y": 2.0})
    np.testing.assert_array_equal(cf["I"], fact["I"])
    assert cf["I"].dtype == np.uint8
    cf = m.counterfactual(fact, do={"Y": 2.0})  # a copy, not the caller's array
    assert not np.shares_memory(cf["I"], fact["I"])


def test_other_integer_dtypes_and_boolean_masks_come_back_in_their_dtype(bar_images):
    data = bar_images()
    wide = {**data, "I": np.round(data["I"] * 4000).astype(np.uint16)}
    m = CausalGenerativeModel(GRAPH, **FAST).fit(wide)
    assert m.sample(4, random_state=0)["I"].dtype == np.uint16
    masks = {**data, "I": data["I"] > 0}
    m = CausalGenerativeModel(GRAPH, **FAST).fit(masks)
    fact = {k: v[:3] for k, v in masks.items()}
    assert m.sample(4, random_state=0)["I"].dtype == bool
    assert m.counterfactual(fact, do={"T": 0.0})["I"].dtype == bool
    assert m.sample(2, do={"I": masks["I"][0]}, random_state=0)["I"].dtype == bool


def test_idgen_writes_do_images_back_in_the_training_dtype(eight_bit):
    data, _ = eight_bit
    m = CausalGenerativeModel("T -> I; I -> Y; T <-> Y", latent_strategy="idgen", **FAST)
    out = m.fit(data).sample(3, do={"I": data["I"][0].astype(np.float64)}, random_state=0)
    assert out["I"].dtype == np.uint8 and out["Y"].shape == (3,)
    np.testing.assert_array_equal(out["I"][0], data["I"][0])
    with pytest.raises(DataValidationError) as exc:  # the same query (its sampler is kept)
        m.sample(3, do={"I": data["I"][0].transpose(1, 2, 0)})
    assert "channels-last" in _one_line(exc)


def test_saved_8bit_model_gives_the_same_uint8_images(eight_bit, tmp_path):
    _, m = eight_bit
    loaded = load_model(str(m.save(tmp_path / "m")))
    a = m.sample(5, do={"T": 1.0}, random_state=7)["I"]
    b = loaded.sample(5, do={"T": 1.0}, random_state=7)["I"]
    assert b.dtype == np.uint8
    np.testing.assert_array_equal(a, b)


def test_auto_named_for_one_node_is_the_default(bar_images):
    data = bar_images(60)
    m = CausalGenerativeModel(GRAPH, mechanisms={"I": "auto", "Y": "auto"}, **FAST).fit(data)
    default = CausalGenerativeModel(GRAPH, **FAST).fit(data)
    assert m.mechanisms_["I"].name == default.mechanisms_["I"].name == "image_hvae"
    np.testing.assert_array_equal(
        m.sample(3, random_state=0)["I"], default.sample(3, random_state=0)["I"]
    )


# ------------------------------------------------------------------ one-line refusals
def test_channels_last_images_are_refused_with_the_fix(bar_images):
    data = bar_images(60)
    for channels in (1, 3):
        nhwc = np.repeat(data["I"], channels, axis=1).transpose(0, 2, 3, 1)
        with pytest.raises(DataValidationError) as exc:
            CausalGenerativeModel(GRAPH, **FAST).fit({**data, "I": nhwc})
        assert "channels-last" in _one_line(exc) and "np.moveaxis(images, -1, 1)" in str(exc.value)
    with pytest.raises(DataValidationError, match="channels-last"):  # in fit, not at sampling
        CausalGenerativeModel(GRAPH, latent_strategy="idgen", **FAST).fit({**data, "I": nhwc})


def test_channels_last_do_and_factual_images_say_so(eight_bit):
    data, m = eight_bit
    fact = {k: v[:4] for k, v in data.items()}
    with pytest.raises(DataValidationError) as exc:
        m.sample(2, do={"I": data["I"][0].transpose(1, 2, 0)})
    assert "channels-last" in _one_line(exc)
    with pytest.raises(DataValidationError) as exc:
        m.counterfactual({**fact, "I": fact["I"].transpose(0, 2, 3, 1)}, do={"T": 0.0})
    assert "channels-last" in _one_line(exc)


def test_grey_images_without_a_channel_axis_are_told_to_add_one(eight_bit):
    data, m = eight_bit
    with pytest.raises(DataValidationError) as exc:
        CausalGenerativeModel(GRAPH, **FAST).fit({**data, "I": data["I"][:, 0]})
    assert "images[:, None]" in _one_line(exc)
    with pytest.raises(DataValidationError) as exc:
        m.sample(2, do={"I": data["I"][0, 0]})
    assert "channel axis" in _one_line(exc)


def test_images_too_small_or_empty_are_refused_with_the_fix(bar_images):
    data = bar_images(60)
    with pytest.raises(DataValidationError) as exc:
        CausalGenerativeModel(GRAPH, **FAST).fit({**data, "I": data["I"][:, :, :3, :3]})
    assert "at least 4x4: upsample" in _one_line(exc)
    with pytest.raises(DataValidationError) as exc:  # was a numpy ValueError
        CausalGenerativeModel(GRAPH, **FAST).fit({**data, "I": data["I"][:, :0]})
    assert "without pixels" in _one_line(exc)


def test_unit_scaled_images_given_to_an_8bit_model_are_refused(eight_bit):
    data, m = eight_bit
    fact = {k: v[:4] for k, v in data.items()}
    with pytest.raises(DataValidationError) as exc:  # was a silent wrong answer
        m.sample(2, do={"I": data["I"][0] / 255.0})
    assert "look scaled to [0, 1]" in _one_line(exc)
    with pytest.raises(DataValidationError, match=r"look scaled to \[0, 1\].*by 255"):
        m.counterfactual({**fact, "I": fact["I"] / 255.0}, do={"T": 0.0})
    # black-and-white 0/1 images are whole numbers on the 8-bit scale: accepted
    dark = (data["I"][0] > 0).astype(np.uint8)
    assert m.sample(2, do={"I": dark}, random_state=0)["I"].dtype == np.uint8
    # a model of float pixels in [0, 7.5] (not whole numbers) takes a dim image in [0, 1]
    bright = {**data, "I": data["I"] / 34.0}
    fl = CausalGenerativeModel(GRAPH, **FAST).fit(bright)
    assert fl.sample(2, do={"I": bright["I"][0] / 7.5}, random_state=0)["Y"].shape == (2,)


# ------------------------------------------------------------------ composition (session 15)
def test_units_whose_parents_do_not_change_keep_their_factual_images_and_labels(bar_images):
    # do(T = T) must give back the factual (composition): before session 15 the image was the
    # VAE's reconstruction and the binary child K a fresh posterior draw off it
    data = bar_images(200, seed=3)
    flip = np.random.default_rng(4).random(200) < 0.2
    data["K"] = ((data["Y"] > 4) ^ flip).astype(np.int64)
    m = CausalGenerativeModel("T -> I; I -> Y; I -> K", **FAST).fit(data)
    fact = {k: v[:40] for k, v in data.items()}
    t_new = fact["T"].copy()
    t_new[20:] += 1.5  # units 20.. move, units ..19 keep their T
    for do in ({"T": fact["T"]}, {"T": t_new}):
        cf = m.counterfactual(fact, do=do, random_state=0)
        n_kept = 40 if do["T"] is fact["T"] else 20
        for v in ("I", "Y", "K"):
            np.testing.assert_array_equal(cf[v][:n_kept], fact[v][:n_kept])
    assert np.abs(cf["I"][20:] - fact["I"][20:]).max() > 0.1  # the others do change
