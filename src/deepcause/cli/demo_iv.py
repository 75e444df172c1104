"""Demo section: instrumental variables on the Card (1995) data, checked against a graph."""

from __future__ import annotations

import warnings
from typing import TextIO

import numpy as np

from ..datasets.loaders import load_card
from ..estimate.iv import InvalidInstrumentError, KernelIV, TwoStageLeastSquares
from ..exceptions import WeakInstrumentWarning
from ..graph.causal_graph import CausalGraph
from ..graph.criteria import explain_instrument, instruments
from ..simulate.iv import demand_test_points, make_demand


def _card(out: TextIO) -> None:
    card = load_card()
    df = card.data
    controls = ["exper", "expersq", "black", "smsa", "south", "smsa66"]
    controls += [f"reg66{i}" for i in range(2, 10)]
    X = np.column_stack([np.ones(len(df)), df[["educ", *controls]]])
    ols = np.linalg.lstsq(X, df["lwage"].to_numpy(), rcond=None)[0][1]
    kw = dict(treatment="educ", outcome="lwage", instruments=["nearc4"], covariates=controls)
    est = TwoStageLeastSquares(cov_type="nonrobust").fit(df, **kw)
    eff = est.effect(treatment=1, control=0)
    lo, hi = eff.conf_int()
    robust = TwoStageLeastSquares(cov_type="HC1").fit(df, **kw)
    print("1. Card (1995): return to a year of schooling, 3010 men, 14 controls", file=out)
    print(f"   OLS (confounded by ability):   {ols:.5f}", file=out)
    print(
        f"   2SLS, educ instrumented by nearc4 (grew up near a 4-year college): "
        f"{eff.value:.5f} (s.e. {eff.std_error:.5f}, 95% CI [{lo:.3f}, {hi:.3f}])",
        file=out,
    )
    print(
        f"   robust (HC1) s.e. {robust.std_error_['educ']:.5f}; first-stage F = "
        f"{est.first_stage_f_['educ']:.2f} (> 10: not weak)",
        file=out,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WeakInstrumentWarning)
        two = TwoStageLeastSquares().fit(df, **{**kw, "instruments": ["nearc4", "nearc2"]})
    j = two.overid_test_["hansen_j"]
    print(
        f"   adding nearc2: Hansen J = {j['statistic']:.2f} (p = {j['pvalue']:.2f}), "
        f"first-stage F = {two.first_stage_f_['educ']:.2f}"
        + (" -> WeakInstrumentWarning" if caught else ""),
        file=out,
    )
    print("   Textbook (Wooldridge Ex. 15.4): OLS 0.07469, 2SLS 0.13150 (0.05496).\n", file=out)


def _graph(out: TextIO) -> None:
    card = load_card().data
    g = CausalGraph(
        "nearc4 -> educ -> lwage; educ <-> lwage; exper -> educ; exper -> lwage; "
        "smsa66 -> nearc4; smsa66 -> lwage"
    )
    found = ", ".join(map(str, instruments(g, "educ", "lwage")))
    print("2. The graph decides what is an instrument", file=out)
    print(f"   graph: {g}", file=out)
    print(f"   instruments(g, educ, lwage): {found}", file=out)
    est = TwoStageLeastSquares().fit(card, treatment="educ", outcome="lwage", graph=g)
    print(
        "   TwoStageLeastSquares().fit(card, ..., graph=g) uses covariates "
        f"{list(est.data_.covariate_names)}"
        f": educ coefficient {est.coef_['educ']:.4f}",
        file=out,
    )
    bad = CausalGraph(str(g) + "; nearc4 -> lwage")
    print(f"   if nearc4 -> lwage: {explain_instrument(bad, 'educ', 'lwage', 'nearc4')}", file=out)
    try:
        TwoStageLeastSquares().fit(
            card, graph=bad, treatment="educ", outcome="lwage", instruments=["nearc4"]
        )
    except InvalidInstrumentError as exc:
        print(f"   -> refused: {exc}\n", file=out)


def _demand(out: TextIO) -> None:
    ds = make_demand(3000, rho=0.5, random_state=0)
    test = demand_test_points(2000, random_state=1)
    kw = dict(treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    rows = [
        ("linear 2SLS", TwoStageLeastSquares().fit(ds.data, **kw)),
        (
            "KernelIV",
            KernelIV(n_components=300, lengthscales=[4.0, 0.2, 4.0, 4.0], random_state=0).fit(
                ds.data, **kw
            ),
        ),
    ]
    print(
        "3. Nonlinear demand (Hartford et al. 2017, n = 3000, rho = 0.5, y = h + 158 e)", file=out
    )
    for name, est in rows:
        mse = np.mean((est.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2)
        print(f"   {name:<12} out-of-sample MSE of the structural function h: {mse:,.0f}", file=out)
    print("   (var h = 25,000; benchmarks/bench_iv.py has the full comparison)", file=out)


def run(out: TextIO) -> None:
    """Print the IV demo."""
    _card(out)
    _graph(out)
    _demand(out)
