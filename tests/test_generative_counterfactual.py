"""Unit-level counterfactuals of ``mechanisms="auto"`` against exact simulator truth.

Truth: the suite's SCMs propagated with each unit's own noise under the intervention; the model
sees only observational data. ``auto`` picks each node's mechanism by held-out likelihood.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from deepcause.exceptions import DataValidationError, PositivityWarning
from deepcause.generative import CausalGenerativeModel, load_model, selection
from deepcause.generative._encoding import NodeSpec
from deepcause.generative._training import _WeightAverage, train_mechanism
from deepcause.generative.mechanisms import (
    AdditiveNoiseMechanism,
    LocationScaleMechanism,
    LogMechanism,
)
from deepcause.generative.selection import _simplest_not_worse, select_mechanism
from deepcause.metrics import counterfactual_rmse, mmd_rbf
from deepcause.simulate.scm import SCM, Node, gaussian
from deepcause.simulate.suite import SimulatorCase, get_case, simulator_suite
from deepcause.testing.mechanisms import check_mechanism

N_TRAIN, N_CF = 3000, 500
INVERTIBLE = [c for c in simulator_suite() if c.invertible and not c.has_latent]


def _cf_rmse(case, mechanisms="auto", n_train=N_TRAIN, notes=None, seed=0, **kw):  # noqa: ANN001, ANN003
    """(model, mean counterfactual RMSE / sd of the outcome over the case's do values).

    ``seed`` is the data and model seed. Warnings that a unit's parents left their joint support are collected into ``notes``
    (tested where they must and must not fire), any other warning fails the test."""
    df = case.sample(n_train, random_state=seed)
    model = CausalGenerativeModel(
        case.graph, mechanisms=mechanisms, node_columns=case.node_columns, random_state=seed, **kw
    ).fit(df)
    noise = case.scm.sample_noise(N_CF, random_state=5)
    factual = case.scm.to_frame(case.scm.propagate(noise))
    ycols = case.outcome_columns()
    sd = float(np.linalg.norm(df[ycols].std().to_numpy()))
    errs = []
    for v in case.do_values:
        truth = case.scm.to_frame(case.scm.propagate(noise, {case.treatment: v}))
        with _warns_if_outside(df[case.treatment], v), _joint_support_notes(notes):
            cf = model.counterfactual(factual, do={case.treatment: v}, random_state=0)
        errs.append(counterfactual_rmse(cf[ycols].to_numpy(), truth[ycols].to_numpy(), scale=sd))
    return model, float(np.mean(errs))


def _warns_if_outside(observed, value):  # noqa: ANN001, ANN202
    """A do() value beyond the training data must be flagged, and only then: ladder_nonlinear's
    do(X1 = -1) lies below every observed X1 at n = 5000 (min -0.894), where its counterfactuals
    miss by about 0.1 s.d.; every other query of the suite lies inside the data."""
    if observed.min() <= value <= observed.max():
        return contextlib.nullcontext()  # filterwarnings = error: any warning fails the test
    return pytest.warns(PositivityWarning, match="lies outside the observed range")


@contextlib.contextmanager
def _joint_support_notes(notes):  # noqa: ANN001, ANN202
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if "off their joint support" in str(w.message):
            (notes if notes is not None else []).append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def test_multiplicative_noise_is_fitted_on_the_log_scale_and_counterfactuals_are_exact():
    case = get_case("mediator_multiplicative")
    notes, notes_additive = [], []
    model, rmse = _cf_rmse(case, max_epochs=60, notes=notes)
    choice = model.mechanism_choice_
    assert choice["M"]["mechanism"] == choice["Y"]["mechanism"] == "log", choice
    assert choice["X"]["reason"] == "root node"
    ll = choice["Y"]["val_log_lik"]
    assert {"additive", "log", "location_scale"} <= set(ll) and ll["log"] > ll["additive"]
    _, rmse_additive = _cf_rmse(case, "additive", max_epochs=60, notes=notes_additive)
    assert rmse < 0.1 < rmse_additive / 2, (rmse, rmse_additive)
    # the additive mechanism's counterfactual mediator (f(x) + u for a positive f(x) * e^u)
    # leaves the support of (X, M) for many units, and says so; the log one's stays on it
    assert not notes and any("parents (X, M) of 'Y'" in n for n in notes_additive), notes_additive


def test_heteroscedastic_noise_gets_a_location_scale_mechanism():
    case = get_case("mediator_location_scale")
    model, rmse = _cf_rmse(case, max_epochs=60)
    for node in ("M", "Y"):
        assert model.mechanism_choice_[node]["mechanism"] in ("location_scale", "flow"), node
    _, rmse_additive = _cf_rmse(case, "additive", max_epochs=60)
    assert rmse < 0.1 < rmse_additive, (rmse, rmse_additive)


@pytest.mark.slow  # about 20 s
def test_auto_reports_every_choice_and_interventions_stay_right():
    case = get_case("chain_nonlinear")
    model, rmse = _cf_rmse(case, max_epochs=60)
    assert rmse < 0.1
    for node in ("B", "C"):
        report = model.mechanism_choice_[node]
        kind = {"location_scale": "flow"}.get(report["mechanism"], report["mechanism"])
        assert model.mechanisms_[node].name == kind  # a flow that kept no conditional part
        assert report["mechanism"] in report["val_log_lik"] and report["n_val"] > 0
    truth = case.truth(2000, 1.0, random_state=1)["C"].to_numpy()
    s = model.sample(2000, do={"A": 1.0}, random_state=2)["C"].to_numpy()
    assert mmd_rbf(s, truth) < 0.01


def test_a_nested_additive_model_never_beats_a_better_location_scale_one():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(800, generator=g, dtype=torch.float64)
    r = torch.randn(800, generator=g, dtype=torch.float64)
    tiny = 0.002 + 0.2 * (r - r.mean())  # a positive gain with z about 0.3
    ls = {"additive": base, "location_scale": base + tiny}
    assert _simplest_not_worse(ls) == "location_scale"
    assert _simplest_not_worse(ls, nested=False) == "additive"  # vector nodes: parsimony
    assert _simplest_not_worse({"additive": base + tiny, "location_scale": base}) == "additive"
    # log-additive is not nested in location-scale: parsimony keeps it unless clearly worse
    assert _simplest_not_worse({"log": base, "location_scale": base + tiny}) == "log"
    clear = {"log": base, "location_scale": base + 0.2 + 0.2 * torch.randn(800, generator=g)}
    assert _simplest_not_worse(clear) == "location_scale"
    # additive is beaten by a model nesting it even when the log one is best: not kept
    log_best = {"additive": base, "log": base + 2 * tiny, "location_scale": base + tiny}
    assert _simplest_not_worse(log_best) == "log"
    assert _simplest_not_worse(log_best, nested=False) == "additive"


def test_small_data_multiplicative_outcome_is_not_left_additive():
    """1,000 rows of the multiplicative mediator (seed 1): Y's log model is best, the additive
    one is not significantly worse than it but is beaten by the location-scale model that nests
    it; kept by parsimony, the additive Y missed its counterfactuals by 0.48 s.d."""
    case = get_case("mediator_multiplicative")
    model, rmse = _cf_rmse(case, n_train=1000, seed=1)
    ll = model.mechanism_choice_["Y"]["val_log_lik"]
    assert ll["location_scale"] > ll["additive"] and max(ll, key=ll.get) == "log", ll
    assert model.mechanism_choice_["Y"]["mechanism"] == "log"
    assert rmse < 0.3, rmse


@pytest.mark.parametrize("seed", [0, 1])
def test_500_rows_hold_out_enough_rows_to_stop_and_choose_on(seed):
    """chain_nonlinear on 500 rows (data and model seed 0 / 1): with 15% held out (75 rows) the
    outcome's held-out rows scored even its true mechanism barely above a constant, so the
    additive candidate stopped at its second epoch, near its initial function, won the choice
    on the same rows and missed the counterfactuals by 0.58 / 0.63 s.d. A single split now holds
    out 150 rows (30% of 500): about 0.13 / 0.20 (bench_generative.md, run 14); below 2,000 rows
    auto cross-fits its candidates (run 13): each member stops on its own third of the rows
    and every row is scored out of fold."""
    model, rmse = _cf_rmse(get_case("chain_nonlinear"), n_train=500, seed=seed)
    assert rmse < 0.3, (rmse, model.mechanism_choice_["C"])
    assert model.mechanism_choice_["C"]["n_val"] == 500
    assert model.mechanism_choice_["C"]["folds"] == 3


def test_500_rows_hold_out_enough_rows_for_a_named_mechanism():
    """The split floor (150 held-out rows, not 15% = 75, at 500 rows) for a mechanism the user
    names, which one split trains and stops: chain_nonlinear, additive, data/model seed 1.
    Measured: 0.126 s.d. with the floor, 0.251 without (seeds 0-3: mean 0.127 against 0.161;
    bench_generative.md, run 14, lead's check)."""
    model, rmse = _cf_rmse(get_case("chain_nonlinear"), "additive", n_train=500, seed=1)
    assert rmse < 0.2, rmse


def _mild_heteroscedastic_case() -> SimulatorCase:
    """X -> Y with a noise scale varying by a factor 1.6 over X's range: the likelihood gain of
    the location-scale model is tiny, its counterfactual gain is not (not in the suite)."""

    def fn(pa, u):  # noqa: ANN001, ANN202
        s = 0.8 * pa["X"]
        return 1.5 * np.tanh(s) + (0.25 + 0.5 / (1 + np.exp(-s))) * (u + 0.2 * u**3)

    scm = SCM([Node("X", noise=gaussian(1.0)), Node("Y", ("X",), fn, gaussian(1.0))])
    return SimulatorCase("mild_heteroscedastic", "heteroscedastic", scm, "X", "Y", (-1.0, 1.0))


def test_a_mild_heteroscedastic_node_is_not_left_additive():
    case = _mild_heteroscedastic_case()
    model, rmse = _cf_rmse(case, max_epochs=60)
    assert model.mechanism_choice_["Y"]["mechanism"] in ("location_scale", "flow")
    _, rmse_additive = _cf_rmse(case, "additive", max_epochs=60)
    assert rmse < 0.1 < rmse_additive, (rmse, rmse_additive)


def test_log_and_location_scale_mechanisms_are_exactly_invertible():
    for mech in (LogMechanism(offset=-10.0, max_epochs=5), LocationScaleMechanism(max_epochs=5)):
        check_mechanism(mech)
    for base in ("additive", "location_scale", "flow"):
        pa = torch.randn(400, 1)
        x = torch.exp(0.5 * pa + 0.3 * torch.randn(400, 1))
        m = LogMechanism(base=base, max_epochs=10).fit(x, pa, random_state=0)
        with torch.no_grad():
            back = m.decode(m.encode(x, pa), pa)
        assert float((back - x).abs().max()) < 1e-3, base
        lp = m.log_prob(x[:5], pa[:5])
        torch.testing.assert_close(m(pa[:5]).log_prob(x[:5]), lp)  # the Jacobian is in both
    with pytest.raises(DataValidationError, match="above its offset"):
        m.encode(-x[:3], pa[:3])


def test_a_log_node_by_name_saves_and_loads(tmp_path):
    case = get_case("mediator_multiplicative")
    df = case.sample(400, random_state=0)
    model = CausalGenerativeModel(
        case.graph, mechanisms={"Y": "log"}, max_epochs=5, random_state=0
    ).fit(df)
    assert model.mechanisms_["Y"].name == "log" and model.mechanisms_["Y"].offset < 0
    again = load_model(model.save(tmp_path / "m"))
    a = model.counterfactual(df.head(20), do={"X": 0.5})
    np.testing.assert_allclose(a, again.counterfactual(df.head(20), do={"X": 0.5}), rtol=1e-6)
    assert (a["Y"] > 0).all()


@pytest.mark.slow  # about 10 minutes on one core: every invertible case of the suite
@pytest.mark.parametrize("case", INVERTIBLE, ids=lambda c: getattr(c, "name", str(c)))
def test_auto_counterfactuals_are_unit_accurate_on_every_invertible_case(case):
    model, rmse = _cf_rmse(case, n_train=5000)
    assert rmse < 0.1, (case.name, rmse, model.mechanism_choice_)


def test_weight_averaging_validates_and_keeps_the_averaged_weights():
    net = torch.nn.Linear(2, 1)
    ema = _WeightAverage(net, steps_per_epoch=2)  # time constant max(10, 3 * 2) = 10 steps
    start = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update()  # the average holds the one step taken, not the initial weights (bias-corrected)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update()
    moved = net.weight.detach().clone()
    with ema:  # the module holds the average inside the block: (0.9 * 1 + 2) / (1 + 0.9)
        torch.testing.assert_close(net.weight, start + 2.9 / 1.9)
    torch.testing.assert_close(net.weight, moved)  # and its own weights afterwards
    # a mechanism that averages ends on averaged weights, which follow a smoother path: the
    # fitted mean of the same data varies less from one training seed to the next. Six seeds:
    # with three, the spread's estimate is too noisy once training waits longer on this data
    # (patience in steps, run 7 of bench_generative.md: seeds 0-2 gave 0.0123 without averaging,
    # 0.0134 with; seeds 0-5 0.0195 and 0.0140)
    g = torch.Generator().manual_seed(3)
    pa = torch.randn(3000, 1, generator=g)
    x = 0.6 * pa + 0.3 * torch.sin(2 * pa) + 0.4 * torch.randn(3000, 1, generator=g)
    grid = torch.linspace(-2, 2, 9)[:, None]
    spread = {}
    for average in (False, True):
        fits = []
        for seed in range(6):
            m = AdditiveNoiseMechanism().build(1, 1)
            m.average_weights = average
            train_mechanism(m, x, pa, random_state=seed, verbose=False)
            with torch.no_grad():
                fits.append(m.mean(grid)[:, 0])
        spread[average] = float(torch.stack(fits).std(0).mean())
    assert spread[True] < spread[False], spread


def test_a_vector_nodes_additive_candidate_is_scored_with_a_fair_density():
    """Silverman's kernel density of 16-d residuals scores ~30 nats below the flow for noise
    the additive model reproduces exactly; the Gaussian residual density puts the two within
    a fraction of a nat, so the choice weighs the models, not the density estimate."""
    case = get_case("vector_mediator")
    df = case.sample(2000, random_state=7)
    model = CausalGenerativeModel(
        case.graph,
        mechanisms={"Y": "additive"},
        node_columns=case.node_columns,
        max_epochs=30,
        random_state=7,
    ).fit(df)
    report = model.mechanism_choice_["V"]
    ll = report["val_log_lik"]
    assert abs(ll["additive"] - ll["location_scale"]) < 0.5, ll
    assert report["mechanism"] == "additive", report  # Gaussian noise: parsimony keeps it
    assert report["n_val"] == 300 and model.mechanisms_["V"].dim == 16


@pytest.mark.slow  # about 30 s: 5,000 rows of the 18-column vector mediator
def test_auto_candidates_average_their_weights_so_one_fit_is_not_an_outlier():
    """vector_mediator, data seed 0, model seed 3: without weight averaging Y's location-scale
    fit (its direct-effect slope is weakly identified: X is nearly a function of its 16-d
    mediator) put E[Y | do(X = -1)] 0.19 s.d. off (bench MMD² 0.0072); with it 0.023 s.d.
    (uncorrected averaging: 0.013, and at most 0.041 over 4 data x 4 model seeds;
    benchmarks/results/bench_generative_seeds.md). The bound leaves room for the 5,000 samples'
    own error (0.014 s.d.)."""
    case = get_case("vector_mediator")
    df = case.sample(5000, random_state=0)
    model = CausalGenerativeModel(case.graph, node_columns=case.node_columns, random_state=3).fit(
        df
    )
    assert model.mechanism_choice_["Y"]["mechanism"] == "location_scale"
    sd = float(df["Y"].std())
    truth = case.truth(100_000, -1.0, random_state=20)["Y"].mean()
    s = model.sample(5000, do={"X": -1.0}, random_state=555)["Y"]
    assert abs(s.mean() - truth) / sd < 0.08, (s.mean() - truth) / sd


def test_counterfactuals_say_which_nodes_are_posterior_draws(benchmark_module):
    """fresh_mixed_binary: W -> T (binary), (T, W) -> Y (Student-t noise), Y -> C (3 levels,
    Gumbel-max), (Y, C) -> M."""
    cases = benchmark_module("bench_generative_fresh").run5_cases()
    scm = next(c for c in cases if c.name == "fresh_mixed_binary").scm
    df = scm.sample(3000, random_state=0)
    model = CausalGenerativeModel(scm.graph, max_epochs=40, random_state=0).fit(df)
    noise = scm.sample_noise(500, random_state=5)
    factual = scm.to_frame(scm.propagate(noise))
    truth = scm.to_frame(scm.propagate(noise, {"T": 1}))
    with warnings.catch_warnings():  # a few drawn (Y, C) pairs are rare: M's support check
        warnings.simplefilter("ignore", PositivityWarning)
        a = model.counterfactual(factual, do={"T": 1}, random_state=0)
        b = model.counterfactual(factual, do={"T": 1}, random_state=1)
    # the categorical node and the child it reaches are draws; the invertible Y is not
    assert a.attrs["posterior_draw"] == ["C", "M"] == b.attrs["posterior_draw"]
    assert np.array_equal(a["Y"].to_numpy(), b["Y"].to_numpy())
    assert counterfactual_rmse(a[["Y"]].to_numpy(), truth[["Y"]].to_numpy(), df["Y"].std()) < 0.1
    changed = (a["C"].to_numpy() != b["C"].to_numpy()).mean()
    assert 0.0 < changed < 0.5  # two draws disagree on some units
    # units already treated: nothing moves, the draw keeps the factual level (Gumbel-max)
    treated = factual["T"].to_numpy() == 1
    assert (a["C"].to_numpy()[treated] == factual["C"].to_numpy()[treated]).all()
    assert np.allclose(a["M"].to_numpy()[treated], factual["M"].to_numpy()[treated], atol=1e-4)
    # a query that reaches no categorical node has no such entry
    with warnings.catch_warnings():  # C = 2 with a low Y is rare: checked below
        warnings.simplefilter("ignore", PositivityWarning)
        to_c = model.counterfactual(factual, do={"C": 2}, random_state=0)
    assert "posterior_draw" not in to_c.attrs
    true_m = scm.to_frame(scm.propagate(noise, {"C": 2}))["M"].to_numpy()
    off = to_c.attrs.get("off_support", {}).get("M", {}).get("units", np.zeros(500, bool))
    assert off.mean() < 0.3
    err = (to_c["M"].to_numpy() - true_m)[~off] / df["M"].std()
    assert np.sqrt(np.mean(err**2)) < 0.1


@pytest.mark.slow  # about 2 minutes: three 7-node fits on 1,000 rows
def test_small_data_chain_outcome_and_every_node(benchmark_module):
    """fresh_chain7_small (X0 -> ... -> X6, mild nonlinearities, five noise shapes) on 1,000
    rows, the benchmark's protocol at data/model seeds 0-2: the worst node's counterfactual RMSE
    (every non-intervened node, both do values, in the node's s.d.) averaged over the seeds is
    below the 0.1 s.d. target. With patience counted in plain epochs (4 optimiser steps each at
    1,000 rows) it was 0.113 (0.101, 0.120, 0.117: X6, X3, X3); measured 0.093 (0.098, 0.103,
    0.078) with patience in epochs of the steps 4,096 rows give (deepcause.generative._training).
    Cross-fitted candidates (deepcause.generative.selection, below 2,000 rows) trade here: the
    outcome X6's mean CF RMSE falls 0.076 -> 0.059 (0.090 / 0.078 / 0.061 -> 0.074 / 0.072 /
    0.030), the worst intermediate node rises 0.093 -> 0.109 (X4 0.091, X3 0.134, X3 0.102;
    bench_generative.md, run 13, the lead's fresh-case check): both pinned, the second a miss
    of the 0.1 target recorded, not met."""
    bench = benchmark_module("bench_generative_fresh")
    case = next(c for c in bench.run5_cases() if c.name == "fresh_chain7_small")
    worst, outcome = [], []
    for seed in (0, 1, 2):
        row = bench.run(case, seed, "auto", n_train=1000)
        worst.append(max(max(row["cf"]), max(row["other"].values())))
        outcome.append(np.mean(row["cf"]))
    assert np.mean(outcome) < 0.068, outcome
    assert np.mean(worst) < 0.12, worst


@pytest.mark.parametrize("seed", [0, 1])
def test_the_additive_scale_is_kept_when_clear_and_shrunk_away_when_absent(seed):
    """X -> Y on 1,000 rows, heavy-tailed noise: a noise scale with log-slope 0.35 (true log
    ratio 0.7 between X = -1 and X = +1) is recovered; a constant one stays constant."""
    g = torch.Generator().manual_seed(seed)
    pa, u = torch.randn(1000, 1, generator=g), torch.randn(1000, 1, generator=g)
    e, ends = u + 0.2 * u**3, torch.tensor([[-1.0], [1.0]])
    for slope, lo, hi in ((0.35, 0.45, 0.95), (0.0, -0.1, 0.1)):
        x = torch.tanh(pa) + 0.4 * torch.exp(slope * pa) * e
        m = AdditiveNoiseMechanism(scale=True, max_epochs=60).fit(x, pa, random_state=seed)
        with torch.no_grad():
            ratio = float(m.log_sigma(ends).diff(dim=0))
            back = m.decode(m.encode(x, pa), pa)
        assert lo < ratio < hi, (slope, ratio, m.scale_shrinkage_)
        assert 0.0 <= m.scale_shrinkage_ <= 1.0
        torch.testing.assert_close(back, x, atol=1e-4, rtol=0)  # exact abduction


def test_an_additive_node_with_a_scale_saves_and_loads(tmp_path):
    case = get_case("chain_heteroscedastic")
    df = case.sample(600, random_state=0)
    mechs = {v: AdditiveNoiseMechanism(scale=True, max_epochs=20) for v in ("B", "C")}
    model = CausalGenerativeModel(case.graph, mechanisms=mechs, random_state=0).fit(df)
    assert float(model.mechanisms_["C"].scale_coef.abs().sum()) > 0  # a varying scale kept
    again = load_model(model.save(tmp_path / "m"))
    a = model.counterfactual(df.head(20), do={"A": 0.5})
    np.testing.assert_allclose(a, again.counterfactual(df.head(20), do={"A": 0.5}), rtol=1e-6)


@pytest.mark.slow  # about 1 minute: four 4-node fits on 1,000 rows
@pytest.mark.parametrize("seed", [0, 1])
def test_small_data_heteroscedastic_counterfactuals_keep_the_noise_scale(seed):
    """The suite's heteroscedastic chain and diamond on 1,000 rows: where the held-out rows
    choose the additive model (they cannot tell its constant scale from the true 1.7-fold
    variation), its shrunk log-linear scale keeps the counterfactuals near the location-scale
    model's. With a constant additive scale, seed 0 missed by 0.16 (chain, node B) and 0.19
    s.d. (diamond, node D) (bench_generative.md, runs 8 and 9)."""
    for name in ("chain_heteroscedastic", "diamond_heteroscedastic"):
        model, rmse = _cf_rmse(get_case(name), n_train=1000, seed=seed)
        assert rmse < 0.13, (name, rmse, model.mechanism_choice_)


@pytest.mark.slow  # about 1 minute: a 4-node fit on 1,000 rows
def test_an_additive_node_with_laplace_noise_fits_its_mean_under_a_learned_noise_density(
    monkeypatch,
):
    """diamond_nonlinear on 1,000 rows (data and model seed 0): the outcome D = 0.8 tanh(B) +
    0.6 tanh(C) + linear terms + Laplace noise is additive, and auto keeps the additive model.
    Its mean fitted by least squares (a Gaussian likelihood, half as efficient as the Laplace
    one) missed D's counterfactuals under do(B = +-1) by 0.142 s.d. (bench protocol); fitted
    under a learned spline noise density (``mean_loss="spline"``) 0.050 (bench_generative.md,
    run 15). An option of auto (``selection.ADDITIVE_MEAN_LOSS``), not its default: on the
    heteroscedastic cases it made things worse."""
    monkeypatch.setattr(selection, "ADDITIVE_MEAN_LOSS", "spline")
    model, rmse = _cf_rmse(get_case("diamond_nonlinear"), n_train=1000, seed=0)
    assert model.mechanism_choice_["D"]["mechanism"] == "additive", model.mechanism_choice_
    assert model.mechanisms_["D"].mean_loss == "spline"
    assert rmse < 0.1, rmse


@pytest.mark.parametrize("hetero", [False, True])
def test_a_chosen_additive_node_is_refitted_with_the_spline_mean_and_the_choice_kept(
    monkeypatch, hetero
):
    """``CHOSEN_ADDITIVE_MEAN_LOSS = "spline"``: the choice is made exactly as with the
    Gaussian-fitted additive candidate (same out-of-fold scores); only a node that choice keeps
    additive is refitted, on the same folds, with the spline mean loss. A heteroscedastic node
    keeps its location-scale model untouched; an additive node with Laplace noise gets its mean
    under the spline density, and abduction stays exact (a unit moved to its own parents keeps
    its value)."""
    g = torch.Generator().manual_seed(3)
    pa = torch.randn(600, 1, generator=g)
    e = torch.empty(600, 2).exponential_(generator=g).diff(dim=1)  # Laplace(0, 1)
    x = torch.sin(1.5 * pa) + (0.1 + 0.5 * pa.abs() if hetero else 0.4) * e
    spec = NodeSpec("Y", ["Y"], False, None, None, [0.0], [1.0])
    fits = {}
    for loss in (None, "spline"):
        monkeypatch.setattr(selection, "CHOSEN_ADDITIVE_MEAN_LOSS", loss)
        torch.manual_seed(0)
        fits[loss] = select_mechanism(spec, x, pa, 0, device=x.device, max_epochs=30)
    (m0, r0), (m1, r1) = fits[None], fits["spline"]
    assert r0["val_log_lik"] == r1["val_log_lik"] and r0["mechanism"] == r1["mechanism"]
    if hetero:
        assert r1["mechanism"] == "location_scale" and "mean_loss" not in r1, r1
        with torch.no_grad():
            assert torch.equal(m0.decode(x[:50] * 0, pa[:50]), m1.decode(x[:50] * 0, pa[:50]))
        return
    assert r1["mechanism"] == "additive" and r1["mean_loss"] == "spline", r1
    assert m0.mean_loss == "gaussian" and m1.mean_loss == "spline"
    assert len(m1.mean.members) == 3
    with torch.no_grad():
        cf = m1.counterfactual(x, pa, pa)
    assert float((cf - x).abs().max()) < 1e-4


@pytest.mark.slow  # about 1.5 minutes: a 4-node and a 3-node fit on 1,000 rows
def test_the_chosen_additive_outcome_refitted_with_the_spline_mean_is_on_truth(monkeypatch):
    """``CHOSEN_ADDITIVE_MEAN_LOSS = "spline"``, 1,000 rows, data and model seed 0.
    diamond_nonlinear: the outcome D (additive, Laplace noise) is kept additive with a constant
    scale by the Gaussian-scored choice and refitted with the spline mean: its counterfactuals
    under do(B = +-1) 0.142 -> 0.050 s.d. fork_heteroscedastic: its outcome C is kept additive
    with a log-linear scale (shrinkage 0.85), so it is not refitted (0.084 s.d.); refitted too,
    as at commit a3f9976, it missed by 0.156 (bench_generative.md, run 16)."""
    monkeypatch.setattr(selection, "CHOSEN_ADDITIVE_MEAN_LOSS", "spline")
    model, rmse = _cf_rmse(get_case("diamond_nonlinear"), n_train=1000, seed=0)
    choice = model.mechanism_choice_["D"]
    assert choice["mechanism"] == "additive" and choice.get("mean_loss") == "spline", choice
    assert model.mechanisms_["D"].mean_loss == "spline"
    assert rmse < 0.1, rmse
    model, rmse = _cf_rmse(get_case("fork_heteroscedastic"), n_train=1000, seed=0)
    choice = model.mechanism_choice_["C"]
    assert choice["mechanism"] == "additive" and choice["scale_shrinkage"] > 0, choice
    assert "mean_loss" not in choice and model.mechanisms_["C"].mean_loss == "gaussian"
    assert rmse < 0.1, rmse


def _node_1000(kind, seed):  # noqa: ANN001
    """1,000 rows of a parent and a child with additive Laplace (``sin``) or Gaussian (linear)
    noise."""
    g = torch.Generator().manual_seed(seed)
    pa = torch.randn(1000, 1, generator=g)
    if kind == "laplace":
        e = 0.4 * torch.empty(1000, 2).exponential_(generator=g).diff(dim=1)
        return pa, torch.sin(1.5 * pa) + e
    return pa, 0.8 * pa + 0.5 * torch.randn(1000, 1, generator=g)


@pytest.mark.parametrize(("kind", "seed"), [("laplace", 3), ("gaussian", 3), ("gaussian", 4)])
def test_the_spline_mean_refit_is_kept_only_when_the_held_out_rows_prefer_it(
    monkeypatch, kind, seed
):
    """``CHOSEN_ADDITIVE_MEAN_LOSS = "spline_if_better"``: the chosen additive node is refitted
    with the spline mean loss on the same folds and kept only when its out-of-fold
    log-likelihood beats the Gaussian fit's (paired z > ``MEAN_LOSS_Z`` = 0). Laplace noise
    (the Gaussian fit half as efficient): kept (z = 1.2); Gaussian noise, where least squares
    is efficient and the spline fit only adds variance (the linear family got worse under
    ``"spline"``, bench_generative.md run 19): not kept (z = -2.4, -1.9), and the mechanism is
    then the Gaussian fit itself. The choice and its scores are main's either way."""
    pa, x = _node_1000(kind, seed)
    spec = NodeSpec("Y", ["Y"], False, None, None, [0.0], [1.0])
    fits = {}
    for loss in (None, "spline_if_better"):
        monkeypatch.setattr(selection, "CHOSEN_ADDITIVE_MEAN_LOSS", loss)
        fits[loss] = select_mechanism(spec, x, pa, 0, device=x.device, max_epochs=60)
    (m0, r0), (m1, r1) = fits[None], fits["spline_if_better"]
    assert r0["val_log_lik"] == r1["val_log_lik"] and r1["mechanism"] == "additive", r1
    scores = r1["mean_loss_log_lik"]
    assert scores["gaussian"] == r1["val_log_lik"]["additive"]  # the choice's own score
    kept = kind == "laplace"
    assert (r1["mean_loss_z"] > 0) == kept and ("mean_loss" in r1) == kept, r1
    assert (scores["spline"] > scores["gaussian"]) == kept, r1
    assert m1.mean_loss == ("spline" if kept else "gaussian")
    with torch.no_grad():
        same = torch.equal(m0.mean(pa), m1.mean(pa))
        assert same != kept
        assert float((m1.counterfactual(x, pa, pa) - x).abs().max()) < 1e-4  # exact abduction


def test_a_model_with_the_gated_spline_refit_saves_and_loads(monkeypatch, tmp_path):
    """A kept refit (forced: ``MEAN_LOSS_Z = -inf``) and its report survive save and load."""
    monkeypatch.setattr(selection, "CHOSEN_ADDITIVE_MEAN_LOSS", "spline_if_better")
    monkeypatch.setattr(selection, "MEAN_LOSS_Z", -math.inf)
    pa, y = _node_1000("laplace", 3)
    df = pd.DataFrame({"X": pa[:, 0].numpy(), "Y": y[:, 0].numpy()})
    model = CausalGenerativeModel("X -> Y", max_epochs=60, random_state=0).fit(df)
    choice = model.mechanism_choice_["Y"]
    assert choice["mechanism"] == "additive" and choice["mean_loss"] == "spline", choice
    again = load_model(model.save(tmp_path / "m"))
    assert again.mechanism_choice_ == model.mechanism_choice_
    assert again.mechanisms_["Y"].mean_loss == "spline"
    a = model.counterfactual(df.head(20), do={"X": 0.5})
    np.testing.assert_allclose(a, again.counterfactual(df.head(20), do={"X": 0.5}), rtol=1e-6)


@pytest.mark.parametrize("seed", [2, 5])
def test_cross_fitting_keeps_a_linear_node_additive_and_its_counterfactuals_on_truth(seed):
    """Y = 0.5 X + 0.7 M + 0.5 e on 1,000 rows, Y's mechanism chosen by ``select_mechanism``,
    counterfactuals of 300 units under X -> X + 1 (clipped to [-2, 2]) against the simulator on
    their own noise. With one 15% split (``CROSS_FIT_FOLDS = 1``, the rule before run 13) these
    model seeds (2 and 5 of 0-7) missed by 0.057 / 0.076 s.d. (0.022-0.030 at the other six):
    at seed 2 the 150 held-out rows put the location-scale model above the true additive one,
    at seed 5 the additive model kept a spurious noise scale (shrinkage 0.78) fitted to its 850
    training rows. Cross-fitted on 3 folds and scored on all 1,000 rows out of fold: additive
    with a constant scale at both, 0.025 / 0.021 s.d. (0.021-0.026 at all eight seeds;
    bench_generative.md, run 13)."""
    g = torch.Generator().manual_seed(100)
    pa, e = torch.randn(1000, 2, generator=g), torch.randn(1000, 1, generator=g)
    f = lambda p: 0.5 * p[:, :1] + 0.7 * p[:, 1:]  # noqa: E731
    y = f(pa) + 0.5 * e
    g = torch.Generator().manual_seed(200)
    units, e_u = torch.randn(300, 2, generator=g), torch.randn(300, 1, generator=g)
    moved = units.clone()
    moved[:, 0] = (moved[:, 0] + 1.0).clamp(-2.0, 2.0)
    spec = NodeSpec("Y", ["Y"], False, None, None, [0.0], [1.0])
    mech, report = select_mechanism(spec, y, pa, seed, device=y.device, verbose=False)
    assert report["mechanism"] == "additive" and report["folds"] == 3, report
    assert report["scale_shrinkage"] == 0.0, report
    assert report["n_val"] == 1000 and len(mech.mean.members) == 3
    with torch.no_grad():
        cf = mech.counterfactual(f(units) + 0.5 * e_u, units, moved)
    rmse = float((cf - (f(moved) + 0.5 * e_u)).pow(2).mean().sqrt() / y.std())
    assert rmse < 0.04, rmse


def test_a_cross_fitted_model_saves_loads_and_reproduces_counterfactuals(tmp_path):
    """Below 2,000 rows every candidate is the average of 3 cross-fitted members: abduction
    stays exact (a unit moved to its own parents keeps its values) and the saved model gives
    the same counterfactuals."""
    case = get_case("mediator_location_scale")
    df = case.sample(400, random_state=0)
    model = CausalGenerativeModel(case.graph, max_epochs=15, random_state=0).fit(df)
    for node in ("M", "Y"):
        report = model.mechanism_choice_[node]
        assert report["folds"] == 3 and report["n_val"] == 400, report
        assert model.mechanisms_[node].get_config()["hyperparameters"]["n_members"] == 3
    units = df.head(30)
    same = model.counterfactual(units, do={case.treatment: units[case.treatment]})
    np.testing.assert_allclose(same.to_numpy(), units.to_numpy(), atol=2e-3)
    again = load_model(model.save(tmp_path / "m"))
    a = model.counterfactual(units, do={case.treatment: 0.5})
    np.testing.assert_allclose(a, again.counterfactual(units, do={case.treatment: 0.5}), rtol=1e-6)
