"""Image mechanisms end to end on two image SCMs that are not in the library (held-out check).

The SCMs (``fresh_image_scms.py``: a disc whose radius a confounder causes with a label read
off the image, 28x28 grey; a square -> ring pair of images with a tabular child, 16x16 RGB)
were written before the defaults were scored on them. Each mechanism setting is fitted through
``CausalGenerativeModel(graph, mechanisms=...).fit(mapping)`` with image nodes as
``(n, C, H, W)`` arrays, at the library's defaults otherwise (``random_state=0``), and scored:

* ``do()`` sampling: ``model.sample(n, do=q)`` against ``scm.sample(n, do=q)`` (the simulator
  intervened on), every image attribute read by readers trained on independent renders
  (``fresh_image_scms.train_reader``; their error on fresh renders is printed), and every
  tabular node: the error of the mean and the 1-D Wasserstein distance, in units of the
  observational s.d. (total variation for colour classes); ``floor``: the same figures for a
  second simulator sample (sampling noise);
* unit-level counterfactuals of held-out units: pixel RMSE against the exact counterfactual
  images, next to two baselines (``fresh``: the model's own image sampled with new noise
  under the counterfactual parents; ``factual``: the factual image kept), the attribute MAE of
  the counterfactual images against the true attributes (``floor``: the readers on the exact
  counterfactual images), the null intervention's L1 (composition) and the tabular nodes'
  counterfactual RMSE in s.d.

Cases with hidden confounders (``frontdoor``, ``bowfree``, ``imgtreat``; session 10): settings
``auto`` (the default ``latent_strategy="joint"``) and ``idgen`` (``latent_strategy="idgen"``,
which trains per query: its ``sample_s`` includes training, its counterfactuals and ``save``
are refused); the sampling table adds the conditioning baseline (``cond_*``: the 300 training
units whose treatment is closest to the query's, i.e. ``P(. | X = x)`` read off the data), each
setting lists the contract checks (same seed same draws, save / load, counterfactual seeds and
labels), and ``imgtreat`` checks that its unidentified variant (``P -> Y``, ``P <-> Y``) is
refused by both routes.

Run: ``PYTHONPATH=src:benchmarks python benchmarks/bench_images_fresh.py
[--cases disc ring frontdoor bowfree imgtreat]
[--settings auto idgen image_vae_p0 image_vae_nm image_vae_nm25 idgen:image_vae_nm image_hvae image_hvae_m0] [--random-state 0] [--data-seed 0]
[--n-train 3000] [--n-test 200] [--n-samples 2000]
[--out benchmarks/results/bench_images_fresh.md]``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fresh_image_scms as fs
import numpy as np

from deepcause.generative import CausalGenerativeModel
from deepcause.generative.mechanisms import ImageHVAEMechanism, ImageVAEMechanism
from deepcause.metrics import composition, counterfactual_pixel_error, wasserstein_1d

Data = dict[str, np.ndarray]


@dataclass
class FreshCase:
    """One fresh SCM, its readers, its queries and its counterfactual intervention."""

    name: str
    scm: Any
    images: tuple[str, ...]
    readers: dict[str, fs.ShapeReader]
    attributes: Callable[[Data, Data], dict[str, dict]]
    queries: list[tuple[str, dict]]
    cf_do: Callable[[Data, np.random.Generator], dict]
    # hidden-confounder cases: training units "like" a query (the conditioning baseline
    # P(. | X = x) read off the data), more counterfactual interventions, extra checks
    condition: Callable[[Data, dict], np.ndarray] | None = None
    cf_more: list[tuple[str, Callable[[Data, np.random.Generator], dict]]] = field(
        default_factory=list
    )
    checks: Callable[[Data, argparse.Namespace], list[str]] | None = None


def disc_case() -> FreshCase:
    kinds = dict.fromkeys(("radius", "cx", "cy", "brightness"), "continuous")
    return FreshCase(
        "disc: Z -> R -> I (28x28 disc) -> L <- Z",
        fs.disc_label_scm(28),
        ("I",),
        {"I": fs.train_reader(fs.disc_renders(28), kinds)},
        fs.disc_attributes,
        [("do(R = 3)", {"R": 3.0}), ("do(R = 5)", {"R": 5.0})],
        lambda fact, rng: {"R": rng.uniform(*fs.DISC_RADIUS, len(fact["R"]))},
    )


def ring_case() -> FreshCase:
    cont = dict.fromkeys(("cx", "cy"), "continuous")
    square = fs.draw_square([8.0], [8.0], [3.5], [0], 16)[0]
    return FreshCase(
        "ring: S -> X (16x16 square) -> Y (ring) -> T",
        fs.square_ring_scm(16),
        ("X", "Y"),
        {
            "X": fs.train_reader(
                fs.square_renders(16), {"half": "continuous", **cont, "colour": "class"}
            ),
            "Y": fs.train_reader(
                fs.ring_renders(16),
                {"radius": "continuous", **cont, "width": "continuous", "colour": "class"},
            ),
        },
        fs.square_ring_attributes,
        [
            ("do(S = 2.5)", {"S": 2.5}),
            ("do(S = 4)", {"S": 4.0}),
            ("do(X = red square, half 3.5)", {"X": square}),
        ],
        lambda fact, rng: {"S": rng.uniform(*fs.SQUARE_HALF, len(fact["S"]))},
    )


def _nearest(key: Callable[[Data], np.ndarray], k: int = 300) -> Callable[[Data, dict], Any]:
    """The ``k`` training units whose ``key`` is closest to the query's (conditioning on
    the treatment's value instead of setting it)."""

    def condition(train: Data, q: dict) -> np.ndarray:
        want = float(np.ravel(key({v: np.asarray(x)[None] for v, x in q.items()}))[0])
        return np.argsort(np.abs(key(train) - want))[:k]

    return condition


