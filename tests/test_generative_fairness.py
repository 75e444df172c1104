"""Smoke run of examples/fairness_decaf.py with tiny settings, checking what it claims."""

from __future__ import annotations

import io
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fairness_decaf.py"


def test_decaf_example_removes_the_bias_it_is_asked_to_remove():
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = io.StringIO()
    table = main(n=800, epochs=20, out=out)
    assert "synthetic, DP" in out.getvalue()
    faithful, ftu, dp = (table.loc[f"synthetic, {k}"] for k in ("faithful", "FTU", "DP"))
    # the faithful copy keeps the bias of the real data (label gap 0.53 in the population)
    assert faithful["label DP gap"] > 0.35 and faithful["FTU gap"] > 0.15
    assert faithful["AUROC"] > 0.75
    # removing A -> Y removes the direct effect; removing every edge out of A removes the gap
    assert ftu["FTU gap"] < 0.06 < faithful["FTU gap"] - 0.1
    assert dp["label DP gap"] < 0.08
    assert dp["label DP gap"] < ftu["label DP gap"] < faithful["label DP gap"]
    assert dp["AUROC"] > 0.7  # still useful data
