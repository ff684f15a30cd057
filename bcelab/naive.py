"""The textbook forms of sigmoid and binary cross-entropy that fail in floating point.

These functions exist for the demonstrations: they compute exactly what the
textbook formulas compute when evaluated step by step in one dtype, and they
fail exactly as numpy fails (``log 0 = -inf``, ``0 * inf = NaN``,
``x / 0 = inf``, ``exp`` overflow). Nothing here guards against that. Use
``bcelab.sigmoid``, ``bcelab.bce_with_logits`` and ``bcelab.bce_with_logits_grad``
for real work.

Shared behaviour:

- numpy broadcasting. The computation runs in the floating dtype of the
  inputs (see ``bcelab._validation.result_dtype``): float16 input is
  evaluated in float16 arithmetic and returned as float16.
- An ``eps`` argument is first converted to that dtype, as code written in the
  dtype would store it: in float16, ``eps = 1e-8`` becomes 0.
- Labels ``y`` outside [0, 1] or NaN, and probabilities ``p`` outside [0, 1],
  raise ``ValueError`` naming the first offending value and its index. A NaN
  probability gives NaN out.
- ``errstate`` (keyword-only) is the numpy floating-point error mode applied to
  every operation: ``"ignore"`` (the default) keeps the notebooks free of stray
  ``RuntimeWarning`` output; ``"warn"`` or ``"raise"`` show which operation
  misbehaves; ``None`` keeps the caller's ``np.errstate`` settings.

References:
    IEEE Std 754-2019, IEEE Standard for Floating-Point Arithmetic: the
    default results of invalid operations (NaN), division by zero (±inf) and
    overflow (±inf under round-to-nearest).
"""

import contextlib
import math

import numpy as np

from bcelab._validation import as_float_array, check_unit_interval, finish, result_dtype

ERRSTATE_MODES = ("ignore", "warn", "raise", "call", "print", "log")


def errstate_context(mode):
    """Return the context manager that applies numpy error mode ``mode`` to all errors."""
    if mode is None:
        return contextlib.nullcontext()
    if mode not in ERRSTATE_MODES:
        raise ValueError(f"errstate must be None or one of {ERRSTATE_MODES}; got {mode!r}")
    return np.errstate(all=mode)


def _probabilities_and_labels(p, y):
    """Return ``(p, y, dtype)``: validated arrays in the dtype the computation runs in."""
    dtype = result_dtype(p, y)
    p = as_float_array(p, "p", dtype)
    y = as_float_array(y, "y", dtype)
    check_unit_interval(p, "p", allow_nan=True)
    check_unit_interval(y, "y", allow_nan=False)
    return p, y, dtype


def _eps_in_dtype(eps, dtype, *, maximum):
    """Return ``eps`` as a scalar of ``dtype``, after checking it is a number in [0, maximum].

    The range is checked on the value as given, before the conversion, so a
    positive ``eps`` that rounds to 0 in ``dtype`` is accepted: that rounding
    is one of the failures the demonstrations show.
    """
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise ValueError(f"eps must be a real number; got {eps!r}")
    value = float(eps)
    if not (0.0 <= value <= maximum) or math.isnan(value):
        raise ValueError(f"eps must lie in [0, {maximum}]; got {value!r}")
    return dtype.type(value)


def naive_sigmoid(z, *, errstate="ignore"):
    """Compute σ(z) as ``1 / (1 + exp(-z))``, step by step in the dtype of ``z``.

    Elementwise; the result has the shape and floating dtype of ``z``
    (integer input is promoted to float64).

    .. math:: \\sigma(z) = \\frac{1}{1 + e^{-z}}

    It rounds to exactly 1.0 once ``exp(-z)`` is at most half the spacing of
    the dtype's numbers above 1, and returns exactly 0 once ``exp(-z)``
    overflows to inf (``1 / inf = 0``), long before the true σ(z) underflows.

    Args:
        z: logits, array-like.
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The naive σ(z), in ``[0, 1]`` (NaN where ``z`` is NaN).
    """
    dtype = result_dtype(z)
    z = as_float_array(z, "z", dtype)
    one = dtype.type(1)
    with errstate_context(errstate):
        result = one / (one + np.exp(-z))
    return finish(result, dtype)


