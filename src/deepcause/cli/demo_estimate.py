"""Demo section: effect of job training on earnings (LaLonde NSW treated + PSID-1 controls)."""

from __future__ import annotations

import warnings
from typing import TextIO

from ..exceptions import PositivityWarning


def run(out: TextIO) -> None:
    """Estimate the ATT on LaLonde's observational design and compare with the experiment."""
    from ..datasets.loaders import load_lalonde
    from ..estimate import AIPW, IPW, EntropyBalancing, Matching, estimate_effect

    ds = load_lalonde("psid")
    truth, naive = 1794.34, -15204.78
    print(
        "NSW job training: 185 treated men vs 2490 PSID-1 survey controls; the randomized "
        f"experiment gives ATT = {truth:.0f}, the naive difference is {naive:.0f}.",
        file=out,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PositivityWarning)
        res = estimate_effect(ds.data, ds.graph, ds.treatment, ds.outcome, population="treated")
    print("\nestimate_effect(data, graph, 'treat', 're78', population='treated'):\n", file=out)
    print(res.summary(), file=out)
    for w in caught:
        print(f"warning: {w.message}", file=out)
    print(f"\n{'method':<44} {'ATT':>8} {'95% CI':>20}", file=out)
    estimators = [
        (None, AIPW()),
        (None, IPW()),
        (None, Matching()),
        (None, Matching(distance="propensity", n_neighbors=3)),
        ("Entropy balancing (means and variances)", EntropyBalancing(moments=2)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        for label, est in estimators:
            r = est.fit(ds.data, treatment=ds.treatment, outcome=ds.outcome).effect(
                population="treated"
            )
            lo, hi = r.conf_int()
            print(f"{label or r.method:<44} {r.value:>8.0f} [{lo:>8.0f}, {hi:>8.0f}]", file=out)
    print(f"{'experimental benchmark':<44} {truth:>8.0f}", file=out)
