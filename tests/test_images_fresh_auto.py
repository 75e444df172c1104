"""``mechanisms="auto"`` end to end on an image SCM that is not in the library.

The SCM is ``benchmarks/fresh_image_scms.py``'s disc design (``Z -> R -> I -> L <- Z``: an
observed confounder ``Z``, a disc radius ``R``, a 28x28 grey disc image ``I`` whose centre and
brightness are its own noise, a label ``L`` read off the image), drawn with plain numpy and
written before the image defaults were scored on it; its counterfactual images are exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.generative import CausalGenerativeModel
from deepcause.generative._core import MechanismModel
from deepcause.generative.mechanisms import ImageHVAEMechanism, ImageVAEMechanism
from deepcause.metrics import counterfactual_pixel_error, wasserstein_1d
from deepcause.simulate.images import make_frontdoor_image_mediator


@pytest.fixture(scope="module")
def fresh(benchmark_module):
    return benchmark_module("fresh_image_scms")


def _units(scm, n_train, n_test, seed=0):
    noise = scm.sample_noise(n_train + n_test, seed)
    values = {v: x for v, x in scm.propagate(noise).items() if v in scm.graph.nodes}
    train = {v: x[:n_train] for v, x in values.items()}
    test = {v: x[n_train:] for v, x in values.items()}
    return train, test, {k: u[n_train:] for k, u in noise.items()}


def test_fresh_disc_scm_counterfactuals_are_exact(fresh):
    scm = fresh.disc_label_scm(28)
    _, fact, noise = _units(scm, 10, 50)
    cf = scm.propagate(noise, {"R": np.full(50, 5.0)})
    reader = fresh.train_reader(
        fresh.disc_renders(28), dict.fromkeys(("radius", "cx", "cy"), "continuous"), n=1500
    )
    truth = fresh.disc_attributes(cf, noise)["I"]
    read = reader.predict(cf["I"])
    assert np.abs(read["radius"] - 5.0).max() < 0.05  # the readers recover the intervened radius
    assert np.abs(read["cx"] - truth["cx"]).max() < 0.05  # and keep the unit's centre
    # the label is read off the image: a bigger disc, a bigger label, by the disc's mass
    gain = 0.05 * (cf["I"].sum(axis=(1, 2, 3)) - fact["I"].sum(axis=(1, 2, 3)))
    assert np.allclose(cf["L"] - fact["L"], gain, atol=1e-4)


def test_auto_image_default_per_use(fresh):
    """``"auto"``: the hierarchical VAE for the deep SCM's image nodes (its counterfactuals),
    the mixture-prior VAE for the base model that ID-GEN's factors are (their colour modes)."""
    scm = fresh.disc_label_scm(28)
    train, fact, _ = _units(scm, 120, 8)
    model = CausalGenerativeModel(str(scm.graph), max_epochs=1, random_state=0, verbose=False)
    model.fit(train)
    assert type(model.mechanisms_["I"]) is ImageHVAEMechanism
    cf = model.counterfactual(fact, do={"R": np.full(8, 4.0)})
    assert cf["I"].shape == (8, 1, 28, 28) and np.isfinite(cf["L"]).all()
    base = MechanismModel(str(scm.graph), max_epochs=1, random_state=0, verbose=False).fit(train)
    assert type(base.mechanisms_["I"]) is ImageVAEMechanism
    assert base.mechanisms_["I"].prior_modes == 12
    named = CausalGenerativeModel(
        str(scm.graph), mechanisms="image_vae", max_epochs=1, random_state=0, verbose=False
    ).fit(train)
    assert type(named.mechanisms_["I"]) is ImageVAEMechanism  # a name still wins


