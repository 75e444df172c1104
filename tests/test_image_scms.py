"""Image SCMs: array-valued nodes, exact counterfactual images, confounded designs, readers.

The truths here come from intervening on the SCMs; the identification formulas (napkin,
back-door, front-door) are computed from observational samples and must match them, while the
conditioning baseline must not (so generative models scored against these truths can fail).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.datasets import CausalDataset
from deepcause.exceptions import DataValidationError, GraphError
from deepcause.simulate import (
    SCM,
    Node,
    colored_digits_napkin,
    confounded_digit_label,
    frontdoor_image_mediator,
    make_colored_digits_napkin,
    make_confounded_digit_label,
    make_frontdoor_image_mediator,
    make_morpho_digits,
    morpho_digits,
    read_color,
    read_digit,
    render_digits,
    sample_attributes,
    train_attribute_readers,
    uniform,
)


def _tv(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def _freq(values: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(values.astype(np.int64), minlength=k) / max(len(values), 1)


def _tiny_scm() -> SCM:
    def img(pa, u):
        return np.broadcast_to(u[:, None, None, None], (len(u), 1, 2, 2)).copy()

    return SCM(
        [
            Node("img", fn=img, noise=uniform(0, 1), shape=(1, 2, 2)),
            Node("y", ("img",), lambda pa, u: pa["img"].sum(axis=(1, 2, 3)) + 0 * u),
        ]
    )


# ---------------------------------------------------------------------- array-valued nodes
def test_node_shape_validation():
    with pytest.raises(GraphError, match="positive integers"):
        Node("x", shape=(0, 4))
    with pytest.raises(GraphError, match="drop dim"):
        Node("x", shape=(1, 4, 4), dim=2)


def test_tabular_scm_still_returns_frames_and_arrays_on_request():
    scm = SCM([Node("x"), Node("y", ("x",), lambda pa, u: pa["x"] + u)])
    assert isinstance(scm.sample(5, random_state=0), pd.DataFrame)
    arrays = scm.sample(5, random_state=0, as_arrays=True)
    assert set(arrays) == {"x", "y"} and arrays["y"].shape == (5,)
    f, cf = scm.counterfactual(4, do={"x": 1.0}, random_state=0, as_arrays=True)
    np.testing.assert_allclose(cf["y"] - f["y"], 1.0 - f["x"])


def test_image_interventions_one_image_or_one_per_sample():
    scm = _tiny_scm()
    out = scm.sample(3, random_state=0)
    assert isinstance(out, dict) and out["img"].dtype == np.float32
    one = scm.sample(3, do={"img": np.full((1, 2, 2), 0.5)}, random_state=0)
    np.testing.assert_allclose(one["y"], 2.0)
    per = scm.sample(
        3, do={"img": np.linspace(0, 1, 3)[:, None, None, None] * np.ones((3, 1, 2, 2))}
    )
    np.testing.assert_allclose(per["y"], [0.0, 2.0, 4.0])
    fixed = scm.do({"img": np.ones((1, 2, 2))}).sample(4, random_state=1)
    np.testing.assert_allclose(fixed["y"], 4.0)
    with pytest.raises(DataValidationError, match=r"one array of shape \(1, 2, 2\)"):
        scm.sample(3, do={"img": np.ones((2, 2))})
    with pytest.raises(DataValidationError, match=r"lie in \[0, 1\]"):
        scm.sample(3, do={"img": np.full((1, 2, 2), 2.0)})
    with pytest.raises(DataValidationError, match="per-unit"):
        scm.do({"img": np.ones((3, 1, 2, 2))})
    with pytest.raises(DataValidationError, match="to_arrays"):
        scm.to_frame(scm.propagate(scm.sample_noise(2, random_state=0)))


# ---------------------------------------------------------------------- determinism
@pytest.mark.parametrize(
    "build",
    [colored_digits_napkin, confounded_digit_label, frontdoor_image_mediator, morpho_digits],
)
def test_same_seed_same_images(build):
    scm = build()
    a, b = scm.sample(64, random_state=3), scm.sample(64, random_state=3)
    c = scm.sample(64, random_state=4)
    image = next(n for n in scm.observed if scm.nodes[n].is_array)
    assert a[image].dtype == np.float32 and a[image].min() >= 0.0 and a[image].max() <= 1.0
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a[image], c[image])


def test_renderer_is_vectorised_and_readable():
    d = np.tile(np.arange(10), 30)
    img = render_digits(d, size=16, style=np.linspace(0, 0.99, 300), color=d % 6)
    assert img.shape == (300, 3, 16, 16)
    np.testing.assert_array_equal(read_digit(img), d)  # every rendered glyph reads right
    np.testing.assert_array_equal(read_color(img), d % 6)
    with pytest.raises(DataValidationError, match="size must be one of"):
        morpho_digits(20)


# ---------------------------------------------------------------------- exact counterfactuals
def test_morpho_counterfactual_images_are_exact():
    scm = morpho_digits(28)
    noise = scm.sample_noise(200, random_state=0)
    f, cf = scm.counterfactual(noise, do={"thickness": 3.0})
    # re-render each unit with its own noise: digit and style kept, intensity re-derived
    u = noise["image"]
    intensity = scm.nodes["intensity"].fn({"thickness": np.full(200, 3.0)}, noise["intensity"])
    shift = np.floor(3 * u[:, 1:]).astype(np.int64) - 1
    expected = render_digits(
        f["digit"], size=28, style=u[:, 0], thickness=3.0, intensity=intensity, shift=shift
    )
    np.testing.assert_array_equal(cf["image"], expected)
    np.testing.assert_array_equal(cf["digit"], f["digit"])
    assert not np.array_equal(cf["image"], f["image"])
    # the null intervention returns the factual image exactly
    _, null = scm.counterfactual(noise, do={"thickness": f["thickness"]})
    np.testing.assert_array_equal(null["image"], f["image"])
    # do(intensity) rescales each unit's own stroke
    _, bright = scm.counterfactual(noise, do={"intensity": 1.0})
    np.testing.assert_allclose(
        bright["image"] * f["intensity"][:, None, None, None], f["image"], atol=1e-6
    )


def test_morpho_dataset_keeps_unit_noise():
    ds = make_morpho_digits(30, truth_n=2000, random_state=1)
    f, cf = ds.scm.counterfactual(ds.extras["noise"], do={"thickness": 1.0})
    np.testing.assert_array_equal(f["image"], ds.data["image"])
    t = ds.truth["E[intensity|do(thickness)]"]
    assert ds.data["image"].shape == (30, 1, 28, 28) and np.all(np.diff(t) > 0.05)
    assert str(ds.graph) == str(ds.scm.graph)


# ---------------------------------------------------------------------- confounded designs
def _napkin(obs: dict, w2: int, c: int) -> np.ndarray:
    """Napkin formula for P(Y_color | do(X_color = c)) at W2 = w2 (valid at every w2)."""
    w1, xc, yc = obs["W1"], obs["X_color"], obs["Y_color"]
    num, den = np.zeros(6), 0.0
    for w in range(6):
        cell = (w1 == w) & (obs["W2"] == w2)
        p_x = np.mean(xc[cell] == c)
        num += np.mean(w1 == w) * p_x * _freq(yc[cell & (xc == c)], 6)
        den += np.mean(w1 == w) * p_x
    return num / den


def test_napkin_formula_matches_truth_and_conditioning_does_not():
    scm = colored_digits_napkin()
    obs = scm.sample(30_000, random_state=0, include_latent=True, as_arrays=True)
    d, c = 1, 3  # X shows a 1 in yellow
    truth = _freq(
        sample_attributes(scm, 20_000, do={"W2": d, "X_color": c}, random_state=1)["Y"]["color"], 6
    )
    # Y's colour reads only X's colour, so the formula holds at every w2: pool w2 = 0..5
    weights = np.array([np.mean(obs["W2"] == w) for w in range(6)])
    napkin = sum(wt * _napkin(obs, w, c) for w, wt in enumerate(weights)) / weights.sum()
    conditional = _freq(obs["Y_color"][(obs["W2"] == d) & (obs["X_color"] == c)], 6)
    assert _tv(napkin, truth) < 0.05
    assert _tv(conditional, truth) > 0.2
    # and Y responds to the image X itself: a yellow 1 image as the intervention
    x = render_digits(np.array([d]), style=0.5, color=np.array([c]))[0]
    image_truth = _freq(
        sample_attributes(scm, 20_000, do={"X": x}, random_state=2)["Y"]["color"], 6
    )
    assert _tv(image_truth, truth) < 0.03


def test_backdoor_adjustment_matches_truth_and_conditioning_does_not():
    scm = confounded_digit_label()
    obs = scm.sample(20_000, random_state=0, include_latent=True)
    x = render_digits(np.array([7]), style=0.3, color=np.array([2]))
    truth = scm.sample(20_000, do={"X": x[0]}, random_state=1)["Y"].mean()
    same = read_digit(obs["X"]) >= 5  # the label reads the digit class off the image
    adjusted = sum(
        np.mean(obs["C"] == c) * obs["Y"][same & (obs["C"] == c)].mean() for c in range(3)
    )
    conditional = obs["Y"][(obs["X_digit"] == 7) & (obs["X_color"] == 2)].mean()
    assert abs(adjusted - truth) < 0.03
    assert abs(conditional - truth) > 0.1
    assert str(confounded_digit_label(hidden=True).graph) == "X -> Y; X <-> Y"


def test_frontdoor_formula_matches_truth_and_conditioning_does_not():
    ds = make_frontdoor_image_mediator(20_000, truth_n=20_000, random_state=0)
    x, y = ds.data["X"], ds.data["Y"]
    m = read_digit(ds.data["M"]) >= 5  # what Y reads off the mediator image
    fd = {}
    for a in (0, 1):
        fd[a] = sum(
            np.mean(m[x == a] == v)
            * sum(np.mean(x == b) * y[(m == v) & (x == b)].mean() for b in (0, 1))
            for v in (False, True)
        )
    assert abs((fd[1] - fd[0]) - ds.truth["ATE"]) < 0.04
    naive = y[x == 1].mean() - y[x == 0].mean()
    assert abs(naive - ds.truth["ATE"]) > 0.1
    assert str(ds.graph) == "X -> M; M -> Y; X <-> Y"


def test_image_datasets_are_mappings_with_roles_and_truth():
    ds = make_colored_digits_napkin(40, truth_n=1000, random_state=0)
    assert isinstance(ds, CausalDataset) and ds.n == 40
    assert ds.data["X"].shape == (40, 3, 16, 16) and ds.data["W1"].dtype == np.int64
    np.testing.assert_allclose(ds.truth["P(Y_color|do(X))"].sum(1), 1.0)
    with pytest.raises(ValueError):
        ds.data["X"][0, 0, 0, 0] = 1.0  # read-only
    bd = make_confounded_digit_label(40, hidden=True, truth_n=1000, random_state=0)
    assert "C" not in bd.data and bd.covariates == ()
    assert np.all((bd.truth["E[Y|do(X)]"] > 0) & (bd.truth["E[Y|do(X)]"] < 1))
    with pytest.raises(DataValidationError, match="same number of rows"):
        CausalDataset({"x": np.zeros(3), "y": np.zeros(4)}, {"treatment": "x"})


# ---------------------------------------------------------------------- readers
def test_readers_colored_digits_accuracy_and_determinism():
    reader = train_attribute_readers(colored_digits_napkin(16), random_state=0)
    assert reader.scores["digit_accuracy"] >= 0.95
    assert reader.scores["color_accuracy"] >= 0.99
    # on the SCM's own images against the SCM's attributes
    scm = colored_digits_napkin(16)
    out = scm.sample(1000, random_state=5, include_latent=True)
    pred = reader.predict(out["Y"])
    assert np.mean(pred["digit"] == out["Y_digit"]) >= 0.9
    assert np.mean(pred["color"] == out["Y_color"]) >= 0.99
    again = train_attribute_readers(colored_digits_napkin(16), random_state=0)
    np.testing.assert_array_equal(again.features(out["Y"][:50]), reader.features(out["Y"][:50]))


def test_readers_morpho_digits_accuracy():
    reader = train_attribute_readers(morpho_digits(28), random_state=0)
    scm = morpho_digits(28)
    out = scm.sample(1000, random_state=7)
    pred = reader.predict(out["image"])
    assert np.mean(pred["digit"] == out["digit"]) >= 0.9
    span = 4.5 - 0.25
    assert np.mean(np.abs(pred["thickness"] - out["thickness"])) <= 0.1 * span
    assert np.mean(np.abs(pred["intensity"] - out["intensity"])) <= 0.02
