"""Counterfactuals on nodes with hidden confounders: accepted when ID* identifies them.

The simulator below is a linear front-door SCM with an explicit latent ``U``; the truth is each
unit's own counterfactual ``Y_{X=x}``, computed from its noise by re-running the equations (the
model sees only the observed columns). Given the unit's factual treatment ``X = x'`` the
counterfactual mean is ``E[Y_x | X = x'] = x + x' / 2`` (``U | X`` has mean ``X / 2``), while the
interventional mean ``E[Y | do(X = x)] = x`` ignores the unit: a method that confuses the two
has slope 0 in ``x'``.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import DataValidationError, DeepCauseWarning
from deepcause.generative import CausalGenerativeModel, LatentConfoundingError


def _front_door(n: int, seed: int, x: float | None = None) -> pd.DataFrame:
    u, ex, em, ey = np.random.default_rng(seed).normal(size=(4, n))
    xs = u + ex if x is None else np.full(n, x)
    m = xs + 0.5 * em
    return pd.DataFrame({"X": xs, "M": m, "Y": m + u + 0.5 * ey})


# one initialisation per district (restarts: test_district_restarts.py): the front door's
# slope / intercept / spread errors 0.012 / 0.021 / 0.015 -> 0.040 / 0.032 / 0.006 (bounds
# 0.12 / 0.15 / 0.15), district CPU 19 -> 5 s
pytestmark = pytest.mark.usefixtures("one_district_init")


@pytest.fixture(scope="module")
def front_door_model():
    graph = "X -> M -> Y; X <-> Y"
    return CausalGenerativeModel(graph, mechanisms="additive", max_epochs=100, random_state=0,
                                 verbose=False).fit(_front_door(2000, 0))  # fmt: skip


def test_identifiable_counterfactual_matches_the_units_own_worlds(front_door_model):
    factual = _front_door(3000, 1)
    truth = _front_door(3000, 1, x=1.0)  # the same units (same noise) with X set to 1
    cf = front_door_model.counterfactual(factual, do={"X": 1.0}, random_state=0)
    assert np.all(cf["X"] == 1.0)
    slope, intercept = np.polyfit(factual["X"], cf["Y"], 1)
    t_slope, t_intercept = np.polyfit(factual["X"], truth["Y"], 1)
    # s.e. of the slope on 3000 units is about 0.02; the rest is the 2000-row fit
    assert abs(slope - t_slope) < 0.12 and abs(intercept - t_intercept) < 0.15, (slope, intercept)
    resid = cf["Y"] - (slope * factual["X"] + intercept)
    t_resid = truth["Y"] - (t_slope * factual["X"] + t_intercept)
    assert abs(resid.std() / t_resid.std() - 1) < 0.15  # the spread of Y_x given X
    again = front_door_model.counterfactual(factual, do={"X": 1.0}, random_state=0)
    assert again.equals(cf)


def test_unidentifiable_counterfactual_is_refused_with_the_reason():
    bow = CausalGenerativeModel("X -> Y; X <-> Y", mechanisms="additive", max_epochs=2,
                                random_state=0, verbose=False).fit(_front_door(300, 2)[["X", "Y"]])  # fmt: skip
    with pytest.raises(LatentConfoundingError, match="not identifiable") as info:
        bow.counterfactual(_front_door(5, 3)[["X", "Y"]], do={"X": 0.0})
    assert "ID*" in str(info.value) and "district" in str(info.value)


def test_reconstruct_refuses_a_confounded_node_and_round_trips_the_others(
    front_door_model, one_line
):
    """``reconstruct`` (a node's round trip through its own mechanism): exact for the additive
    mediator, refused for ``Y``, whose noise is shared with ``X`` through the district."""
    units = _front_door(50, 5)
    np.testing.assert_allclose(front_door_model.reconstruct(units, "M"), units["M"], atol=1e-4)
    with pytest.raises(LatentConfoundingError) as info:
        front_door_model.reconstruct(units, "Y")
    assert "hidden confounders" in one_line(info)
    with pytest.raises(DataValidationError) as info:
        front_door_model.reconstruct(units, "Z")
    assert "not a node" in one_line(info)


def test_shift_interventions_on_confounded_counterfactuals_are_refused(front_door_model):
    with pytest.raises(LatentConfoundingError, match="hard interventions"):
        front_door_model.counterfactual(_front_door(5, 4), do={"X": lambda x: x + 1})


def test_a_mechanism_the_joint_strategy_replaces_is_named_in_a_warning():
    model = CausalGenerativeModel("X -> M -> Y; X <-> Y", mechanisms={"X": "diffusion"},
                                  max_epochs=1, random_state=0, verbose=False)  # fmt: skip
    with pytest.warns(DeepCauseWarning, match=r"X \(diffusion\).*latent_strategy='idgen'"):
        model.fit(_front_door(200, 5))
    assert model.mechanisms_["X"].name == "additive"


def test_evidence_without_densities_is_refused_with_the_reason(front_door_model):
    """The latent's posterior weighs the unit's evidence by its density: a mechanism without
    one (an image node's) cannot, and the refusal says what to do instead."""
    model = copy.deepcopy(front_door_model)
    model.mechanisms_["X"].has_log_prob = False  # as an image mechanism in the district
    with pytest.raises(LatentConfoundingError, match=r"\['X'\].*no densities.*sample\(n, do"):
        model.counterfactual(_front_door(5, 6), do={"X": 1.0})
