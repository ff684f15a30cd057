"""High-precision reference values and ULP errors, computed with mpmath.

Every ``exact_*`` function takes one real number (a Python float, a numpy
floating scalar or an int; ±inf gives the mathematical limit, NaN gives an mpf
NaN) and returns an :class:`mpmath.mpf` accurate to at least
:data:`REFERENCE_DIGITS` significant digits (more inside a caller's
``mp.workdps`` context of higher precision, so ``mp.diff`` works on them). The input is used exactly as
given: a float16, float32 or float64 value converts to an mpf without
rounding. The functions change mpmath's precision only inside local
``workprec`` contexts, never the global ``mp.dps``.

Definitions, with σ(z) = 1 / (1 + e^(-z)) and softplus(z) = log(1 + e^z):

- loss   L(z, y; w) = -[w·y·log σ(z) + (1 - y)·log(1 - σ(z))]
                    = w·y·softplus(-z) + (1 - y)·softplus(z)
- gradient dL/dz    = (1 - y)·σ(z) - w·y·σ(-z)   (= σ(z) - y when w = 1)

:func:`round_to` rounds an mpf correctly to float16, float32 or float64, and
:func:`ulp_error` measures a computed result against the exact value in units
in the last place (ULP) of the result dtype.

References:
    J.-M. Muller, "On the definition of ulp(x)", INRIA Research Report
    RR-5504 (2005): the ulp definition used by :func:`spacing`.
    F. Johansson and others, mpmath, https://mpmath.org (arbitrary-precision
    floating-point arithmetic).
"""

import functools
import math

import mpmath
import numpy as np
from mpmath import mp

REFERENCE_DIGITS = 50
"""Minimum number of correct significant decimal digits of every exact value."""

# 60 decimal digits ≈ 200 bits, so 50 digits stay correct after the few
# roundings that each reference formula performs.
_BASE_PREC = 200


def _working_prec():
    """Return the working precision: 200 bits, or more inside a more precise caller context."""
    return max(_BASE_PREC, mp.prec + 20)

# Bits that a result must keep after cancellation: 50 decimal digits ≈ 167 bits.
_REQUIRED_BITS = 170

# Enough bits to hold 1 - y, w·y and their difference exactly for any pair of
# float64 values (the exponents span 2098 binades plus 2·53 mantissa bits).
_EXACT_PREC = 2400


def _to_mpf(value):
    """Convert ``value`` to an mpf without rounding (mpf values pass through)."""
    if isinstance(value, mpmath.mpf):
        return value
    with mp.workprec(_EXACT_PREC):
        return mp.mpf(float(value) if isinstance(value, np.floating) else value)


def _is_nan(*values):
    return any(mp.isnan(value) for value in values)


@functools.lru_cache(maxsize=1 << 18)
def _exp_and_log1p_of_minus_abs(z_mpf_tuple, prec):
    """Return (e^(-|z|), log1p(e^(-|z|))) for a finite z given as an mpf tuple.

    Cached because the tests evaluate the same logit with many labels.
    """
    with mp.workprec(prec):
        e = mp.exp(-abs(mp.make_mpf(z_mpf_tuple)))
        return e, mp.log1p(e)


def _parts(z, prec):
    """Return (e^(-|z|), log1p(e^(-|z|))) for an mpf z, ±inf included."""
    if mp.isinf(z):
        return mp.mpf(0), mp.mpf(0)
    return _exp_and_log1p_of_minus_abs(z._mpf_, prec)


def _softplus(z, prec):
    # softplus(z) = max(z, 0) + log1p(e^(-|z|)): both terms are >= 0, so no cancellation.
    _, log1p_term = _parts(z, prec)
    with mp.workprec(prec):
        return max(z, mp.mpf(0)) + log1p_term


def _sigmoid(z, prec):
    # σ(z) = 1 / (1 + e^(-z)) for z >= 0 and e^z / (1 + e^z) for z < 0, so exp never overflows.
    e, _ = _parts(z, prec)
    with mp.workprec(prec):
        if z >= 0:
            return 1 / (1 + e)
        return e / (1 + e)


