"""Generative models refuse or warn instead of returning numbers they cannot defend (issue 12)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from deepcause._persistence import read_bundle, save_bundle
from deepcause.exceptions import DataValidationError, InvalidParameterError, PositivityWarning
from deepcause.generative import CausalGenerativeModel, load_model
from deepcause.simulate.suite import get_case


@pytest.fixture(scope="module")
def model() -> CausalGenerativeModel:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    df = pd.DataFrame({"X": x, "Y": 2 * x + rng.normal(size=400)})
    return CausalGenerativeModel(
        "X -> Y", mechanisms="additive", max_epochs=5, random_state=0, verbose=False
    ).fit(df)


def test_do_far_outside_the_training_support_warns(model):
    with pytest.warns(PositivityWarning, match=r"do\(X\) = 1e\+06 lies outside.*extrapolation"):
        model.sample(10, do={"X": 1e6}, random_state=0)


def test_do_just_below_every_observed_value_warns(model):
    """Within 4 s.d. of the mean, but no training unit had it: an extrapolation all the same."""
    spec = model.specs_["X"]
    low = spec.low
    assert abs(low - 0.05 - spec.mean[0]) / spec.std[0] < 4 and spec.n_obs == 400  # 3.8 s.d.
    with pytest.warns(
        PositivityWarning, match=r"do\(X\) = -\S+ lies outside the observed range"
    ) as w:
        model.sample(10, do={"X": low - 0.05}, random_state=0)
    assert w[0].filename == __file__  # the warning points at the caller's line
    with pytest.warns(PositivityWarning, match="outside the observed range"):  # one shared value
        model.sample(3, do={"X": np.full(3, low - 0.05)}, random_state=0)


def test_the_ladder_nonlinear_query_below_every_observed_x1_warns():
    """The generative suite's ladder_nonlinear do(X1 = -1): 2.3 s.d. below the mean of X1 but
    below every observed X1 (min -0.86 of 1,000 units); its counterfactuals were 0.1 s.d. off and
    silent. do(X1 = 1) lies inside the range and stays silent."""
    case = get_case("ladder_nonlinear")
    df = case.sample(1000, random_state=0)
    m = CausalGenerativeModel(
        case.graph, mechanisms="additive", max_epochs=1, random_state=0, verbose=False
    ).fit(df)
    with pytest.warns(PositivityWarning, match=r"do\(X1\) = -1 lies outside .*\[-0.8589"):
        m.counterfactual(df.head(50), do={"X1": -1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        m.counterfactual(df.head(50), do={"X1": 1.0})


def test_held_out_units_own_values_do_not_warn(model):
    """Per-unit values of new units from the training distribution: a few fall outside the
    range of 400 training draws (about 2/401 each on average; here 4 of 5,000): sampling noise."""
    held_out = np.random.default_rng(7).normal(size=5000)
    spec = model.specs_["X"]
    assert 0 < ((held_out < spec.low) | (held_out > spec.high)).sum() < 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        model.sample(5000, do={"X": held_out}, random_state=0)
        model.sample(5000, do={"X": lambda x: 0.5 * x}, random_state=0)  # shrinks inwards


def test_per_unit_values_shifted_out_of_the_range_warn(model):
    held_out = np.random.default_rng(7).normal(size=2000)
    with pytest.warns(PositivityWarning, match=r"do\(X\) sets \d+ of 2000 values \(\d"):
        model.sample(2000, do={"X": held_out + 1.5}, random_state=0)
    with pytest.warns(PositivityWarning, match=r"the shift do\(X\) sets") as w:
        model.sample(2000, do={"X": lambda x: x + 1.5}, random_state=0)
    assert w[0].filename == __file__
    spec = model.specs_["X"]  # one unit far beyond the range is enough
    far = np.r_[held_out[:-1], spec.high + 1.5 * (spec.high - spec.low)]
    with pytest.warns(PositivityWarning, match="1.5 range widths beyond"):
        model.sample(2000, do={"X": far}, random_state=0)


def test_a_shift_says_how_many_of_its_inputs_already_lay_outside(model):
    """The training units themselves (float32 round trip and all) lie inside their range. Inputs
    that do not (here tripled factual values; in sample() the model's own draws of an
    undertrained node) make even an identity shift warn, and the note says why."""
    rng = np.random.default_rng(0)  # the fixture's training data
    x = rng.normal(size=400)
    train = pd.DataFrame({"X": x, "Y": 2 * x + rng.normal(size=400)})
    with pytest.warns(PositivityWarning) as w:
        model.counterfactual(train, do={"X": lambda v: v + 1.5})
    assert "already lay outside" not in str(w[0].message)
    with pytest.warns(PositivityWarning, match="far.*of the values it shifted already lay"):
        model.counterfactual(train.assign(X=x * 3), do={"X": lambda v: v})


def test_models_saved_without_a_range_load_and_keep_the_former_rule(model, tmp_path):
    """A config written before ranges were recorded (its specs have no low/high/n_obs) loads;
    do() then warns by the former 4-s.d. rule only. New saves keep the range."""
    back = load_model(model.save(tmp_path / "new"))
    assert (back.specs_["X"].low, back.specs_["X"].n_obs) == (model.specs_["X"].low, 400)
    bundle = read_bundle(tmp_path / "new", known=["CausalGenerativeModel"])
    specs = {
        v: {k: x for k, x in s.items() if k not in ("low", "high", "n_obs")}
        for v, s in bundle.state["specs"].items()
    }
    state = {**bundle.state, "specs": specs}
    save_bundle(tmp_path / "old", bundle.class_name, bundle.params, state, bundle.tensors)
    old = load_model(tmp_path / "old")
    assert old.specs_["X"].low is None
    pd.testing.assert_frame_equal(
        old.sample(20, do={"X": 1.0}, random_state=0),
        model.sample(20, do={"X": 1.0}, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        old.sample(10, do={"X": model.specs_["X"].low - 0.05}, random_state=0)
    with pytest.warns(PositivityWarning, match="standard deviations.*no observed range"):
        old.sample(10, do={"X": 1e6}, random_state=0)


def test_do_inside_the_support_does_not_warn(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        model.sample(10, do={"X": 1.0}, random_state=0)


def test_shift_returning_nan_is_refused(model):
    with pytest.raises(DataValidationError, match="non-finite"):
        model.sample(10, do={"X": lambda v: v * np.nan}, random_state=0)


def test_zero_epochs_is_refused():
    df = pd.DataFrame({"X": [0.0, 1.0, 2.0], "Y": [1.0, 0.0, 2.0]})
    with pytest.raises(InvalidParameterError, match="max_epochs"):
        CausalGenerativeModel("X -> Y", max_epochs=0).fit(df)
