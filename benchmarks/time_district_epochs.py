"""CPU time per epoch of the joint district fit with an image treatment in the district.

``image_treatment_scm`` (``P`` a ``size`` x ``size`` disc image, ``P -> M -> Y``,
``P <-> Y``): fits ``CausalGenerativeModel(graph, max_epochs=E)`` on ``n`` units and reports
the CPU seconds spent in ``JointDistrictStrategy._train`` per epoch, and the whole fit's. Results:
``benchmarks/results/bench_images_fresh.md`` (runs 7, 9 and 10). With ``PATIENCE`` > 0 the district
holds out units and scores their bound after every epoch (``JointDistrictStrategy(patience=)``),
so the validation's cost is included.

Usage: ``PYTHONPATH=src:benchmarks OMP_NUM_THREADS=1 python benchmarks/time_district_epochs.py
SIZE N EPOCHS [PATIENCE]`` (e.g. ``28 3000 3``).
"""

from __future__ import annotations

import sys
import time

import torch
from fresh_image_scms import image_treatment_scm

from deepcause.generative import CausalGenerativeModel, districts


def main(size: int, n: int, epochs: int, patience: int = 0) -> str:
    torch.set_num_threads(1)

    class Strategy(districts.JointDistrictStrategy):
        def __init__(self, model, district, **kw):  # noqa: ANN001, ANN003
            super().__init__(model, district, **{"patience": patience, **kw})

    spent: dict[str, tuple[float, float]] = {}
    train_district = districts.JointDistrictStrategy._train

    def timed(self, *args):  # noqa: ANN001, ANN002, ANN202
        c0, t0 = time.process_time(), time.perf_counter()
        train_district(self, *args)
        spent["district"] = (time.process_time() - c0, time.perf_counter() - t0)

    districts.JointDistrictStrategy._train = timed
    sample = image_treatment_scm(size).sample(n, random_state=0, as_arrays=True)
    data = {k: v for k, v in sample.items() if k != "U"}  # U is the hidden confounder
    c0, t0 = time.process_time(), time.perf_counter()
    CausalGenerativeModel("P -> M -> Y; P <-> Y", max_epochs=epochs, random_state=0,
                          latent_strategy=Strategy, verbose=False).fit(data)  # fmt: skip
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    d_cpu, d_wall = spent["district"]
    return (
        f"size={size} n={n} epochs={epochs} patience={patience} district_cpu={d_cpu:.1f} wall={d_wall:.1f} "
        f"per_epoch_cpu={d_cpu / epochs:.2f} total_fit_cpu={cpu:.1f} wall={wall:.1f}"
    )


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:5])), flush=True)
