"""Does the district-joint model's latent carry the napkin's hidden colours?

Fits ``CausalGenerativeModel(latent_strategy="joint")`` on the coloured-digits napkin with the
data, readers, truth draws and sample seeds of ``tests/test_images_napkin.py`` (joint route),
then reads the hidden ``U1, U2`` (and ``W1``, ``Y``'s colour) off the inference network's
posterior mean by multinomial logistic regression (half the units to fit, half to score; the
oracle row reads ``U2`` off ``(W1, Y's colour)``), and scores ``P(Y | do(X = x_ref))``: mean
attribute TV, the colour histogram, how often ``Y``'s colour equals ``W1`` (the ``U2`` link),
and how often ``Y``'s digit is the reference's.

Usage: ``python benchmarks/study_napkin_latent.py N EPOCHS LATENT_DIM SEED [BETA]`` (``BETA``:
the KL weight of both image VAEs; default: the mechanisms of ``mechanisms="auto"``)
(results: ``benchmarks/results/bench_images.md``, run 5).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy
from deepcause.generative.mechanisms import ImageVAEMechanism
from deepcause.metrics import attribute_tv
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import make_colored_digits_napkin


def _strategy(latent_dim: int) -> type[JointDistrictStrategy]:
    class Joint(JointDistrictStrategy):
        def __init__(self, model, district):
            super().__init__(model, district, latent_dim=latent_dim)

    return Joint


def _readout(m, data, full, reader, n):
    dist = m.districts_[0]
    vals = {v: m.specs_[v].encode_values(data[v], m.device_) for v in dist.inputs}
    with torch.no_grad():
        feats = torch.cat([m.specs_[v].one_hot(vals[v]).float() for v in dist.inputs], 1)
        mu = dist.encoder(feats)[:, : dist.latent_dim].numpy()  # the posterior mean
    h = n // 2
    ycol = reader(data["Y"])["color"].astype(int)
    for name, target in (
        ("U1", full["U1"]),
        ("U2", full["U2"]),
        ("Ycolor", ycol),
        ("W1", data["W1"]),
    ):
        t = np.asarray(target).astype(int)
        acc = LogisticRegression(max_iter=2000).fit(mu[:h], t[:h]).score(mu[h:], t[h:])
        print(
            name,
            "read off z:",
            round(acc, 3),
            "majority",
            round(np.bincount(t[h:]).max() / (n - h), 3),
        )
    o = np.concatenate([np.eye(6)[data["W1"].astype(int)], np.eye(6)[ycol]], 1)
    u2 = full["U2"].astype(int)
    print(
        "U2 read off (W1, Y colour):",
        round(LogisticRegression(max_iter=2000).fit(o[:h], u2[:h]).score(o[h:], u2[h:]), 3),
    )


def main(n: int, epochs: int, latent_dim: int, seed: int, beta: float | None = None) -> None:
    t0 = time.time()
    ds = make_colored_digits_napkin(n, truth_n=10, random_state=0)
    full = ds.scm.sample(
        n, random_state=np.random.default_rng(0), include_latent=True, as_arrays=True
    )
    data = {k: full[k] for k in ("W1", "W2", "X", "Y")}
    assert all(np.array_equal(data[k], ds.data[k]) for k in data), "not the test's data"
    reader = train_attribute_readers(ds.scm, n=3000)
    mechs = "auto" if beta is None else {v: ImageVAEMechanism(beta=beta) for v in ("X", "Y")}
    m = CausalGenerativeModel(ds.graph, mechanisms=mechs, latent_strategy=_strategy(latent_dim),
                              max_epochs=epochs, random_state=seed, verbose=False).fit(data)  # fmt: skip
    print("fit s", round(time.time() - t0))
    _readout(m, data, full, reader, n)
    x = ds.data["X"].reshape(n, -1)
    tvs, conds = [], []
    for qi, ref in enumerate(ds.extras["x_reference"]):
        true = ds.scm.sample(2000, do={"X": ref}, random_state=100 + qi, as_arrays=True)
        gen = m.sample(1000, do={"X": ref}, random_state=qi)
        near = ds.data["Y"][np.argsort(((x - ref.reshape(1, -1)) ** 2).sum(1), kind="stable")[:100]]
        tvs.append(attribute_tv(gen["Y"], true["Y"], reader))
        conds.append(attribute_tv(near, true["Y"], reader))
        r, rt = reader(gen["Y"]), reader(true["Y"])
        print(qi, "TV", round(tvs[-1], 3), "cond", round(conds[-1], 3),
              "P(colour) model", np.round(np.bincount(r["color"].astype(int), minlength=6) / 1000, 2),
              "true", np.round(np.bincount(rt["color"].astype(int), minlength=6) / 2000, 2),
              "P(Y colour = W1) model", round(float(np.mean(r["color"] == gen["W1"])), 2),
              "true", round(float(np.mean(rt["color"] == true["W1"])), 2),
              "P(Y digit = ref digit) model",
              round(float(np.mean(r["digit"] == np.bincount(rt["digit"].astype(int)).argmax())), 2))  # fmt: skip
    print("MEAN TV", round(float(np.mean(tvs)), 3), "cond", round(float(np.mean(conds)), 3))
    print("total s", round(time.time() - t0))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:5]), *(float(a) for a in sys.argv[5:6]))
