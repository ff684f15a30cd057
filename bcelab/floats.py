"""IEEE-754 facts about float16, float32 and float64, and where the sigmoid saturates in each.

Nothing here is typed in: the dtype facts come from ``np.finfo`` and every
threshold is found by a search over the representable values of the dtype.

The search works on the ordered integer representation ("ordinal") of a
float: for IEEE binary formats, reinterpreting the bits of a non-negative
float as an unsigned integer preserves order, and mapping a negative float to
minus the ordinal of its magnitude extends that to all non-NaN values. One
ordinal step is one ULP, the next value ``np.nextafter`` returns, so a
bisection over ordinals visits only representable values and ends on adjacent
ones.

References:
    IEEE Std 754-2019, IEEE Standard for Floating-Point Arithmetic: the binary
    interchange formats and rounding to nearest, ties to even.
    D. Goldberg (1991), "What every computer scientist should know about
    floating-point arithmetic", ACM Computing Surveys 23(1), 5-48.
"""

import contextlib
import functools
import warnings
from dataclasses import dataclass

import numpy as np

from bcelab.naive import naive_bce, naive_sigmoid
from bcelab.reference import exact_sigmoid, round_to

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

# The unsigned integer type with the same width as each float type, for ordinals.
_BITS_AS_UNSIGNED = {2: np.uint16, 4: np.uint32, 8: np.uint64}


@dataclass(frozen=True)
class DtypeFacts:
    """The IEEE-754 parameters of one binary floating-point dtype, read from ``np.finfo``."""

    dtype: np.dtype
    bits: int  # storage width
    precision: int  # significand bits, the implicit leading bit included
    eps: float  # spacing of the numbers just above 1: 2**(1 - precision)
    epsneg: float  # spacing of the numbers just below 1: eps / 2
    max: float  # largest finite value
    smallest_normal: float  # 2**minexp
    smallest_subnormal: float  # 2**(minexp - precision + 1)
    min_exponent: int  # exponent of smallest_normal
    max_exponent: int  # 2**max_exponent overflows


def check_float_dtype(dtype):
    """Return ``np.dtype(dtype)``, or raise ValueError unless it is float16, float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"dtype must be float16, float32 or float64; got {dtype!r}") from error
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float16, float32 or float64; got {dtype}")
    return dtype


def dtype_facts(dtype):
    """Return the :class:`DtypeFacts` of float16, float32 or float64, read from ``np.finfo``.

    Raises:
        ValueError: for any other dtype.
    """
    dtype = check_float_dtype(dtype)
    info = np.finfo(dtype)
    return DtypeFacts(
        dtype=dtype,
        bits=info.bits,
        precision=info.nmant + 1,
        eps=float(info.eps),
        epsneg=float(info.epsneg),
        max=float(info.max),
        smallest_normal=float(info.smallest_normal),
        smallest_subnormal=float(info.smallest_subnormal),
        min_exponent=info.minexp,
        max_exponent=info.maxexp,
    )


def to_ordinal(x):
    """Return the position of the float ``x`` in the ordered sequence of its dtype's values.

    ``to_ordinal(0.0) == to_ordinal(-0.0) == 0``; adjacent representable values
    have adjacent ordinals; ±inf map one step beyond ±max.

    Args:
        x: a numpy float16, float32 or float64 scalar, not NaN.

    Returns:
        A Python int.

    Raises:
        ValueError: if ``x`` is NaN or not one of the three dtypes.
    """
    x = np.asarray(x)
    check_float_dtype(x.dtype)
    if np.isnan(x):
        raise ValueError("NaN has no position among the ordered floats")
    magnitude = int(np.abs(x).view(_BITS_AS_UNSIGNED[x.dtype.itemsize]))
    return -magnitude if np.signbit(x) else magnitude


def from_ordinal(ordinal, dtype):
    """Return the float of ``dtype`` at position ``ordinal`` (the inverse of :func:`to_ordinal`)."""
    dtype = check_float_dtype(dtype)
    unsigned = _BITS_AS_UNSIGNED[dtype.itemsize]
    magnitude = np.array(abs(ordinal), dtype=unsigned).view(dtype)[()]
    return -magnitude if ordinal < 0 else magnitude


def ulp_distance(a, b):
    """Return the signed number of ULP steps from ``a`` to ``b``, two floats of the same dtype.

    Adjacent floats are one step apart: ``ulp_distance(x, np.nextafter(x, inf)) == 1``.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype:
        raise ValueError(f"a and b must have the same dtype; got {a.dtype} and {b.dtype}")
    return to_ordinal(b) - to_ordinal(a)


def first_true(predicate, false_at, true_at):
    """Return the representable value nearest ``false_at`` at which ``predicate`` is true.

    Bisection over ordinals between a value where ``predicate`` is false and
    one where it is true, in either order. It is valid when the predicate is
    monotone along that range (false, then true from some value on), which is
    the case for every threshold in this module: each is a comparison of a
    composition of monotone operations, and IEEE rounding to nearest is
    monotone (x <= y implies fl(x) <= fl(y)).

    Args:
        predicate: a function of one scalar of the dtype, returning a bool.
        false_at, true_at: scalars of the same dtype bracketing the change.

    Returns:
        The scalar ``t`` with ``predicate(t)`` true and ``predicate`` false at
        the neighbour of ``t`` on the side of ``false_at``.

    Raises:
        ValueError: if the bracket does not hold (the predicate is not false
            at ``false_at`` and true at ``true_at``).
    """
    dtype = np.asarray(false_at).dtype
    if predicate(false_at) or not predicate(true_at):
        raise ValueError(
            f"first_true needs predicate(false_at) false and predicate(true_at) true; "
            f"got {predicate(false_at)} at {float(false_at)!r} and {predicate(true_at)} at {float(true_at)!r}"
        )
    low, high = to_ordinal(false_at), to_ordinal(true_at)
    while abs(high - low) > 1:
        middle = (low + high) // 2
        if predicate(from_ordinal(middle, dtype)):
            high = middle
        else:
            low = middle
    return from_ordinal(high, dtype)


