"""Shared pytest configuration: quiet progress bars, deterministic single-threaded torch."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("DEEPCAUSE_PROGRESS", "0")

try:  # keep torch deterministic and light when several test workers share 2 cores
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch is an optional extra
    pass

_SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Import, the ordinary way, the package of every library path given on the command line
    before pytest collects it.

    Under ``--import-mode=importlib`` pytest imports a module it collects (for its doctests)
    from its file, and first its parent package when that is not imported yet; when the
    package's ``__init__`` imports the module itself, pytest then executes the file a second
    time and puts that copy in ``sys.modules`` and on the package (pytest-dev/pytest#10811,
    #12208). The library keeps calling the first copy, so a test that monkeypatches a module
    constant (``selection.CHOSEN_ADDITIVE_MEAN_LOSS``) patched a module nothing read: this is
    how ``pytest src/deepcause/generative/selection.py tests/...`` made a test order-dependent
    (session 18). ``pytest src tests`` collects each package's ``__init__`` first and was not
    affected."""
    for arg in session.config.args:
        path = Path(session.config.invocation_params.dir, arg.split("::")[0]).resolve()
        if not path.is_relative_to(_SRC) or not path.exists():
            continue
        package = path if path.is_dir() else path.parent
        parts = package.relative_to(_SRC).parts
        while parts and not (_SRC.joinpath(*parts) / "__init__.py").is_file():
            parts = parts[:-1]
        if parts:
            with contextlib.suppress(ImportError):  # reported by pytest's own collection
                importlib.import_module(".".join(parts))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run when a library module was nevertheless executed twice (see
    :func:`pytest_collection`): its functions then read other globals than the module a
    test imports and patches."""
    twice = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("deepcause") or module is None:
            continue
        for obj in list(vars(module).values()):
            func = inspect.unwrap(obj) if inspect.isfunction(obj) else None
            owner = sys.modules.get(getattr(func, "__module__", None) or "")
            library = owner is not None and owner.__name__.startswith("deepcause")
            if library and func.__globals__ is not vars(owner):
                twice.add(owner.__name__)
    if twice:
        raise pytest.UsageError(
            f"library module(s) {sorted(twice)} were imported twice during collection; pass "
            "their package directory (or src) to pytest instead of the module file"
        )


@pytest.fixture(scope="module")
def one_district_init():
    """Tabular districts fitted with one initialisation (``TABULAR_N_INIT = 1``, the single
    fit every test was written against before restarts became the default) for the tests of a
    module that do not test restarts: three cost three times the district's epochs. Module
    scope (module-scoped fitted models use it): once requested it holds until the module ends,
    so request it for a whole module; a single test sets the constant with ``monkeypatch``."""
    from deepcause.generative import _district_nodes

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_district_nodes, "TABULAR_N_INIT", 1)
        yield


@pytest.fixture
def run_demo(monkeypatch, capsys):  # noqa: ANN001, ANN201
    """``run_demo(name)`` runs ``deepcause demo --only NAME --quick`` and returns what the
    section's ``main`` returned (the numbers the tests check)."""
    from deepcause.cli import main
    from deepcause.examples import SECTIONS

    def run(name: str):  # noqa: ANN202
        module, seen = SECTIONS[name], {}
        real = module.main
        monkeypatch.setattr(module, "main", lambda **kw: seen.setdefault("res", real(**kw)))
        assert main(["demo", "--only", name, "--quick"]) == 0
        assert f"[{name}]" in capsys.readouterr().out
        return seen["res"]

    return run


@pytest.fixture(scope="session")
def scm_split():
    """``scm_split(scm, n_train, n_test)`` draws ``n_train + n_test`` units of an image SCM
    (noise seed 0) and returns ``(train, test, test_noise)``: the node arrays of the first
    ``n_train`` units, those of the rest, and the rest's exogenous noise (for exact truth)."""

    def split(scm, n_train: int, n_test: int):  # noqa: ANN001, ANN202
        import numpy as np

        noise = scm.sample_noise(n_train + n_test, np.random.default_rng(0))
        data = scm.to_arrays(scm.propagate(noise))
        train = {k: v[:n_train] for k, v in data.items()}
        test = {k: v[n_train:] for k, v in data.items()}
        return train, test, {k: v[n_train:] for k, v in noise.items()}

    return split


@pytest.fixture(scope="session")
def benchmark_module():
    """``benchmark_module(name)`` imports ``benchmarks/NAME.py`` once per session (scripts kept
    out of the library on purpose, e.g. fresh SCMs nothing was tuned on), registered in
    ``sys.modules`` because dataclasses look their module up."""
    loaded = {}

    def load(name: str):  # noqa: ANN202
        if name not in loaded:
            path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(name, module)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def bar_images():
    """``bar_images(n=120, seed=0)``: a tiny image SCM as a mapping. ``T`` sets the column of a
    vertical bar in an 8x8 grey image ``I`` (its brightness is ``I``'s own noise); ``Y`` reads
    the bar's column off the image."""

    def draw(n: int = 120, seed: int = 0) -> dict:
        import numpy as np

        rng = np.random.default_rng(seed)
        t = rng.normal(size=n)
        col = np.clip(np.round(4 + 1.5 * t), 0, 7).astype(int)
        img = np.zeros((n, 1, 8, 8))
        img[np.arange(n), 0, :, col] = rng.uniform(0.5, 1.0, n)[:, None]
        return {"T": t, "I": img, "Y": col + 0.1 * rng.normal(size=n)}

    return draw


@pytest.fixture(scope="session")
def front_door_frame():
    """``front_door_frame(n, seed=0)``: a linear front door ``X -> M -> Y`` with a hidden
    ``U`` behind ``X`` and ``Y`` (unit coefficients, standard normal noise) as a DataFrame."""

    def draw(n: int, seed: int = 0):  # noqa: ANN202
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        u = rng.normal(size=n)
        x = u + rng.normal(size=n)
        m = x + rng.normal(size=n)
        return pd.DataFrame({"X": x, "M": m, "Y": m + u + rng.normal(size=n)})

    return draw


@pytest.fixture(scope="session")
def one_line():
    """``one_line(excinfo)``: the message of the raised error, asserted to be a deepcause
    error (:class:`~deepcause.exceptions.DeepCauseError`) that fits on one line."""
    from deepcause.exceptions import DeepCauseError

    def check(exc: pytest.ExceptionInfo) -> str:
        msg = str(exc.value)
        assert isinstance(exc.value, DeepCauseError) and "\n" not in msg, msg
        return msg

    return check


@pytest.fixture(scope="session")
def mechanism_null():
    """``mechanism_null(model, units, node)``: ``node``'s values after abduction and prediction
    through its own mechanism under the units' factual parents, decoded (images as pixels).
    ``model.counterfactual`` returns such units' factual values by construction (composition),
    so this is how a test measures how well a mechanism's abduction reproduces the unit
    (``CausalGenerativeModel.reconstruct``)."""

    def run(model, units, node):  # noqa: ANN001, ANN202
        return model.reconstruct(units, node)

    return run
