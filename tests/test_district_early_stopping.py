"""Early stopping of the joint district trainer on the bound of held-out units.

``JointDistrictStrategy(patience=P)`` holds out 10% of the units (at most 1,000), evaluates the
district's importance-weighted bound on them after every epoch with fixed noise, stops after
``P`` epochs without a better bound and restores the weights of the best epoch. Off by
default (``benchmarks/results/bench_images_fresh.md``, run 9: it cost the 8,000-unit image
treatment's confounded query).
"""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy


class _Recording(JointDistrictStrategy):
    """Patience 3 and a budget of 300 epochs, one initialisation; keeps the held-out units it
    was scored on."""

    def __init__(self, model, district, **kw):  # noqa: ANN001, ANN003
        kw = {"patience": 3, "max_epochs": 300, "n_init": 1, **kw}
        super().__init__(model, district, **kw)

    def _held_out_bound(self, model, mechs, values):  # noqa: ANN001
        self.seen_ = (model, mechs, values)
        return super()._held_out_bound(model, mechs, values)


def test_district_stops_on_a_plateau_of_the_held_out_bound_and_keeps_the_best_weights(
    front_door_frame,
):
    model = CausalGenerativeModel(
        "X -> M -> Y; X <-> Y", latent_strategy=_Recording, random_state=0, verbose=False
    ).fit(front_door_frame(600))
    (district,) = model.districts_
    history = np.asarray(district.history_)
    best = int(np.argmax(history))
    # the bound plateaued long before the budget: training stopped 3 epochs after the best
    assert len(history) < 150, len(history)
    assert len(history) == best + 1 + 3
    assert history[best] > history[0] + 0.1  # it did learn before stopping
    assert (history[best + 1 :] <= history[best]).all()
    # the fitted model holds the best epoch's weights, not the last epoch's
    fitted = district._held_out_bound(*district.seen_)
    assert fitted == pytest.approx(history[best], abs=1e-6)
    assert abs(fitted - history[-1]) > 1e-6
    # 60 of the 600 units were held out (10%)
    assert len(district.seen_[2]["X"]) == 60


def test_patience_zero_trains_the_whole_budget_on_every_unit(front_door_frame):
    """The default (patience 0, every district): no held-out units, no history."""
    model = CausalGenerativeModel(
        "X -> M -> Y; X <-> Y", max_epochs=3, random_state=0, verbose=False
    ).fit(front_door_frame(200))
    (district,) = model.districts_
    assert district.patience == 0 and district.history_ == []
    assert district.get_config()["patience"] == 0
