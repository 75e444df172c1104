"""The common estimator behind TARNet, CFR, DragonNet and CEVAE.

A neural estimator here is an *ensemble* of ``n_members`` networks. With the default
``uncertainty="bootstrap"`` each member is trained on a bootstrap resample of the data drawn
within each treatment arm and early-stopped on its out-of-bag rows; the point estimate averages
the members' predictions, and the standard error of an effect is the standard deviation of the
members' effects (the bootstrap standard error), with a Student-t interval on
``n_members - 1`` degrees of freedom. With ``uncertainty=None`` every member sees all rows
(minus a random validation split of ``validation_fraction``) and estimates come without a
standard error — only when you ask for it.

Population effects (ATE, ATT, ATC, ``mean``) are by default (``population_estimate="aipw"``)
the augmented inverse-propensity score of the members' heads: per member,
``E[Y(a)] = sum(s * mu_a + 1{t=a} * q / P(T=a | x) * (y - mu_a)) / sum(s)`` with ``s`` the
population indicator and ``q = 1, e(x), 1 - e(x)`` for all units, the treated, the controls;
the propensity is the overlap check's cross-fitted score (DragonNet: its propensity head;
``propensity="stack"``: AIPW's cross-fitted super learner), clipped to
``[propensity_clip, 1 - propensity_clip]`` (0.01; CFR 0.05). The interval is then normal, with
``se^2 = var(influence function) / n + var(members)``. ``population_estimate="plugin"`` gives
the mean of the heads' unit-level effects and the ensemble interval above.

The estimators that take ``allow_no_overlap`` run the shared overlap check
(:mod:`deepcause.estimate.overlap`) in ``fit``: no overlap is refused unless
``allow_no_overlap=True`` (the result is then labelled extrapolated), limited overlap warns.

Subclasses define ``_build(n_features)`` (the network), ``_loss(net, batch)`` (objective and
monitored validation loss) and ``_potential_outcomes(net, x)`` (standardized mu0, mu1).
"""

from __future__ import annotations

import dataclasses
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..._parameters import Interval, StrOptions, check_is_fitted
from ..._persistence import Bundle, init_params, read_bundle, restoring, save_bundle
from ..._progress import progress
from ..._torch import (
    ACTIVATIONS,
    RANDOM_STATE,
    Scaler,
    TrainResult,
    check_hidden_sizes,
    fit_adam,
    nn,
    resolve_device,
    seed_from,
    seeded,
    tensor,
    torch,
    torch_generator,
)
from ...exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    InvalidParameterError,
    ModelFileError,
)
from ...results import POPULATIONS, EffectEstimate
from .._base import BackdoorData, BaseEffectEstimator, resolve_backdoor_data
from .._nuisance import default_propensity_stack, make_folds, standardize
from .._stacking import fit_propensity_nuisance
from ..overlap import OverlapReport, check_overlap
from ._training import Batch, stratified_bootstrap, stratified_split

__all__ = ["NeuralEffectEstimator", "load", "stacked_propensity"]

_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]

#: the hyper-parameters every neural effect estimator shares, with their constraints
NEURAL_CONSTRAINTS: dict[str, list[Any]] = {
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 2, None, closed="left"), None],
    "max_epochs": _POSITIVE_INT,
    "patience": _POSITIVE_INT,
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_members": _POSITIVE_INT,
    "uncertainty": [StrOptions({"bootstrap"}), None],
    "device": [str, torch.device],
    "random_state": RANDOM_STATE,
    "verbose": ["boolean", StrOptions({"auto"})],
    "population_estimate": [StrOptions({"aipw", "plugin"})],
    "allow_no_overlap": ["boolean"],
}

#: propensities are kept in [PROPENSITY_CLIP, 1 - PROPENSITY_CLIP] in the AIPW score, unless
#: the estimator has its own ``propensity_clip``
PROPENSITY_CLIP = 0.01


