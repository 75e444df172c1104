"""The one on-disk format of every saved deepcause model, with integrity checks.

A saved model is a directory holding

* ``config.json``: ``{"deepcause_format": 1, "class": ..., "params": {...}, "state": {...},
  "weights_sha256": ..., "config_sha256": ...}``: the class name (looked up in a fixed table
  of the calling family, never imported from the file), the hyper-parameters, the fitted
  non-tensor state, the SHA-256 of the weights file, and the SHA-256 of everything else in
  the config (canonical JSON), so that an edited config is detected;
* ``weights.pt``: a flat ``{name: tensor}`` mapping written by ``torch.save`` and read back
  with ``torch.load(weights_only=True)``, so loading never executes code.

Every problem on load (missing file, non-JSON, wrong or missing version, unknown class,
edited config, swapped or truncated weights, content that does not fit the class) raises one
:class:`~deepcause.exceptions.ModelFileError` naming the file and the problem.

>>> import tempfile
>>> folder = save_bundle(tempfile.mkdtemp() + "/m", "Thing", {"k": (1, 2)}, {"fitted": True},
...                      {"w": torch.ones(2)})
>>> bundle = read_bundle(folder, known=["Thing"])
>>> bundle.class_name, bundle.params, bundle.tensors["w"].tolist()
('Thing', {'k': [1, 2]}, [1.0, 1.0])
>>> _ = (folder / CONFIG_FILE).write_text(
...     (folder / CONFIG_FILE).read_text().replace('"fitted": true', '"fitted": false'))
>>> read_bundle(folder, known=["Thing"])
Traceback (most recent call last):
...
deepcause.exceptions.ModelFileError: .../config.json: the config was edited after saving ...
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._torch import torch
from .exceptions import DataValidationError, ModelFileError

__all__ = [
    "CONFIG_FILE",
    "FORMAT_KEY",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "Bundle",
    "jsonable",
    "read_bundle",
    "restoring",
    "save_bundle",
    "init_params",
]

FORMAT_KEY = "deepcause_format"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
_CONFIG_HASH = "config_sha256"
_WEIGHTS_HASH = "weights_sha256"


@dataclass(frozen=True)
class Bundle:
    """A verified saved model: class name, parameters, fitted state and tensors."""

    path: Path
    class_name: str
    params: dict[str, Any]
    state: dict[str, Any]
    tensors: dict[str, Any]

    def prefixed(self, prefix: str) -> dict[str, Any]:
        """The tensors whose names start with ``prefix``, with the prefix removed."""
        return {k[len(prefix) :]: v for k, v in self.tensors.items() if k.startswith(prefix)}


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (tuples become lists, numpy scalars Python numbers).

    >>> jsonable({"a": (1, np.int64(2)), "b": None})
    {'a': [1, 2], 'b': None}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise DataValidationError(
        f"cannot save {value!r} ({type(value).__name__}) in a JSON config; a saved model holds "
        "plain numbers, strings, lists or None (never code)"
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def save_bundle(
    path: str | Path,
    class_name: str,
    params: Mapping[str, Any],
    state: Mapping[str, Any],
    tensors: Mapping[str, Any],
) -> Path:
    """Write a model to the directory ``path`` (created if needed); returns the path."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ModelFileError(f"{folder}: exists and is not a directory; choose another path")
    folder.mkdir(parents=True, exist_ok=True)
    weights = {str(k): v.detach().cpu().clone() for k, v in tensors.items()}
    torch.save(weights, folder / WEIGHTS_FILE)
    body = {
        FORMAT_KEY: FORMAT_VERSION,
        "class": class_name,
        "params": jsonable(params),
        "state": jsonable(state),
        _WEIGHTS_HASH: _digest((folder / WEIGHTS_FILE).read_bytes()),
    }
    config = {**body, _CONFIG_HASH: _digest(_canonical(body))}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    return folder


def _read_config(config_file: Path) -> dict[str, Any]:
    try:
        config = json.loads(config_file.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{config_file}: not a JSON model config ({exc})") from None
    if not isinstance(config, dict) or FORMAT_KEY not in config:
        raise ModelFileError(f"{config_file}: not a deepcause model config (no {FORMAT_KEY!r} key)")
    if config[FORMAT_KEY] != FORMAT_VERSION:
        raise ModelFileError(
            f"{config_file}: format version {config[FORMAT_KEY]!r}; this deepcause reads "
            f"version {FORMAT_VERSION}"
        )
    body = {k: v for k, v in config.items() if k != _CONFIG_HASH}
    if config.get(_CONFIG_HASH) != _digest(_canonical(body)):
        raise ModelFileError(
            f"{config_file}: the config was edited after saving (its SHA-256 checksum does not "
            "match); save the model again instead of editing it"
        )
    for key, kind in (("class", str), ("params", dict), ("state", dict), (_WEIGHTS_HASH, str)):
        if not isinstance(config.get(key), kind):
            raise ModelFileError(f"{config_file}: {key!r} is missing or not a {kind.__name__}")
    return config


def read_bundle(path: str | Path, known: Collection[str]) -> Bundle:
    """Read and verify a model written by :func:`save_bundle`; ``known``: accepted classes."""
    folder = Path(path)
    config_file, weights_file = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for file in (config_file, weights_file):
        if not file.is_file():
            raise ModelFileError(
                f"{file}: missing; a saved deepcause model is a directory with {CONFIG_FILE} "
                f"and {WEIGHTS_FILE}"
            )
    config = _read_config(config_file)
    if config["class"] not in known:
        raise ModelFileError(
            f"{config_file}: unknown model class {config['class']!r}; this loader reads "
            f"{sorted(known)}"
        )
    if _digest(weights_file.read_bytes()) != config[_WEIGHTS_HASH]:
        raise ModelFileError(
            f"{weights_file}: does not match the checksum in {CONFIG_FILE} (corrupt, truncated "
            "or from another model)"
        )
    try:
        tensors = torch.load(weights_file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ModelFileError(f"{weights_file}: cannot be read as tensors ({exc})") from None
    if not isinstance(tensors, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
    ):
        raise ModelFileError(f"{weights_file}: expected a mapping of names to tensors")
    return Bundle(folder, config["class"], config["params"], config["state"], tensors)


@contextlib.contextmanager
def restoring(bundle: Bundle) -> Iterator[None]:
    """Turn any error raised while rebuilding a model from ``bundle`` into a ModelFileError."""
    try:
        yield
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - content that does not fit the class
        raise ModelFileError(
            f"{bundle.path / CONFIG_FILE}: the saved content does not fit "
            f"{bundle.class_name} ({type(exc).__name__}: {exc})"
        ) from None


def init_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``__init__`` keywords of ``cls`` from saved JSON params (lists back to tuples).

    A list is turned back into a tuple when the keyword's default is a tuple; a keyword that
    ``cls.__init__`` does not take is refused.
    """
    signature = inspect.signature(cls.__init__).parameters
    out = {}
    for key, value in params.items():
        if key not in signature or key == "self":
            raise TypeError(f"saved parameter {key!r} is unknown to {cls.__name__}")
        default = signature[key].default
        out[key] = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value
    return out
