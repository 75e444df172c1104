"""``deepcause estimate`` and the estimation demo section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deepcause.cli import main


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    z = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = 2 * t + z + rng.normal(size=n)
    path = tmp_path / "data.csv"
    pd.DataFrame({"Z": z, "T": t, "Y": y}).to_csv(path, index=False)
    return path


def test_table_output(csv, capsys):
    code = main(["estimate", str(csv), "--graph", "Z -> T -> Y; Z -> Y", "-t", "T", "-o", "Y"])
    out = capsys.readouterr().out
    assert code == 0
    assert "AIPW" in out and "95% CI" in out
    assert "effective sample size" in out and "max |standardized mean difference|" in out
    assert "[1] " in out  # diagnostics print as numbered notes of the summary


@pytest.mark.parametrize(("flag", "marker"), [("--markdown", "**AIPW**"), ("--latex", "tabular")])
def test_markdown_and_latex_output(csv, capsys, flag, marker):
    args = ["estimate", str(csv), "-g", "Z -> T -> Y; Z -> Y", "-t", "T", "-o", "Y", flag]
    assert main(args) == 0
    assert marker in capsys.readouterr().out


def test_json_output_with_method_and_population(csv, capsys):
    args = ["estimate", str(csv), "-t", "T", "-o", "Y", "--method", "matching", "-p", "treated"]
    assert main([*args, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["quantity"] == "ATT"
    assert payload["method"].startswith("Matching")
    assert payload["ci_lower"] < 2 < payload["ci_upper"]
    assert set(payload["diagnostics"]["balance"]) == {"Z"}


def test_bootstrap_and_graph_file(csv, tmp_path, capsys):
    graph = tmp_path / "g.txt"
    graph.write_text("Z -> T\nZ -> Y\nT -> Y  # effect\n")
    args = ["estimate", str(csv), "-f", str(graph), "-t", "T", "-o", "Y", "-m", "ipw"]
    assert main([*args, "--bootstrap", "20"]) == 0
    assert "percentile" in capsys.readouterr().out


def test_errors_exit_one(csv, capsys):
    assert main(["estimate", str(csv), "-g", "Z -> T -> Y; Z -> Y", "-t", "T", "-o", "YY"]) == 1
    assert "YY" in capsys.readouterr().err
    assert main(["estimate", str(csv), "-g", "Q -> T -> Y; Q -> Y", "-t", "T", "-o", "Y"]) == 1
    assert "graph node(s) 'Q'" in capsys.readouterr().err
    assert main(["estimate", "missing.csv", "-t", "T", "-o", "Y"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["estimate", str(csv), "-t", "T", "-o", "Y", "-m", "apiw"]) == 1
    assert "did you mean 'aipw'" in capsys.readouterr().err


def test_not_identifiable_exit_three(csv, capsys):
    assert main(["estimate", str(csv), "-g", "Z -> T -> Y; T <-> Y", "-t", "T", "-o", "Y"]) == 3
    assert "not identifiable" in capsys.readouterr().err


def test_list_methods(capsys):
    assert main(["estimate", "--list-methods"]) == 0
    names = capsys.readouterr().out.split()
    assert {"aipw", "ipw", "matching"} <= set(names)


def test_demo_estimation_brackets_the_experimental_benchmark(run_demo):
    res = run_demo("estimation")
    truth, table = res["truth"], res["table"]
    assert truth == pytest.approx(1794.34, abs=0.01)  # the NSW experiment
    assert res["naive"] < -10_000
    assert len(table) >= 4
    # every adjusted estimate's 95% interval covers the experimental ATT, with good balance
    assert (table["CI low"] < truth).all() and (table["CI high"] > truth).all()
    assert (table["max |SMD| after"] < 0.25).all()


def test_cli_iv_2sls_on_card_gives_the_textbook_coefficient(tmp_path, capsys):
    """`deepcause estimate --method 2sls -z nearc4 --control ...` reproduces Wooldridge 15.4."""
    import json

    from deepcause.cli import main

    controls = ["exper", "expersq", "black", "smsa", "south", "smsa66"]
    controls += [f"reg66{i}" for i in range(2, 10)]
    path = tmp_path / "card.csv"
    from deepcause.datasets import load_card

    load_card().data[["lwage", "educ", "nearc4", *controls]].to_csv(path, index=False)
    argv = ["estimate", str(path), "-t", "educ", "-o", "lwage", "--method", "2sls"]
    argv += ["-z", "nearc4", "--json"]
    for c in controls:
        argv += ["--covariate", c]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert round(out["value"], 5) == 0.13150
    assert out["method"] == "2SLS"


def test_cli_iv_refuses_a_non_instrument_named_in_the_graph(tmp_path, capsys):
    from deepcause.cli import main
    from deepcause.simulate.iv import make_linear_iv

    ds = make_linear_iv(500, n_controls=0, random_state=0)
    path = tmp_path / "iv.csv"
    ds.data.to_csv(path, index=False)
    graph = "z1 -> d -> y; z2 -> d; z1 -> y; d <-> y"
    argv = ["estimate", str(path), "-g", graph, "-t", "d", "-o", "y", "--method", "2sls"]
    assert main([*argv, "-z", "z1"]) == 1
    assert "z1" in capsys.readouterr().err