class NeuralEffectEstimator(BaseEffectEstimator):
    """Base class: ensemble training, standardization, effects, intervals, save/load.

    Subclasses (:class:`~deepcause.estimate.neural.TARNet`, ``CFR``, ``DragonNet``, ``CEVAE``)
    define the network and its loss; the contract is the one of
    :class:`~deepcause.estimate._contract.EffectEstimator`.

    Examples
    --------
    >>> from deepcause.estimate.neural import NeuralEffectEstimator as Base, TARNet
    >>> issubclass(TARNet, Base), TARNet(n_members=3).get_params()["n_members"]
    (True, 3)
    """

    method_name: ClassVar[str] = "neural"
    supported_kinds: ClassVar[tuple[str, ...]] = ("backdoor",)
    _populations: ClassVar[tuple[str, ...]] = ("all", "treated", "controls")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = NEURAL_CONSTRAINTS
    _size_parameters: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ hooks
    def _build(self, n_features: int) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss(self, net: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _potential_outcomes(
        self, net: nn.Module, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_outcome(self, y: np.ndarray, name: str) -> None:
        """Subclasses restrict the outcome (e.g. binary for a Bernoulli likelihood)."""

    def _scales_outcome(self) -> bool:
        """Whether the outcome is standardized (not for a Bernoulli likelihood)."""
        return True

    def _fit_x_scaler(self, X: np.ndarray) -> Scaler:
        """Covariate standardization learned on the training rows."""
        return Scaler.fit(X)

    def _learn_settings(self, data: BackdoorData) -> None:
        """Subclasses may learn data-dependent settings (set attributes ending in ``_``)."""

    def _extra_config(self) -> dict[str, Any]:
        """Data-dependent settings to save next to the hyper-parameters."""
        return {}

    def _load_extra_config(self, extra: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_config` saved."""

    # ------------------------------------------------------------------ contract hooks
    def _validate_params(self) -> None:
        super()._validate_params()
        check_hidden_sizes(self, *self._size_parameters)
        if self.uncertainty == "bootstrap" and self.n_members < 2:
            raise InvalidParameterError(
                f"{type(self).__name__}: uncertainty='bootstrap' needs n_members >= 2 (the "
                "interval is the spread of the members' estimates); raise n_members or pass "
                "uncertainty=None to get a point estimate without an interval."
            )

    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> BackdoorData:
        return resolve_backdoor_data(
            data,
            estimand,
            treatment=roles.get("treatment"),
            outcome=roles.get("outcome"),
            covariates=roles.get("covariates"),
            estimator=type(self).__name__,
            supported_kinds=self.supported_kinds,
        )

    def _covariate_names(self) -> tuple[str, ...]:
        return tuple(self.data_.covariate_names)

    def _bootstrap_index(self, rng: np.random.Generator) -> np.ndarray:
        """Resample within each treatment arm, so every refit sees both arms."""
        return stratified_bootstrap(self.data_.t, rng)[0]

    # ------------------------------------------------------------------ fitting
    def _fit_prepared(self, data: BackdoorData) -> None:
        if data.X.shape[1] == 0:
            raise DataValidationError(
                f"{type(self).__name__} needs at least one covariate to learn a representation; "
                "with no covariates use a difference in means."
            )
        self._check_outcome(data.y, data.outcome)
        self.device_ = resolve_device(self.device)
        self.n_features_in_ = data.X.shape[1]
        self.x_scaler_ = self._fit_x_scaler(data.X)
        self.y_scaler_ = Scaler.fit(data.y) if self._scales_outcome() else Scaler.identity(1)
        self._learn_settings(data)
        x = self._tensor(self.x_scaler_.transform(data.X))
        t = self._tensor(data.t)
        y = self._tensor(self.y_scaler_.transform(data.y[:, None])[:, 0])
        root = self.random_state
        root = int(root) if isinstance(root, Integral) else seed_from(root)
        seeds = np.random.SeedSequence(root).generate_state(int(self.n_members))
        self.propensity_seed_ = root
        self._propensity_cache_: dict[str, np.ndarray] = {}
        self.networks_: list[nn.Module] = []
        self.train_results_: list[TrainResult] = []
        name = type(self).__name__
        for k, seed in progress(
            list(enumerate(seeds)), verbose=self.verbose, desc=f"{name} members"
        ):
            net, result = self._train_member(x, t, y, data.t, int(seed), f"{name} member {k}")
            self.networks_.append(net)
            self.train_results_.append(result)
        self._outcomes_cache_: np.ndarray | None = None

    def _train_member(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        y: torch.Tensor,
        arms: np.ndarray,
        seed: int,
        desc: str,
    ) -> tuple[nn.Module, TrainResult]:
        rng = np.random.default_rng(seed)
        if self.uncertainty == "bootstrap":
            tr, va = stratified_bootstrap(arms, rng)
            if min(np.sum(arms[va] == 0), np.sum(arms[va] == 1)) == 0:
                _, va = stratified_split(arms, float(self.validation_fraction), rng)
        else:
            tr, va = stratified_split(arms, float(self.validation_fraction), rng)
        train, val = self._batch(x, t, y, tr), self._batch(x, t, y, va)
        with seeded(seed, self.device_):
            net = self._build(self.n_features_in_).to(self.device_)
            result = fit_adam(
                net,
                lambda i: self._loss(net, tuple(a[i.to(self.device_)] for a in train))[0],
                lambda: self._loss(net, val)[1],
                len(tr),
                learning_rate=float(self.learning_rate),
                weight_decay=float(self.weight_decay),
                batch_size=self.batch_size,
                max_epochs=int(self.max_epochs),
                patience=int(self.patience),
                generator=torch_generator(seed),
                desc=desc,
            )
        return net, result

    def _tensor(self, values: np.ndarray) -> torch.Tensor:
        return tensor(values, device=self.device_)

    def _batch(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, idx: np.ndarray) -> Batch:
        index = torch.as_tensor(idx, device=self.device_)
        return x[index], t[index], y[index]

    # ------------------------------------------------------------------ prediction
    def _rows(self, data: Any) -> np.ndarray:
        """The fitted covariates of ``data`` (selected by name), checked finite."""
        self._check_fitted()
        X = self._covariate_matrix(data)
        if not np.all(np.isfinite(X)):
            bad = int((~np.isfinite(X)).any(axis=1).sum())
            raise DataValidationError(
                f"the covariates have missing or infinite values in {bad} row(s); drop or "
                "impute them."
            )
        return X

    def _member_outcomes(self, X: np.ndarray) -> np.ndarray:
        """Array (n_members, 2, n) of mu0, mu1 on the outcome's own scale."""
        x = self._tensor(self.x_scaler_.transform(X))
        out = np.empty((len(self.networks_), 2, len(X)))
        seed = self.random_state if isinstance(self.random_state, Integral) else 0
        with torch.no_grad(), seeded(int(seed), self.device_):
            for k, net in enumerate(self.networks_):
                mu0, mu1 = self._potential_outcomes(net, x)
                both = torch.stack([mu0, mu1]).cpu().double().numpy()
                out[k] = self.y_scaler_.inverse(both[..., None])[..., 0]
        return out

    def predict_potential_outcomes(self, data: Any) -> np.ndarray:
        """Estimated ``E[Y(0) | x]`` and ``E[Y(1) | x]`` for the rows of ``data``: shape (n, 2).

        ``data`` is a DataFrame holding the covariates used in ``fit`` (selected by name, in
        any order), or an array with the covariates in ``fit_arrays`` order.
        """
        return self._member_outcomes(self._rows(data)).mean(axis=0).T

    def predict_cate(self, data: Any) -> np.ndarray:
        """Estimated conditional effects ``E[Y(1) - Y(0) | x]`` for the rows of ``data``."""
        mu = self.predict_potential_outcomes(data)
        return mu[:, 1] - mu[:, 0]

    # ------------------------------------------------------------------ effects
    def _arm(self, value: Any, role: str) -> int:
        if isinstance(value, bool | np.bool_ | Integral | Real) and float(value) in (0.0, 1.0):
            return int(value)
        raise EstimandNotSupportedError(
            f"{type(self).__name__} models a binary treatment coded 0/1; {role}= must be 0 or 1, "
            f"got {value!r}"
        )

    def _check_prepared(self, data: BackdoorData) -> None:
        """The shared overlap check, for the estimators that take ``allow_no_overlap``."""
        self.overlap_: OverlapReport | None = None
        if "allow_no_overlap" in self.get_params(deep=False):
            super()._check_prepared(data)

    def _train_propensity(self) -> np.ndarray:
        """Propensities of the training rows for the AIPW score: (n,) or (n_members, n).

        ``propensity="stack"``: :func:`stacked_propensity` (computed once, seeded by the fit);
        otherwise the cross-fitted score of the overlap check (run here when ``fit`` did not,
        as in a bootstrap refit); DragonNet's default is its propensity head.
        """
        if getattr(self, "propensity", "overlap_check") == "stack":
            cache = self.__dict__.setdefault("_propensity_cache_", {})
            if "stack" not in cache:
                seed = getattr(self, "propensity_seed_", None)
                cache["stack"] = stacked_propensity(self.data_.X, self.data_.t, seed)
            return cache["stack"]
        report: OverlapReport | None = getattr(self, "overlap_", None)
        if report is None or len(report.propensity) != self.data_.n:
            data = self.data_
            report = check_overlap(data.X, data.t, data.covariate_names)
            self.overlap_ = report
        return report.propensity

    def _population_scores(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-member scores (n_members, 2, n) and population indicator ``s`` (n,).

        ``scores[k, a].sum() / s.sum()`` is member ``k``'s estimate of ``E[Y(a)]`` over the
        population: the plug-in ``s * mu_a``, plus with ``population_estimate="aipw"`` the
        augmentation ``1{t=a} q / p_a (y - mu_a)`` with ``p_a = P(T=a | x)`` and
        ``q = 1, e, 1 - e`` for all units, the treated and the controls.
        """
        if getattr(self, "_outcomes_cache_", None) is None:
            self._outcomes_cache_ = self._member_outcomes(self.data_.X)
        mu, t, y = self._outcomes_cache_, self.data_.t, self.data_.y
        s = {"all": np.ones(len(t)), "treated": t * 1.0, "controls": 1.0 - t}[population]
        scores = s * mu
        if getattr(self, "population_estimate", "plugin") == "aipw":
            clip = float(getattr(self, "propensity_clip", PROPENSITY_CLIP))
            e = np.clip(self._train_propensity(), clip, 1 - clip)
            q = {"all": np.ones_like(e), "treated": e, "controls": 1.0 - e}[population]
            p = np.stack([1.0 - e, e], axis=-2)  # (..., 2, n)
            arm = np.stack([t == 0, t == 1])
            scores = scores + arm * (q[..., None, :] / p) * (y - mu)
        return scores, s

    def _estimate(
        self, members: np.ndarray, quantity: str, n: int, influence: np.ndarray | None = None
    ) -> EffectEstimate:
        """Average the members; the interval is the bootstrap one, or with an influence
        function (AIPW) the normal one with ``se^2 = var(IF)/n + var(members)``."""
        diagnostics = {
            "member_estimates": members.tolist(),
            "n_members": len(members),
            "uncertainty": self.uncertainty,
            "population_estimate": getattr(self, "population_estimate", "plugin"),
            "epochs": [r.epochs for r in self.train_results_],
            "best_epochs": [r.best_epoch for r in self.train_results_],
        }
        spread = float(np.std(members, ddof=1)) if len(members) > 1 else 0.0
        method, dof, se = None, None, None
        if influence is not None:
            se_if = float(np.std(influence, ddof=1) / np.sqrt(len(influence)))
            diagnostics.update(se_influence=se_if, se_members=spread)
            se, method = float(np.hypot(se_if, spread)), "normal"
        elif self.uncertainty == "bootstrap":
            se, method, dof = spread, "t", len(members) - 1
        return EffectEstimate(
            value=float(members.mean()),
            std_error=se,
            quantity=quantity,
            method=self.method_name,
            n=n,
            estimand=self.data_.estimand,
            ci_method=method,
            dof=dof,
            diagnostics=diagnostics,
        )

    def _population_effect(self, c: np.ndarray, population: str) -> EffectEstimate:
        """``c[0] E[Y(0)] + c[1] E[Y(1)]`` over a population, guarded by the overlap check."""
        quantity = POPULATIONS[population]
        self._overlap_guard(quantity)
        scores, s = self._population_scores(population)
        n_pop = float(s.sum())
        contrast = np.tensordot(scores, c, axes=([1], [0]))  # (n_members, n)
        members = contrast.sum(axis=1) / n_pop
        influence = None
        if getattr(self, "population_estimate", "plugin") == "aipw":
            theta = members.mean()
            influence = (contrast.mean(axis=0) - s * theta) * len(s) / n_pop
        result = self._estimate(members, quantity, int(n_pop), influence)
        return self._overlap_labelled(result, quantity)

    def _effect(self, *, treatment: Any, control: Any, population: str, X: Any) -> EffectEstimate:
        self._check_fitted()
        c = np.zeros(2)
        c[self._arm(treatment, "treatment")] += 1.0
        c[self._arm(control, "control")] -= 1.0
        if X is None:
            return self._population_effect(c, population)
        if population != "all":
            raise EstimandNotSupportedError(
                "effect(X=...) averages over the given rows; leave population='all'"
            )
        rows = self._rows(X)
        return self._estimate(self._member_outcomes(rows).mean(axis=2) @ c, "CATE", len(rows))

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        self._check_fitted()
        c = np.zeros(2)
        c[self._arm(treatment, "treatment")] = 1.0
        result = self._population_effect(c, population)
        return dataclasses.replace(result, quantity="mean")

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to the directory ``path`` and return the path.

        The format is :mod:`deepcause._persistence`'s: ``config.json`` (class,
        hyper-parameters, scalers, covariate names, checksums) and ``weights.pt`` (every
        member's weights and the training data ``ate()`` needs, tensors only).
        """
        self._check_fitted()
        data = self.data_
        params = self.get_params(deep=False)
        if not isinstance(params["random_state"], Integral | None):
            params["random_state"] = None  # a Generator's state is not part of the model
        params["device"] = str(params["device"])
        state = {
            "n_features_in": self.n_features_in_,
            "x_scaler": self.x_scaler_.to_dict(),
            "y_scaler": self.y_scaler_.to_dict(),
            "covariate_names": list(data.covariate_names),
            "treatment": data.treatment,
            "outcome": data.outcome,
            "fitted_from_arrays": bool(self.fitted_from_arrays_),
            "train_results": [r.__dict__ for r in self.train_results_],
            "extra": self._extra_config(),
            "overlap": None if self.overlap_ is None else self.overlap_.to_dict(),
            "propensity_seed": getattr(self, "propensity_seed_", None),
        }
        tensors = {
            "data.X": torch.tensor(data.X, dtype=torch.float64),
            "data.t": torch.tensor(data.t, dtype=torch.int64),
            "data.y": torch.tensor(data.y, dtype=torch.float64),
        }
        if self.overlap_ is not None:
            tensors["overlap.propensity"] = torch.tensor(self.overlap_.propensity)
        for k, net in enumerate(self.networks_):
            tensors.update({f"member{k}.{n}": v for n, v in net.state_dict().items()})
        return save_bundle(path, type(self).__name__, params, state, tensors)

    def _check_fitted(self) -> None:
        check_is_fitted(self, "networks_")

    def _restore(self, bundle: Bundle) -> None:
        state = bundle.state
        self.device_ = resolve_device(self.device)
        self.n_features_in_ = int(state["n_features_in"])
        self.x_scaler_ = Scaler.from_dict(state["x_scaler"])
        self.y_scaler_ = Scaler.from_dict(state["y_scaler"])
        self._load_extra_config(state["extra"])
        self.fitted_from_arrays_ = bool(state["fitted_from_arrays"])
        X, t, y = (bundle.tensors[f"data.{k}"].numpy() for k in ("X", "t", "y"))
        names = tuple(str(c) for c in state["covariate_names"])
        if X.shape != (len(t), self.n_features_in_) or len(names) != X.shape[1]:
            raise ValueError("the saved data do not match the saved covariate names")
        self.data_ = BackdoorData(X, t, y, names, state["treatment"], state["outcome"], None)
        self.overlap_ = _restore_overlap(state.get("overlap"), bundle.tensors)
        self.propensity_seed_ = state.get("propensity_seed")
        self._propensity_cache_ = {}
        self.train_results_ = [
            TrainResult(**{**r, "history": tuple(r["history"])}) for r in state["train_results"]
        ]
        self.networks_ = []
        for k in range(len(self.train_results_)):
            net = self._build(self.n_features_in_)
            net.load_state_dict(bundle.prefixed(f"member{k}."))
            self.networks_.append(net.to(self.device_).eval())
        self._outcomes_cache_ = None

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> NeuralEffectEstimator:
        """Read a model written by :meth:`save` (no code is unpickled); it must be a ``cls``."""
        model = load(path, device=device)
        if not isinstance(model, cls):
            raise ModelFileError(
                f"{Path(path)} holds a {type(model).__name__}, not a {cls.__name__}; use "
                "deepcause.estimate.neural.load to read any saved model."
            )
        return model


def stacked_propensity(X: np.ndarray, t: np.ndarray, seed: int | None) -> np.ndarray:
    """Cross-fitted ``P(T=1 | x)`` of AIPW's default propensity super learner.

    :func:`~deepcause.estimate._nuisance.default_propensity_stack` on standardized
    covariates, out of fold over 5 folds stratified by arm (in-sample when an arm has fewer
    than 5 units); ``seed`` fixes the folds and the learners.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0])))
    >>> e = stacked_propensity(X, t, seed=0)
    >>> e.shape, bool(np.corrcoef(e, X[:, 0])[0, 1] > 0.9)
    ((400,), True)
    """
    t = np.asarray(t).astype(int)
    n_minority = int(min(t.sum(), len(t) - t.sum()))
    n_folds = 5 if n_minority >= 5 else 1
    model = default_propensity_stack(len(t), n_minority)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the nuisance fits
        e, _ = fit_propensity_nuisance(
            model, standardize(X), t, make_folds(t, n_folds, seed), n_folds, seed
        )
    return e


def _restore_overlap(saved: dict[str, Any] | None, tensors: dict[str, Any]) -> Any:
    """The overlap report written by ``save`` (None when the check did not run)."""
    if saved is None:
        return None
    propensity = tensors["overlap.propensity"].numpy()
    return OverlapReport(
        str(saved["status"]),
        tuple(str(v) for v in saved["sides"]),
        str(saved["region"]),
        propensity,
        float(saved["share_limited"]),
        {str(k): float(v) for k, v in saved["ess"].items()},
    )


def _known_classes() -> dict[str, type[NeuralEffectEstimator]]:
    """The neural estimators defined in this package (a fixed table, never read from a file)."""
    package = __name__.rpartition(".")[0]
    found: dict[str, type[NeuralEffectEstimator]] = {}
    todo = list(NeuralEffectEstimator.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith(package + "."):
            found[cls.__name__] = cls
    return found


def load(path: str | Path, device: str = "auto") -> NeuralEffectEstimator:
    """Load any neural estimator written by ``save``.

    Weights are read with ``torch.load(weights_only=True)`` after their SHA-256 checksum is
    verified; the model class comes from a fixed table of this package's estimators. Any
    missing, corrupt or edited file raises :class:`~deepcause.exceptions.ModelFileError`.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from deepcause.estimate.neural import TARNet, load
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    >>> df["t"] = rng.binomial(1, 0.5, 200)
    >>> df["y"] = df["a"] + 1.5 * df["t"] + rng.normal(scale=0.1, size=200)
    >>> est = TARNet(representation_hidden_sizes=(16,), head_hidden_sizes=(8,), n_members=2,
    ...              max_epochs=100, learning_rate=3e-3, random_state=0, verbose=False)
    >>> est = est.fit(df, treatment="t", outcome="y", covariates=["a", "b"])
    >>> ate = est.effect(treatment=1, control=0)
    >>> ate.query, abs(ate.value - 1.5) < 0.4
    ('E[y | do(t=1)] − E[y | do(t=0)]', True)
    >>> bool(np.allclose(est.predict_cate(df[["b", "a"]]), est.predict_cate(df)))  # by name
    True
    >>> load(est.save(tempfile.mkdtemp() + "/tarnet")).effect().value == ate.value
    True
    """
    classes = _known_classes()
    bundle = read_bundle(path, known=classes)
    cls = classes[bundle.class_name]
    with restoring(bundle):
        model = cls(**init_params(cls, {**bundle.params, "device": device}))
        model._validate_params()
        model._restore(bundle)
    return model