def frontdoor_case() -> FreshCase:
    kinds = dict.fromkeys(("length", "cx", "cy", "brightness"), "continuous")
    return FreshCase(
        "frontdoor: T -> M (20x20 bar) -> Y, T <-> Y",
        fs.frontdoor_bar_scm(20),
        ("M",),
        {"M": fs.train_reader(fs.bar_renders(20), kinds)},
        fs.frontdoor_bar_attributes,
        [("do(T = -1)", {"T": -1.0}), ("do(T = 1)", {"T": 1.0})],
        lambda fact, rng: {"T": rng.uniform(-1.5, 1.5, len(fact["T"]))},
        condition=_nearest(lambda d: np.asarray(d["T"], float)),
    )


def bowfree_case() -> FreshCase:
    kinds = dict.fromkeys(("half_w", "blue", "cx", "cy"), "continuous")
    return FreshCase(
        "bowfree: Z -> X -> I (3x16x24 rectangle) <- W, X <-> W",
        fs.bowfree_rect_scm(16, 24),
        ("I",),
        {"I": fs.train_reader(fs.rect_renders(16, 24), kinds)},
        fs.bowfree_rect_attributes,
        [("do(X = -1.2)", {"X": -1.2}), ("do(X = 1.2)", {"X": 1.2})],
        lambda fact, rng: {"X": rng.uniform(-1.5, 1.5, len(fact["X"]))},
        condition=_nearest(lambda d: np.asarray(d["X"], float)),
        cf_more=[("do(Z = z')", lambda fact, rng: {"Z": rng.uniform(-1.5, 1.5, len(fact["Z"]))})],
    )


def image_treatment_case() -> FreshCase:
    kinds = dict.fromkeys(("radius", "cx", "cy", "brightness"), "continuous")
    small, large = (fs.draw_disc([9.0], [9.0], [r], [0.8], 18)[0] for r in (2.75, 5.25))
    return FreshCase(
        "imgtreat: P (18x18 disc) -> M -> Y, P <-> Y",
        fs.image_treatment_scm(18),
        ("P",),
        {"P": fs.train_reader(fs.treat_disc_renders(18), kinds)},
        lambda values, noise: {},
        [("do(P = disc r 2.75)", {"P": small}), ("do(P = disc r 5.25)", {"P": large})],
        lambda fact, rng: {"P": fact["P"][rng.permutation(len(fact["P"]))]},
        condition=_nearest(lambda d: fs.disc_radius_of(d["P"])),
        checks=unidentified_checks,
    )


def unidentified_checks(train: Data, args: argparse.Namespace) -> list[str]:
    """``P -> Y; P <-> Y`` (the mediator dropped): ``do(P)`` must be refused by both routes
    with a one-line reason (a one-epoch fit: the refusal does not depend on training)."""
    from deepcause.identification import identify

    graph, data = "P -> Y; P <-> Y", {"P": train["P"], "Y": train["Y"]}
    lines = []
    try:
        identify(graph, "P", "Y")
        lines.append("identify(P -> Y; P <-> Y): identified (WRONG)")
    except Exception as exc:  # noqa: BLE001 - reported, not handled
        lines.append(_refusal("identify(P -> Y; P <-> Y)", exc))
    for route in ("joint", "idgen"):
        m = CausalGenerativeModel(graph, latent_strategy=route, max_epochs=1, random_state=0)
        try:
            m.fit(data).sample(10, do={"P": train["P"][0]}, random_state=0)
            lines.append(f"{route}: sample(do(P)) answered (WRONG: not identifiable)")
        except Exception as exc:  # noqa: BLE001
            lines.append(_refusal(f"{route}: sample(do(P))", exc))
    return lines


