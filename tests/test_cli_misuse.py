"""User mistakes on the command line: one line on stderr, the documented exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deepcause.cli import main

GRAPH = "Z -> X -> Y; Z -> Y"


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    x = z + rng.normal(size=200)
    df = pd.DataFrame({"Z": z, "X": x, "Y": x + z + rng.normal(size=200)})
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, expected_code: int, *words: str) -> None:
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]


def sample(*extra: str) -> list[str]:
    return ["sample", "--graph", GRAPH, "-n", "3", "--epochs", "1", "--quiet", *extra]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("is empty",)),
        (b"Z,X,Y\n1,2,3\n4,5\n6,7,8,9\n", ("line 4", "expected 3 fields")),
        ("Z,X,Y\u00e9\n1,2,3\n".encode("latin-1"), ("not utf-8 text", "--encoding")),
        (b"Z,X,X\n1,2,3\n", ("duplicated column", "'X'")),
        (b"Z;X;Y\n1;2;3\n", ("delimiter", "--sep ';'")),
        (b"Z,X,Y\n", ("no data rows",)),
        (b"\x00\x01\x02binary", ("looks binary",)),
    ],
    ids=["empty", "ragged", "latin1", "duplicated-header", "semicolon", "header-only", "binary"],
)
def test_bad_data_files_are_one_line_errors(capsys, tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, _, err = run(capsys, *sample("--data", str(path), "--out", "-"))
    assert_one_line_error(code, err, 1, *words)


def test_semicolon_file_reads_with_sep(capsys, tmp_path, data_csv):
    path = tmp_path / "semi.csv"
    pd.read_csv(data_csv).to_csv(path, sep=";", index=False)
    code, out, err = run(capsys, *sample("--data", str(path), "--sep", ";", "--out", "-"))
    assert code == 0, err
    assert len(pd.read_csv(__import__("io").StringIO(out))) == 3


def test_missing_data_file(capsys, tmp_path):
    code, _, err = run(capsys, *sample("--data", str(tmp_path / "nope.csv"), "--out", "-"))
    assert_one_line_error(code, err, 1, "does not exist")


def test_binary_graph_file(capsys, tmp_path, data_csv):
    gfile = tmp_path / "g.bin"
    gfile.write_bytes(b"\x00\xff\xfe graph")
    argv = ["sample", "--data", str(data_csv), "--graph-file", str(gfile), "--out", "-"]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, 1, "not UTF-8 text")


@pytest.mark.parametrize(
    "extra", [("--seed", "-1"), ("-n", "0"), ("--epochs", "0"), ("-n", "many")]
)
def test_bad_argument_values_are_usage_errors(capsys, data_csv, extra):
    argv = ["sample", "--data", str(data_csv), "--graph", GRAPH, "--out", "-", *extra]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback" not in err and extra[0] in err


def test_out_never_overwrites_the_input(capsys, data_csv):
    before = data_csv.read_bytes()
    code, _, err = run(capsys, *sample("--data", str(data_csv), "--out", str(data_csv), "--force"))
    assert_one_line_error(code, err, 1, "is the input file")
    assert data_csv.read_bytes() == before


def test_out_never_overwrites_the_input_through_a_symlink(capsys, tmp_path, data_csv):
    link = tmp_path / "link.csv"
    link.symlink_to(data_csv)
    before = data_csv.read_bytes()
    code, _, err = run(capsys, *sample("--data", str(data_csv), "--out", str(link), "--force"))
    assert_one_line_error(code, err, 1, "is the input file")
    assert data_csv.read_bytes() == before


def test_existing_output_needs_force(capsys, tmp_path, data_csv):
    out = tmp_path / "samples.csv"
    out.write_text("keep me\n")
    code, _, err = run(capsys, *sample("--data", str(data_csv), "--out", str(out)))
    assert_one_line_error(code, err, 1, "exists", "--force")
    assert out.read_text() == "keep me\n"
    code, _, err = run(capsys, *sample("--data", str(data_csv), "--out", str(out), "--force"))
    assert code == 0, err
    assert len(pd.read_csv(out)) == 3


@pytest.mark.parametrize("where", ["missing-folder", "folder"])
def test_bad_output_path_fails_before_training(capsys, tmp_path, data_csv, where):
    out = tmp_path / "no" / "such" / "s.csv" if where == "missing-folder" else tmp_path
    # --epochs 100000 would take minutes: the path must be refused first
    argv = ["sample", "--data", str(data_csv), "--graph", GRAPH, "--epochs", "100000"]
    code, _, err = run(capsys, *argv, "--out", str(out))
    assert_one_line_error(code, err, 1, "folder")


def test_non_identifiable_sample_exits_3(capsys, data_csv):
    argv = ["sample", "--data", str(data_csv), "--graph", "X -> Y; X <-> Y", "--do", "X=1"]
    code, _, err = run(capsys, *argv, "--epochs", "1", "--out", "-", "--quiet")
    assert code == 3, err
    assert "Traceback" not in err


def test_unknown_subcommand_and_option_are_usage_errors(capsys):
    assert run(capsys, "nosuchcommand")[0] == 2
    assert run(capsys, "identify", "--no-such-option")[0] == 2


def estimate(*extra: str) -> list[str]:
    return ["estimate", "--graph", GRAPH, "-t", "X", "-o", "Y", *extra]


@pytest.fixture
def binary_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    z = rng.normal(size=400)
    x = (rng.random(400) < 1 / (1 + np.exp(-z))).astype(int)
    df = pd.DataFrame({"Z": z, "X": x, "Y": 2 * x + z + rng.normal(size=400)})
    path = tmp_path / "binary.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "extra",
    [("--level", "1.5"), ("--level", "0"), ("--bootstrap", "-5"), ("--seed", "-1")],
)
def test_estimate_bad_argument_values_are_usage_errors(capsys, binary_csv, extra):
    code, _, err = run(capsys, *estimate(str(binary_csv), *extra))
    assert code == 2
    assert "Traceback" not in err and extra[0] in err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("is empty",)),
        (b"Z,X,Y\n1,0,3\n4,1\n", ("line 3",)),
        (b"Z,X,X,Y\n1,0,1,3\n", ("duplicated column", "'X'")),
        (b"Z;X;Y\n1;0;3\n", ("--sep ';'",)),
    ],
    ids=["empty", "ragged", "duplicated-treatment", "semicolon"],
)
def test_estimate_bad_files_are_one_line_errors(capsys, tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, _, err = run(capsys, *estimate(str(path)))
    assert_one_line_error(code, err, 1, *words)


def test_estimate_three_level_treatment_error_has_no_broken_code(capsys, tmp_path):
    path = tmp_path / "three.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {"Z": rng.normal(size=60), "X": np.arange(60) % 3, "Y": rng.normal(size=60)}
    ).to_csv(path, index=False)
    code, _, err = run(capsys, *estimate(str(path), "--method", "ipw"))
    assert_one_line_error(code, err, 1, "binary")
    assert "df[" not in err


def test_estimate_same_treatment_and_outcome(capsys, binary_csv):
    code, _, err = run(capsys, "estimate", str(binary_csv), "-t", "X", "-o", "X")
    assert_one_line_error(code, err, 1, "same column")


def test_estimate_non_identifiable_exits_3(capsys, binary_csv):
    code, _, err = run(capsys, "estimate", str(binary_csv), "-g", "X -> Y; X <-> Y; Z -> Y",
                       "-t", "X", "-o", "Y")  # fmt: skip
    assert code == 3 and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1


def test_estimate_semicolon_file_with_sep(capsys, tmp_path, binary_csv):
    path = tmp_path / "semi.csv"
    pd.read_csv(binary_csv).to_csv(path, sep=";", index=False)
    code, out, err = run(capsys, *estimate(str(path), "--sep", ";", "--method", "ipw", "--json"))
    assert code == 0, err
    assert abs(__import__("json").loads(out)["value"] - 2.0) < 0.5  # truth 2 (simulated above)


def test_demo_unknown_section_is_a_usage_error(capsys):
    code, _, err = run(capsys, "demo", "--only", "nosuchsection")
    assert code == 2 and "Traceback" not in err
