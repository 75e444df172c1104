"""Counterfactuals of ``mechanisms="auto"`` on fresh invertible SCMs that are not in the suite.

Held-out check for issue #14 item 6: these SCMs were written after the defaults were chosen and
are not used to choose anything. Each case is a :class:`~deepcause.simulate.suite.SimulatorCase`
scored with the protocol of ``bench_generative.py`` (``--seed s``: data and model
``random_state = s``, 5,000 training rows, 1,000 counterfactual units from noise seed
``100 s + 5``, 2,000 interventional samples against truth seeds ``100 s + 10 + i``). Printed per
case and seed: interventional MMD² of the outcome, the outcome's counterfactual RMSE per do value
(in the outcome's s.d.), the worst counterfactual RMSE over every other non-intervened node (in
its own s.d., to locate where an error starts), auto's choice per node, fit CPU time and the
counterfactual's warnings (share of units off their parents' joint support per node, and the
outcome's CF RMSE on the flagged and the other units when the outcome is flagged).

Cases:

* ``fresh_chain_sin``: A -> B -> C -> D, sinusoidal mechanisms, Laplace / Student-t(5) /
  uniform noise; do(A = -1), do(A = +1).
* ``fresh_collider_mult``: Z -> X, Z -> Y, X -> Y, X -> K <- Y; X and Y positive with
  multiplicative noise, K a collider; do(X = 0.6), do(X = 2.0).
* ``fresh_hetero_two``: A -> B, (A, B) -> Y -> D; Y's noise scale depends on both parents
  (Gumbel noise), D a saturating function of Y; do(B = -1), do(B = +1).

Session 9 (run 5; written before any run on them):

* ``fresh_mixed_binary``: W -> T (binary, logistic), (T, W) -> Y (interaction, Student-t(3)
  noise), Y -> C (3 levels, Gumbel-max), (Y, C) -> M; do(T = 0), do(T = 1). C is not
  invertible: its counterfactual is a posterior draw, so C's and M's truth is one coupling of
  several the data allow (reported, not a target).
* ``fresh_hub4_bimodal``: A -> B; (A, B, C, D) -> Y with interactions and bimodal noise; Y -> E
  with right-skewed (Gamma) noise; do(A = -1), do(A = +1).
* ``fresh_chain7_small``: X0 -> ... -> X6, mild nonlinearities, Student-t(3), Laplace, Gamma
  and uniform noises, **1,000 training rows** (``N_TRAIN_OF``); do(X0 = -1), do(X0 = +1).
* ``fresh_count``: X -> N (Poisson count, 0 to about 40: a continuous column to the model),
  (X, N) -> Y, Y -> K (binomial count, 9 levels: a categorical node); counts by the inverse
  CDF of a uniform noise; do(X = -1), do(X = +1). N's counterfactual is not identified exactly
  (an integer bounds its noise to an interval), so neither is Y's.

For discrete nodes the "other nodes" column gives the share of units whose counterfactual
level differs from the truth's, not an RMSE.

    PYTHONPATH=src python benchmarks/bench_generative_fresh.py --seeds 0 1 2 [--cases ...] [--local]

``--cases`` also takes suite case names (then the suite's do values); ``--local`` prints every
node's local counterfactual error: its noise abducted on the factual row, decoded with the
true counterfactual parents (RMSE / bias in encoded units per do value).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch
from scipy import stats

from deepcause.generative import CausalGenerativeModel, selection
from deepcause.generative._support import recording_extrapolation
from deepcause.metrics import counterfactual_rmse, mmd_rbf
from deepcause.simulate.noise import NoiseFn
from deepcause.simulate.scm import SCM, Node, gaussian, gumbel, laplace, student_t, uniform
from deepcause.simulate.suite import SimulatorCase, get_case

N_TRAIN, N_CF, N_SAMPLES = 5000, 1000, 2000
N_TRAIN_OF = {"fresh_chain7_small": 1000}  # small-data case


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


def fresh_cases() -> list[SimulatorCase]:
    """The three fresh invertible SCMs (see the module docstring)."""
    chain = SCM(
        [
            Node("A", noise=gaussian(1.0)),
            Node(
                "B", ("A",), lambda pa, u: np.sin(1.5 * pa["A"]) + 0.4 * pa["A"] + u, laplace(0.3)
            ),
            Node(
                "C",
                ("B",),
                lambda pa, u: 0.7 * pa["B"] + 0.6 * np.cos(2.0 * pa["B"]) + u,
                student_t(5.0, 0.3),
            ),
            Node(
                "D",
                ("C",),
                lambda pa, u: np.sin(pa["C"]) + 0.5 * pa["C"] + u,
                uniform(-0.5, 0.5),
            ),
        ]
    )

    def x_mult(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        return np.exp(0.4 * pa["Z"] + 0.2 * np.sin(2 * pa["Z"])) * np.exp(u)

    def y_mult(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        x, z = pa["X"], pa["Z"]
        return (0.3 + np.sqrt(x) + 0.6 * _sigmoid(1.5 * z) + 0.2 * x * _sigmoid(z)) * np.exp(u)

    collider = SCM(
        [
            Node("Z", noise=gaussian(1.0)),
            Node("X", ("Z",), x_mult, gaussian(0.35)),
            Node("Y", ("X", "Z"), y_mult, laplace(0.2)),
            Node("K", ("X", "Y"), lambda pa, u: np.log(pa["X"] + pa["Y"]) + u, gaussian(0.3)),
        ]
    )

    def y_het(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        a, b = pa["A"], pa["B"]
        scale = 0.15 + 0.5 * _sigmoid(a + b) + 0.2 * np.abs(a - b)
        return 0.8 * np.tanh(a) + 0.5 * b + scale * u

    hetero = SCM(
        [
            Node("A", noise=gaussian(1.0)),
            Node("B", ("A",), lambda pa, u: 0.6 * pa["A"] + u, gaussian(0.8)),
            Node("Y", ("A", "B"), y_het, gumbel(0.8)),
            Node(
                "D", ("Y",), lambda pa, u: 1.5 * np.tanh(pa["Y"]) + 0.3 * pa["Y"] + u, gaussian(0.3)
            ),
        ]
    )
    return [
        SimulatorCase("fresh_chain_sin", "fresh", chain, "A", "D", (-1.0, 1.0)),
        SimulatorCase("fresh_collider_mult", "fresh", collider, "X", "Y", (0.6, 2.0)),
        SimulatorCase("fresh_hetero_two", "fresh", hetero, "B", "D", (-1.0, 1.0)),
        *run5_cases(),
    ]


def _bimodal(scale: float) -> NoiseFn:
    """Two-peaked noise: ``scale * (±0.8 + 0.3 N(0, 1))`` (s.d. about ``0.85 scale``)."""
    return lambda rng, n: scale * (0.8 * rng.choice([-1.0, 1.0], n) + 0.3 * rng.standard_normal(n))


def _skewed(scale: float, shape: float = 2.0) -> NoiseFn:
    """Right-skewed noise: a centred Gamma(``shape``) scaled to s.d. ``scale``."""
    return lambda rng, n: scale * (rng.gamma(shape, 1.0, n) - shape) / np.sqrt(shape)


def _uniform01(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, n)


def run5_cases() -> list[SimulatorCase]:
    """Session 9's fresh SCMs (written before any run on them; see the module docstring)."""

    # mixed types: binary treatment, heavy-tailed outcome, categorical child, continuous child of
    # the categorical node (its counterfactual is not identified: a Gumbel-max posterior draw)
    def c_levels(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        y = pa["Y"][:, None]
        logits = np.concatenate([np.zeros_like(y), 1.2 * y - 1.0, 2.4 * y - 3.0], axis=1)
        return np.argmax(logits + u, axis=1)

    mixed = SCM(
        [
            Node("W", noise=gaussian(1.0)),
            Node(
                "T",
                ("W",),
                lambda pa, u: (0.9 * pa["W"] + u > 0).astype(np.int64),
                lambda rng, n: rng.logistic(size=n),
                discrete=True,
            ),
            Node(
                "Y",
                ("T", "W"),
                lambda pa, u: 1.0 + 0.8 * pa["T"] + 0.6 * pa["W"] + 0.5 * pa["T"] * pa["W"] + u,
                student_t(3.0, 0.4),
            ),
            Node("C", ("Y",), c_levels, lambda rng, n: rng.gumbel(size=(n, 3)), discrete=True),
            Node(
                "M",
                ("Y", "C"),
                lambda pa, u: 0.5 * pa["Y"] + 0.8 * (pa["C"] == 2) - 0.5 * (pa["C"] == 0) + u,
                gaussian(0.3),
            ),
        ]
    )

    # one node with four parents and interactions, bimodal noise; a skewed-noise child
    hub = SCM(
        [
            Node("A", noise=gaussian(1.0)),
            Node("B", ("A",), lambda pa, u: 0.5 * pa["A"] + u, gaussian(0.8)),
            Node("C", noise=uniform(-2.0, 2.0)),
            Node("D", noise=laplace(0.7)),
            Node(
                "Y",
                ("A", "B", "C", "D"),
                lambda pa, u: (
                    0.5 * pa["A"] * pa["B"]
                    + 0.8 * np.sin(pa["C"])
                    + 0.4 * pa["D"] * pa["A"]
                    + 0.3 * pa["D"]
                    + u
                ),
                _bimodal(0.5),
            ),
            Node("E", ("Y",), lambda pa, u: np.tanh(pa["Y"]) + 0.5 * pa["Y"] + u, _skewed(0.3)),
        ]
    )

    # a 7-node chain where errors compound, trained on 1,000 rows (N_TRAIN_OF)
    def softplus(s: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, s)

    chain7 = SCM(
        [
            Node("X0", noise=gaussian(1.0)),
            Node(
                "X1",
                ("X0",),
                lambda pa, u: 0.8 * pa["X0"] + 0.3 * np.sin(2 * pa["X0"]) + u,
                student_t(3.0, 0.3),
            ),
            Node(
                "X2", ("X1",), lambda pa, u: np.tanh(pa["X1"]) + 0.5 * pa["X1"] + u, gaussian(0.3)
            ),
            Node(
                "X3",
                ("X2",),
                lambda pa, u: 0.7 * pa["X2"] - 0.15 * pa["X2"] ** 2 + u,
                laplace(0.25),
            ),
            Node("X4", ("X3",), lambda pa, u: softplus(1.5 * pa["X3"]) / 1.5 + u, _skewed(0.3)),
            Node(
                "X5",
                ("X4",),
                lambda pa, u: 0.9 * pa["X4"] + 0.3 * np.cos(pa["X4"]) + u,
                uniform(-0.4, 0.4),
            ),
            Node(
                "X6",
                ("X5",),
                lambda pa, u: 0.6 * pa["X5"] + 0.4 * np.tanh(2 * pa["X5"]) + u,
                student_t(3.0, 0.25),
            ),
        ]
    )

    # integer counts: a Poisson count with more than 20 levels (a continuous column to the
    # model) feeding the outcome, and a binomial count with 9 levels (a categorical node);
    # both by the inverse CDF of a uniform noise (monotone in it: the coupling of the truth)
    count = SCM(
        [
            Node("X", noise=gaussian(1.0)),
            Node(
                "N",
                ("X",),
                lambda pa, u: stats.poisson.ppf(u, np.exp(1.6 + 0.5 * pa["X"])).astype(np.int64),
                _uniform01,
                discrete=True,
            ),
            Node(
                "Y",
                ("X", "N"),
                lambda pa, u: 0.8 * np.sqrt(pa["N"]) + 0.4 * pa["X"] + u,
                gaussian(0.3),
            ),
            Node(
                "K",
                ("Y",),
                lambda pa, u: stats.binom.ppf(u, 8, _sigmoid(pa["Y"] - 2.0)).astype(np.int64),
                _uniform01,
                discrete=True,
            ),
        ]
    )
    return [
        SimulatorCase("fresh_mixed_binary", "fresh", mixed, "T", "Y", (0, 1)),
        SimulatorCase("fresh_hub4_bimodal", "fresh", hub, "A", "E", (-1.0, 1.0)),
        SimulatorCase("fresh_chain7_small", "fresh", chain7, "X0", "X6", (-1.0, 1.0)),
        SimulatorCase("fresh_count", "fresh", count, "X", "Y", (-1.0, 1.0)),
    ]


def run(
    case: SimulatorCase,
    seed: int,
    mechanisms: str,
    n_train: int | None = None,
    model_offset: int = 0,
) -> dict:
    """One fit of ``case`` at ``seed`` on the bench protocol (model ``random_state`` =
    ``seed + model_offset``); returns the row."""
    s0, t, y = 100 * seed, case.treatment, case.outcome
    n_train = n_train or N_TRAIN_OF.get(case.name, N_TRAIN)
    df = case.sample(n_train, random_state=seed)
    sd = df.std()
    c0 = time.process_time()
    model = CausalGenerativeModel(
        case.graph, mechanisms=mechanisms, random_state=seed + model_offset
    ).fit(df)
    fit_cpu = time.process_time() - c0
    noise = case.scm.sample_noise(N_CF, random_state=s0 + 5)
    factual = case.scm.to_frame(case.scm.propagate(noise))
    mmds, cf, worst, flags = [], [], {}, []
    for i, v in enumerate(case.do_values):
        truth = case.truth(N_SAMPLES, v, random_state=s0 + 10 + i)[[y]].to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = model.sample(N_SAMPLES, do={t: v}, random_state=s0 + i)[[y]].to_numpy(float)
        with recording_extrapolation() as notes:
            pred = model.counterfactual(factual, do={t: v}, random_state=0)
        mmds.append(float(mmd_rbf(s, truth)))
        true_cf = case.scm.to_frame(case.scm.propagate(noise, {t: v}))
        flags.append(_flagged(pred, true_cf, y, float(sd[y]), notes))
        for col in true_cf.columns:
            if col == t:
                continue
            if model.specs_[col].discrete:  # share of units whose level differs from the truth
                r = float(np.mean(pred[col].to_numpy() != true_cf[col].to_numpy()))
            else:
                r = counterfactual_rmse(
                    pred[[col]].to_numpy(float),
                    true_cf[[col]].to_numpy(float),
                    scale=float(sd[col]),
                )
            if col == y:
                cf.append(r)
            elif r > worst.get(col, -1.0):
                worst[col] = r
    local = _local_errors(model, case, noise, factual)
    choice = {
        k: r["mechanism"]
        for k, r in (model.mechanism_choice_ or {}).items()
        if r["reason"] != "root node"
    }
    for k, mech in model.mechanisms_.items():  # discrete nodes: the categorical mechanism
        if model.parents_[k] and k not in choice:
            choice[k] = mech.name
    return {
        "case": case.name,
        "seed": seed,
        "mmd": float(np.mean(mmds)),
        "cf": cf,
        "other": worst,
        "choice": choice,
        "local": local,
        "fit_cpu": fit_cpu,
        "flags": flags,
    }


def _flagged(pred, true_cf, y: str, sd: float, notes: list[str]) -> str:  # noqa: ANN001
    """The counterfactual's warnings in short: the share of units off their parents' joint
    support per node (``result.attrs["off_support"]``), the outcome's CF RMSE on the flagged and
    the other units when the outcome is flagged, and ``range`` for a marginal-range warning."""
    off = pred.attrs.get("off_support", {})
    parts = [f"{k} {r['share']:.0%}" for k, r in off.items()]
    if y in off:
        mask = off[y]["units"]
        e = (pred[y].to_numpy(float) - true_cf[y].to_numpy(float)) / sd
        rms = [
            float(np.sqrt(np.mean(e[m] ** 2))) if m.any() else float("nan") for m in (mask, ~mask)
        ]
        parts.append(f"(Y flagged {rms[0]:.3f} / rest {rms[1]:.3f})")
    if any("observed range" in n for n in notes):
        parts.append("range")
    return " ".join(parts) or "-"


@torch.no_grad()
def _local_errors(model, case: SimulatorCase, noise, factual) -> dict[str, list[float]]:  # noqa: ANN001
    """Per non-root node and do value: its own counterfactual RMSE / bias (encoded units, about
    the node's s.d.) when its noise is abducted on the factual row and decoded with the *true*
    counterfactual parents, so an error is charged to the node that makes it."""
    fe = model.encode(factual)
    out: dict[str, list[float]] = {}
    for v in case.do_values:
        te = model.encode(case.scm.to_frame(case.scm.propagate(noise, {case.treatment: v})))
        for node, mech in model.mechanisms_.items():
            if node == case.treatment or not model.parents_[node] or not mech.invertible:
                continue
            u = mech.abduct(fe[node], model.context(node, fe))
            e = (mech.decode(u, model.context(node, te)) - te[node]).numpy()
            out.setdefault(node, []).extend([float(np.sqrt((e**2).mean())), float(e.mean())])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--cases", nargs="+")
    ap.add_argument("--mechanisms", default="auto")
    ap.add_argument("--n-train", type=int, help="training rows (default 5,000; see N_TRAIN_OF)")
    ap.add_argument("--local", action="store_true", help="print every node's local CF error")
    ap.add_argument(
        "--model-offset",
        type=int,
        default=0,
        help="model seed = seed + this (data, truth and counterfactual noise unchanged)",
    )
    ap.add_argument(
        "--auto-chosen-mean-loss",
        choices=("gaussian", "spline"),
        help="auto, cross-fitted nodes: refit a node the choice keeps additive with this mean "
        "loss; default: the library's (selection.CHOSEN_ADDITIVE_MEAN_LOSS)",
    )
    args = ap.parse_args()
    if args.auto_chosen_mean_loss:
        selection.CHOSEN_ADDITIVE_MEAN_LOSS = args.auto_chosen_mean_loss
    torch.set_num_threads(1)
    os.environ.setdefault("DEEPCAUSE_PROGRESS", "0")
    fresh = {c.name: c for c in fresh_cases()}
    names = args.cases or list(fresh)
    cases = [fresh[n] if n in fresh else get_case(n) for n in names]
    print(
        "| case | seed | MMD² | CF RMSE per do (sd) | mean | other nodes (worst over do) | choice "
        "| fit CPU s "
        "| warnings per do: off-support share per node (outcome's CF RMSE flagged / rest) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        for seed in args.seeds:
            r = run(case, seed, args.mechanisms, args.n_train, args.model_offset)
            other = ", ".join(f"{k} {v:.3f}" for k, v in r["other"].items())
            print(
                f"| {r['case']} | {seed} | {r['mmd']:.4f} | "
                + " / ".join(f"{c:.3f}" for c in r["cf"])
                + f" | {np.mean(r['cf']):.3f} | {other} | "
                + ", ".join(f"{k}:{v}" for k, v in r["choice"].items())
                + f" | {r['fit_cpu']:.1f} | "
                + "; ".join(r["flags"])
                + " |",
                flush=True,
            )
            if args.local:
                for node, errs in r["local"].items():
                    print(
                        f"|   local {node} | rmse/bias per do: "
                        + "  ".join(f"{a:.3f}/{b:+.3f}" for a, b in zip(errs[::2], errs[1::2]))
                    )


if __name__ == "__main__":
    main()