def _refusal(label: str, exc: BaseException) -> str:
    msg = str(exc)
    lines = "one line" if "\n" not in msg else f"{msg.count(chr(10)) + 1} lines"
    return f"{label}: {type(exc).__name__} ({lines}): {msg}"


CASES = {
    "disc": disc_case,
    "ring": ring_case,
    "frontdoor": frontdoor_case,
    "bowfree": bowfree_case,
    "imgtreat": image_treatment_case,
}


def mechanisms(setting: str, images: tuple[str, ...]) -> Any:
    """The ``mechanisms`` argument of a setting: ``auto`` (the library default), or one image
    mechanism for every image node (tabular nodes ``auto`` as well); ``idgen:NAME`` is setting
    ``NAME`` through ``latent_strategy="idgen"``."""
    setting = setting.removeprefix("idgen:")
    if setting in ("auto", "idgen"):
        return "auto"
    if setting == "image_vae_p0":
        return {v: ImageVAEMechanism(prior_modes=0) for v in images}
    if setting == "image_hvae_m0":  # fresh noise standard normal, not the fitted mixture
        return {v: ImageHVAEMechanism(noise_modes=0) for v in images}
    if setting.startswith("image_vae_nm"):  # fresh noise from the abducted noise's mixture,
        beta = {"image_vae_nm": 0.1, "image_vae_nm25": 0.25}[setting]  # KL weight below 1
        return {v: ImageVAEMechanism(beta=beta, prior_modes=0, noise_modes=16) for v in images}
    return dict.fromkeys(images, setting)


# ----------------------------------------------------------------------------- scoring
def _observed(scm: Any, values: Data) -> Data:
    return {v: np.asarray(values[v]) for v in scm.graph.nodes}


def _compare(a: np.ndarray, b: np.ndarray, sd: float, kind: str) -> tuple[float, float]:
    """(mean error, W1) in s.d. for continuous values; (TV, TV) for classes."""
    if kind == "class":
        ka, kb = np.bincount(a.astype(int), minlength=3), np.bincount(b.astype(int), minlength=3)
        tv = 0.5 * float(np.abs(ka / len(a) - kb / len(b)).sum())
        return tv, tv
    return abs(float(a.mean() - b.mean())) / sd, wasserstein_1d(a, b) / sd


def _readings(case: FreshCase, values: Data, skip: dict) -> dict[str, np.ndarray]:
    """Every attribute read off the non-intervened images, and every tabular node."""
    out = {}
    for v in case.scm.graph.nodes:
        if v in skip or v not in values:  # idgen samples the do() nodes' descendants only
            continue
        if v in case.images:
            out.update({f"{v}.{a}": x for a, x in case.readers[v].predict(values[v]).items()})
        else:
            out[v] = np.asarray(values[v], float)
    return out


def _kind(case: FreshCase, key: str) -> str:
    node, _, attr = key.partition(".")
    return case.readers[node].kinds[attr] if attr else "continuous"


def score_sampling(case: FreshCase, model: Any, n: int, train: Data) -> list[dict]:
    """Per query and value: the model's mean error and W1 against the simulator's ``do()``,
    the floor (a second simulator sample) and, with ``case.condition``, the conditioning
    baseline (the training units whose treatment is closest to the query's)."""
    obs, rows = _readings(case, train, {}), []
    for label, q in case.queries:
        t0, c0 = time.perf_counter(), time.process_time()
        gen = _readings(case, model.sample(n, do=q, random_state=1), q)
        t_sample, c_sample = time.perf_counter() - t0, time.process_time() - c0
        truth = _readings(case, case.scm.sample(n, do=q, random_state=2, as_arrays=True), q)
        again = _readings(case, case.scm.sample(n, do=q, random_state=3, as_arrays=True), q)
        cond = None
        if case.condition is not None:
            idx = case.condition(train, q)
            cond = _readings(case, {v: x[idx] for v, x in train.items()}, q)
        for key in truth:
            if key not in gen:
                continue
            sd, kind = float(obs[key].std()), _kind(case, key)
            m, w = _compare(gen[key], truth[key], sd, kind)
            fm, fw = _compare(again[key], truth[key], sd, kind)
            row = dict(query=label, value=key, mean=m, w1=w, floor_w1=fw)
            if cond is not None:
                row["cond_mean"], row["cond_w1"] = _compare(cond[key], truth[key], sd, kind)
            rows.append(dict(row, sample_s=t_sample, sample_cpu=c_sample))
    return rows


