"""Conditional interventional queries ``P(y | do(x), z)`` of ID-GEN, tabular and with image
nodes, against the simulators' truth (intervene on the SCM, condition by rejection on the
conditioning node or on the attribute the outcome reads), next to the conditioning baseline
``P(y | x, z)`` that ignores the hidden confounders (so every test can fail).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from deepcause.exceptions import NotIdentifiableError
from deepcause.generative import CausalGenerativeModel
from deepcause.generative.idgen import IDGenSampler
from deepcause.metrics import attribute_tv
from deepcause.simulate import read_color, read_digit, train_attribute_readers
from deepcause.simulate.images import (
    make_colored_digits_napkin,
    make_confounded_digit_label,
    make_frontdoor_image_mediator,
)
from deepcause.simulate.scm import SCM, Node, uniform

COIN = uniform(0, 1)


def _binary(name, parents, p):
    return Node(name, parents, lambda pa, u: (u < p(pa)).astype(float), COIN, discrete=True)


def _frontdoor_binary() -> SCM:
    """X -> M -> Y, X <-> Y (hidden U), every variable binary."""
    return SCM(
        [
            Node("U", fn=lambda pa, u: (u < 0.5) * 1.0, noise=COIN, latent=True, discrete=True),
            _binary("X", ("U",), lambda pa: np.where(pa["U"] == 1, 0.8, 0.2)),
            _binary("M", ("X",), lambda pa: 0.15 + 0.7 * pa["X"]),
            _binary("Y", ("M", "U"), lambda pa: expit(2 * pa["M"] + 2 * pa["U"] - 2)),
        ]
    )


def test_tabular_idc_with_hidden_confounder_against_truth() -> None:
    """P(Y | do(X), M) = sum_x' P(Y | M, x') P(x') and the fraction P(M | do(X), Y) on a
    binary front door, against the SCM under do(X = x) conditioned by rejection; the
    conditioning baseline P(Y | x, M), P(M | x, Y) is biased by the hidden U."""
    scm = _frontdoor_binary()
    df = scm.sample(3000, random_state=0)
    m = CausalGenerativeModel(str(scm.graph), latent_strategy="idgen", max_epochs=30,
                              random_state=0, verbose=False).fit(df)  # fmt: skip
    errs, base = [], []
    for x in (0.0, 1.0):
        truth = scm.sample(400_000, do={"X": x}, random_state=1)
        for out, cond in (("Y", "M"), ("M", "Y")):
            for z in (0.0, 1.0):
                want = truth.loc[truth[cond] == z, out].mean()
                got = m.sample(4000, do={"X": x}, given={cond: z}, random_state=2)
                assert (got[cond] == z).all() and (got["X"] == x).all()
                errs.append(abs(got[out].mean() - want))
                base.append(abs(df.loc[(df["X"] == x) & (df[cond] == z), out].mean() - want))
    # measured (3 s CPU): errors 0.001-0.037 (mean 0.011), baseline 0.001-0.127 (mean 0.076)
    assert max(errs) < 0.06, errs
    assert np.mean(base) > 3 * np.mean(errs), (errs, base)


# --------------------------------------------------------------------------- image condition
def _bright(pa, u):
    """An 8x8 grey image of brightness A: a random pattern of mean exactly 0.75, times A."""
    pattern = 0.75 + 0.1 * np.tanh(u)
    pattern *= 0.75 / pattern.mean(axis=(1, 2, 3), keepdims=True)
    return pa["A"][:, None, None, None] * pattern


def _read(m):
    """The brightness A of images drawn by ``_bright`` (exact)."""
    return m.mean(axis=(1, 2, 3)) / 0.75


def _frontdoor_bright() -> SCM:
    """X -> M -> Y, X <-> Y with an image mediator M whose brightness A the label Y reads."""
    clip = lambda pa, u: np.clip(0.3 + 0.4 * pa["X"] + 0.15 * u, 0.05, 1.0)  # noqa: E731
    read = lambda pa: expit(5 * (_read(pa["M"]) - 0.5) + 2 * pa["U"] - 1)  # noqa: E731
    return SCM(
        [
            Node("U", fn=lambda pa, u: (u < 0.5) * 1.0, noise=COIN, latent=True, discrete=True),
            _binary("X", ("U",), lambda pa: np.where(pa["U"] == 1, 0.8, 0.2)),
            Node("A", ("X",), clip, latent=True),
            Node("M", ("A",), _bright, shape=(1, 8, 8)),
            _binary("Y", ("M", "U"), read),
        ]
    )


def test_conditional_on_an_image_mediator_against_truth() -> None:
    """P(Y | do(X = x), M = m) = sum_x' P(Y | m, x') P(x') for three mediator images m: the
    label factor reads the image (two-stage factor); the truth intervenes on the SCM (under
    do(X) the mediator has no hidden parent, so conditioning on M = m is do(M = m), rule 2);
    the baseline P(Y | X = x, M ~ m) (100 nearest brightnesses) is confounded by U."""
    scm = _frontdoor_bright()
    data = scm.sample(1500, random_state=0, as_arrays=True)
    m = CausalGenerativeModel(str(scm.graph), latent_strategy="idgen", max_epochs=20,
                              random_state=0, verbose=False).fit(data)  # fmt: skip
    pool = scm.sample(300, random_state=9, as_arrays=True)["M"]
    refs = pool[[int(np.argmin(np.abs(_read(pool) - a))) for a in (0.25, 0.45, 0.65)]]
    seen = _read(data["M"])
    errs, base = [], []
    for x in (0.0, 1.0):
        for i, ref in enumerate(refs):
            want = scm.sample(100_000, do={"X": x, "M": ref}, random_state=3)["Y"].mean()
            got = m.sample(4000, do={"X": x}, given={"M": ref}, random_state=i)
            assert np.array_equal(got["M"][0], ref) and got["Y"].shape == (4000,)
            errs.append(abs(got["Y"].mean() - want))
            rows = np.flatnonzero(data["X"] == x)
            near = rows[np.argsort(np.abs(seen[rows] - _read(ref[None])[0]))[:100]]
            base.append(abs(data["Y"][near].mean() - want))
    # measured (1,500 units, 20 epochs, ~5 s CPU): errors 0.051-0.103 (mean 0.072); the
    # baseline 0.129-0.334 (mean 0.203); model random_state 1, 2, 3: max error 0.053, 0.059, 0.008
    assert max(errs) < 0.12, errs
    assert np.mean(base) > 2 * np.mean(errs), (errs, base)


# --------------------------------------------------------------------------- refusals, seeds
def test_identify_runs_before_any_factor_is_trained(monkeypatch) -> None:
    """Image queries that are not identifiable are refused by ``identify`` before training:
    the back door with a hidden colour group (X <-> Y), and the coloured-digits napkin's
    P(Y | do(X), W2) (conditioning on W2 opens W1's confounding)."""

    def no_training(*args, **kwargs):
        raise AssertionError("a factor generator was trained for a non-identifiable query")

    monkeypatch.setattr("deepcause.generative.idgen.fit_factor", no_training)
    hidden = make_confounded_digit_label(60, hidden=True, truth_n=10, random_state=0)
    m = CausalGenerativeModel(hidden.graph, latent_strategy="idgen", random_state=0)
    m.fit(hidden.data)
    with pytest.raises(NotIdentifiableError, match=r"P\(Y \| do\(X\)\)"):
        m.sample(5, do={"X": hidden.extras["x_reference"][0]})
    napkin = make_colored_digits_napkin(60, truth_n=10, random_state=0)
    m = CausalGenerativeModel(napkin.graph, latent_strategy="idgen", random_state=0)
    m.fit(napkin.data)
    with pytest.raises(NotIdentifiableError, match=r"W2"):
        m.sample(5, do={"X": napkin.extras["x_reference"][0]}, given={"W2": 3})
    with pytest.raises(NotIdentifiableError):
        IDGenSampler(napkin.graph, "X", "Y", given="W1").fit(napkin.data)


def test_conditional_image_samples_are_reproducible() -> None:
    """P(X | do(C = c), Y = y) = P(X | C, Y) (an image outcome, a tabular condition): same seed
    same images, another seed other images, and the same fit twice gives the same images."""
    ds = make_confounded_digit_label(200, truth_n=10, random_state=0)

    def fit():
        return CausalGenerativeModel(ds.graph, latent_strategy="idgen", max_epochs=1,
                                     random_state=3, verbose=False).fit(ds.data)  # fmt: skip

    m = fit()
    a, b = (m.sample(6, do={"C": 1}, given={"Y": 1}, random_state=4) for _ in range(2))
    c = m.sample(6, do={"C": 1}, given={"Y": 1}, random_state=5)
    assert list(a) == ["C", "X", "Y"] and a["X"].shape == (6, 3, 16, 16)
    assert np.all(a["C"] == 1) and np.all(a["Y"] == 1)
    assert np.array_equal(a["X"], b["X"]) and not np.array_equal(a["X"], c["X"])
    again = fit().sample(6, do={"C": 1}, given={"Y": 1}, random_state=4)
    assert np.array_equal(a["X"], again["X"])


# --------------------------------------------------------------------------- simulate designs
@pytest.mark.slow
def test_frontdoor_image_mediator_conditional_against_truth() -> None:
    """``make_frontdoor_image_mediator``: P(Y | do(X = x), M = m) for mediator images of the
    digits 1, 3, 6, 8 (ten glyphs each, the answer averaged over them). Truth: the SCM under
    do(X = x), conditioned by rejection on the attribute Y reads (the mediator's digit >= 5);
    baseline: P(Y | X = x, digit of M >= 5) in the data (the same attribute, but confounded by
    the hidden U)."""
    ds = make_frontdoor_image_mediator(4000, truth_n=10, random_state=0)
    m = CausalGenerativeModel(ds.graph, latent_strategy="idgen", max_epochs=30, random_state=0,
                              verbose=False).fit(ds.data)  # fmt: skip
    pool = ds.scm.sample(400, random_state=5, as_arrays=True)["M"]
    digits, seen = read_digit(pool), read_digit(ds.data["M"]) >= 5
    errs, base = [], []
    for x in (0, 1):
        truth = ds.scm.sample(40_000, do={"X": x}, random_state=7, as_arrays=True)
        t_big = read_digit(truth["M"]) >= 5
        for i, d in enumerate((1, 3, 6, 8)):
            refs = np.repeat(pool[np.flatnonzero(digits == d)[:10]], 200, axis=0)
            want = truth["Y"][t_big == (d >= 5)].mean()
            got = m.sample(len(refs), do={"X": x}, given={"M": refs}, random_state=i)["Y"]
            errs.append(abs(got.mean() - want))
            rows = (ds.data["X"] == x) & (seen == (d >= 5))
            base.append(abs(ds.data["Y"][rows].mean() - want))
    # Y's mechanism reads "digit >= 5" off M's pixels, learnt from Y's noisy labels alone, so
    # one glyph's answer varies: with 2,000 units the model's P(Y = 1) ranged 0.09-0.85 over
    # twelve glyphs of the same small digit (truth 0.31), and a single-glyph "1" scored an
    # error of 0.36 at model seeds 0-2. Averaged over ten glyphs, 4,000 units (18 s CPU for
    # the whole test): mean error 0.045 / 0.035 / 0.063 and max 0.067 / 0.120 / 0.142 at model
    # seeds 0 / 1 / 2; the baseline's mean 0.106 (2,000 units: seed 1 mean 0.096, baseline
    # 0.118)
    assert max(errs) < 0.15, errs
    assert np.mean(base) > 1.3 * np.mean(errs), (errs, base)


@pytest.mark.slow
def test_backdoor_conditional_on_colour_group_against_truth() -> None:
    """``make_confounded_digit_label``: P(Y | do(X = x), C = c) = P(Y | C, x) for the four
    reference images and the three colour groups. Truth: the SCM under do(X = x) conditioned
    on C = c by rejection; baseline: P(Y | X ~ x) (the 50 nearest training images), which
    ignores the colour group."""
    ds = make_confounded_digit_label(1500, truth_n=10, random_state=0)
    m = CausalGenerativeModel(ds.graph, latent_strategy="idgen", max_epochs=40, random_state=0,
                              verbose=False).fit(ds.data)  # fmt: skip
    flat = ds.data["X"].reshape(len(ds.data["X"]), -1)
    errs, base = [], []
    for i, ref in enumerate(ds.extras["x_reference"]):
        truth = ds.scm.sample(20_000, do={"X": ref}, random_state=100 + i)
        near = np.argsort(((flat - ref.reshape(1, -1)) ** 2).sum(1), kind="stable")[:50]
        for c in (0, 1, 2):
            want = truth["Y"][truth["C"] == c].mean()
            got = m.sample(2000, do={"X": ref}, given={"C": c}, random_state=i)
            assert np.all(got["C"] == c)
            errs.append(abs(got["Y"].mean() - want))
            base.append(abs(ds.data["Y"][near].mean() - want))
    # measured (1,500 units, 40 epochs): errors mean 0.164, max 0.445 (the digit-7 image in
    # the colour of group 2, given C = 0: the label factor still reads the colour as a
    # stand-in for C); the baseline 0.244
    assert np.mean(errs) < 0.2, errs
    assert np.mean(base) > 1.3 * np.mean(errs), (errs, base)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-12-06 (2,000 units, 20 epochs, seed 0; bench_images.md run 7, after "
    "the simulator's reader fix and the resampled tabular stage): colour TV of P(Y | do(W2 = w), "
    "X = x) 0.220 / 0.221 / 0.237 (mean 0.226) against the conditioning baseline's 0.178 / 0.324 "
    "/ 0.233 (mean 0.245, 1.09x); with KL-weight-4 image VAEs 0.281 (worse). Run 6: 0.189 at "
    "seed 0, 0.245 at model seed 1. Left: the image VAE's copy of X's colour (0.21-0.30 of "
    "samples against 0.41-0.42 in truth; chance 0.17)",
)
def test_napkin_image_conditional_on_image_against_truth() -> None:
    """``make_colored_digits_napkin``: P(Y | do(W2 = w), X = x), an image outcome given an
    image (IDC: a fraction whose generator is trained on generated pairs). Truth: the SCM
    under do(W2 = w) conditioned by rejection on X's colour (its digit is w under do(W2));
    baseline: the Y images of the data rows with W2 = w and X of that colour (confounded
    through W1 <-> Y). Compared on Y's colour by the attribute reader."""
    ds = make_colored_digits_napkin(2000, truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=2000)
    m = CausalGenerativeModel(ds.graph, latent_strategy="idgen", max_epochs=20, random_state=0,
                              verbose=False).fit(ds.data)  # fmt: skip
    x_color = read_color(ds.data["X"])
    tvs, base = [], []
    for w, c in ((2, 2), (4, 0), (1, 4)):
        truth = ds.scm.sample(40_000, do={"W2": w}, random_state=3, include_latent=True,
                              as_arrays=True)  # fmt: skip
        keep = truth["X_color"] == c
        ref, want = truth["X"][np.flatnonzero(keep)[0]], truth["Y"][keep][:3000]
        got = m.sample(1000, do={"W2": w}, given={"X": ref}, random_state=1)["Y"]
        tvs.append(attribute_tv(got, want, reader, "color"))
        rows = (ds.data["W2"] == w) & (x_color == c)
        base.append(attribute_tv(ds.data["Y"][rows], want, reader, "color"))
    assert max(tvs) < 0.15, tvs
    assert np.mean(base) > 1.3 * np.mean(tvs), (tvs, base)
