"""``deepcause sample`` end to end on small CSV files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.cli import main
from deepcause.cli.sample import parse_do
from deepcause.exceptions import DataValidationError
from deepcause.simulate.scm import SCM, Node, gaussian

GRAPH = "Z -> X -> Y; Z -> Y"


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    scm = SCM(
        [
            Node("Z", noise=gaussian(1.0)),
            Node("X", ("Z",), lambda pa, u: pa["Z"] + u, gaussian(0.5)),
            Node("Y", ("X", "Z"), lambda pa, u: 2 * pa["X"] - 2 * pa["Z"] + u, gaussian(0.3)),
        ]
    )
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    df = scm.sample(1000, random_state=0)
    df["G"] = np.where(df["Z"] > 0, "high", "low")  # a text column, child of nothing
    df.to_csv(path, index=False)
    return path


def _run(data, out, *extra):  # noqa: ANN001, ANN002
    return main(
        [
            "sample",
            "--data",
            str(data),
            "--graph",
            GRAPH + "; G",
            "--out",
            str(out),
            "--epochs",
            "40",
            "--seed",
            "0",
            "--quiet",
            *extra,
        ]
    )


def test_sample_under_do_matches_the_truth_and_is_reproducible(data_csv, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert _run(data_csv, out, "--do", "X=1", "-n", "2000") == 0
    assert "wrote 2000 samples under do(X=1)" in capsys.readouterr().err
    s = pd.read_csv(out)
    assert list(s.columns) == ["Z", "X", "Y", "G"]
    assert np.all(s["X"] == 1.0)
    # E[Y | do(X=1)] = 2 - 2 E[Z] = 2, while E[Y | X = 1] = 2 - 2 * 0.8 = 0.4. Over data
    # seeds 0-3 x model seeds 0-1 this command (1,000 rows, 40 epochs) gave 1.78-2.15 (auto's
    # candidates with weight averaging; 1.78-2.13 without): 0.25 keeps the test far from 0.4
    assert s["Y"].mean() == pytest.approx(2.0, abs=0.25)
    assert set(s["G"]) == {"high", "low"}
    out2 = tmp_path / "s2.csv"
    assert _run(data_csv, out2, "--do", "X=1", "-n", "2000") == 0
    pd.testing.assert_frame_equal(s, pd.read_csv(out2))


def test_shift_and_level_interventions(data_csv, tmp_path):
    out = tmp_path / "s.csv"
    assert _run(data_csv, out, "--do", "X+=1", "--do", "G=low", "-n", "500") == 0
    s = pd.read_csv(out)
    assert set(s["G"]) == {"low"}
    assert s["Y"].mean() == pytest.approx(2.0, abs=0.2)  # E[Y] = 0, shift adds 2


def test_errors_exit_with_code_1(data_csv, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert _run(data_csv, out, "--do", "XX=1") == 1
    assert "XX" in capsys.readouterr().err
    assert _run(data_csv, out, "--do", "X") == 1
    assert "NODE=VALUE" in capsys.readouterr().err
    assert _run(data_csv, out, "--do", "G=medium") == 1
    assert "not a level" in capsys.readouterr().err
    assert _run(tmp_path / "missing.csv", out) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists()


def test_parse_do():
    assert parse_do(["X=1", "Z=2.5,W=a"]) == {"X": 1, "Z": 2.5, "W": "a"}
    assert parse_do(None) == {}
    with pytest.raises(DataValidationError, match="more than once"):
        parse_do(["X=1,X=2"])
    with pytest.raises(DataValidationError, match="number"):
        parse_do(["X+=a"])


def test_demo_generative_recovers_the_interventional_truth(run_demo):
    pytest.importorskip("torch")
    res = run_demo("generative")
    for arm in ("A", "B"):  # sampled P(success | do(arm)) vs the identified formula
        row = res["kidney"][arm]
        assert row["sampled"] == pytest.approx(row["formula"], abs=0.02)
    assert res["kidney"]["A"]["sampled"] > res["kidney"]["B"]["sampled"]
    cont = res["continuous"]  # truth by intervention on the simulator
    assert cont["mean_do_x1"] == pytest.approx(cont["truth_do_x1"], abs=0.15)
    assert abs(cont["conditional"] - cont["truth_do_x1"]) > 0.5
    assert np.max(np.abs(cont["counterfactual"] - cont["counterfactual_truth"])) < 0.5
