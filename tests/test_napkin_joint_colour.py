"""The district-joint model on the coloured-digits napkin: does it reproduce the observed law?

Matching the observed distribution is what pins down ``P(Y | do(X))`` for the joint route, so
a fitted model that misses an observational link cannot answer the query. Two links of the
napkin (:func:`deepcause.simulate.images.colored_digits_napkin`) carry the query's colour:
``Y``'s colour equals ``X``'s (the copy, 30% of units, 0.42 in the data with chance matches)
and ``Y``'s colour equals ``W1`` (through the hidden ``U2``; 0.51 in the data). Both are read
off images by the attribute readers, on the model's observational samples and on the data.

Measured (3,000 units, 40 epochs, data and model seed 0; ``benchmarks/study_napkin_joint.py``,
``benchmarks/results/bench_images.md`` runs 9b and 10b): the default (image KL weight 4) gives
a copy share of 0.19-0.20 with ``W1`` at 0.47: ``Y``'s colour is a function of the
``W1 <-> Y`` latent block alone. KL weight 1 raises the copy to 0.29-0.32 but loses the ``W1``
link (0.32-0.41): ``Y``'s colour is then read off ``X``'s *digit* (the confounded path). The
test asks for both links within 0.08 of the data (the binomial s.d. of a share from 2,000
samples is about 0.01); it is a strict xfail until the joint route reproduces them. Its own
run on this branch: copy 0.199 and ``W1`` 0.468 against the data's 0.415 and 0.505 (386 s,
load ~3.5).
"""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.generative import CausalGenerativeModel
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import make_colored_digits_napkin


def _colour_links(reader, d):  # noqa: ANN001
    """Shares of units whose ``Y`` colour equals ``X``'s colour and equals ``W1``."""
    x, y = reader.predict(d["X"]), reader.predict(d["Y"])
    w1 = np.asarray(d["W1"]).astype(int)
    return float(np.mean(y["color"] == x["color"])), float(np.mean(y["color"] == w1))


def test_colour_links_of_the_data_are_far_from_chance():
    """The links the slow test compares are real in the data (chance is 1/6)."""
    ds = make_colored_digits_napkin(1500, truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=1500, random_state=0)
    copy, w1 = _colour_links(reader, ds.data)
    assert 0.36 < copy < 0.48 and 0.45 < w1 < 0.57


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="joint route: Y's colour follows its latent block only (copy share 0.18-0.20 "
    "against the data's 0.42); bench_images.md run 10b",
)
def test_napkin_joint_reproduces_the_observed_colour_links():
    ds = make_colored_digits_napkin(3000, truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=3000)
    model = CausalGenerativeModel(
        ds.graph, mechanisms="auto", max_epochs=40, random_state=0, verbose=False
    ).fit(ds.data)
    data = _colour_links(reader, ds.data)
    fitted = _colour_links(reader, model.sample(2000, random_state=7))
    assert abs(fitted[0] - data[0]) < 0.08, (fitted, data)  # the copy X -> Y
    assert abs(fitted[1] - data[1]) < 0.08, (fitted, data)  # W1 <-> Y through U2
