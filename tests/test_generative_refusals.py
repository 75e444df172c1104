"""Generative models refuse or warn instead of returning numbers they cannot defend (issue 12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import DataValidationError, InvalidParameterError, PositivityWarning
from deepcause.generative import CausalGenerativeModel


@pytest.fixture(scope="module")
def model() -> CausalGenerativeModel:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    df = pd.DataFrame({"X": x, "Y": 2 * x + rng.normal(size=400)})
    return CausalGenerativeModel(
        "X -> Y", mechanisms="additive", max_epochs=5, random_state=0, verbose=False
    ).fit(df)


def test_do_far_outside_the_training_support_warns(model):
    with pytest.warns(PositivityWarning, match="extrapolate"):
        model.sample(10, do={"X": 1e6}, random_state=0)


def test_do_inside_the_support_does_not_warn(model):
    import warnings

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
