"""``deepcause identify`` and the identification demo section."""

from __future__ import annotations

import io
import json

from deepcause.cli import main
from deepcause.cli.demo_identify import run as demo_run
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


def test_demo_section_prints_the_worked_examples():
    out = io.StringIO()
    demo_run(out)
    text = out.getvalue()
    assert "P(success | do(treatment=A)) = 0.83255" in text
    assert "P(success | do(treatment=B)) = 0.77888" in text
    assert "P(cancer=1 | do(smoking=1)) = 0.4525" in text
    assert "P(Y=1 | do(X=1)) = 0.700000   truth by intervention 0.700000" in text
    assert "is not identifiable" in text
