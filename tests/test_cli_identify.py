"""``deepcause identify`` and the identification demo section."""

from __future__ import annotations

import json

import pytest

from deepcause.cli import main
from deepcause.cli.identify import EXIT_NOT_IDENTIFIABLE


def test_identify_prints_backdoor(capsys):
    code = main(["identify", "--graph", "Z -> X -> Y; Z -> Y", "-t", "X", "-o", "Y"])
    out = capsys.readouterr().out
    assert code == 0
    assert "P(Y | do(X)) = Σ_{Z} P(Y | X, Z) P(Z)" in out
    assert "kind: backdoor (adjustment set: {Z})" in out


def test_identify_formats(capsys, tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# front door\nX -> M -> Y\nX <-> Y\n", encoding="utf-8")
    assert main(["identify", "--graph-file", str(path), "-t", "X", "-o", "Y", "--latex"]) == 0
    assert r"\sum_{M} P(M \mid X)" in capsys.readouterr().out
    assert main(["identify", "-f", str(path), "-t", "X", "-o", "Y", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["identifiable"] and data["kind"] == "frontdoor" and data["mediators"] == ["M"]
    assert main(["identify", "-f", str(path), "-t", "X", "-o", "Y", "--ascii"]) == 0
    assert "sum_{M} P(M | X) sum_{X'}" in capsys.readouterr().out


def test_identify_multiple_nodes_and_given(capsys):
    g = "Z -> X1 -> Y; Z -> X2 -> Y; Z -> W"
    assert main(["identify", "-g", g, "-t", "X1,X2", "-o", "Y", "--given", "W"]) == 0
    assert "P(Y | do(X1, X2), W) =" in capsys.readouterr().out


def test_not_identifiable_exit_code_and_hedge(capsys):
    code = main(["identify", "-g", "X -> Y; X <-> Y", "-t", "X", "-o", "Y"])
    out = capsys.readouterr().out
    assert code == EXIT_NOT_IDENTIFIABLE == 3
    assert "not identifiable" in out and "F = {X, Y}" in out
    code = main(["identify", "-g", "X -> Y; X <-> Y", "-t", "X", "-o", "Y", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["hedge"] == {"F": ["X", "Y"], "F_prime": ["Y"]}


def test_bad_input_exit_1(capsys):
    assert main(["identify", "-g", "X -> Y", "-t", "Q", "-o", "Y"]) == 1
    assert "'Q' is not a node" in capsys.readouterr().err
    assert main(["identify", "-f", "/nonexistent/graph.txt", "-t", "X", "-o", "Y"]) == 1


def test_demo_identification_numbers_match_the_truth(run_demo):
    res = run_demo("identification")
    from deepcause.datasets import load_kidney_stones

    truth = load_kidney_stones().truth
    for arm in ("A", "B"):  # exact back-door value on the Charig et al. counts
        assert res["kidney"][arm]["estimate"] == pytest.approx(
            truth[f"P(success|do({arm}))"], abs=1e-9
        )
    assert round(res["kidney"]["A"]["estimate"], 5) == 0.83255
    assert res["kidney"]["A"]["crude"] < res["kidney"]["B"]["crude"]  # Simpson's paradox
    assert res["frontdoor"]["kind"] == "frontdoor" and res["napkin"]["kind"] == "general"
    for case in ("frontdoor", "napkin"):
        for v in (0, 1):
            r = res[case][v]  # truth by intervention on the simulator (MC error ~0.001)
            assert abs(r["estimate"] - r["truth"]) < 4 * r["std_error"] + 0.005, (case, r)
    bow = res["bow"]
    assert not bow["identified"]
    assert all(abs(bow["crude"][v] - bow["truth"][v]) > 0.1 for v in (0, 1))


def test_demo_unknown_section_exits_2_with_one_line(capsys):
    assert main(["demo", "--only", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'nope'" in err and "identification" in err and "generative" in err
