"""Neural effect estimators: CFR (Wasserstein) on IHDP replication 1, scored against the known
response surfaces (needs the ``deep`` extra: PyTorch).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import numpy as np

from .._optional import require_torch
from ..datasets.loaders import load_ihdp

__all__ = ["TITLE", "main"]

TITLE = "Neural estimators: CFR on IHDP"


def main(quick: bool = False, *, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Fit CFR on IHDP; return the estimated and true ATE and the sqrt(PEHE) in and out of sample
    (``quick``: two networks instead of a three-member bootstrap ensemble).

    Examples
    --------
    Takes about 25 s on two cores (tests/test_examples.py runs it and checks the numbers):

    >>> import io
    >>> r = main(quick=True, out=io.StringIO())  # doctest: +SKIP
    >>> abs(r["ate"] - r["true_ate"]) < 0.5  # doctest: +SKIP
    """
    torch = require_torch("the neural-estimator example")
    from ..estimate.neural import CFR  # imports torch

    train, test = load_ihdp(1, split="train"), load_ihdp(1, split="test")
    covs = list(train.covariates)
    true_ate = float(np.mean(train.mu1 - train.mu0))
    print(
        f"IHDP replication 1: {len(train.data)} training rows (factual outcomes only), "
        f"{len(test.data)} held-out rows; true ATE on the training rows {true_ate:.3f}.",
        file=out,
    )
    n_members = 2 if quick else 3
    est = CFR(
        ipm="wasserstein",
        alpha=1.0,
        representation_hidden_sizes=(64, 64),
        head_hidden_sizes=(32,),
        n_members=n_members,
        random_state=0,
        verbose=False,
    )
    start, threads = time.perf_counter(), torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is fastest, even on a busy machine
    try:
        est.fit(train.data, treatment="t", outcome="y", covariates=covs)
        ate = est.effect(treatment=1, control=0)
    finally:
        torch.set_num_threads(threads)
    print(
        f"CFR-Wass, {n_members} member(s), {time.perf_counter() - start:.1f} s: ATE {ate.value:.3f}",
        file=out,
    )
    res: dict[str, Any] = {"ate": ate.value, "true_ate": true_ate}
    for name, part in (("in-sample", train), ("out-of-sample", test)):
        cate = est.predict_cate(part.data)  # covariates selected by name
        truth = part.mu1 - part.mu0
        res[f"pehe_{name}"] = float(np.sqrt(np.mean((cate - truth) ** 2)))
        res[f"cate_sd_{name}"] = float(truth.std())
        print(
            f"  sqrt(PEHE) {name}: {res[f'pehe_{name}']:.3f} (s.d. of the true CATE "
            f"{truth.std():.3f})",
            file=out,
        )
    return res