def _weighted(coefficient, value):
    """Return coefficient·value with 0·inf := 0 (a term with weight 0 is absent)."""
    if coefficient == 0:
        return mp.mpf(0)
    return coefficient * value


def exact_sigmoid(z):
    """Return σ(z) = 1 / (1 + e^(-z)) as an mpf (σ(+inf) = 1, σ(-inf) = 0)."""
    z = _to_mpf(z)
    if _is_nan(z):
        return mp.mpf("nan")
    return _sigmoid(z, _working_prec())


def exact_softplus(z):
    """Return softplus(z) = log(1 + e^z) as an mpf (+inf at +inf, 0 at -inf)."""
    z = _to_mpf(z)
    if _is_nan(z):
        return mp.mpf("nan")
    return _softplus(z, _working_prec())


def exact_log_sigmoid(z):
    """Return log σ(z) = -softplus(-z) as an mpf (0 at +inf, -inf at -inf)."""
    z = _to_mpf(z)
    if _is_nan(z):
        return mp.mpf("nan")
    prec = _working_prec()
    with mp.workprec(prec):
        return -_softplus(-z, prec)


def exact_loss(z, y, pos_weight=None):
    """Return the binary cross-entropy from a logit as an mpf.

    L(z, y; w) = w·y·softplus(-z) + (1 - y)·softplus(z), where w is
    ``pos_weight`` (1 when None). A term whose coefficient is 0 counts as
    0 even where its softplus is infinite, so L(+inf, 1) = L(-inf, 0) = 0.
    """
    z, y = _to_mpf(z), _to_mpf(y)
    w = mp.mpf(1) if pos_weight is None else _to_mpf(pos_weight)
    if _is_nan(z, y, w):
        return mp.mpf("nan")

    prec = _working_prec()
    with mp.workprec(prec):
        # Both terms are >= 0 for y in [0, 1] and w >= 0, so the sum has no cancellation.
        positive = _weighted(w * y, _softplus(-z, prec))
        negative = _weighted(1 - y, _softplus(z, prec))
        return positive + negative


def exact_grad(z, y, pos_weight=None):
    """Return dL/dz = (1 - y)·σ(z) - w·y·σ(-z) as an mpf.

    The two terms cancel where σ(z) is close to y, so the precision grows
    until the difference keeps at least :data:`REFERENCE_DIGITS` digits. At
    z = 0 the value (1 - y - w·y) / 2 is computed exactly. Limits: 1 - y at
    z = +inf and -w·y at z = -inf.
    """
    z, y = _to_mpf(z), _to_mpf(y)
    w = mp.mpf(1) if pos_weight is None else _to_mpf(pos_weight)
    if _is_nan(z, y, w):
        return mp.mpf("nan")

    if z == 0:
        with mp.workprec(_EXACT_PREC):
            return (1 - y - w * y) / 2

    prec = _working_prec()
    while True:
        with mp.workprec(prec):
            negative = _weighted(1 - y, _sigmoid(z, prec))
            positive = _weighted(w * y, _sigmoid(-z, prec))
            gradient = negative - positive
        largest = max(abs(negative), abs(positive))
        if largest == 0:
            return gradient
        if gradient == 0:
            # NOTE: z != 0 here, so an exact zero would need e^z to be rational;
            # a zero at this precision means |dL/dz| < 2^-2400·max(terms).
            if prec >= _EXACT_PREC:
                return gradient
            prec = min(2 * prec, _EXACT_PREC)
            continue
        lost_bits = mp.mag(largest) - mp.mag(gradient)
        if prec - lost_bits >= max(_REQUIRED_BITS, mp.prec):
            return gradient
        prec = prec + lost_bits + 64


