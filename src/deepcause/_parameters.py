"""Declared hyper-parameter constraints, checked once in ``fit``, and the one fitted check.

Every fittable class declares ``_parameter_constraints`` (scikit-learn's vocabulary:
``Interval``, ``StrOptions``, ``Options``, ``HasMethods``, types, ``None``, ``"random_state"``,
``"boolean"``, ...) and calls :meth:`ParameterValidationMixin._validate_params` at the start of
``fit``. A violation raises one :class:`~deepcause.exceptions.InvalidParameterError` naming the
class, the parameter, the value and what is allowed.

>>> from numbers import Integral
>>> from sklearn.base import BaseEstimator
>>> class Model(ParameterValidationMixin, BaseEstimator):
...     _parameter_constraints = {"max_epochs": [Interval(Integral, 1, None, closed="left")]}
...     def __init__(self, max_epochs=10):
...         self.max_epochs = max_epochs
>>> Model(max_epochs=0)._validate_params()
Traceback (most recent call last):
...
deepcause.exceptions.InvalidParameterError: Model: the 'max_epochs' parameter ... Got 0 instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils._param_validation import InvalidParameterError as _SklearnParameterError

from .exceptions import InvalidParameterError, NotFittedError

__all__ = [
    "RANDOM_STATE",
    "HasMethods",
    "Interval",
    "Options",
    "StrOptions",
    "ParameterValidationMixin",
    "check_is_fitted",
]

#: the constraint of every ``random_state``: None, a non-negative int, a RandomState or a Generator
RANDOM_STATE: list[Any] = ["random_state", np.random.Generator]


class ParameterValidationMixin:
    """Validate ``get_params()`` against ``_parameter_constraints`` (declared once per class).

    Parameters absent from the mapping are not checked; subclasses extend their parent's
    mapping with ``{**Parent._parameter_constraints, "new": [...]}``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def _validate_params(self) -> None:
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        constraints = {k: v for k, v in self._parameter_constraints.items() if k in params}
        try:
            validate_parameter_constraints(constraints, params, caller_name=type(self).__name__)
        except _SklearnParameterError as err:
            message = str(err).replace("The '", f"{type(self).__name__}: the '", 1)
            raise InvalidParameterError(message) from None


def check_is_fitted(estimator: Any, attribute: str = "data_") -> None:
    """Raise :class:`~deepcause.exceptions.NotFittedError` unless ``estimator`` has ``attribute``.

    >>> class Thing:
    ...     pass
    >>> check_is_fitted(Thing())
    Traceback (most recent call last):
    ...
    deepcause.exceptions.NotFittedError: Thing is not fitted yet; call fit() first
    """
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call fit() first")
