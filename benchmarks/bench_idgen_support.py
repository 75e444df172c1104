"""ID-GEN's off-support share against its error, to calibrate its extrapolation warning.

Session 10 (``bench_generative.md``, "ID-GEN off-support warning"). For each case, one
``IDGenSampler`` is fitted and queried at ``do(X = x)`` over a grid of ``x``; per query it
prints the error of ``E[Y]`` against the simulator's truth and ``attrs["off_support"]``, the
largest share of each checked factor's inputs outside its training inputs
(:class:`~deepcause.generative._support.InputSupport`), with the warnings raised.

* ``frontdoor``, ``napkin``, ``iv``: the tabular audit's SCMs
  (``bench_generative_tabular_latent.py``; 3,000 rows, default epochs, error in the truth's
  s.d., truth 200,000 draws; the IV is queried at do(Z)).
* ``suite:frontdoor``, ``suite:napkin``, ``suite:bow_mediator``: the generative suite's
  identifiable latent cases as ``tests/test_idgen.py`` fits them (2,000 rows, 40 epochs, error
  in the observed s.d. of Y).

    PYTHONPATH=src python benchmarks/bench_idgen_support.py --seed 0 [--values -2 -1 0 1 2]
"""

from __future__ import annotations

import argparse
import resource
import warnings

from bench_generative_tabular_latent import CASES

from deepcause.generative.idgen import IDGenSampler
from deepcause.simulate.suite import get_case

SUITE = ("suite:frontdoor", "suite:napkin", "suite:bow_mediator")


def setup(name: str, seed: int):  # noqa: ANN201
    """``(graph, treatment, data, max_epochs, truth(x) -> Y draws, unit or None)``."""
    if name.startswith("suite:"):
        case = get_case(name.split(":")[1])
        df = case.sample(2000, random_state=seed)
        y = case.outcome
        return (case.graph, case.treatment, df, 40,
                lambda x: case.truth(200_000, x, random_state=7)[y], float(df[y].std()))  # fmt: skip
    scm, graph, _ = CASES[name]()
    t = "Z" if name == "iv" else "X"
    truth = lambda x: scm.sample(200_000, do={t: x}, random_state=2)["Y"]  # noqa: E731
    return graph, t, scm.sample(3000, random_state=seed), None, truth, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", nargs="+", default=[*CASES, *SUITE])
    ap.add_argument("--values", nargs="+", type=float, default=[-2, -1, 0, 1, 2])
    args = ap.parse_args()
    for name in args.cases:
        graph, t, df, epochs, truth, unit = setup(name, args.seed)
        with warnings.catch_warnings(record=True) as fit_w:
            warnings.simplefilter("always")
            s = IDGenSampler(graph, t, "Y", max_epochs=epochs, random_state=args.seed).fit(df)
        fit_warned = sum("ID-GEN evaluates" in str(w.message) for w in fit_w)
        for x in args.values:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = s.sample(4000, {t: x}, random_state=1)
            ys = truth(x)
            err = abs(float(out["Y"].mean() - ys.mean())) / (unit or float(ys.std()))
            shares = {k: round(v, 4) for k, v in out.attrs["off_support"].items()}
            warned = sum("ID-GEN evaluates" in str(w.message) for w in caught)
            print(
                f"{name:18s} seed {args.seed} do({t} = {x:+.1f}): error {err:.3f} s.d.; "
                f"max share {max(shares.values(), default=0.0):.4f}; support warnings "
                f"{warned} (fit {fit_warned}); off_support {shares}",
                flush=True,
            )
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(f"cpu {r.ru_utime + r.ru_stime:.0f}s")


if __name__ == "__main__":
    main()