def exact_array(func, *arrays, **kwargs):
    """Apply an ``exact_*`` function elementwise with numpy broadcasting.

    Returns an object ndarray of mpf values (0-d for scalar inputs).
    Keyword arguments such as ``pos_weight`` are passed to ``func``
    unchanged, so they must be scalars.
    """
    ufunc = np.frompyfunc(lambda *args: func(*args, **kwargs), len(arrays), 1)
    return np.asarray(ufunc(*arrays), dtype=object)


def _format(dtype):
    """Return (precision p, minimum normal exponent, overflow exponent) of ``dtype``."""
    info = np.finfo(dtype)
    if info.dtype not in (np.float16, np.float32, np.float64):
        raise ValueError(
            f"dtype must be float16, float32 or float64; got {info.dtype}"
        )
    return info.nmant + 1, int(info.minexp), int(info.maxexp)


def round_to_format(x, precision, min_exponent, max_exponent):
    """Round ``x`` to the nearest value of a binary floating-point format, ties to even.

    The format has ``precision`` significand bits (the implicit bit included),
    smallest normal 2^min_exponent and overflow threshold 2^max_exponent, as
    float16/32/64 and bfloat16 do. ``x`` is an mpf (or a number that converts
    exactly). The rounding is done once, on the exact binary value, so there
    is no double rounding through float64. Subnormal results are rounded at
    the subnormal spacing, results beyond the largest finite value overflow
    to ±inf after rounding as IEEE 754 prescribes, and an underflow keeps the
    sign of ``x``.

    Returns a Python float, which holds every value of these formats exactly.
    """
    x = _to_mpf(x)
    if mp.isnan(x):
        return math.nan
    if mp.isinf(x):
        return math.inf if x > 0 else -math.inf

    sign, mantissa, exponent, bitcount = x._mpf_
    if mantissa == 0:
        return 0.0  # mpmath has no signed zero

    # |x| = mantissa·2^exponent exactly; its leading bit has weight 2^top.
    top = exponent + bitcount - 1
    # Far outside the range the result is known without shifting huge integers:
    # below a quarter of the smallest subnormal it rounds to 0, from 2^max on to inf.
    if top < min_exponent - precision - 1:
        return -0.0 if sign else 0.0
    if top >= max_exponent:
        return -math.inf if sign else math.inf
    quantum = max(top, min_exponent) - (precision - 1)
    shift = quantum - exponent
    if shift <= 0:
        units = mantissa << -shift
    else:
        units = mantissa >> shift
        remainder = mantissa & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if remainder > half or (remainder == half and units & 1):
            units += 1

    # Overflow is decided after rounding, as IEEE 754 prescribes.
    if units.bit_length() - 1 + quantum >= max_exponent:
        magnitude = math.inf
    else:
        # units·2^quantum has at most 53 bits, so float64 holds it exactly.
        magnitude = math.ldexp(units, quantum)
    return -magnitude if sign else magnitude


def round_to(x, dtype):
    """Round ``x`` to the nearest value of ``dtype`` (float16, float32 or float64), ties to even.

    See :func:`round_to_format`. Returns a numpy scalar of ``dtype``.
    """
    dtype = np.dtype(dtype)
    return dtype.type(round_to_format(x, *_format(dtype)))


def round_array(exact, dtype):
    """Apply :func:`round_to` elementwise; returns an ndarray of ``dtype``."""
    rounded = np.frompyfunc(lambda x: round_to(x, dtype), 1, 1)(exact)
    return np.asarray(rounded, dtype=object).astype(dtype)


def spacing(x, dtype):
    """Return ulp(x) in ``dtype`` as an mpf: the spacing of the binade of |x|.

    ulp(x) = 2^(max(e, emin) - p + 1) for 2^e <= |x| < 2^(e+1), where p is
    the precision and emin the minimum normal exponent of ``dtype``, so the
    smallest subnormal is the floor (also for x = 0), and values beyond the
    largest finite number use the spacing of the top binade.
    """
    precision, min_exponent, max_exponent = _format(dtype)
    x = _to_mpf(x)
    if x == 0:
        top = min_exponent
    else:
        _, _, exponent, bitcount = x._mpf_
        top = min(max(exponent + bitcount - 1, min_exponent), max_exponent - 1)
    return mp.ldexp(mp.mpf(1), top - (precision - 1))


