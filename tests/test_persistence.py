"""The one saved-model format: round trips, and one ModelFileError for every tampered file.

Each case edits a saved neural estimator and a saved generative model the way a corrupt disk,
a careless hand or an attacker would, and checks that loading refuses with a
:class:`ModelFileError` naming the file and the problem (never a raw pickle, JSON, key or type
error), without executing anything.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from deepcause._persistence import CONFIG_FILE, WEIGHTS_FILE  # noqa: E402
from deepcause.estimate.iv.dfiv import DFIV  # noqa: E402
from deepcause.estimate.neural import CFR, TARNet, load  # noqa: E402
from deepcause.exceptions import ModelFileError  # noqa: E402
from deepcause.generative import CausalGenerativeModel  # noqa: E402
from deepcause.generative.io import load_mechanism, save_mechanism  # noqa: E402
from deepcause.generative.mechanisms import AdditiveNoiseMechanism  # noqa: E402
from deepcause.simulate.iv import make_linear_iv  # noqa: E402


def _data(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 2))
    t = rng.binomial(1, 1 / (1 + np.exp(-x[:, 0])))
    y = x[:, 0] + 2 * t + rng.normal(scale=0.3, size=300)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "t": t, "y": y})


def _fit_neural(cls: type, seed: int):
    est = cls(
        representation_hidden_sizes=(8,),
        head_hidden_sizes=(4,),
        n_members=2,
        max_epochs=3,
        device="cpu",
        random_state=seed,
        verbose=False,
    )
    return est.fit(_data(seed), treatment="t", outcome="y", covariates=["x1", "x2"])


def _fit_generative(seed: int) -> CausalGenerativeModel:
    df = _data(seed)[["x1", "y"]]
    model = CausalGenerativeModel(
        "x1 -> y", mechanisms="additive", max_epochs=3, device="cpu", random_state=seed
    )
    return model.fit(df)


def _fit_iv(seed: int) -> DFIV:
    data = make_linear_iv(200, n_controls=1, random_state=seed).data
    est = DFIV(max_epochs=2, device="cpu", random_state=seed, verbose=False)
    return est.fit(data, treatment="d", outcome="y", instruments=["z1", "z2"], covariates=["x1"])


FAMILIES = {
    "neural": (lambda s: _fit_neural(TARNet, s), lambda p: load(p, device="cpu")),
    "generative": (_fit_generative, lambda p: CausalGenerativeModel.load(p, device="cpu")),
    "neural IV": (_fit_iv, lambda p: DFIV.load(p, device="cpu")),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Two saved models per family (the second one is the source of swapped weights)."""
    root = tmp_path_factory.mktemp("saved")
    out = {}
    for name, (fit, _) in FAMILIES.items():
        out[name] = (fit(0).save(root / f"{name}_a"), fit(1).save(root / f"{name}_b"))
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(src, dst)
    return dst


def _rewrite_config(folder: Path, edit) -> None:
    """Edit the config and recompute its checksum, as a deliberate forger would."""
    config = json.loads((folder / CONFIG_FILE).read_text())
    edit(config)
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    config["config_sha256"] = hashlib.sha256(canonical).hexdigest()
    (folder / CONFIG_FILE).write_text(json.dumps(config))


def _edit_a_number(folder: Path) -> None:
    text = (folder / CONFIG_FILE).read_text()
    config = json.loads(text)
    config["params"]["max_epochs"] = 7  # any hand edit, e.g. a rescaled standardization
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1))
    assert (folder / CONFIG_FILE).read_text() != text


class _Payload:
    def __reduce__(self):
        return (Path.touch, (Path(__file__).parent / "PWNED",))


def _pickle_payload(folder: Path) -> None:
    """Replace the weights with a code-executing pickle and make the checksums agree."""
    with open(folder / WEIGHTS_FILE, "wb") as fh:
        pickle.dump({"w": _Payload()}, fh)
    digest = hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()
    _rewrite_config(folder, lambda c: c.update(weights_sha256=digest))


def _truncate(folder: Path) -> None:
    data = (folder / WEIGHTS_FILE).read_bytes()
    (folder / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])


