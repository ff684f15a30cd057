"""bfloat16 emulated in numpy: correct rounding, the format's facts, and where σ saturates in it.

numpy has no bfloat16 dtype. bfloat16 is the upper half of a float32 word: the
same sign bit and 8-bit exponent, and the top 7 of float32's 23 stored
significand bits. Every bfloat16 value is therefore a float32 value, and this
module stores bfloat16 values in float32 arrays whose low 16 bits are zero.

- :func:`round_to_bfloat16` rounds any real array to the nearest bfloat16
  value (ties to even), with NaN, ±inf, signed zeros, subnormals and overflow
  handled as IEEE 754 prescribes.
- :data:`BFLOAT16` contains the format's facts (eps, max, smallest normal, ...)
  with the attribute names of :class:`bcelab.floats.DtypeFacts`, computed from
  float32's ``np.finfo`` and the 16 dropped bits, not typed in.
- :func:`bfloat16_sigmoid_thresholds` finds where σ(z) rounds to 1 or 0 in
  bfloat16, with the searches of :mod:`bcelab.floats`.

For float16, float32 and float64 use :mod:`bcelab.floats`; this module only
adds the dtype that numpy lacks.

References:
    Intel (2018), "BFLOAT16 -- Hardware Numerics Definition", document
    338302-001US: the format (1 sign, 8 exponent, 7 fraction bits) and
    round-to-nearest-even conversion from float32.
    S. Boldo and G. Melquiond (2008), "Emulation of FMA and correctly rounded
    sums: proved algorithms using rounding to odd", IEEE Trans. Computers
    57(4): rounding to odd at two or more extra bits, then to nearest, rounds
    correctly once.
"""

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np

from bcelab import floats
from bcelab._validation import as_float_array
from bcelab.reference import round_to_format

# bfloat16 keeps the top 16 of float32's 32 bits.
DROPPED_BITS = 16

_LOW_MASK = np.uint32((1 << DROPPED_BITS) - 1)
_HIGH_MASK = np.uint32(0xFFFFFFFF ^ ((1 << DROPPED_BITS) - 1))
_HALF_MINUS_ONE = np.uint32((1 << (DROPPED_BITS - 1)) - 1)  # 0x7FFF: just below half a bfloat16 ulp
_SIGN_BIT = np.uint32(1 << 31)
_QUIET_NAN = np.float32(np.nan).view(np.uint32)  # 0x7FC00000: its low 16 bits are zero

# Working precision for the exact σ reference: about 200 bits, far more than
# the 8 bits a bfloat16 rounding decision needs.
_REFERENCE_BITS = 200


@dataclass(frozen=True)
class BFloat16Facts:
    """The parameters of bfloat16, named as in :class:`bcelab.floats.DtypeFacts`."""

    name: str
    storage_dtype: np.dtype  # the numpy dtype bfloat16 values are kept in here
    bits: int  # storage width of a real bfloat16
    precision: int  # significand bits, the implicit leading bit included
    eps: float  # spacing of the numbers just above 1: 2**(1 - precision)
    epsneg: float  # spacing of the numbers just below 1: eps / 2
    max: float  # largest finite value
    smallest_normal: float  # 2**min_exponent
    smallest_subnormal: float  # 2**(min_exponent - precision + 1)
    min_exponent: int  # exponent of smallest_normal
    max_exponent: int  # 2**max_exponent overflows


def bfloat16_facts():
    """Compute the :class:`BFloat16Facts` from float32's ``np.finfo`` and :data:`DROPPED_BITS`.

    bfloat16 shares float32's exponent field, so the exponent range is
    float32's; its significand loses the 16 dropped bits.
    """
    single = np.finfo(np.float32)
    precision = single.nmant + 1 - DROPPED_BITS
    min_exponent = int(single.minexp)
    max_exponent = int(single.maxexp)
    eps = math.ldexp(1.0, 1 - precision)
    return BFloat16Facts(
        name="bfloat16",
        storage_dtype=np.dtype(np.float32),
        bits=single.bits - DROPPED_BITS,
        precision=precision,
        eps=eps,
        epsneg=eps / 2,
        max=(2.0 - eps) * math.ldexp(1.0, max_exponent - 1),
        smallest_normal=math.ldexp(1.0, min_exponent),
        smallest_subnormal=math.ldexp(1.0, min_exponent - precision + 1),
        min_exponent=min_exponent,
        max_exponent=max_exponent,
    )