def score_counterfactual(case: FreshCase, model: Any, test: tuple[Data, Data]) -> list[dict]:
    """Rows of every counterfactual intervention of the case (``cf_do``, then ``cf_more``);
    a refusal is one row with its message."""
    rows = []
    for label, make in [("cf_do", case.cf_do), *case.cf_more]:
        try:
            got = _score_one_counterfactual(case, model, test, make)
        except Exception as exc:  # noqa: BLE001 - a refusal is a result here
            got = [dict(value="refused", message=_refusal("counterfactual", exc))]
        rows += [dict(r, do=label) for r in got]
    return rows


def _score_one_counterfactual(
    case: FreshCase, model: Any, test: tuple[Data, Data], make: Callable
) -> list[dict]:
    fact, noise = test
    do = make(fact, np.random.default_rng(7))
    truth = _observed(case.scm, case.scm.propagate(noise, do))
    t0 = time.perf_counter()
    cf = model.counterfactual(fact, do=do)
    cf_s = time.perf_counter() - t0
    node = next(iter(do))
    null = model.counterfactual(fact, do={node: fact[node]})
    true_attrs = case.attributes(case.scm.propagate(noise, do), noise)
    rows = []
    for v in case.scm.graph.nodes:
        if v in do and v != node:
            continue
        if v == node:
            continue
        if v not in case.images:
            sd = float(fact[v].std())
            err = float(np.sqrt(np.mean((np.asarray(cf[v], float) - truth[v]) ** 2))) / sd
            rows.append(dict(value=v, rmse=err, cf_s=cf_s))
            continue
        parents = list(model.parents_[v])
        fresh = model.sample(len(fact[v]), do={p: cf[p] for p in parents}, random_state=5)[v]
        row = dict(value=v, rmse=counterfactual_pixel_error(cf[v], truth[v]), cf_s=cf_s)
        row["fresh"] = counterfactual_pixel_error(fresh, truth[v])
        row["factual"] = counterfactual_pixel_error(fact[v], truth[v])
        row["composition"] = composition(fact[v], null[v])["l1"]
        row.update(_attribute_errors(case, v, cf[v], truth[v], true_attrs[v]))
        rows.append(row)
    return rows


def _attribute_errors(case: FreshCase, v: str, cf: Any, truth: Any, attrs: dict) -> dict:
    read, floor = case.readers[v].predict(cf), case.readers[v].predict(truth)
    out = {}
    for a, want in attrs.items():
        if case.readers[v].kinds[a] == "class":
            out[a] = f"{np.mean(read[a] == want):.3f} ({np.mean(floor[a] == want):.3f})"
        else:
            err = np.mean(np.abs(read[a] - want))
            out[a] = f"{err:.3f} ({np.mean(np.abs(floor[a] - want)):.3f})"
    return out


