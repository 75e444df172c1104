"""The Dask engine: the scalable estimators on tables that outgrow memory, on one machine or a
``dask.distributed`` cluster.

Pass a ``dask.dataframe.DataFrame`` (for example ``dd.read_parquet("data/*.parquet")``) to
``fit`` of :class:`~deepcause.estimate.IPW`, :class:`~deepcause.estimate.AIPW`,
:class:`~deepcause.estimate.TLearner`, :class:`~deepcause.estimate.PlugIn` or
:class:`~deepcause.estimate.iv.TwoStageLeastSquares`, or to
:func:`~deepcause.estimate.estimate_effect`. The rows are read partition by partition in each
pass and never gathered: nuisance models passed as scikit-learn's ``LinearRegression``,
``Ridge`` or ``LogisticRegression`` are fitted exactly from sufficient statistics reduced across
partitions (Gram matrices; Newton's method with one pass per iteration), the cross-fitting folds
follow the same rule as in memory (:mod:`deepcause.estimate._folds`), and influence functions,
overlap and balance statistics are reduced partition-wise. On data that fit in memory the
numbers equal the pandas path's to about 1e-10.

Nonlinear nuisances of AIPW, IPW and the T-learner are XGBoost's models (``XGBClassifier`` /
``XGBRegressor`` or their ``xgboost.dask`` classes; XGBoost was chosen over LightGBM by
measurement): each fold's model is trained by XGBoost's Dask interface on the other folds'
rows, on a ``dask.distributed`` client, and predicts its fold's rows inside the passes
(:mod:`._boosted`). On one worker the numbers equal the pandas path's with the same local
model exactly; on several, XGBoost's merged quantile sketches make them differ (reproducibly:
the partitions are placed on the workers by a fixed rule). :func:`boosted_nuisances` gives
an ``(XGBClassifier, XGBRegressor)`` pair with settings chosen by measurement: with XGBoost's
usual depth-6, 100-tree models the doubly robust estimate keeps the product of the two
nuisance errors as a bias (7 standard errors at 10^6 rows on a generated design; 1.7 with
these settings, see ``benchmarks/results/bench_scale_boosting.md``).

>>> import dask.dataframe as dd
>>> from sklearn.linear_model import LinearRegression, LogisticRegression
>>> from deepcause.estimate import AIPW
>>> from deepcause.simulate import make_confounded_binary
>>> df = make_confounded_binary(2000, random_state=0, population_truth=False).data
>>> est = AIPW(LogisticRegression(solver="newton-cholesky", tol=1e-12), LinearRegression(),
...            random_state=0)
>>> on_dask = est.fit(dd.from_pandas(df, npartitions=4), treatment="t", outcome="y").effect()
>>> in_memory = est.fit(df, treatment="t", outcome="y").effect()
>>> bool(abs(on_dask.value - in_memory.value) < 1e-8)
True

With XGBoost nuisances (needs a ``dask.distributed`` client, e.g. ``Client()``):

>>> boosted = AIPW(*boosted_nuisances(), random_state=0)
>>> from distributed import Client  # doctest: +SKIP
>>> with Client(processes=False):  # doctest: +SKIP
...     frame = dd.from_pandas(df, npartitions=4)
...     res = boosted.fit(frame, treatment="t", outcome="y").effect()
"""

from ._boosted import BOOSTED_SETTINGS, boosted_nuisances
from ._engine import dask_scheduler, is_dask_frame, read_dask_table
from ._fit import DASK_ESTIMATORS, fit_dask

__all__ = [
    "BOOSTED_SETTINGS",
    "DASK_ESTIMATORS",
    "boosted_nuisances",
    "dask_scheduler",
    "fit_dask",
    "is_dask_frame",
    "read_dask_table",
]
