"""The image-node contract of CausalGenerativeModel and IDGenSampler, on small SCMs of bars.

Each image is a deterministic render of its parents and its own noise (numpy only): what goes
in comes out (dtype included), counterfactuals keep the nodes they do not touch exactly, images
on another pixel scale than the training images are refused with a one-line reason, and
ID-GEN takes labelled (string) treatments beside image outcomes. Small fits (a few seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import DataValidationError, InvalidParameterError
from deepcause.generative import CausalGenerativeModel, IDGenSampler, LatentConfoundingError

GRAPH = "A -> I; B -> I; I -> L"


def _bars(n: int, seed: int, dtype: type = np.float32) -> dict[str, np.ndarray]:
    """A (angle) and B (binary: thickness) cause I, a grey 12x12 bar whose centre and
    brightness are its noise; L is its total brightness plus noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.2, 1.2, n), rng.integers(0, 2, n)
    cx, cy, bright = rng.uniform(5, 7, n), rng.uniform(5, 7, n), rng.uniform(0.5, 1.0, n)
    yy, xx = np.mgrid[0:12, 0:12] + 0.5
    dx, dy = xx - cx[:, None, None], yy - cy[:, None, None]
    along = dx * np.cos(a)[:, None, None] + dy * np.sin(a)[:, None, None]
    across = -dx * np.sin(a)[:, None, None] + dy * np.cos(a)[:, None, None]
    half = (0.5 + b)[:, None, None]
    mask = np.clip(half + 0.5 - np.abs(across), 0, 1) * np.clip(4.5 - np.abs(along), 0, 1)
    img = (bright[:, None, None] * mask)[:, None].astype(dtype)
    label = img.sum((1, 2, 3)) / 10 + 0.1 * rng.normal(size=n)
    return {"A": a, "B": b, "I": img, "L": label}


@pytest.fixture(scope="module")
def fitted():
    data = _bars(150, 0)
    model = CausalGenerativeModel(GRAPH, max_epochs=1, random_state=0, verbose=False)
    return data, model.fit(data)


def test_float64_images_come_out_float64():
    data = _bars(150, 0, np.float64)
    m = CausalGenerativeModel(GRAPH, max_epochs=1, random_state=0, verbose=False).fit(data)
    fact = {k: v[:4] for k, v in data.items()}
    assert m.sample(3, random_state=0)["I"].dtype == np.float64
    assert m.sample(3, do={"I": data["I"][5]}, random_state=0)["I"].dtype == np.float64
    assert m.counterfactual(fact, do={"A": 0.2})["I"].dtype == np.float64
    assert m.counterfactual(fact, do={"L": 1.0})["I"].dtype == np.float64  # I unaffected


def test_float32_images_stay_float32(fitted):
    data, m = fitted
    assert m.sample(3, random_state=0)["I"].dtype == np.float32
    one = data["I"][5].astype(np.float64)
    assert m.sample(3, do={"I": one}, random_state=0)["I"].dtype == np.float32


def test_counterfactual_keeps_unaffected_nodes_exactly(fitted):
    data, m = fitted
    fact = {k: v[:6] for k, v in data.items()}
    cf = m.counterfactual(fact, do={"L": 1.0})  # a leaf: every other node keeps its value
    for v in ("A", "B", "I"):
        np.testing.assert_array_equal(cf[v], fact[v])
    cf = m.counterfactual(fact, do={"B": 1})  # A is not a descendant of B
    np.testing.assert_array_equal(cf["A"], fact["A"])


def test_images_on_another_scale_are_refused(fitted):
    data, m = fitted
    fact = {k: v[:4] for k, v in data.items()}
    with pytest.raises(DataValidationError, match=r"pixels in \[0, .*divide 8-bit images by 255"):
        m.sample(3, do={"I": data["I"][0] * 255})
    with pytest.raises(DataValidationError, match="trained on pixels in"):
        m.counterfactual({**fact, "I": fact["I"] * 255}, do={"A": 0.0})
    with pytest.raises(DataValidationError, match="trained on pixels in"):
        m.sample(3, do={"I": lambda x: x * 255})
    # a held-out image a little beyond the training range is fine
    brighter = np.clip(data["I"][0] * 1.2, 0, None)
    assert m.sample(2, do={"I": brighter}, random_state=0)["L"].shape == (2,)


def test_idgen_string_treatment_with_image_outcome():
    data = _bars(150, 1)
    data["C"] = np.where(data["B"] == 1, "thick", "thin")
    data = {k: data[k] for k in ("C", "A", "I")}
    s = IDGenSampler("C -> I; A -> I", "C", "I", max_epochs=1, random_state=0, verbose=False)
    out = s.fit(data).sample(4, do={"C": "thick"}, random_state=0)
    assert out["I"].shape == (4, 1, 12, 12) and list(out["C"]) == ["thick"] * 4


def test_misspelt_mechanism_name_is_refused_not_replaced():
    data = _bars(60, 2)
    data = {"B": data["B"], "I": data["I"]}  # no continuous node would trip over the name
    with pytest.raises(InvalidParameterError, match="did you mean 'image_diffusion'"):
        CausalGenerativeModel("B -> I", mechanisms="image_diffusoin", max_epochs=1).fit(data)
    with pytest.raises(InvalidParameterError, match="did you mean 'image_hvae'"):
        CausalGenerativeModel("B -> I", mechanisms={"I": "image_hvea"}, max_epochs=1).fit(data)


def test_user_mistakes_get_one_line_errors(fitted):
    data, m = fitted
    empty = {k: v[:0] for k, v in data.items()}
    with pytest.raises(DataValidationError, match="factual has no units"):
        m.counterfactual(empty, do={"A": 0.0})
    with pytest.raises(DataValidationError, match="must be an image array, got str"):
        m.sample(2, do={"I": "bar.png"})
    with pytest.raises(DataValidationError, match="must be numbers"):
        m.sample(2, do={"A": "high"})
    frame = pd.DataFrame({"A": data["A"], "B": data["B"], "I": list(data["I"]), "L": data["L"]})
    with pytest.raises(DataValidationError, match="column 'I' holds arrays.*mapping"):
        CausalGenerativeModel(GRAPH, max_epochs=1).fit(frame)


def test_shift_refusal_names_only_the_confounded_nodes():
    data = _bars(80, 3)
    data = {"A": data["A"], "I": data["I"], "Z": data["L"]}
    m = CausalGenerativeModel("A -> I; Z <-> I", max_epochs=1, random_state=0, verbose=False)
    m.fit(data)
    with pytest.raises(LatentConfoundingError, match=r"hidden confounders \(\['I'\]\)"):
        m.counterfactual({k: v[:3] for k, v in data.items()}, do={"A": lambda a: a + 0.1})
