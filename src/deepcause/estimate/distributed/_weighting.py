"""IPW and AIPW effects, influence functions, overlap and balance, reduced across partitions.

Each potential-outcome mean of the in-memory estimators is a sum of two ratios of sums over the
units, ``m_a = sum(num1)/sum(den1) + sum(num2)/sum(den2)``, and its influence function is
``psi_a = n ((num1 - m_a den1) / sum(den1) + num2 / sum(den2))`` (the formulas of
:func:`~deepcause.estimate.doubly_robust.aipw_arm_means` and
:func:`~deepcause.estimate.weighting.weighted_arm_means`). A first pass reduces the four sums of
each arm (and the overlap, balance and effective-sample-size statistics), a second pass the
2 x 2 matrix ``psi' psi``, from which every contrast's standard error follows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import DataValidationError, PositivityWarning
from ...results import Diagnostics, EffectEstimate
from .._nuisance import clip_bounds, trim_bounds
from ..diagnostics import EXTREME, implied_weights
from ..weighting import handling_text, score_notes
from ._data import DaskBackdoorData
from ._engine import run_pass
from ._nuisance import Nuisances, design

__all__ = ["WeightingEngine", "arm_terms"]


def arm_terms(
    kind: str, y: np.ndarray, t: np.ndarray, e: np.ndarray, mu: Any, quantity: str, normalize: bool
) -> np.ndarray:
    """Per-unit ``(num1, den1, num2, den2)`` of each arm's mean, shape ``(n, 2, 4)``.

    >>> t = np.array([0, 0, 1, 1]); y = np.array([1.0, 2, 3, 5]); e = np.full(4, 0.5)
    >>> terms = arm_terms("ipw", y, t, e, None, "ATE", True).sum(axis=0)
    >>> (terms[:, 0] / terms[:, 1]).tolist()
    [1.5, 4.0]
    """
    w = implied_weights(e, t, quantity)
    pop = np.ones(len(t)) if quantity in ("ATE", "ATO") else (t == (quantity == "ATT")) * 1.0
    out = np.zeros((len(t), 2, 4))
    for arm in (0, 1):
        in_arm = (t == arm) * 1.0
        if kind == "ipw":
            wa = w * in_arm
            d = wa if normalize or quantity == "ATO" else pop
            out[:, arm] = np.column_stack([wa * y, d, np.zeros(len(t)), d])
        elif quantity != "ATE" and (arm == 1) == (quantity == "ATT"):  # the population's arm
            out[:, arm] = np.column_stack([pop * y, pop, np.zeros(len(t)), pop])
        else:
            wr = in_arm * w * (y - mu[:, arm])
            den2 = in_arm * w if normalize else pop
            out[:, arm] = np.column_stack([pop * mu[:, arm], pop, wr, den2])
    return out


@dataclass
class WeightingEngine:
    """IPW (``kind="ipw"``) or AIPW (``"aipw"``) on fitted out-of-core nuisances."""

    data: DaskBackdoorData
    nuisances: Nuisances
    kind: str
    clip: Any
    trim: Any
    normalize: bool
    method: str
    cache: dict[str, Any] = field(default_factory=dict)

    def _settings(self, quantity: str) -> dict[str, Any]:
        if isinstance(self.trim, str):
            raise DataValidationError(
                "trim='crump' needs every propensity score at once; on the Dask engine give a "
                "trimming level such as trim=0.05"
            )
        lo, hi = clip_bounds(self.clip, quantity)
        return {
            "quantity": quantity,
            "clip": (max(lo, 1e-6), min(hi, 1 - 1e-6)),
            "trim": trim_bounds(self.trim, np.empty(0)),
        }

    def _rows(self, part: Any, index: int, s: dict[str, Any]):
        Z1, t, y, X, folds = design(part, index, self.nuisances.plan)
        e_raw = self.nuisances.scores(Z1, folds)
        keep = np.ones(len(t), dtype=bool)
        if s["trim"] is not None:
            keep = (e_raw >= s["trim"][0]) & (e_raw <= s["trim"][1])
        mu = None
        if self.nuisances.outcome is not None:
            mu = self.nuisances.means(Z1, folds)[keep]
        e = np.clip(e_raw[keep], *s["clip"])
        terms = arm_terms(self.kind, y[keep], t[keep], e, mu, s["quantity"], self.normalize)
        return terms, t, e_raw, keep, e, X

    def _sums_pass(self, part: Any, index: int, s: dict[str, Any]) -> dict[str, Any]:
        terms, t_all, e_all, keep, e, X_all = self._rows(part, index, s)
        t, e_raw, X = t_all[keep], e_all[keep], X_all[keep] - self.data.mean
        w = implied_weights(e, t, s["quantity"])
        lo, hi = s["clip"]
        out = {
            "n": int(keep.sum()),
            "terms": terms.sum(axis=0),
            "n_clipped": int(((e_raw < lo) | (e_raw > hi)).sum()),
            "n_trimmed": np.array([int((~keep & (t_all == a)).sum()) for a in (0, 1)]),
        }
        for arm in (0, 1):
            g = t == arm
            eg, wg, Xg = e_raw[g], w[g], X[g]
            out[f"min_e{arm}"] = eg.min() if g.any() else np.inf
            out[f"max_e{arm}"] = eg.max() if g.any() else -np.inf
            out[f"extreme{arm}"] = np.array([(eg < EXTREME).sum(), (eg > 1 - EXTREME).sum()])
            out[f"x{arm}"] = np.array([g.sum(), wg.sum(), wg @ wg])
            out[f"sx{arm}"] = np.stack([Xg.sum(axis=0), (Xg**2).sum(axis=0), wg @ Xg])
        return out

    def _psi_pass(self, part: Any, index: int, s: dict[str, Any], m: Any) -> dict[str, Any]:
        terms = self._rows(part, index, s)[0]
        n, means, totals = m
        num1, den1, num2 = terms[:, :, 0], terms[:, :, 1], terms[:, :, 2]
        psi = n * ((num1 - means * den1) / totals[:, 1] + num2 / totals[:, 3])
        return {"psi2": psi.T @ psi}

    def statistics(self, quantity: str) -> dict[str, Any]:
        """Arm means, ``psi' psi`` and diagnostics of ``quantity`` (two passes, cached)."""
        if quantity not in self.cache:
            s = self._settings(quantity)
            sums = run_pass(self.data.parts, self._sums_pass, s, desc=f"{quantity} sums")
            for arm in (0, 1):
                if sums["x" + str(arm)][0] < 2:
                    raise DataValidationError(
                        f"trimming to {s['trim']} leaves fewer than 2 units in treatment group "
                        f"{arm}; use a smaller trim level"
                    )
            tot = sums["terms"]
            means = tot[:, 0] / tot[:, 1] + tot[:, 2] / tot[:, 3]
            m = (sums["n"], means, tot)
            psi2 = run_pass(self.data.parts, self._psi_pass, s, m, desc=f"{quantity} errors")
            self.cache[quantity] = {"settings": s, "sums": sums, "means": means, **psi2}
        return self.cache[quantity]

    def contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        """``c[0] m_0 + c[1] m_1`` over ``quantity``'s population (the back-door hook)."""
        stats = self.statistics(quantity)
        sums, s = stats["sums"], stats["settings"]
        info = self._info(s, sums)
        self._warn(sums, quantity, handling_text(info))
        trimmed = "trim_bounds" in info
        return EffectEstimate(
            value=float(stats["means"] @ c),
            std_error=float(np.sqrt(max(c @ stats["psi2"] @ c, 0.0)) / sums["n"]),
            quantity=f"{quantity} (trimmed)" if trimmed else quantity,
            method=self.method,
            n=int(sums["n"]),
            estimand=self.data.estimand,
            diagnostics=self._diagnostics(sums, info),
        )

    @staticmethod
    def _info(s: dict[str, Any], sums: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if s["trim"] is not None:
            info["trim_bounds"] = s["trim"]
            info["n_trimmed"] = dict(zip(("control", "treated"), map(int, sums["n_trimmed"])))
        info["clip_bounds"] = s["clip"]
        info["n_clipped"] = int(sums["n_clipped"])
        return info

    def _warn(self, sums: dict[str, Any], quantity: str, handling: str) -> None:
        sides = {"ATE": (0, 1), "ATT": (1,), "ATC": (0,), "ATO": ()}[quantity]
        parts, total = [], 0
        for side in sides:
            for arm, name in ((1, "treated"), (0, "control")):
                k = int(sums[f"extreme{arm}"][side])
                total += k
                bound = f"< {EXTREME}" if side == 0 else f"> {1 - EXTREME}"
                parts += [f"{k} {name} unit(s) with propensity {bound}"] if k else []
        if total:
            warnings.warn(
                f"{self.method} {quantity}: limited overlap — {'; '.join(parts)} ({total} of "
                f"{sums['n']} units). {handling}",
                PositivityWarning,
                stacklevel=6,
            )

    def _diagnostics(self, sums: dict[str, Any], info: dict[str, Any]) -> Diagnostics:
        overlap: dict[str, Any] = {"threshold": EXTREME}
        ess, before, after, var = {}, [], [], []
        for arm, name in ((1, "treated"), (0, "control")):
            n_a, sw, sw2 = sums[f"x{arm}"]
            s1, s2, swx = sums[f"sx{arm}"]
            low, high = map(int, sums[f"extreme{arm}"])
            overlap[name] = {
                "n": int(n_a),
                "min": float(sums[f"min_e{arm}"]),
                "max": float(sums[f"max_e{arm}"]),
                "n_below": low,
                "n_above": high,
            }
            ess[name] = float(sw**2 / sw2) if sw2 > 0 else 0.0
            before.append(s1 / n_a)
            after.append(swx / sw)
            var.append((s2 - s1**2 / n_a) / (n_a - 1))
        extreme = sum(overlap[a]["n_below"] + overlap[a]["n_above"] for a in ("treated", "control"))
        overlap.update(n_extreme=extreme, share_extreme=extreme / sums["n"])
        sd = np.sqrt((var[0] + var[1]) / 2.0)
        sd[sd == 0] = 1.0
        table = pd.DataFrame(
            {"smd_before": (before[0] - before[1]) / sd, "smd_after": (after[0] - after[1]) / sd},
            index=pd.Index(list(self.data.covariate_names), name="covariate"),
        )
        fields: dict[str, Any] = {"overlap": overlap, "ess": ess}
        if len(table):
            fields.update(
                balance=table,
                max_abs_smd_before=float(np.abs(table["smd_before"]).max()),
                max_abs_smd_after=float(np.abs(table["smd_after"]).max()),
            )
        extra = {**info, "engine": "dask", "newton_iterations": self.nuisances.iterations}
        return Diagnostics(notes=score_notes(info), extra=extra, **fields)
