"""The district-joint route on the coloured-digits napkin, per query, with its colour copy.

Fits ``CausalGenerativeModel(latent_strategy="joint")`` with the data, readers, truth draws and
sample seeds of ``_route_scores("joint")`` in ``tests/test_images_napkin.py`` (data seed 0, the
model seed given), then prints per reference query the attribute TV of ``P(Y | do(X = x_ref))``
(joint, colour alone, digit alone), the conditioning baseline's TV, how often the generated
``Y`` shows the reference's digit and copies its colour (truth about 0.91 and 0.41-0.43), the
share of its colour equal to the reference's *digit* (the confounded path ``X``'s digit <- ``W2``
<- ``W1`` <- ``U2`` -> ``Y``'s colour read as an effect of ``X``), the generated colour and digit
histograms, fit and sampling time, and (``obs=1``) the model's own observational links (``Y``'s
digit and colour equal to ``X``'s, colours equal to ``W1``, ``Y``'s colour equal to ``X``'s
digit) next to the data's.

Usage: ``python benchmarks/study_napkin_joint.py N EPOCHS SEED [key=json ...]``; keys other than
``obs`` are :class:`~deepcause.generative.districts.JointDistrictStrategy` keywords, e.g.
``latent_blocks='"district"' latent_modes=0 encoder_stats=false``; ``y_vae=JSON`` gives ``Y``
an ``ImageVAEMechanism(**JSON)`` instead of ``"auto"``'s (e.g. ``y_vae='{"beta": 4,
"discrete_noise": 4}'``); ``alone=1`` instead fits
``Y``'s image VAE alone on ``Y | X`` (other keys: its keywords) and prints its colour copy (results:
``benchmarks/results/bench_images.md``, last section).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from deepcause.examples.images import nearest_outcomes
from deepcause.generative import CausalGenerativeModel
from deepcause.generative.districts import JointDistrictStrategy
from deepcause.generative.mechanisms import ImageVAEMechanism
from deepcause.metrics import attribute_tv
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import make_colored_digits_napkin


def _links(reader, d):  # noqa: ANN001
    x, y, w1 = reader.predict(d["X"]), reader.predict(d["Y"]), np.asarray(d["W1"]).astype(int)
    return (
        np.mean(y["digit"] == x["digit"]),
        np.mean(y["color"] == x["color"]),
        np.mean(x["color"] == w1),
        np.mean(y["color"] == w1),
        np.mean(y["color"] == x["digit"]),
    )


def _alone(ds, reader, epochs: int, seed: int, kw: dict) -> None:  # noqa: ANN001
    """``Y``'s image VAE fitted alone on ``Y | X`` (no district, no latent block; the district's
    KL weight 4 and step size 3e-3 unless given, no early stopping): the colour copy of its
    samples given the data's ``X`` against the data's."""
    flat = {k: torch.tensor(2.0 * ds.data[k].reshape(len(ds.data[k]), -1) - 1.0) for k in "XY"}
    settings = {"beta": 4.0, "learning_rate": 3e-3, "max_epochs": epochs, "patience": epochs}
    mech = ImageVAEMechanism(
        image_shape=ds.data["Y"].shape[1:],
        context_shapes=[ds.data["X"].shape[1:]],
        **{**settings, **kw},
    )
    t0 = time.time()
    mech.fit(flat["Y"].float(), flat["X"].float(), random_state=seed, verbose=False)
    with torch.no_grad():
        gen = mech.sample_from_noise(
            2000, flat["X"][:2000].float(), torch.Generator().manual_seed(0)
        )
    fitted = {
        "X": ds.data["X"][:2000],
        "Y": (gen.reshape(-1, *ds.data["Y"].shape[1:]).numpy() + 1) / 2,
    }
    x, g, y = (reader.predict(d) for d in (fitted["X"], fitted["Y"], ds.data["Y"][:2000]))
    print(
        f"Y | X alone, {epochs} epochs, seed {seed}, {kw}: fit {time.time() - t0:.0f} s; "
        f"Ycolour=Xcolour {np.mean(g['color'] == x['color']):.2f} (data "
        f"{np.mean(y['color'] == x['color']):.2f}), Ydigit=Xdigit "
        f"{np.mean(g['digit'] == x['digit']):.2f} (data {np.mean(y['digit'] == x['digit']):.2f})"
    )


def main(argv: list[str]) -> None:
    n, epochs, seed = (int(a) for a in argv[:3])
    kw = {k: json.loads(v) for k, v in (a.split("=", 1) for a in argv[3:])}
    obs, alone, y_vae = kw.pop("obs", 1), kw.pop("alone", 0), kw.pop("y_vae", None)

    class Strategy(JointDistrictStrategy):
        def __init__(self, model, district, **more):  # noqa: ANN001
            super().__init__(model, district, **{**kw, **more})

    torch.set_num_threads(1)
    ds = make_colored_digits_napkin(n, truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=3000)
    if alone:
        return _alone(ds, reader, epochs, seed, kw)
    mechs = "auto" if y_vae is None else {"Y": ImageVAEMechanism(**y_vae)}
    m = CausalGenerativeModel(ds.graph, mechanisms=mechs, latent_strategy=Strategy,
                              max_epochs=epochs, random_state=seed, verbose=False)  # fmt: skip
    t0 = time.time()
    m.fit(ds.data)
    fit_s, tv, cond, sample_s = time.time() - t0, [], [], []
    for qi, ref in enumerate(ds.extras["x_reference"]):
        true = ds.scm.sample(2000, do={"X": ref}, random_state=100 + qi, as_arrays=True)["Y"]
        t1 = time.time()
        gen = m.sample(1000, do={"X": ref}, random_state=qi)["Y"]
        sample_s.append(time.time() - t1)
        tv.append(attribute_tv(gen, true, reader))
        cond.append(
            attribute_tv(nearest_outcomes(ds.data["X"], ds.data["Y"], ref, 100), true, reader)
        )
        r, g, t = reader.predict(ref[None]), reader.predict(gen), reader.predict(true)
        rd, rc = r["digit"][0], r["color"][0]
        print(
            f"q{qi} ref digit {rd} colour {rc}: TV {tv[-1]:.3f} (colour "
            f"{attribute_tv(g['color'], t['color']):.3f}, digit "
            f"{attribute_tv(g['digit'], t['digit']):.3f}), conditioning {cond[-1]:.3f}; digit "
            f"{np.mean(g['digit'] == rd):.2f} (truth {np.mean(t['digit'] == rd):.2f}), colour "
            f"copied {np.mean(g['color'] == rc):.2f} (truth {np.mean(t['color'] == rc):.2f}), "
            f"colour = ref digit {np.mean(g['color'] == rd):.2f} (truth "
            f"{np.mean(t['color'] == rd):.2f}); "
            f"colours {np.bincount(g['color'], minlength=6) / len(gen)}, digits "
            f"{np.bincount(g['digit'], minlength=10) / len(gen)}",
            flush=True,
        )
    print(
        f"MEAN joint {np.mean(tv):.3f} conditioning {np.mean(cond):.3f} "
        f"({np.mean(cond) / np.mean(tv):.2f}x) fit {fit_s:.0f} s, 1,000 samples "
        f"{np.mean(sample_s):.2f} s; n {n}, epochs {epochs}, seed {seed}, {kw}"
    )
    if obs:
        fmt = (
            "Ydigit=Xdigit %.2f Ycolour=Xcolour %.2f Xcolour=W1 %.2f Ycolour=W1 %.2f "
            "Ycolour=Xdigit %.2f"
        )
        print("data ", fmt % _links(reader, ds.data))
        print("model", fmt % _links(reader, m.sample(2000, random_state=7)))


if __name__ == "__main__":
    main(sys.argv[1:])
