"""The joint district's step budget: large data trains fewer epochs, small data as before.

``JointDistrictStrategy`` trains ``min(max_epochs, max_steps // ceil(n / batch_size))`` epochs
(at least one) when the model's ``max_epochs`` is not set, so its cost stops growing with the
number of units past ~3,200 units with image nodes (batches of 64); the figures behind the
default budget are in ``benchmarks/results/bench_images_fresh.md`` (run 7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy, epochs_within


def test_epochs_within_keeps_small_data_and_caps_large_data():
    # 3,000 image units (batches of 64, 47 steps an epoch) keep today's 100 epochs
    assert epochs_within(100, 3000, 64, 5000) == 100
    assert epochs_within(100, 3200, 64, 5000) == 100  # 50 steps an epoch: the last unchanged n
    assert epochs_within(100, 3264, 64, 5000) == 98
    assert epochs_within(100, 8000, 64, 5000) == 40  # 125 steps an epoch
    assert epochs_within(100, 10000, 64, 5000) == 31
    assert epochs_within(100, 25600, 512, 5000) == 100  # tabular rows: batches up to 512
    assert epochs_within(100, 10**6, 64, 5000) == 1  # at least one epoch
    assert epochs_within(100, 10**6, 64, None) == 100  # no budget


def _strategy(epochs: int, steps: int | None) -> type[JointDistrictStrategy]:
    class Budget(JointDistrictStrategy):
        def __init__(self, model, district, **kw):  # noqa: ANN001, ANN003
            super().__init__(model, district, max_epochs=epochs, max_steps=steps, **kw)

    return Budget


@pytest.fixture(scope="module")
def confounded():
    rng = np.random.default_rng(0)
    u = rng.normal(size=300)
    x = u + rng.normal(size=300)
    return pd.DataFrame({"X": x, "Y": x + u + 0.5 * rng.normal(size=300)})


def _draws(df: pd.DataFrame, strategy: type, max_epochs: int | None = None) -> np.ndarray:
    model = CausalGenerativeModel(
        "X -> Y; X <-> Y", latent_strategy=strategy, max_epochs=max_epochs, random_state=0,
        verbose=False,
    ).fit(df)  # fmt: skip
    return model.sample(200, random_state=1).to_numpy()


def test_budget_binds_as_fewer_epochs_and_leaves_explicit_epochs_alone(confounded):
    # 300 rows in batches of 128: 3 steps an epoch, so a budget of 5 steps allows 1 epoch
    capped = _draws(confounded, _strategy(4, 5))
    np.testing.assert_array_equal(capped, _draws(confounded, _strategy(1, None)))
    assert not np.array_equal(capped, _draws(confounded, _strategy(4, None)))
    # not binding (12 steps allowed): identical to no budget
    np.testing.assert_array_equal(
        _draws(confounded, _strategy(4, 12)), _draws(confounded, _strategy(4, None))
    )
    # the model's max_epochs is honoured as given
    np.testing.assert_array_equal(
        _draws(confounded, _strategy(1, 5), max_epochs=4), _draws(confounded, _strategy(4, None))
    )
