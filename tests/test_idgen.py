"""ID-GEN (IDGenSampler) against simulator truth on identifiable latent-confounder graphs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deepcause.exceptions import (
    DataValidationError,
    NotFittedError,
    NotIdentifiableError,
    PositivityWarning,
)
from deepcause.generative import CausalGenerativeModel, LatentConfoundingError, _district_nodes
from deepcause.generative.idgen import IDGenSampler
from deepcause.simulate.images import make_confounded_digit_label, make_frontdoor_image_mediator
from deepcause.simulate.suite import get_case

N_TRAIN, N_SAMPLE, EPOCHS = 2000, 4000, 40


@pytest.fixture(scope="module", params=["frontdoor", "napkin"])
def fitted(request):
    case = get_case(request.param)
    df = case.sample(N_TRAIN, random_state=0)
    s = IDGenSampler(case.graph, case.treatment, case.outcome, max_epochs=EPOCHS, random_state=0)
    if case.name == "napkin":
        # the napkin formula pairs W1 ~ P(W1) with a fixed W2, while W2 = W1 + noise in the
        # data: most inputs of P(X, Y | W1, W2) are off the data (the front door warns at
        # sampling instead: see test_effect_matches_truth)
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
    with warnings.catch_warnings(record=True) as caught:
        # napkin: do(X = +-1) is rare given some W2 (see fixture); front door: P(Y | M, X') at
        # M drawn under do(X = +-1) paired with X' from its marginal, 12-13% of the pairs off
        # the data, each mean 0.15-0.17 s.d. off the truth (bench_generative.md, "ID-GEN
        # off-support warning"; the errors cancel in the contrast)
        warnings.simplefilter("always", PositivityWarning)
        hi_s = s.sample(N_SAMPLE, {t: hi}, random_state=2)
        lo_s = s.sample(N_SAMPLE, {t: lo}, random_state=2)
        est = float(hi_s[y].mean() - lo_s[y].mean())
    if case.name == "frontdoor":
        assert len(caught) == 2 and all("P(Y | M, X)" in str(w.message) for w in caught)
        assert (
            min(hi_s.attrs["off_support"]["P(Y | M, X)"], lo_s.attrs["off_support"]["P(Y | M, X)"])
            > 0.05
        )
    sd = float(df[y].std())
    # sampling s.e. <= sd * sqrt(2 / 4000) = 0.022 sd; the rest is a 2000-row fit's error
    assert abs(est - truth) < 0.2 * sd, (case.name, est, truth, sd)
    # the naive contrast E[Y | X] (confounded) is far off on these graphs
    naive = float(df.loc[df[t] > hi - 0.25, y].mean() - df.loc[df[t] < lo + 0.25, y].mean())
    assert abs(naive - truth) > 2 * abs(est - truth)


def test_output_and_determinism(fitted) -> None:
    case, _, s = fitted
    with warnings.catch_warnings():  # the front door's P(Y | M, X') (test_effect_matches_truth)
        warnings.simplefilter("ignore", PositivityWarning)
        a = s.sample(300, {case.treatment: 0.5}, random_state=5)
        b = s.sample(300, {case.treatment: 0.5}, random_state=5)
    assert list(a.columns) == [case.treatment, case.outcome]
    assert a.equals(b) and a.attrs["off_support"] == b.attrs["off_support"]
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


def _truth_mean(case, value, n=200_000, given=None):
    """E[outcome | do(treatment = value)] on the SCM, conditioned by rejection on ``given``."""
    t = case.truth(n, value, random_state=7)
    for k, v in (given or {}).items():
        t = t[t[k] == v]
    return float(t[case.outcome].mean())


def test_napkin_bias_below_005_sd(fitted) -> None:
    """The napkin's top-level fraction is trained on jointly drawn inputs, without the free W2:
    sampling never pairs do(X = x) with an unrelated W2 (no PositivityWarning at sampling)."""
    case, df, s = fitted
    if case.name != "napkin":
        pytest.skip("napkin only")
    sd = float(df[case.outcome].std())
    errors = []
    for i, v in enumerate(case.do_values):
        with warnings.catch_warnings():
            warnings.simplefilter("error", PositivityWarning)
            est = float(
                s.sample(N_SAMPLE, {case.treatment: v}, random_state=i)[case.outcome].mean()
            )
        errors.append(abs(est - _truth_mean(case, v)) / sd)
    # before the fix (W2 drawn apart from X, the fraction evaluated off its support): 0.064 sd
    assert np.mean(errors) < 0.05, errors


def test_merge_shares_generators(fitted) -> None:
    """P(X | W1, W2) (denominator) is served by the chained generator of P(X, Y | W1, W2)."""
    case, _, s = fitted
    if case.name != "napkin":
        pytest.skip("napkin only")
    num = next(f for f in s.generators_ if f.variables == frozenset({"X", "Y"}))
    den = next(f for f in s.generators_ if f.variables == frozenset({"X"}))
    assert s.generators_[num] is s.generators_[den]
    assert len({id(m) for m in s.generators_.values()}) == 2  # P(W1) and the merged chain


def test_conditional_query_matches_rejection_truth() -> None:
    """P(B | do(A = a), C = c) on the binary chain A -> B -> C: IDC's fraction, sampled with a
    conditional generator, against the SCM under do(A = a) conditioned on C = c by rejection."""
    case = get_case("chain_binary")
    t, mid, last = list(case.graph.topological_order())
    df = case.sample(3000, random_state=0)
    s = IDGenSampler(case.graph, t, mid, given=last, max_epochs=30, random_state=0).fit(df)
    assert s.estimand_.kind == "conditional"
    truth = case.scm.sample(400_000, do={t: 1.0}, random_state=3)
    for c in (0.0, 1.0):
        out = s.sample(4000, {t: 1.0}, given={last: c}, random_state=1)
        assert list(out.columns) == [t, last, mid]
        assert (out[last] == c).all()
        want = float(truth.loc[truth[last] == c, mid].mean())
        # s.e. of a 4000-sample mean of a 0/1 variable <= 0.008; the fit's own error dominates:
        # measured over random_state 0-3 (3,000 rows): c = 0 within 0.013, c = 1 0.041, 0.056,
        # -0.028, -0.029 (the fraction's generator is trained on 3,000 generated samples)
        assert abs(float(out[mid].mean()) - want) < 0.08, (c, out[mid].mean(), want)
    # conditioning matters here: the two conditional truths are far apart
    gap = truth.loc[truth[last] == 1.0, mid].mean() - truth.loc[truth[last] == 0.0, mid].mean()
    assert abs(gap) > 0.2
    with pytest.raises(DataValidationError, match="given"):
        s.sample(10, {t: 1.0})


EPOCHS_BOTH = {"joint": 100, "idgen": 40}


@pytest.mark.slow
def test_both_latent_strategies_answer_the_same_query(monkeypatch) -> None:
    """The napkin P(Y | do(X)) through one model class: the district-joint neural causal model
    and ID-GEN, both against the SCM's truth. The joint route's district is trained once
    (``TABULAR_N_INIT = 1``; restarts: ``test_district_restarts.py``): errors 0.015 / 0.008 s.d.
    with one initialisation or three, district CPU 26 -> 12 s."""
    monkeypatch.setattr(_district_nodes, "TABULAR_N_INIT", 1)
    case = get_case("napkin")
    df = case.sample(2000, random_state=0)
    sd = float(df[case.outcome].std())
    truth = {v: _truth_mean(case, v) for v in case.do_values}
    for strategy in ("joint", "idgen"):
        m = CausalGenerativeModel(
            case.graph, latent_strategy=strategy, max_epochs=EPOCHS_BOTH[strategy], random_state=0
        ).fit(df)
        for i, v in enumerate(case.do_values):
            with warnings.catch_warnings():  # idgen's fit warns (see the fixture)
                warnings.simplefilter("ignore", PositivityWarning)
                # and says that it leaves W1, W2 out (test_generative_api_audit2.py)
                warnings.filterwarnings("ignore", "sample.* returns X, Y only")
                out = m.sample(4000, do={case.treatment: v}, random_state=i)
            assert out.attrs["identified"] is True
            err = abs(float(out[case.outcome].mean()) - truth[v]) / sd
            assert err < 0.1, (strategy, v, err)
    # idgen: the treatment and its descendants (the joint law of W1, W2 and Y under do(X) is
    # not identifiable)
    assert list(out.columns) == ["X", "Y"]
    with pytest.raises(LatentConfoundingError, match="idgen"):
        m.counterfactual(df.head(), do={"X": 0.0})


def test_idgen_route_refuses_non_identifiable_and_bad_input() -> None:
    case = get_case("bow")
    m = CausalGenerativeModel(case.graph, latent_strategy="idgen", max_epochs=2, random_state=0)
    m.fit(case.sample(200, random_state=0))
    with pytest.raises(NotIdentifiableError):
        m.sample(10, do={"X": 1.0})
    with pytest.raises(DataValidationError, match="do="):
        m.sample(10)
    napkin = get_case("napkin")
    with pytest.raises(NotIdentifiableError):  # P(Y, W2 | do(X)) is not identifiable
        IDGenSampler(napkin.graph, "X", "Y", given="W2", max_epochs=2).fit(
            napkin.sample(200, random_state=0)
        )
    joint = CausalGenerativeModel(get_case("chain_linear").graph, max_epochs=2, random_state=0)
    joint.fit(get_case("chain_linear").sample(100, random_state=0))
    with pytest.raises(DataValidationError, match="latent_strategy='idgen'"):
        joint.sample(10, do={"A": 1.0}, given={"C": 0.0})


# --------------------------------------------------------------------------- image nodes
def test_image_treatment_one_image_or_per_unit_and_conditional_query() -> None:
    """Back-door with an image treatment: P(Y | do(X = x)) = sum_C P(Y | x, C) P(C), and the
    conditional query P(Y | do(X = x), C = c); images in, a mapping out."""
    ds = make_confounded_digit_label(300, truth_n=100, random_state=0)
    ref = ds.extras["x_reference"]
    m = CausalGenerativeModel(ds.graph, latent_strategy="idgen", max_epochs=2, random_state=0)
    m.fit(ds.data)
    out = m.sample(12, do={"X": ref[0]}, random_state=1)
    # every node, as the joint route returns (P(C, Y | do(X)) = P(C) P(Y | X, C)), data order
    assert isinstance(out, dict) and list(out) == list(ds.data) == ["C", "X", "Y"]
    assert out["X"].shape == (12, 3, 16, 16) and np.array_equal(out["X"][5], ref[0])
    again = m.sample(12, do={"X": ref[0]}, random_state=1)
    assert np.array_equal(out["Y"], again["Y"])
    per_unit = m.sample(8, do={"X": np.repeat(ref, 2, axis=0)}, random_state=1)
    assert np.array_equal(per_unit["X"], np.repeat(ref, 2, axis=0))
    with pytest.raises(DataValidationError, match=r"one image of shape \(3, 16, 16\)"):
        m.sample(8, do={"X": ref[0][:, :8]})
    cond = m.sample(10, do={"X": ref[1]}, given={"C": 2}, random_state=0)
    assert list(cond) == ["C", "X", "Y"] and np.all(cond["C"] == 2)


def test_image_factor_generators_are_selectable() -> None:
    """Front door with an image mediator: the factor P(M | X) is an image generator of the
    kind named in mechanisms (here the conditional GAN); P(Y | M, X') reads M by a conv net."""
    ds = make_frontdoor_image_mediator(200, truth_n=100, random_state=0)
    s = IDGenSampler(ds.graph, "X", "Y", mechanisms={"M": "image_gan"}, max_epochs=1,
                     random_state=0).fit(ds.data)  # fmt: skip
    kinds = {
        str(f): {v: type(mech).__name__ for v, mech in g.mechanisms_.items()}
        for f, g in s.generators_.items()
    }
    assert kinds["P(M | X)"]["M"] == "ImageGANMechanism"
    assert kinds["P(Y | M, X)"]["Y"] == "ImageParentMechanism"
    out = s.sample(6, {"X": 1}, random_state=0)
    assert sorted(out) == ["X", "Y"] and out["Y"].shape == (6,)


# measured (2,000 units, 30 epochs): the district-joint model passes (bench_images.md, 3,000
# units: errors 0.073 and 0.015 against conditioning 0.117 and 0.103); ID-GEN: E[Y | do(X)]
# 0.436 / 0.644 against the truth 0.379 / 0.640 (errors 0.057, 0.004). ID-GEN failed before its
# label factor P(Y | M, X') was fitted in two stages (_idgen_factors.ImageFeatureFactor): in one
# stage the conv head barely read the mediator's digit (0.477 / 0.479); what is left is the
# VAE's P(M | X): P(digit >= 5 | x) 0.44 / 0.69 against 0.13 / 0.89 in truth
FRONTDOOR_BOUND = 0.1


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["joint", "idgen"])
def test_frontdoor_image_mediator_against_truth(strategy, monkeypatch) -> None:
    """E[Y | do(X = x)] through the image mediator against the simulator's truth, and the
    conditioning baseline E[Y | X = x] (confounded by the hidden U) measurably worse. The
    joint route's tabular district {X, Y} is trained once (``TABULAR_N_INIT = 1``): with three
    initialisations the first is kept and the errors are the same (0.062 / 0.085 against
    conditioning's 0.110 / 0.099), at 43 CPU s for the fit instead of 27."""
    monkeypatch.setattr(_district_nodes, "TABULAR_N_INIT", 1)
    ds = make_frontdoor_image_mediator(2000, truth_n=20_000, random_state=0)
    truth = {1: ds.truth["E[Y|do(X=1)]"], 0: ds.truth["E[Y|do(X=0)]"]}
    cond = {x: float(ds.data["Y"][ds.data["X"] == x].mean()) for x in (0, 1)}
    m = CausalGenerativeModel(
        ds.graph, latent_strategy=strategy, max_epochs=30, random_state=0, verbose=False
    ).fit(ds.data)
    errs = [abs(float(np.mean(m.sample(4000, do={"X": x}, random_state=x)["Y"])) - truth[x])
            for x in (0, 1)]  # fmt: skip
    cond_errs = [abs(cond[x] - truth[x]) for x in (0, 1)]
    assert max(errs) < FRONTDOOR_BOUND, (errs, cond_errs)
    assert np.mean(cond_errs) > 1.3 * np.mean(errs), (errs, cond_errs)


