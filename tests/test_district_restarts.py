"""Several initialisations of the joint district trainer, kept by their bound (issue #13).

A district's latent can collapse (the model then treats the district's nodes as unconfounded)
at one initialisation and not at another, on the same data; ``JointDistrictStrategy(n_init=K)``
trains ``K`` initialisations (every second one with a KL warm-up) and keeps the one whose
bound of the training units (of the held-out units with ``patience``) is highest
(``benchmarks/results/bench_images_fresh.md``, run 13).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy


def _strategy(**options):  # noqa: ANN003, ANN202
    class _Options(JointDistrictStrategy):
        def __init__(self, model, district, **kw):  # noqa: ANN001, ANN003
            super().__init__(model, district, **{**options, **kw})

    return _Options


def _fit(df: pd.DataFrame, seed: int = 0, **options) -> CausalGenerativeModel:  # noqa: ANN003
    model = CausalGenerativeModel(
        "X -> M -> Y; X <-> Y",
        latent_strategy=_strategy(**options),
        max_epochs=4,
        random_state=seed,
        verbose=False,
    )
    return model.fit(df)


def _fitted_bound(model: CausalGenerativeModel, df: pd.DataFrame) -> float:
    (district,) = model.districts_
    mechs = {v: model.mechanisms_[v] for v in district.district}
    return district._held_out_bound(model, mechs, model.encode(df))


def test_restarts_keep_the_initialisation_with_the_best_bound(front_door_frame):
    df = front_door_frame(300)
    model = _fit(df, n_init=3)
    bounds = model.districts_[0].init_bounds_
    assert len(bounds) == 3 and len(set(bounds)) == 3
    assert _fitted_bound(model, df) == pytest.approx(max(bounds), abs=1e-6)
    # the first initialisation is the single fit's: n_init=1 trains exactly it
    single = _fit(df, n_init=1)
    assert single.districts_[0].init_bounds_ == [pytest.approx(np.nan, nan_ok=True)]
    assert _fitted_bound(single, df) == pytest.approx(bounds[0], abs=1e-6)


def test_restarts_are_reproducible_under_random_state(front_door_frame):
    df = front_door_frame(300)
    a, b = (_fit(df, seed=5, n_init=2) for _ in range(2))
    assert a.districts_[0].init_bounds_ == b.districts_[0].init_bounds_
    pd.testing.assert_frame_equal(
        a.sample(50, do={"X": 1.0}, random_state=0), b.sample(50, do={"X": 1.0}, random_state=0)
    )


def test_restarts_with_patience_are_scored_on_the_same_held_out_units(front_door_frame):
    """With ``patience`` each initialisation's score is its best held-out bound, on units
    split by the district's seed (not the initialisation's), so the scores are comparable."""
    df = front_door_frame(400)
    model = _fit(df, n_init=2, patience=2)
    district = model.districts_[0]
    assert district.init_bounds_[int(np.argmax(district.init_bounds_))] == pytest.approx(
        max(district.history_), abs=1e-9
    )


def test_defaults_restart_tabular_districts_only(front_door_frame):
    model = CausalGenerativeModel(
        "X -> M -> Y; X <-> Y", max_epochs=1, random_state=0, verbose=False
    ).fit(front_door_frame(100))
    config = model.districts_[0].get_config()
    assert config["n_init"] == 3 and config["kl_warmup"] == 0.2
    assert len(model.districts_[0].init_bounds_) == 3


@pytest.mark.parametrize(
    ("option", "value"),
    [("n_init", 0), ("n_init", -1), ("n_init", 2.5), ("kl_warmup", 1.0), ("kl_warmup", "0.2")],
)
def test_bad_restart_options_are_refused_in_one_line(option, value, front_door_frame):
    with pytest.raises(DataValidationError, match=option) as info:
        _fit(front_door_frame(50), **{option: value})
    assert "\n" not in str(info.value)
