"""Numbers that cannot overflow (issue 12, item 3): values beyond ±1e150 are refused with a
one-line error naming the column; the scale-safe spread never overflows; moderate but large
scales are fitted, and the effect estimate is in the units of the outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause._validation import SAFE_MAX, check_finite, numeric_covariates, scaled_std
from deepcause.estimate import AIPW, IPW
from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel


def confounded(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Z confounds T and Y; the effect of T on Y is 2."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = 2.0 * t + 1.5 * z + rng.normal(scale=0.5, size=n)
    return pd.DataFrame({"z": z, "t": t, "y": y})


def _one_line(exc: pytest.ExceptionInfo, column: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and repr(column) in msg and "rescale the column" in msg
    return msg


@pytest.mark.parametrize("estimator", [AIPW, IPW])
def test_huge_covariate_is_refused_not_zeroed(estimator):
    df = confounded()
    df["z"] *= 1e300  # once overflowed in standardisation: z became zeros, bias went unnoticed
    with pytest.raises(DataValidationError) as exc:
        estimator().fit(df, treatment="t", outcome="y", covariates=["z"])
    _one_line(exc, "z")


@pytest.mark.parametrize("estimator", [AIPW, IPW])
def test_huge_outcome_cell_is_refused(estimator):
    df = confounded()
    df.loc[3, "y"] = 1e300  # once gave an estimate of -3.4e297
    with pytest.raises(DataValidationError) as exc:
        estimator().fit(df, treatment="t", outcome="y", covariates=["z"])
    _one_line(exc, "y")


@pytest.mark.parametrize("scale", [1e120])
def test_large_but_safe_scales_give_the_same_answer_in_outcome_units(scale):
    df = confounded()
    base = AIPW(random_state=0).fit(df, treatment="t", outcome="y", covariates=["z"]).ate().value
    assert abs(base - 2.0) < 0.3  # truth from the simulator
    scaled = df.assign(z=df["z"] * scale, y=df["y"] * scale)
    est = AIPW(random_state=0).fit(scaled, treatment="t", outcome="y", covariates=["z"]).ate().value
    assert np.isfinite(est) and est / scale == pytest.approx(base, rel=1e-6)


def test_generative_model_refuses_huge_values():
    df = confounded(200)
    df["z"] *= 1e300
    with pytest.raises(DataValidationError) as exc:
        CausalGenerativeModel("z -> t -> y; z -> y", max_epochs=1, random_state=0).fit(df)
    _one_line(exc, "z")


def test_negative_and_threshold_values():
    ok = pd.DataFrame({"a": [SAFE_MAX, -SAFE_MAX, 0.0]})
    check_finite(ok)  # the bound itself is allowed
    bad = pd.DataFrame({"a": [1.0, 2.0], "b": [-1e151, 1.0]})
    with pytest.raises(DataValidationError, match="'b'"):
        check_finite(bad)
    with pytest.raises(DataValidationError, match="'b'"):
        numeric_covariates(bad, ["a", "b"])


def test_scaled_std_matches_numpy_and_does_not_overflow():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3)) * [1.0, 1e-200, 1e100]
    assert np.allclose(scaled_std(x), np.std(x, axis=0), rtol=1e-12)
    assert np.allclose(scaled_std(x[:, :1] * 1e300) / 1e300, np.std(x[:, 0]), rtol=1e-12)
    assert scaled_std(np.zeros((4, 2))).tolist() == [0.0, 0.0]