@pytest.mark.slow
def test_backdoor_image_treatment_against_truth_and_conditioning() -> None:
    """P(Y | do(X = x)) for four reference images by ID-GEN (sum_C P(Y | x, C) P(C), the
    label read off the image by a conv head) against the simulator, and the conditioning
    baseline P(Y | X ~ x) (the 100 nearest training images, which share the colour group C)."""
    ds = make_confounded_digit_label(2000, truth_n=10, random_state=0)
    m = CausalGenerativeModel(
        ds.graph, latent_strategy="idgen", max_epochs=20, random_state=0, verbose=False
    ).fit(ds.data)
    flat = ds.data["X"].reshape(2000, -1)
    errs, cond = [], []
    for i, ref in enumerate(ds.extras["x_reference"]):
        truth = ds.scm.sample(2000, do={"X": ref}, random_state=100 + i)["Y"].mean()
        y = m.sample(1000, do={"X": ref}, random_state=i)["Y"]
        near = np.argsort(((flat - ref.reshape(1, -1)) ** 2).sum(1), kind="stable")[:100]
        errs.append(abs(float(np.mean(y)) - truth))
        cond.append(abs(float(ds.data["Y"][near].mean()) - truth))
    # measured (bench_images.md, run 2, one-stage label factor): errors 0.072 0.059 0.058 0.317
    # (mean 0.127) against conditioning 0.157 0.029 0.181 0.442 (mean 0.202); with the two-stage
    # factor (_idgen_factors): 0.250 0.025 0.034 0.245 (mean 0.139)
    assert np.mean(errs) < 0.15, errs
    assert np.mean(cond) > 1.3 * np.mean(errs), (errs, cond)
