"""Compensated float64 arithmetic for the weighted and probability paths of bcelab.stable.

The paths with pos_weight, and bce on probabilities for float64 results
(for every result dtype with pos_weight), keep every product and sum exact
as an unevaluated pair hi + lo, so that only exp, log and log1p contribute
errors. A float64 result is rounded once
(a subnormal one twice, the first time 2^-53 relative). A float16 or
float32 result, computed in float64, is rounded to odd in float64 and then
to nearest in its dtype, which together round once. Products are formed on frexp
mantissas in [0.5, 1) with the binary exponents carried as integers:
Veltkamp's split then cannot overflow, Dekker's error term cannot underflow,
and a product such as w·y that is subnormal (or w·|z| beyond the largest
float) on its own still gives the right final result.
"""

import decimal
import functools
from typing import NamedTuple

import numpy as np


class Scaled(NamedTuple):
    """The exact value (hi + lo)·2^exponent, with |hi| in [0.5, 1) or hi = 0."""

    hi: np.ndarray
    lo: np.ndarray
    exponent: np.ndarray


ZERO_EXPONENT = -(1 << 20)
"""Exponent given to a zero term, far below any real one, so it never sets the common exponent of a sum."""


@functools.lru_cache(maxsize=None)
def constants(work):
    """Return the constants of the compensated kernels for the working dtype ``work``.

    split: Veltkamp's constant 2^ceil(p/2) + 1 for precision p.
    tail_start: T, from which exp(-|z|) is formed scaled as exp(-|z| + k·ln 2)·2^-k,
        so that it stays a normal number; at T, e^-T squared is far below the
        precision, so log1p(e) = e and e / (1 + e) = e there.
    tail_end: beyond it, max·e^-|z| is below half the smallest subnormal.
    ln2_hi, ln2_lo: ln 2 = ln2_hi + ln2_lo with few enough bits in ln2_hi that
        -|z| + k·ln2_hi is exact for every k used (Cody and Waite's reduction).
    atanh_coefficients: 1/(2n + 1), ..., 1/5, 1/3 for the series in :func:`log1p_pair`.
    """
    info = np.finfo(work)
    precision = info.nmant + 1
    split = work.type(2.0 ** ((precision + 1) // 2) + 1)
    tail_start = work.type(np.floor(-0.5 * np.log(info.smallest_normal)))
    tail_end = work.type(np.ceil(np.log(info.max) - np.log(info.smallest_subnormal) + 1))

    # k <= (tail_end - tail_start) / ln 2 + 1, and k·ln2_hi must fit the precision.
    k_bits = int(np.ceil(np.log2(float(tail_end - tail_start) / np.log(2) + 2)))
    # -|z| + k·ln2_hi lies in [-T - 1, -T]; a multiple of its spacing there is exact.
    fraction_bits = min(precision - k_bits, precision - 1 - int(np.floor(np.log2(float(tail_start) + 1))))
    context = decimal.Context(prec=80)
    ln2 = context.ln(decimal.Decimal(2))
    numerator = int((ln2 * 2**fraction_bits).to_integral_value(context=context))
    ln2_hi = np.ldexp(work.type(numerator), -fraction_bits)
    ln2_lo = work.type(str(ln2 - decimal.Decimal(numerator) / 2**fraction_bits))
    # Terms of the atanh series in log1p_pair: u^2 <= 1/9, so (1/9)^n < 2^-(p + 3) is enough.
    series_terms = int(np.ceil((precision + 3) / np.log2(9)))
    return {
        "split": split,
        "atanh_coefficients": [work.type(1) / work.type(2 * k + 1) for k in range(series_terms, 0, -1)],
        "tail_start": tail_start,
        "tail_end": tail_end,
        "ln2_hi": ln2_hi,
        "ln2_lo": ln2_lo,
    }


def two_sum(a, b):
    """Return (s, error) with s = fl(a + b) and s + error = a + b exactly (Knuth's TwoSum)."""
    s = a + b
    b_virtual = s - a
    error = (a - (s - b_virtual)) + (b - b_virtual)
    return s, error


def two_product(a, b, split):
    """Return (p, error) with p = fl(a·b) and p + error = a·b exactly (Dekker's TwoProduct).

    Exact when a·split and b·split do not overflow and a·b is far above the
    underflow threshold; the callers pass frexp mantissas, or quotients of at
    least e^-356 with denominators in [1, 3].
    """
    p = a * b
    a_big = a * split
    a_hi = a_big - (a_big - a)
    a_lo = a - a_hi
    b_big = b * split
    b_hi = b_big - (b_big - b)
    b_lo = b - b_hi
    error = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, error


def normalize(hi, lo, exponent=0):
    """Return the :class:`Scaled` form of (hi + lo)·2^exponent (|lo| much smaller than |hi|)."""
    mantissa, shift = np.frexp(hi)
    shift = shift + exponent
    lo = np.ldexp(lo, -shift + exponent)
    shift[mantissa == 0] = ZERO_EXPONENT
    return Scaled(mantissa, lo, shift)


def scaled_product(a, b, split):
    """Return a·b as a :class:`Scaled` from two :class:`Scaled` factors.

    Exact except for the dropped lo·lo term and the rounding of the cross
    terms, both about 2^-105 of the product in float64.
    """
    p, error = two_product(a.hi, b.hi, split)
    error += a.hi * b.lo + a.lo * b.hi
    return normalize(p, error, a.exponent + b.exponent)


def round_scaled_sum(a, b, sign, *, to_odd=False):
    """Return a + sign·b rounded to the working dtype.

    Both terms are brought to the larger exponent first, so the pairs are
    added in the normal range and rounded there. ldexp then scales the sum
    exactly, rounds it a second time when the result is subnormal, and gives
    ±inf when it overflows.

    With ``to_odd`` (float64 only) the sum is rounded to odd, for a result
    that is cast to float16 or float32 afterwards: see :func:`round_to_odd`.
    """
    exponent = np.maximum(a.exponent, b.exponent)
    a_shift = a.exponent - exponent
    b_shift = b.exponent - exponent
    s, error = two_sum(np.ldexp(a.hi, a_shift), sign * np.ldexp(b.hi, b_shift))
    error += np.ldexp(a.lo, a_shift) + sign * np.ldexp(b.lo, b_shift)
    total = round_to_odd(s, error) if to_odd else s + error
    return np.ldexp(total, exponent)


def round_to_odd(hi, lo):
    """Return hi + lo in float64, rounded to odd: truncated, with the last bit set when inexact.

    Rounding to odd in float64 and then to nearest in a format with at most
    51 bits of precision (float16, float32) gives the same result as one
    rounding to nearest of the exact hi + lo (S. Boldo and G. Melquiond,
    IEEE Transactions on Computers 57(4), 2008). A round-to-nearest float64
    sum can instead land exactly on a tie of the narrow format, for example
    on 65520, halfway between the largest float16 and the overflow. The cast
    then decides the tie without knowing on which side hi + lo lies. ldexp
    by an integer keeps the property unless the sum becomes a float64
    subnormal, which is far below every float16 and float32 value.
    """
    total, residual = two_sum(hi, lo)
    # The residual is NaN where hi + lo is ±inf or NaN; those are left as they are.
    inexact = np.isfinite(residual) & (residual != 0.0)
    bits = total.view(np.int64)
    nudge = inexact & ((bits & 1) == 0)
    # The exact sum lies between total and its neighbour toward the residual, and
    # adjacent floats differ in the last bit, so that neighbour is the odd one.
    # Stepping the bit pattern by ±1 moves to the neighbour away from or toward 0.
    away_from_zero = np.signbit(residual) == np.signbit(total)
    step = np.where(away_from_zero, 1, -1)
    step *= nudge
    bits += step
    return total


def scaled_exp_minus_abs(magnitude, constants):
    """Return (hi, lo, exponent) with exp(-|z|) = (hi + lo)·2^exponent and hi a normal number.

    For |z| >= T (``tail_start``) it is exp(r)·exp(k·ln2_lo)·2^-k with
    k = floor((|z| - T) / ln 2) and r = -|z| + k·ln2_hi exact, so the only
    error is that of exp(r), also where exp(-|z|) itself underflows. Below T,
    k = 0 and lo = 0. |z| is capped at ``tail_end``, beyond which the product
    with any finite weight rounds to 0; NaN becomes ``tail_end`` too, so the
    callers set NaN results themselves.
    """
    capped = np.fmin(magnitude, constants["tail_end"])
    k = np.floor((capped - constants["tail_start"]) / np.log(2))
    np.maximum(k, 0, out=k)
    # -|z| + k·ln2_hi is exact (few bits in ln2_hi), so the reduction adds no rounding.
    r = k * constants["ln2_hi"] - capped
    hi = np.exp(r)
    lo = hi * np.expm1(k * constants["ln2_lo"])
    return hi, lo, -k.astype(np.int32)


def log1p_pair(e, constants):
    """Return log1p(e) for e in [0, 1] as a pair (hi, lo), accurate to far below one ULP.

    log1p(e) = 2·atanh(u) = 2u + 2u^3·(1/3 + u^2/5 + ...) with u = e / (2 + e) <= 1/3:
    2u is exact up to the pair u + u_lo, and the series, at most 1/27 of the
    result, needs no extra precision. np.log1p alone would add a rounding of
    up to 0.6 ULP, which a weight w can then lift past 2 ULP of w·log1p(e).
    """
    # Fast2Sum, exact because 2 >= e: 2 + e = denominator + denominator_error.
    denominator = 2.0 + e
    denominator_error = e - (denominator - 2.0)
    u = e / denominator
    product, product_error = two_product(u, denominator, constants["split"])
    u_lo = (((e - product) - product_error) - u * denominator_error) / denominator

    v = u * u
    coefficients = constants["atanh_coefficients"]
    series = np.full_like(v, coefficients[0])
    for coefficient in coefficients[1:]:
        series *= v
        series += coefficient
    lo = 2.0 * u_lo + 2.0 * u * v * series
    # Fast2Sum, exact because 2u >= |lo|.
    hi = 2.0 * u + lo
    lo = lo - (hi - 2.0 * u)
    return hi, lo


def scaled_label_terms(z, y, w, split):
    """Return (s, c, t) for the compensated kernels, s and c as exact :class:`Scaled` values.

    s is 1 - y where z >= 0 and w·y where z < 0, the slope of the linear
    part of the loss. c = 1 - y + w·y is the weight of log1p(exp(-|z|)).
    t is 1.0 where z >= 0, else 0.0.
    """
    nonnegative = z >= 0.0
    t = nonnegative.astype(z.dtype)
    # Fast2Sum, exact because 1 >= y: 1 - y = one_minus_y + one_minus_y_error.
    one_minus_y = 1.0 - y
    one_minus_y_error = (1.0 - one_minus_y) - y
    weighted_y = scaled_product(normalize(w, np.zeros_like(w)), normalize(y, np.zeros_like(y)), split)

    # c = (1 - y) + w·y; 1 - y >= 2^-p unless y = 1, so a subnormal w·y adds nothing that counts.
    weighted_y_hi = np.ldexp(weighted_y.hi, weighted_y.exponent)
    weighted_y_lo = np.ldexp(weighted_y.lo, weighted_y.exponent)
    c_hi, c_error = two_sum(one_minus_y, weighted_y_hi)
    c = normalize(c_hi, c_error + one_minus_y_error + weighted_y_lo)

    positive_slope = normalize(one_minus_y, one_minus_y_error)
    s = Scaled(*(np.where(nonnegative, a, b) for a, b in zip(positive_slope, weighted_y)))
    return s, c, t
