"""The ground-truth simulator suite: structure, hidden latents, truth by intervention."""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.datasets import CausalDataset
from deepcause.exceptions import NotIdentifiableError, UnknownNodeError
from deepcause.identification.algorithm import identify
from deepcause.simulate.suite import GRAPHS, LATENT_CASES, get_case, simulator_suite

SUITE = simulator_suite()


def test_suite_covers_the_required_cases() -> None:
    names = {c.name for c in SUITE}
    for g in GRAPHS:
        for fam in ("linear", "nonlinear", "heteroscedastic"):
            assert f"{g}_{fam}" in names
    assert set(LATENT_CASES) <= names
    assert any(c.family == "binary" for c in SUITE)
    vec = get_case("vector_mediator")
    assert max(len(cols) for cols in vec.node_columns.values()) == 16
    assert len(get_case("ladder_linear").graph) == 10


@pytest.mark.parametrize("case", SUITE, ids=lambda c: c.name)
def test_case_is_consistent(case) -> None:
    df = case.sample(300, random_state=0)
    assert list(df.columns) == case.scm.columns  # latent nodes are hidden
    assert np.isfinite(df.to_numpy(dtype=float)).all()
    assert case.treatment in case.graph and case.outcome in case.graph
    truth = case.truth(300, case.do_values[1], random_state=0)
    assert np.all(truth[case.treatment] == case.do_values[1])
    try:
        identify(case.graph, case.treatment, case.outcome)
        identifiable = True
    except NotIdentifiableError:
        identifiable = False
    assert identifiable == case.identifiable
    assert case.has_latent == (case.family == "latent")
    if case.family == "binary":
        assert set(np.unique(df.to_numpy())) <= {0, 1}


def test_latent_confounding_biases_the_naive_contrast() -> None:
    """On the confounded graphs E[Y | X ~ x] differs from the truth E[Y | do(x)]."""
    for name in ("frontdoor", "napkin", "bow"):
        case = get_case(name)
        df = case.sample(50_000, random_state=0)
        lo, hi = case.do_values
        t, y = case.treatment, case.outcome
        naive = (
            df.loc[(df[t] - hi).abs() < 0.1, y].mean() - df.loc[(df[t] - lo).abs() < 0.1, y].mean()
        )
        truth = (
            case.truth(50_000, hi, random_state=1)[y].mean()
            - case.truth(50_000, lo, random_state=1)[y].mean()
        )
        assert abs(naive - truth) > 0.3 * df[y].std(), name


def test_counterfactual_truth_uses_the_same_noise() -> None:
    case = get_case("chain_heteroscedastic")
    f, cf = case.scm.counterfactual(200, do={"A": 1.0}, random_state=0)
    assert np.allclose(cf["A"], 1.0)
    assert not np.allclose(f["C"], cf["C"])
    f2, _ = case.scm.counterfactual(200, do={"A": 1.0}, random_state=0)
    assert f.equals(f2)


def test_unknown_case() -> None:
    with pytest.raises(UnknownNodeError, match="known"):
        get_case("nope")


@pytest.mark.parametrize("case", SUITE, ids=lambda c: c.name)
def test_case_dataset_truth_is_the_scm_under_intervention(case) -> None:
    ds = case.dataset(200, random_state=0, n_truth=20_000)
    assert isinstance(ds, CausalDataset) and ds.scm is case.scm
    assert (ds.treatment, ds.outcome) == (case.treatment, case.outcome)
    for cols in ds.roles.values():
        assert set(cols) <= set(ds.data.columns)
    y = case.outcome
    for v in case.do_values:
        independent = case.scm.sample(20_000, do={case.treatment: v}, random_state=99)[y]
        se = independent.std() / np.sqrt(len(independent)) + 1e-12
        assert abs(ds.truth[f"E[{y}|do({case.treatment}={v:g})]"] - independent.mean()) < 6 * se