def run(case: FreshCase, setting: str, args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(1)
    noise = case.scm.sample_noise(args.n_train + args.n_test, args.data_seed)
    values = _observed(case.scm, case.scm.propagate(noise))
    train = {v: x[: args.n_train] for v, x in values.items()}
    fact = {v: x[args.n_train :] for v, x in values.items()}
    test_noise = {k: u[args.n_train :] for k, u in noise.items()}
    t0, c0 = time.perf_counter(), time.process_time()
    idgen = setting == "idgen" or setting.startswith("idgen:")
    route = {"latent_strategy": "idgen"} if idgen else {}
    model = CausalGenerativeModel(
        str(case.scm.graph),
        mechanisms=mechanisms(setting, case.images),
        **route,
        max_epochs=args.max_epochs,
        random_state=args.random_state,
        verbose=False,
    ).fit(train)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    chosen = {
        v: type(model.mechanisms_[v]).__name__ if hasattr(model, "mechanisms_") else "per query"
        for v in case.images
    }
    return {
        "setting": setting,
        "fit_s": fit_s,
        "fit_cpu": fit_cpu,
        "chosen": chosen,
        "sampling": score_sampling(case, model, args.n_samples, train),
        "cf": score_counterfactual(case, model, (fact, test_noise)),
        "contract": contract_checks(case, model, args),
    }


def contract_checks(case: FreshCase, model: Any, args: argparse.Namespace) -> list[str]:
    """Same seed same draws (every node), and a save / load round trip that draws the same."""
    import tempfile

    q = case.queries[0][1]
    first, again = (model.sample(64, do=q, random_state=11) for _ in range(2))
    same = all(np.array_equal(np.asarray(first[v]), np.asarray(again[v])) for v in first)
    lines = [f"same seed, same draws ({', '.join(first)}): {same}"]
    with tempfile.TemporaryDirectory() as d:
        try:
            model.save(d)
            loaded = type(model).load(d).sample(64, do=q, random_state=11)
            equal = all(np.array_equal(np.asarray(first[v]), np.asarray(loaded[v])) for v in first)
            lines.append(f"save / load, same draws: {equal}")
        except Exception as exc:  # noqa: BLE001 - a refusal is a result here
            lines.append(_refusal("save", exc))
    try:
        fact = case.scm.sample(16, random_state=12, as_arrays=True)
        do = case.cf_do(fact, np.random.default_rng(13))
        a, b = (model.counterfactual(fact, do=do, random_state=14) for _ in range(2))
        same = all(np.array_equal(np.asarray(a[v]), np.asarray(b[v])) for v in a)
        lines.append(f"counterfactual, same seed, same values: {same}; attrs {dict(a.attrs)}")
    except Exception as exc:  # noqa: BLE001
        lines.append(_refusal("counterfactual", exc))
    return lines


# ----------------------------------------------------------------------------- report
def _f(v: Any) -> str:
    return v if isinstance(v, str) else f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"


def _table(rows: list[dict], keys: list[str]) -> list[str]:
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    return lines + ["| " + " | ".join(_f(r.get(k, "-")) for k in keys) + " |" for r in rows]


def markdown(case: FreshCase, results: list[dict]) -> list[str]:
    lines = [
        "",
        f"## {case.name}",
        "",
        "Readers' error on fresh renders: "
        + "; ".join(
            f"{v}: " + ", ".join(f"{a} {s:.3g}" for a, s in r.scores.items())
            for v, r in case.readers.items()
        ),
    ]
    for res in results:
        lines += [
            "",
            f"### {res['setting']} (image mechanisms {res['chosen']}; fit {res['fit_s']:.0f} s, "
            f"{res['fit_cpu']:.0f} CPU s)",
            "",
            "Counterfactuals (attribute MAE / accuracy; in "
            "brackets the readers on the exact counterfactual images):",
            "",
        ]
        keys = sorted({k for r in res["cf"] for k in r}, key=_order)
        lines += _table(res["cf"], keys)
        lines += ["", "do() sampling (mean error and W1 in observational s.d.; TV for colour):", ""]
        keys = ["query", "value", "mean", "w1", "floor_w1"]
        if case.condition is not None:
            keys += ["cond_mean", "cond_w1"]
        lines += _table(res["sampling"], [*keys, "sample_s", "sample_cpu"])
        lines += ["", *(f"- {c}" for c in res.get("contract", []))]
    return lines


def _order(k: str) -> tuple[int, str]:
    first = ["do", "value", "rmse", "fresh", "factual", "composition"]
    return (first.index(k), k) if k in first else (len(first) + (k == "cf_s"), k)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--settings", nargs="+", default=["auto", "image_vae_p0", "image_hvae"])
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--max-epochs", type=int, default=None, help="default: each mechanism's")
    ap.add_argument("--random-state", type=int, default=0, help="the models' random_state")
    ap.add_argument(
        "--data-seed", type=int, default=0, help="the training and held-out units' noise seed"
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/bench_images_fresh.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.n_samples, args.max_epochs = 300, 40, 200, 2
    cmd = "python benchmarks/bench_images_fresh.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    lines = ["# Image mechanisms on fresh image SCMs", "", f"Command: `{cmd.strip()}`"]
    for name in args.cases:
        case = CASES[name]()
        results = []
        for setting in args.settings:
            results.append(run(case, setting, args))
            print(
                f"[{name}] {setting}: fit {results[-1]['fit_s']:.0f} s, cf {results[-1]['cf']}",
                file=sys.stderr,
                flush=True,
            )
        lines += markdown(case, results)
        if case.checks is not None:
            train = case.scm.sample(args.n_train, random_state=args.data_seed, as_arrays=True)
            lines += [
                "",
                "Unidentified variant:",
                "",
                *(f"- {c}" for c in case.checks(train, args)),
            ]
    lines += [
        "",
        f"Niceness {os.nice(0)}, load average at the end {os.getloadavg()[0]:.1f} "
        "(2 cores shared with other helpers; times are wall clock).",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