def _ulp_error_scalar(computed, exact, dtype):
    computed = float(computed)
    exact = _to_mpf(exact)
    if mp.isnan(exact):
        return 0.0 if math.isnan(computed) else math.inf
    if math.isnan(computed):
        return math.inf
    if math.isinf(computed) or mp.isinf(exact):
        # An exact value beyond the overflow threshold rounds to ±inf, so a
        # computed ±inf of the same sign is then the correctly rounded result.
        target = float(round_to(exact, dtype))
        return 0.0 if computed == target else math.inf
    with mp.workprec(_BASE_PREC):
        return float(abs(_to_mpf(computed) - exact) / spacing(exact, dtype))


def _ulp_error_narrow(computed, exact, dtype):
    """Vectorised ULP errors for float16 and float32 results, through float64.

    The exact values are rounded to float64 first. That moves each of them by
    at most 2^-53 relative, which is below 2^-28 of a float32 ULP, so the
    error changes by less than 2^-28 ULP. Entries that are not finite on
    both sides go through the exact scalar path.
    """
    precision, min_exponent, max_exponent = _format(dtype)
    computed, exact = np.broadcast_arrays(np.asarray(computed), np.asarray(exact, dtype=object))
    shape = computed.shape
    computed, exact = computed.ravel(), exact.ravel()
    # An exact value beyond float64's range becomes inf here and takes the exact scalar path below.
    with np.errstate(over="ignore"):
        exact64 = np.asarray(np.frompyfunc(float, 1, 1)(exact), dtype=object).astype(np.float64)
    computed64 = computed.astype(np.float64)
    finite = np.isfinite(exact64) & np.isfinite(computed64)

    magnitude = np.abs(np.where(finite, exact64, 1.0))
    _, exponent = np.frexp(magnitude)
    top = np.where(magnitude == 0, min_exponent, exponent - 1)
    top = np.clip(top, min_exponent, max_exponent - 1)
    difference = np.subtract(computed64, exact64, out=np.zeros_like(exact64), where=finite)
    errors = np.abs(difference) / np.ldexp(1.0, top - (precision - 1))

    for index in np.flatnonzero(~finite):
        errors[index] = _ulp_error_scalar(computed[index], exact[index], dtype)
    return errors.reshape(shape)


def ulp_error(computed, exact, dtype):
    """Return |computed - exact| in units of ulp(exact) in ``dtype``.

    ``computed`` holds floats of ``dtype``; ``exact`` holds mpf values (an
    object array) or exactly converting numbers, broadcast against it. The
    unit is :func:`spacing` of the exact value, whose floor is the smallest
    subnormal of ``dtype``. Special cases: a NaN exact value gives 0 when the
    computed value is NaN and inf otherwise; a computed NaN gives inf; a
    computed ±inf gives 0 when the exact value rounds to the same infinity
    (an infinite exact value, or one beyond the overflow threshold) and inf
    otherwise; an infinite exact value with a finite computed one gives inf.

    For float64 the difference is taken in mpmath. For float16 and float32 it
    is taken in float64 from the exact value rounded to float64, which is
    faster and changes the result by less than 2^-28 ULP.

    Returns a float64 ndarray, or a Python float when both inputs are scalars.
    """
    dtype = np.dtype(dtype)
    _format(dtype)
    if dtype == np.float64:
        # An error beyond float64's range (a huge value where a subnormal is exact) is reported as inf.
        with np.errstate(over="ignore"):
            errors = np.frompyfunc(
                lambda c, x: _ulp_error_scalar(c, x, dtype), 2, 1
            )(np.asarray(computed), np.asarray(exact, dtype=object))
            errors = np.asarray(errors, dtype=object).astype(np.float64)
    else:
        errors = _ulp_error_narrow(computed, exact, dtype)
    if errors.ndim == 0:
        return float(errors)
    return errors
