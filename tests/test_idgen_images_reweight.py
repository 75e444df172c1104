"""ID-GEN's reweighted fraction rows (:mod:`deepcause.generative._idgen_reweight`): data rows
resampled so that they are draws of a fraction's numerator, checked against the law the
numerator defines on the coloured-digits napkin, and the cases that must fall back to
generated draws."""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.generative._idgen_reweight import CellWeights, TwoStageFraction, reweighted_rows
from deepcause.generative.idgen import IDGenSampler
from deepcause.identification import identify
from deepcause.simulate import read_color
from deepcause.simulate.images import make_colored_digits_napkin


@pytest.fixture(scope="module")
def napkin():
    return make_colored_digits_napkin(3000, truth_n=10, random_state=0)


def _joint(a, b, ka, kb):
    return np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb) / len(a)


def test_rows_follow_the_numerator_law(napkin):
    """Numerator of the napkin: sum_W1 P(X, Y | W1, W2) P(W1) with W2 from the data, so W1 and
    W2 independent with their data marginals, and (X, Y) given (W1, W2) as in the data."""
    d = napkin.data
    frac = identify(napkin.graph, ["X"], ["Y"]).expression
    rows = reweighted_rows(frac.numerator, d, np.random.default_rng(0)).rows
    assert rows.shape == (3000,)
    w1, w2 = d["W1"].astype(int), d["W2"].astype(int)
    indep = np.outer(np.bincount(w1, minlength=6), np.bincount(w2, minlength=10)) / 3000**2
    tv = lambda p, q: 0.5 * np.abs(p - q).sum()  # noqa: E731
    assert tv(_joint(w1, w2, 6, 10), indep) > 0.4  # the data: W2 copies W1 80% of the time
    assert tv(_joint(w1[rows], w2[rows], 6, 10), indep) < 0.1
    # within a (W1, W2) cell the rows are the data's own: Y copies X's colour as often
    copy = read_color(d["X"]) == read_color(d["Y"])
    diag = w1 == w2
    assert abs(copy[rows][diag[rows]].mean() - copy[diag].mean()) < 0.05


def test_numerators_that_do_not_qualify_fall_back(napkin):
    d, rng = napkin.data, np.random.default_rng(0)
    num = identify(napkin.graph, ["X"], ["Y"]).expression.numerator
    continuous = {**d, "W1": d["W1"] + rng.normal(0, 0.1, 3000)}
    assert reweighted_rows(num, continuous, rng) is None  # probabilities from counts only
    tabular = {k: (v if v.ndim == 1 else v.mean((1, 2, 3))) for k, v in d.items()}
    assert reweighted_rows(num, tabular, rng) is None  # no image factor: generated draws
    # W2 a copy of W1: the numerator needs W1 independent of W2, whose off-diagonal cells the
    # data never shows (a positivity gap rows cannot fill); a 10% copy error fills them
    copied = {**d, "W2": d["W1"].copy()}
    assert reweighted_rows(num, copied, rng) is None
    noisy = np.where(rng.uniform(size=3000) < 0.9, d["W1"], rng.permutation(d["W1"]))
    assert reweighted_rows(num, {**d, "W2": noisy}, rng) is not None


def test_sampler_skips_the_numerator_generators(napkin):
    small = {k: v[:1500] for k, v in napkin.data.items()}  # every (W1, W2) cell present
    on = IDGenSampler(napkin.graph, "X", "Y", max_epochs=1, random_state=0, verbose=False)
    off = IDGenSampler(napkin.graph, "X", "Y", max_epochs=1, reweight=False, random_state=0,
                       verbose=False)  # fmt: skip
    assert on.fit(small).generators_ == {}
    assert {str(f) for f in off.fit(small).generators_} == {
        "P(X, Y | W1, W2)", "P(X | W1, W2)", "P(W1)"
    }  # fmt: skip
    ref = napkin.extras["x_reference"][0]
    a, b = (on.sample(5, {"X": ref}, random_state=1)["Y"] for _ in range(2))
    assert a.shape == (5, 3, 16, 16) and np.array_equal(a, b)


class _Draws:
    """A stand-in tabular generator: W1 from ``p`` whatever the inputs."""

    def __init__(self, p):
        self.p = np.asarray(p)

    def sample(self, n, do, random_state=None):
        rng = np.random.default_rng(random_state)
        return {"W1": rng.choice(len(self.p), size=n, p=self.p), **do}


def test_tabular_stage_draws_the_numerator_law():
    """q(T | inputs) ∝ w(T) p(T | inputs): candidates of the data's law resampled by w, pooled
    over units with the same inputs (one image under do(X = x)) or per unit (other images)."""
    p, w = [0.7, 0.2, 0.1], np.array([0.5, 1.0, 3.0])
    q = np.array(p) * w / (np.array(p) * w).sum()  # 0.412, 0.235, 0.353
    weights = CellWeights(["W1"], np.array([[0.0], [1.0], [2.0]]), w)
    f = TwoStageFraction(_Draws(p), ["W1"], None, ["Y"], ["W1"], weights)
    rng = np.random.default_rng(0)
    one = {"X": np.broadcast_to(np.ones((1, 2, 2)), (4000, 1, 2, 2))}
    each = {"X": rng.normal(size=(4000, 1, 2, 2))}
    got = np.bincount(f._draw_tabular(4000, one, rng)["W1"], minlength=3) / 4000
    assert np.abs(got - q).max() < 0.03, got
    # per unit, 8 candidates: resampling's finite-pool bias towards p (measured 0.48 / 0.24 /
    # 0.28 for 0.41 / 0.24 / 0.35), still closer to q than p is
    got = np.bincount(f._draw_tabular(4000, each, rng)["W1"], minlength=3) / 4000
    assert np.abs(got - q).sum() < 0.5 * np.abs(q - p).sum(), got
    # the cells the data never shows weigh 0; units whose candidates all weigh 0 keep any
    assert weights({"W1": np.array([2, 7])}).tolist() == [3.0, 0.0]
    none = TwoStageFraction(_Draws(p), ["W1"], None, ["Y"], ["W1"], CellWeights(
        ["W1"], np.array([[5.0]]), np.array([1.0])))  # fmt: skip
    got = np.bincount(none._draw_tabular(4000, one, rng)["W1"], minlength=3) / 4000
    assert np.abs(got - p).max() < 0.04