BFLOAT16 = bfloat16_facts()


def _round_to_odd_float32(values):
    """Round a float64 array to float32 with rounding to odd (float32 results).

    Rounding to odd keeps a sticky trace of every discarded bit in the last
    bit, so a second rounding to nearest at 16 fewer bits is correct.
    Finite values beyond float32's range become ±max (odd), as rounding to odd
    prescribes; ±inf and NaN pass through.
    """
    with np.errstate(over="ignore"):  # beyond float32 max: inf here, fixed below
        nearest = values.astype(np.float32)
    inexact = np.isfinite(values) & (nearest.astype(np.float64) != values)
    even = (nearest.view(np.uint32) & np.uint32(1)) == 0
    # Of the two float32 values around an inexact x, one is odd: step to it.
    towards = np.where(nearest.astype(np.float64) < values, np.float32(np.inf), np.float32(-np.inf))
    return np.where(inexact & even, np.nextafter(nearest, towards), nearest)


def _round_float32_to_bfloat16(single):
    """Round float32 values to the nearest bfloat16, ties to even, by integer arithmetic on the bits."""
    shape = single.shape
    # At least 1-d, so the uint32 arithmetic stays in arrays, which wrap silently
    # (numpy scalars would warn on the NaN bit patterns, whose result is replaced anyway).
    bits = np.atleast_1d(single).view(np.uint32)
    # Adding 0x7FFF plus the kept part's lowest bit, then truncating, rounds to
    # nearest with ties to even. A carry out of the significand increments the
    # exponent, so values past the largest bfloat16 become ±inf.
    lowest_kept = (bits >> np.uint32(DROPPED_BITS)) & np.uint32(1)
    rounded = (bits + _HALF_MINUS_ONE + lowest_kept) & _HIGH_MASK
    # NaN: the sum above could carry a NaN into ±inf, so keep a quiet NaN with its sign.
    quiet_nan = (bits & _SIGN_BIT) | _QUIET_NAN
    rounded = np.where(np.isnan(np.atleast_1d(single)), quiet_nan, rounded)
    return rounded.astype(np.uint32).view(np.float32).reshape(shape)


def round_to_bfloat16(x):
    """Round ``x`` to the nearest bfloat16 value, ties to even, returned in float32.

    Shapes: elementwise; the result has the shape of ``x`` and dtype float32
    (a numpy float32 scalar for 0-d input).

    float16 and float32 input converts to float32 exactly and is rounded
    once. float64 input (and int, bool and Python floats) is first rounded
    to float32 with rounding to odd, which makes the second rounding correct:
    the result is the bfloat16 nearest to the float64 value, never a double
    rounding.

    Special values: NaN stays NaN (a quiet NaN with the input's sign), and
    ±inf and ±0 keep their sign. Subnormals round at bfloat16's subnormal
    spacing 2**-133. Finite values of magnitude at least
    ``BFLOAT16.max + BFLOAT16.eps * 2**126`` (half an ulp above the largest
    value) overflow to ±inf.

    Args:
        x: real array-like.

    Returns:
        float32 values whose low 16 bits are zero.

    Raises:
        ValueError: if ``x`` is complex, a string or another non-real type.
    """
    array = np.asarray(x)
    if array.dtype in (np.float16, np.float32):
        single = array.astype(np.float32)
    else:
        single = _round_to_odd_float32(as_float_array(array, "x", np.float64))
    result = _round_float32_to_bfloat16(np.asarray(single, dtype=np.float32))
    if result.ndim == 0:
        return result[()]
    return result


def is_bfloat16(x):
    """Return True where the float32 array ``x`` contains a bfloat16 value (its low 16 bits are zero)."""
    single = np.asarray(x)
    if single.dtype != np.float32:
        raise ValueError(f"x must be a float32 array (how bfloat16 values are stored here); got {single.dtype}")
    return (single.view(np.uint32) & _LOW_MASK) == 0


