"""Smoke runs of every script in examples/ with tiny settings, checking what each one claims.

``fairness_decaf.py`` has its own test (tests/test_generative_fairness.py). Any other script is
run as a program with ``--quick`` (every example accepts it or is fast by default).
"""

from __future__ import annotations

import io
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TESTED_ELSEWHERE = {"fairness_decaf.py"}  # tests/test_generative_fairness.py
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in TESTED_ELSEWHERE)


def _main(script: str):  # noqa: ANN202
    return runpy.run_path(str(EXAMPLES / script))["main"]


def test_examples_are_found():
    assert {"quickstart_identify.py", "lalonde_estimation.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_as_a_program(script, tmp_path):
    env = {**os.environ, "DEEPCAUSE_PROGRESS": "0", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip(), f"{script} printed nothing"


def test_quickstart_identify_recovers_the_interventional_truth():
    out = io.StringIO()
    res = _main("quickstart_identify.py")(n=3000, n_boot=30, seed=1, out=out)
    text = out.getvalue()
    # kidney stones: exact back-door numbers (Charig et al. counts)
    assert round(res["kidney"]["A"], 5) == 0.83255 and round(res["kidney"]["B"], 5) == 0.77888
    assert "[frontdoor]" in text and "[general]" in text
    for case in ("frontdoor", "napkin"):
        for value, se, truth in res[case].values():
            # bootstrap s.e. of the plug-in; the truth has Monte Carlo error ~0.001
            assert abs(value - truth) < 4 * se + 0.005, (case, value, se, truth)
    assert res["bow"] == {} and "not identifiable" in text and "Hedge" in text


def test_lalonde_example_brackets_the_experimental_benchmark(tmp_path):
    out = io.StringIO()
    plot = tmp_path / "lalonde.png"
    table = _main("lalonde_estimation.py")(quick=True, plot=str(plot), out=out)
    truth = 1794.34
    assert table.loc["naive difference in means", "ATT"] < -10_000
    adjusted = table.drop(index="naive difference in means")
    assert len(adjusted) >= 4
    # every adjusted estimate's 95% interval covers the experimental ATT
    assert (adjusted["CI low"] < truth).all() and (adjusted["CI high"] > truth).all()
    assert (adjusted["max |SMD| after"] < 0.25).all()
    assert plot.stat().st_size > 0