def _drop_state(folder: Path) -> None:
    _rewrite_config(folder, lambda c: c.update(state={}))


TAMPERING = {
    "config edited": (_edit_a_number, CONFIG_FILE, "edited after saving"),
    "config not JSON": (
        lambda f: (f / CONFIG_FILE).write_text("{not json"),
        CONFIG_FILE,
        "not a JSON",
    ),
    "config binary": (
        lambda f: (f / CONFIG_FILE).write_bytes(b"\xff\xfe\x00\x81"),
        CONFIG_FILE,
        "not a JSON",
    ),
    "config is a list": (
        lambda f: (f / CONFIG_FILE).write_text("[1, 2]"),
        CONFIG_FILE,
        "no 'deepcause_format' key",
    ),
    "wrong version": (
        lambda f: _rewrite_config(f, lambda c: c.update(deepcause_format=99)),
        CONFIG_FILE,
        "format version 99",
    ),
    "unknown class": (
        lambda f: _rewrite_config(f, lambda c: c.update({"class": "os.system"})),
        CONFIG_FILE,
        "unknown model class 'os.system'",
    ),
    "config missing": (lambda f: (f / CONFIG_FILE).unlink(), CONFIG_FILE, "missing"),
    "weights missing": (lambda f: (f / WEIGHTS_FILE).unlink(), WEIGHTS_FILE, "missing"),
    "weights truncated": (_truncate, WEIGHTS_FILE, "does not match the checksum"),
    "weights are a pickle": (_pickle_payload, WEIGHTS_FILE, "cannot be read as tensors"),
    "state does not fit": (_drop_state, CONFIG_FILE, "does not fit"),
}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("case", list(TAMPERING))
def test_every_tampering_raises_one_model_file_error(family, case, saved, tmp_path):
    tamper, file, problem = TAMPERING[case]
    folder = _copy(saved[family][0], tmp_path)
    tamper(folder)
    with pytest.raises(ModelFileError) as info:
        FAMILIES[family][1](folder)
    message = str(info.value)
    assert str(folder / file) in message and problem in message, message
    assert "\n" not in message
    assert not (Path(__file__).parent / "PWNED").exists()  # nothing was executed


@pytest.mark.parametrize("family", list(FAMILIES))
def test_weights_swapped_from_another_model_are_detected(family, saved, tmp_path):
    folder = _copy(saved[family][0], tmp_path)
    shutil.copy(saved[family][1] / WEIGHTS_FILE, folder / WEIGHTS_FILE)
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        FAMILIES[family][1](folder)


def test_round_trips_give_the_same_numbers(saved, tmp_path):
    est = _fit_neural(CFR, 0)
    back = load(est.save(tmp_path / "cfr"), device="cpu")
    assert type(back) is CFR and back.effect().value == est.effect().value
    model = CausalGenerativeModel.load(saved["generative"][0], device="cpu")
    again = CausalGenerativeModel.load(model.save(tmp_path / "gen"), device="cpu")
    pd.testing.assert_frame_equal(
        model.sample(50, random_state=2), again.sample(50, random_state=2)
    )
    config = json.loads((tmp_path / "gen" / CONFIG_FILE).read_text())
    assert config["deepcause_format"] == 1 and config["class"] == "CausalGenerativeModel"


def test_mechanisms_use_the_same_format(tmp_path):
    mech = AdditiveNoiseMechanism(dim=1, context_dim=1, hidden_sizes=(4,), noise="gaussian")
    folder = save_mechanism(mech, tmp_path / "mech")
    assert folder == tmp_path / "mech"
    back = load_mechanism(folder)
    ctx = torch.linspace(-1, 1, 5)[:, None]
    assert torch.equal(back.decode(torch.zeros(5, 1), ctx), mech.decode(torch.zeros(5, 1), ctx))
    _edit_a_number(folder)
    with pytest.raises(ModelFileError, match="edited after saving"):
        load_mechanism(folder)


def test_save_refuses_a_path_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="not a directory"):
        _fit_neural(TARNet, 0).save(tmp_path / "file")