def round_exact_to_bfloat16(x):
    """Round the real number ``x`` (an mpmath mpf or an exact float) to bfloat16, ties to even.

    The reference for rounding decisions: exact integer arithmetic on the
    binary expansion of ``x`` (:func:`bcelab.reference.round_to_format`),
    so there is no intermediate float rounding.

    Returns:
        A numpy float32 scalar holding the bfloat16 value.
    """
    with mpmath.workprec(_REFERENCE_BITS):
        x = mpmath.mpf(x)
    facts = BFLOAT16
    return np.float32(round_to_format(x, facts.precision, facts.min_exponent, facts.max_exponent))


def naive_sigmoid_bfloat16(z):
    """Evaluate ``1 / (1 + exp(-z))`` in emulated bfloat16: each operation in float32, rounded to bfloat16.

    This is how bfloat16 kernels without native transcendental units commonly
    work (compute in float32, store in bfloat16). NOTE: a given accelerator
    may round its ``exp`` differently; the thresholds found from this
    emulation can then move by an ulp.

    Args:
        z: bfloat16 values stored in float32 (see :func:`round_to_bfloat16`).

    Returns:
        float32 array (or scalar) of bfloat16 values.
    """
    z = np.asarray(z, dtype=np.float32)
    one = np.float32(1)
    # exp(-z) overflows to inf for z below about -88.7: that is the failure being emulated.
    with np.errstate(over="ignore"):
        exponential = round_to_bfloat16(np.exp(-z))
    denominator = round_to_bfloat16(one + exponential)
    return round_to_bfloat16(one / denominator)


def correctly_rounded_sigmoid_bfloat16(z):
    """Return σ(z) computed with mpmath and rounded once to bfloat16 (the best any bfloat16 σ can do)."""
    with mpmath.workprec(_REFERENCE_BITS):
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf(float(z))))
        return round_exact_to_bfloat16(exact)


@dataclass(frozen=True)
class BFloat16SigmoidThresholds:
    """The logits at which σ(z) saturates in bfloat16, named as in :class:`bcelab.floats.SigmoidThresholds`.

    Every value is a bfloat16 logit stored as a numpy float32 scalar.
    "Naive" is :func:`naive_sigmoid_bfloat16`; "rounded" is
    :func:`correctly_rounded_sigmoid_bfloat16`.
    """

    naive_one: np.float32  # smallest z with naive σ(z) == 1
    rounded_one: np.float32  # smallest z with rounded σ(z) == 1
    naive_zero: np.float32  # largest z with naive σ(z) == 0 (exp(-z) overflows)
    rounded_zero: np.float32  # largest z with rounded σ(z) == 0 (underflow)


def _truncate_to_bfloat16(single):
    """Drop the low 16 bits of a float32 scalar: round towards zero to bfloat16."""
    bits = np.asarray(single, dtype=np.float32).view(np.uint32) & _HIGH_MASK
    return bits.view(np.float32)[()]


def _search_bfloat16(predicate, direction):
    """Return the first bfloat16 value from 0 in ``direction`` at which ``predicate`` holds.

    Reuses :func:`bcelab.floats.search_outward` over float32. The predicate
    is applied to the float32 value truncated towards zero to bfloat16, which
    is constant between adjacent bfloat16 values. So the first float32 value
    at which the wrapped predicate is true is itself a bfloat16 value.
    """
    def on_bfloat16(single):
        return predicate(_truncate_to_bfloat16(single))

    return floats.search_outward(on_bfloat16, np.float32(0), direction)


@functools.cache
def bfloat16_sigmoid_thresholds():
    """Find where σ(z) rounds to 1 or to 0 in bfloat16, naively and correctly rounded.

    Monotonicity, which the bisection needs, holds for the same reasons as in
    :func:`bcelab.floats.sigmoid_thresholds`: σ is increasing and every
    rounding to nearest is monotone.

    Returns:
        A :class:`BFloat16SigmoidThresholds`.
    """
    return BFloat16SigmoidThresholds(
        naive_one=_search_bfloat16(lambda z: bool(naive_sigmoid_bfloat16(z) == 1), 1),
        rounded_one=_search_bfloat16(lambda z: bool(correctly_rounded_sigmoid_bfloat16(z) == 1), 1),
        naive_zero=_search_bfloat16(lambda z: bool(naive_sigmoid_bfloat16(z) == 0), -1),
        rounded_zero=_search_bfloat16(lambda z: bool(correctly_rounded_sigmoid_bfloat16(z) == 0), -1),
    )