def naive_bce(p, y, *, errstate="ignore"):
    """Compute binary cross-entropy on probabilities as the textbook writes it.

    Elementwise over the broadcast shape of ``p`` and ``y``.

    .. math:: L(p, y) = -\\bigl[y \\log p + (1 - y) \\log(1 - p)\\bigr]

    Failures, as IEEE arithmetic gives them: ``p = 1, y = 0`` gives
    ``-log 0 = inf``; ``p = 1, y = 1`` gives ``(1 - y) * log 0 = 0 * (-inf) =
    NaN`` (and likewise ``p = 0, y = 0``), although the true loss is 0.

    Args:
        p: probabilities in [0, 1].
        y: labels in [0, 1].
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The elementwise loss, possibly inf or NaN.

    Raises:
        ValueError: if ``p`` or ``y`` lies outside [0, 1], or ``y`` is NaN.
    """
    p, y, dtype = _probabilities_and_labels(p, y)
    one = dtype.type(1)
    with errstate_context(errstate):
        result = -(y * np.log(p) + (one - y) * np.log(one - p))
    return finish(result, dtype)


def naive_bce_grad(p, y, *, errstate="ignore"):
    """Compute dL/dp of binary cross-entropy as the textbook writes it.

    Elementwise over the broadcast shape of ``p`` and ``y``.

    .. math:: \\frac{\\partial L}{\\partial p} = -\\frac{y}{p} + \\frac{1 - y}{1 - p}

    Failures: ``p = 1, y = 0`` divides 1 by 0 (inf); ``p = 1, y = 1`` computes
    ``0 / 0`` (NaN); ``p = 0`` mirrors both.

    Args:
        p: probabilities in [0, 1].
        y: labels in [0, 1].
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The elementwise dL/dp, possibly inf or NaN.

    Raises:
        ValueError: if ``p`` or ``y`` lies outside [0, 1], or ``y`` is NaN.
    """
    p, y, dtype = _probabilities_and_labels(p, y)
    one = dtype.type(1)
    with errstate_context(errstate):
        result = -y / p + (one - y) / (one - p)
    return finish(result, dtype)


def naive_chained_grad(p, y, *, errstate="ignore"):
    """Compute dL/dz by the chain rule split at p: ``dL/dp * dp/dz`` with ``dp/dz = p (1 - p)``.

    Elementwise over the broadcast shape of ``p`` and ``y``; ``p`` is the
    sigmoid of the logit ``z`` that the gradient is taken with respect to.

    .. math:: \\frac{\\partial L}{\\partial z} =
        \\Bigl(-\\frac{y}{p} + \\frac{1 - y}{1 - p}\\Bigr) \\cdot p (1 - p)

    Mathematically this equals ``p - y``. Evaluated as two factors, it gives
    NaN wherever ``p`` is exactly 0 or 1, because the first factor is then
    inf or NaN and the second is 0.

    Args:
        p: probabilities in [0, 1].
        y: labels in [0, 1].
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The elementwise dL/dz, NaN where ``p`` is 0 or 1.

    Raises:
        ValueError: if ``p`` or ``y`` lies outside [0, 1], or ``y`` is NaN.
    """
    p, y, dtype = _probabilities_and_labels(p, y)
    one = dtype.type(1)
    with errstate_context(errstate):
        dloss_dp = -y / p + (one - y) / (one - p)
        dp_dz = p * (one - p)
        result = dloss_dp * dp_dz
    return finish(result, dtype)