def search_outward(predicate, start, direction):
    """Return the first value from ``start`` towards ``direction`` (+1 or -1) at which ``predicate`` is true.

    Doubles the distance from ``start`` (1, 2, 4, ... in the direction) until
    the predicate holds, then bisects with :func:`first_true`. The predicate
    must be false at ``start`` and monotone in the direction searched.

    Raises:
        ValueError: if ``direction`` is not ±1 or the predicate stays false
            up to ±max of the dtype.
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1; got {direction!r}")
    dtype = np.asarray(start).dtype
    limit = np.finfo(dtype).max * dtype.type(direction)
    step = 1.0
    while True:
        # Stop at ±max instead of casting a larger number, which would overflow to ±inf.
        distance = float(start) + direction * step
        candidate = limit if abs(distance) >= abs(float(limit)) else dtype.type(distance)
        if predicate(candidate):
            return first_true(predicate, start, candidate)
        if candidate == limit:
            raise ValueError(f"the predicate is false from {float(start)!r} up to {float(limit)!r}")
        step *= 2.0


def correctly_rounded_sigmoid(z):
    """Return σ(z) computed exactly with mpmath and rounded once into the dtype of ``z``.

    The reference the naive form is measured against: the best any
    implementation of σ can return in that dtype.

    Args:
        z: a numpy float16, float32 or float64 scalar.

    Returns:
        A numpy scalar of the dtype of ``z``.
    """
    dtype = check_float_dtype(np.asarray(z).dtype)
    return round_to(exact_sigmoid(z), dtype)


@dataclass(frozen=True)
class SigmoidThresholds:
    """Saturation thresholds of σ(z) and of the textbook loss in one dtype, each a scalar of that dtype.

    "Naive" means ``1 / (1 + exp(-z))`` evaluated in the dtype
    (:func:`bcelab.naive.naive_sigmoid`); "rounded" means the exact σ(z)
    rounded once to the dtype (:func:`correctly_rounded_sigmoid`).
    """

    dtype: np.dtype
    naive_one: np.floating  # smallest z with naive σ(z) == 1
    rounded_one: np.floating  # smallest z with rounded σ(z) == 1
    naive_zero: np.floating  # largest z with naive σ(z) == 0 (exp(-z) overflows)
    rounded_zero: np.floating  # largest z with rounded σ(z) == 0 (underflow)
    naive_loss_y0_inf: np.floating  # smallest z with naive -log(1 - σ(z)) == inf
    naive_loss_y1_inf: np.floating  # largest z with naive -log σ(z) == inf


@functools.cache
def sigmoid_thresholds(dtype):
    """Find where σ(z) rounds to 1 or to 0, naively and correctly rounded, and where the naive loss is inf.

    Each threshold is found by :func:`search_outward` from 0 over the values
    of ``dtype``. The bisection needs each predicate to be monotone in z.
    σ is increasing, and the naive form composes negation, ``exp``, ``1 + x``
    and ``1 / x``, each monotone under round-to-nearest. ``-log(1 - p)`` and
    ``-log p`` are monotone in p.

    NOTE: numpy's ``exp`` is not correctly rounded, so its monotonicity is an
    assumption. The tests check it ULP by ULP around each naive threshold,
    and over every float16 value.

    Args:
        dtype: float16, float32 or float64.

    Returns:
        A :class:`SigmoidThresholds`.
    """
    dtype = check_float_dtype(dtype)
    zero = dtype.type(0)

    def naive_is_one(z):
        return bool(naive_sigmoid(z) == 1)

    def naive_is_zero(z):
        return bool(naive_sigmoid(z) == 0)

    def rounded_is_one(z):
        return bool(correctly_rounded_sigmoid(z) == 1)

    def rounded_is_zero(z):
        return bool(correctly_rounded_sigmoid(z) == 0)

    # -log(1 - p) is the textbook loss for label 0, -log p the one for label 1.
    def loss_y0_is_inf(z):
        return bool(np.isposinf(naive_bce(naive_sigmoid(z), dtype.type(0))))

    def loss_y1_is_inf(z):
        return bool(np.isposinf(naive_bce(naive_sigmoid(z), dtype.type(1))))

    return SigmoidThresholds(
        dtype=dtype,
        naive_one=search_outward(naive_is_one, zero, 1),
        rounded_one=search_outward(rounded_is_one, zero, 1),
        naive_zero=search_outward(naive_is_zero, zero, -1),
        rounded_zero=search_outward(rounded_is_zero, zero, -1),
        naive_loss_y0_inf=search_outward(loss_y0_is_inf, zero, 1),
        naive_loss_y1_inf=search_outward(loss_y1_is_inf, zero, -1),
    )


@contextlib.contextmanager
def recorded_warnings():
    """Record the warnings raised inside the ``with`` block as stable one-line messages.

    Yields a list that, when the block ends, holds each distinct warning once,
    in order of first appearance, as ``"<category name>: <message>"`` (for
    example ``"RuntimeWarning: divide by zero encountered in log"``). Nothing
    reaches stderr, so a notebook can print exactly these lines.
    """
    messages = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield messages
        finally:
            for warning in caught:
                line = f"{warning.category.__name__}: {warning.message}"
                if line not in messages:
                    messages.append(line)