def test_auto_keeps_the_mixture_prior_with_bidirected_edges():
    """The front door's image mediator is outside the district but the graph has X <-> Y:
    "auto" keeps the mixture-prior VAE there (measured: E[Y | do(X)] error 0.073 with it,
    0.088 with image_hvae, the slow front-door test of tests/test_idgen.py)."""
    ds = make_frontdoor_image_mediator(150, truth_n=10, random_state=0)
    m = CausalGenerativeModel(ds.graph, max_epochs=1, random_state=0, verbose=False)
    m.fit(ds.data)
    assert type(m.mechanisms_["M"]) is ImageVAEMechanism and m.mechanisms_["M"].prior_modes == 12


@pytest.fixture(scope="module")
def disc_model(fresh):
    """``auto`` (image_hvae) fitted on 1,500 units of the disc SCM, at the defaults."""
    scm = fresh.disc_label_scm(28)
    train, fact, noise = _units(scm, 1500, 150)
    model = CausalGenerativeModel(str(scm.graph), random_state=0, verbose=False).fit(train)
    return scm, train, fact, noise, model


@pytest.mark.slow
def test_auto_counterfactual_images_on_a_fresh_scm(disc_model):
    scm, train, fact, noise, model = disc_model
    do = {"R": np.random.default_rng(7).uniform(2.6, 5.9, 150)}
    truth = scm.propagate(noise, do)
    cf = model.counterfactual(fact, do=do)
    fresh_img = model.sample(150, do={"R": do["R"]}, random_state=5)["I"]
    rmse = counterfactual_pixel_error(cf["I"], truth["I"])
    base = counterfactual_pixel_error(fresh_img, truth["I"])
    assert np.isfinite(cf["L"]).all()
    # measured (1,500 units, defaults, image_hvae): RMSE 0.030 against fresh noise 0.231, label
    # 0.157 s.d., fit 184 s; the mixture-prior image_vae (auto before session 8) gave 0.080
    # against 0.245 at 3,000 units (benchmarks/results/bench_images_fresh.md): it fails here
    assert rmse < 0.25 * base and rmse < 0.06
    label = np.sqrt(np.mean((cf["L"] - truth["L"]) ** 2)) / fact["L"].std()
    assert label < 0.25


@pytest.mark.slow
def test_auto_do_samples_on_a_fresh_scm(fresh, disc_model, monkeypatch):
    """``do(R = r)`` samples of the disc against the simulator's: the radius and brightness
    read off the images, with image_hvae's fresh noise drawn from the mixture fitted to the
    abducted noise (the default) and from the standard normal (the same decoder)."""
    scm, train, _, _, model = disc_model
    kinds = dict.fromkeys(("radius", "brightness"), "continuous")
    reader = fresh.train_reader(fresh.disc_renders(28), kinds, n=1500)
    sd = {a: x.std() for a, x in reader.predict(train["I"]).items()}

    def w1(do, draw):
        truth = reader.predict(scm.sample(1000, do=do, random_state=2, as_arrays=True)["I"])
        got = reader.predict(draw(do))
        return {a: wasserstein_1d(got[a], truth[a]) / sd[a] for a in kinds}

    draw = lambda do: model.sample(1000, do=do, random_state=1)["I"]  # noqa: E731
    mix = [w1({"R": r}, draw) for r in (3.0, 5.0)]
    monkeypatch.setattr(model.mechanisms_["I"], "noise_mixture", None)  # standard normal noise
    std = [w1({"R": r}, draw) for r in (3.0, 5.0)]
    # measured (1,500 units): radius W1 0.177 / 0.132 at do(R = 3 / 5) against 0.995 / 0.609
    # with the standard normal (3,000 units: 0.08-0.13 against 0.29-0.38, the mixture-prior
    # image_vae 0.16-0.17; benchmarks/results/bench_images_fresh.md, run 2). Brightness is not
    # asserted: 0.223 / 0.373 against 1.053 / 0.155, better at one radius, worse at the other.
    # With image_hvae's parent_maps (session 16) the decoder follows R better and the standard
    # normal's radius W1 fell to 0.581 / 0.353, the mixture's stayed (0.170 / 0.174)
    for m, s in zip(mix, std):
        assert m["radius"] < 0.25 and m["radius"] < 0.6 * s["radius"]