def clipped_bce(p, y, eps, *, errstate="ignore"):
    """Compute binary cross-entropy after clipping p to ``[eps, 1 - eps]``, the common patch.

    Elementwise over the broadcast shape of ``p`` and ``y``. The bounds are
    computed in the dtype of the computation, as ``eps`` and ``1 - eps``
    rounded to that dtype.

    .. math:: L_\\epsilon(p, y) = L\\bigl(\\mathrm{clip}(p, \\epsilon, 1 - \\epsilon), y\\bigr)

    Failures: where ``1 - eps`` rounds to 1 (``eps`` below half of
    ``np.finfo(dtype).epsneg``, e.g. 1e-8 in float32) the clip leaves p = 1 in
    place and the loss is inf or NaN as in :func:`naive_bce`. Where the clip
    does act, a certain wrong prediction costs ``-log(eps)`` instead of inf,
    so every loss is capped at that value.

    Args:
        p: probabilities in [0, 1].
        y: labels in [0, 1].
        eps: clipping margin, a number in [0, 0.5].
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The elementwise clipped loss.

    Raises:
        ValueError: if ``p`` or ``y`` lies outside [0, 1], ``y`` is NaN, or
            ``eps`` is not a number in [0, 0.5].
    """
    p, y, dtype = _probabilities_and_labels(p, y)
    eps = _eps_in_dtype(eps, dtype, maximum=0.5)
    one = dtype.type(1)
    with errstate_context(errstate):
        clipped = np.clip(p, eps, one - eps)
        result = -(y * np.log(clipped) + (one - y) * np.log(one - clipped))
    return finish(result, dtype)


def clipped_bce_grad(p, y, eps, *, errstate="ignore"):
    """Compute the textbook dL/dp evaluated at the clipped ``clip(p, eps, 1 - eps)``.

    Elementwise over the broadcast shape of ``p`` and ``y``. This is the
    gradient a hand-written backward pass computes when it reuses the clipped
    probability. (Automatic differentiation through ``clip`` gives 0 outside
    the bounds instead.)

    .. math:: \\frac{\\partial L}{\\partial p}\\Big|_{\\hat p} = -\\frac{y}{\\hat p} + \\frac{1 - y}{1 - \\hat p},
        \\qquad \\hat p = \\mathrm{clip}(p, \\epsilon, 1 - \\epsilon)

    Failures: where ``1 - eps`` rounds to 1, ``p = 1`` survives the clip and
    the division by zero returns; elsewhere the magnitude is at most about
    ``1 / eps``.

    Args:
        p: probabilities in [0, 1].
        y: labels in [0, 1].
        eps: clipping margin, a number in [0, 0.5].
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The elementwise dL/dp at the clipped probability.

    Raises:
        ValueError: if ``p`` or ``y`` lies outside [0, 1], ``y`` is NaN, or
            ``eps`` is not a number in [0, 0.5].
    """
    p, y, dtype = _probabilities_and_labels(p, y)
    eps = _eps_in_dtype(eps, dtype, maximum=0.5)
    one = dtype.type(1)
    with errstate_context(errstate):
        clipped = np.clip(p, eps, one - eps)
        result = -y / clipped + (one - y) / (one - clipped)
    return finish(result, dtype)


def eps_denominator_grad(p, y, eps, *, errstate="ignore"):
    """Compute the textbook dL/dp with ``eps`` added to each denominator, the other common patch.

    Elementwise over the broadcast shape of ``p`` and ``y``, evaluated left to
    right as written: ``-y / (p + eps) + (1 - y) / ((1 - p) + eps)``.

    .. math:: \\frac{\\partial L}{\\partial p} \\approx -\\frac{y}{p + \\epsilon} + \\frac{1 - y}{1 - p + \\epsilon}

    Failures: at ``p = 1, y = 0`` the magnitude is ``1 / eps`` (1e8 for
    eps = 1e-8), which is "infinity" for any optimiser, and overflows to inf
    where ``1 / eps`` exceeds the dtype's max (float16: 65504). Where ``eps``
    rounds to 0 in the dtype (1e-8 in float16) the division by zero returns.

    Args:
        p: probabilities in [0, 1].
        y: labels in [0, 1].
        eps: the added constant, a number in [0, 1].
        errstate: numpy error mode for the computation (see the module docstring).

    Returns:
        The elementwise patched dL/dp.

    Raises:
        ValueError: if ``p`` or ``y`` lies outside [0, 1], ``y`` is NaN, or
            ``eps`` is not a number in [0, 1].
    """
    p, y, dtype = _probabilities_and_labels(p, y)
    eps = _eps_in_dtype(eps, dtype, maximum=1.0)
    one = dtype.type(1)
    with errstate_context(errstate):
        result = -y / (p + eps) + (one - y) / ((one - p) + eps)
    return finish(result, dtype)
