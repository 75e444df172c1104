"""Demo section: neural effect estimators on IHDP (needs the ``deep`` extra)."""

from __future__ import annotations

import time
from typing import TextIO

import numpy as np


def run(out: TextIO) -> None:
    """Fit CFR (Wasserstein) on IHDP replication 1, score it against the known surfaces."""
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install deepcause[deep] to run this part.", file=out)
        return
    from ..datasets.loaders import load_ihdp
    from ..estimate.neural import CFR

    train, test = load_ihdp(1, split="train"), load_ihdp(1, split="test")
    covs = list(train.covariates)
    print(
        f"IHDP replication 1: {len(train.data)} training rows (factual outcomes only), "
        f"{len(test.data)} held-out rows; true ATE on the training rows "
        f"{np.mean(train.mu1 - train.mu0):.3f}.",
        file=out,
    )
    start = time.perf_counter()
    est = CFR(
        ipm="wasserstein",
        alpha=1.0,
        representation_hidden_sizes=(64, 64),
        head_hidden_sizes=(32,),
        n_members=3,
        random_state=0,
        verbose=False,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is fastest, even on a busy machine
    try:
        est.fit(train.data, treatment="t", outcome="y", covariates=covs)
        ate = est.ate()
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - start
    lo, hi = ate.conf_int()
    print(
        f"CFR-Wass, 3 bootstrap members, {seconds:.1f} s: ATE {ate.value:.3f} "
        f"(95% t interval [{lo:.3f}, {hi:.3f}] from the members' spread)",
        file=out,
    )
    for name, part in (("in-sample", train), ("out-of-sample", test)):
        cate = est.predict_cate(part.data)
        truth = part.mu1 - part.mu0
        pehe = float(np.sqrt(np.mean((cate - truth) ** 2)))
        print(
            f"  sqrt(PEHE) {name}: {pehe:.3f} (s.d. of the true CATE {truth.std():.3f})", file=out
        )
    print(
        "Python: CFR(ipm='wasserstein').fit(df, treatment='t', outcome='y').ate(); "
        "CLI: deepcause estimate ... --method cfr",
        file=out,
    )
