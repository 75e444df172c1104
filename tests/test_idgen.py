"""ID-GEN (IDGenSampler) against simulator truth on identifiable latent-confounder graphs."""

from __future__ import annotations

import warnings

import pytest

from deepcause.exceptions import (
    DataValidationError,
    NotFittedError,
    NotIdentifiableError,
    PositivityWarning,
)
from deepcause.generative.idgen import IDGenSampler
from deepcause.simulate.suite import get_case

N_TRAIN, N_SAMPLE, EPOCHS = 2000, 4000, 40


@pytest.fixture(scope="module", params=["frontdoor", "napkin"])
def fitted(request):
    case = get_case(request.param)
    df = case.sample(N_TRAIN, random_state=0)
    s = IDGenSampler(case.graph, case.treatment, case.outcome, max_epochs=EPOCHS, random_state=0)
    if case.name == "napkin":
        # the napkin formula pairs W1 ~ P(W1) with a fixed W2, while W2 = W1 + noise in the
        # data: most inputs of P(X, Y | W1, W2) are off the data (no warning on the front door)
        with pytest.warns(PositivityWarning, match=r"P\(X, Y \| W1, W2\).*\['W1', 'W2'\]"):
            s.fit(df)
    else:
        s.fit(df)
    return case, df, s


def test_effect_matches_truth(fitted) -> None:
    case, df, s = fitted
    lo, hi = case.do_values
    t, y = case.treatment, case.outcome
    truth = float(
        case.truth(200_000, hi, random_state=1)[y].mean()
        - case.truth(200_000, lo, random_state=1)[y].mean()
    )
    with warnings.catch_warnings():  # napkin: do(X = +-1) is rare given some W2 (see fixture)
        if case.name == "napkin":
            warnings.simplefilter("ignore", PositivityWarning)
        est = float(
            s.sample(N_SAMPLE, {t: hi}, random_state=2)[y].mean()
            - s.sample(N_SAMPLE, {t: lo}, random_state=2)[y].mean()
        )
    sd = float(df[y].std())
    # sampling s.e. <= sd * sqrt(2 / 4000) = 0.022 sd; the rest is a 2000-row fit's error
    assert abs(est - truth) < 0.2 * sd, (case.name, est, truth, sd)
    # the naive contrast E[Y | X] (confounded) is far off on these graphs
    naive = float(df.loc[df[t] > hi - 0.25, y].mean() - df.loc[df[t] < lo + 0.25, y].mean())
    assert abs(naive - truth) > 2 * abs(est - truth)


def test_output_and_determinism(fitted) -> None:
    case, _, s = fitted
    a = s.sample(300, {case.treatment: 0.5}, random_state=5)
    b = s.sample(300, {case.treatment: 0.5}, random_state=5)
    assert list(a.columns) == [case.treatment, case.outcome]
    assert a.equals(b)
    assert a.attrs["identified"] is True and "do(X)" in a.attrs["estimand"]


def test_not_identifiable_raises_at_fit() -> None:
    case = get_case("bow")
    with pytest.raises(NotIdentifiableError):
        IDGenSampler(case.graph, "X", "Y", max_epochs=2).fit(case.sample(100, random_state=0))


def test_bad_input() -> None:
    case = get_case("bow_mediator")
    s = IDGenSampler(case.graph, "X", "Y", max_epochs=2, random_state=0)
    with pytest.raises(NotFittedError):
        s.sample(10, {"X": 1.0})
    s.fit(case.sample(200, random_state=0))
    with pytest.raises(DataValidationError, match="treatment"):
        s.sample(10, {"M": 1.0})
    with pytest.raises(DataValidationError, match="shape"):
        s.sample(10, {"X": [1.0, 2.0]})
    with pytest.raises(DataValidationError):
        IDGenSampler(case.graph, "X", "Y").fit(case.sample(50, random_state=0).drop(columns="M"))
