"""save()/load() of the neural IV estimators (DeepIV, DFIV, CB-IV) in the one checked format:
the loaded estimator gives the same numbers bit for bit, and what cannot be stored is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.linear_model import LinearRegression  # noqa: E402

from deepcause._persistence import CONFIG_FILE  # noqa: E402
from deepcause.estimate.iv.cbiv import CBIV  # noqa: E402
from deepcause.estimate.iv.deepiv import DeepIV  # noqa: E402
from deepcause.estimate.iv.dfiv import DFIV  # noqa: E402
from deepcause.exceptions import (  # noqa: E402
    DataValidationError,
    ModelFileError,
    NotFittedError,
)
from deepcause.simulate.iv import make_linear_iv  # noqa: E402

ROLES = {"treatment": "d", "outcome": "y", "instruments": ["z1", "z2"], "covariates": ["x1"]}
FAST = {"max_epochs": 3, "random_state": 0, "device": "cpu", "verbose": False}
ESTIMATORS = {
    "DFIV": lambda: DFIV(**FAST),
    "DFIV-no-control-net": lambda: DFIV(control_hidden_sizes=None, **FAST),
    "DeepIV": lambda: DeepIV(n_components=3, **FAST),
    "CBIV": lambda: CBIV(cv=2, **FAST),
}


@pytest.fixture(scope="module")
def dataset():
    return make_linear_iv(300, n_controls=1, random_state=0)


@pytest.fixture(scope="module")
def data(dataset):
    return dataset.data


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_round_trip_gives_the_same_numbers(name, data, tmp_path):
    est = ESTIMATORS[name]().fit(data, **ROLES)
    path = est.save(tmp_path / "model")
    assert path == tmp_path / "model"
    config = json.loads((path / CONFIG_FILE).read_text())
    assert config["class"] == type(est).__name__ and config["deepcause_format"] == 1
    back = type(est).load(path, device="cpu")
    assert type(back) is type(est) and back.get_params() == est.get_params()
    rows = data.head(20)
    np.testing.assert_array_equal(back.predict(rows[["d"]], rows[["x1"]]),
                                  est.predict(rows[["d"]], rows[["x1"]]))  # fmt: skip
    for query in ({"treatment": 1, "control": 0}, {"treatment": 2.5, "control": -1}):
        a, b = est.effect(**query), back.effect(**query)
        assert (a.value, a.std_error, a.query) == (b.value, b.std_error, b.query)
    assert back.mean(treatment=1).value == est.mean(treatment=1).value
    assert back.summary().as_text() == est.summary().as_text()


def test_graph_roles_and_arrays_survive(dataset, data, tmp_path):
    est = DFIV(**FAST).fit(data, treatment="d", outcome="y", graph=dataset.graph)
    back = DFIV.load(est.save(tmp_path / "g"))
    assert str(back.data_.graph) == str(est.data_.graph)
    assert back.data_.instrument_names == est.data_.instrument_names
    assert back.effect().diagnostics.notes == est.effect().diagnostics.notes
    arrays = DFIV(**FAST).fit_arrays(Z=data[["z1", "z2"]].to_numpy(), t=data["d"].to_numpy(),
                                     y=data["y"].to_numpy())  # fmt: skip
    again = DFIV.load(arrays.save(tmp_path / "a"))
    assert again.fitted_from_arrays_ and again.effect().value == arrays.effect().value


def test_unsaveable_and_wrong_class_are_refused(data, tmp_path):
    with pytest.raises(ModelFileError, match="missing"):
        DeepIV.load(tmp_path / "nothing")
    est = CBIV(first_stage=LinearRegression(), cv=2, **FAST).fit(data, **ROLES)
    with pytest.raises(DataValidationError, match=r"cannot store first_stage=LinearRegression"):
        est.save(tmp_path / "cbiv")
    path = DFIV(**FAST).fit(data, **ROLES).save(tmp_path / "dfiv")
    with pytest.raises(ModelFileError, match="unknown model class 'DFIV'"):
        DeepIV.load(path)
    with pytest.raises(NotFittedError, match="not fitted"):
        DFIV(**FAST).save(tmp_path / "unfitted")
