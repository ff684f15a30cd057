"""Softmax, log-softmax and the categorical (softmax) cross-entropy, computed from logits.

The multi-class counterpart of the binary API: ``log_softmax`` shifts by the
maximum logit (the log-sum-exp trick), so nothing overflows, and
``softmax_cross_entropy_with_logits`` combines it with the labels without ever
forming ``log(softmax(z))`` from a rounded probability.

Edge rules, shared by every function here (``axis`` is the class axis):

- ``logits`` and ``labels`` broadcast as numpy arrays do. The result dtype is
  the floating dtype of the inputs (float16 in, float16 out), and integer and
  boolean input is promoted to float64. float16 and float32 are computed in
  float64 and rounded once at the end. float64 (and longdouble) is computed in
  its own dtype, with the rounding error of each difference z_j - max carried
  into exp (TwoSum), because exp turns that error, up to half an ULP of
  |z_j - max|, into a relative error of up to |z_j - max| / 2 ULPs (hundreds
  of ULPs for a tiny loss such as 3.6e-230).
- The sum of the terms exp(z_j - max) is compensated (pairwise TwoSum), so its
  error does not grow with the number of classes. Subnormal terms would each
  be rounded to a multiple of the smallest subnormal. So where they matter,
  the terms are summed scaled by 2^k and unscaled once at the end, and a tiny
  or subnormal log-normalizer (the loss of a confident, correct prediction
  over many classes) keeps its digits.
- Accuracy: log_softmax, softmax and the cross-entropy with one-hot or soft
  labels are within 1 ULP for float16 and float32 (the largest error found
  is 0.5 ULP) and within 4 ULP for float64 (the largest found is 3.0 ULP for
  softmax, 2.0 for one-hot labels and 1.7 for log_softmax and soft labels).
  These were measured against mpmath with numpy 2.4 on an x86-64 CPU with
  AVX-512, on about 14,000 rows per dtype with 2 to 8 classes and 180 rows
  with 100, 1,000 or 100,000 classes (there the largest float64 error found
  is 2.3 ULP for softmax and 1.5 for the rest). The rows are random or
  adversarial (near-equal maxima, tiny losses down to a subnormal
  log-normalizer, logits up to near the largest float). The float64 error
  comes from exp, the one rounding of the sum and log1p, each good to about
  one ULP, so it depends on numpy's exp and log1p on the CPU, but not on the
  number of classes.
  tests/test_softmax.py pins these bounds for up to 100,000 classes.
- A logit of ``-inf`` is allowed and means "this class is impossible": its
  softmax is 0 and its log-softmax is ``-inf``. In the cross-entropy it
  contributes 0 when its label is 0, and makes the loss ``+inf`` when its label
  is positive.
- A single ``+inf`` logit along the axis is the limit of one logit growing
  without bound: softmax one-hot at that class, log-softmax 0 there and
  ``-inf`` elsewhere. Two or more ``+inf`` logits along the axis have no limit
  (their ratio is undefined), so those entries are NaN, while the finite
  entries still have the limit 0 (log-softmax ``-inf``).
- A slice whose logits are all ``-inf`` has no limit either (the result depends
  on how the logits approach ``-inf``), so the whole slice is NaN, and so is
  its loss.
- NaN in any logit of a slice makes that whole slice NaN (the normalizer
  depends on every logit), without an exception.
- Valid input, infinite logits included, emits no floating-point
  ``RuntimeWarning`` and raises no ``FloatingPointError`` even under
  ``np.errstate(all="raise")``: the overflow and underflow that give a
  correctly rounded 0 or inf are expected, so they are ignored inside.
- Labels must be probability vectors along ``axis``. Every entry must lie
  in [0, 1] and not be NaN, and each vector must sum to 1 within
  ``sqrt(eps)`` of the result dtype. Otherwise ``ValueError`` names the
  first offending value or vector, with its index in the labels' own shape
  (before broadcasting against the logits).
"""

import decimal
import fractions
import functools
import math
from typing import NamedTuple

import numpy as np

from bcelab._validation import as_float_array, check_unit_interval, finish, result_dtype


# Three range errors are expected on valid input, and each gives the correctly
# rounded value. exp(z_j - m) underflows for classes far below the maximum.
# z_j - m overflows to -inf when both are huge with opposite signs. Rounding the
# result to float16 or float32 may overflow or underflow. Ignoring them here keeps
# the caller's np.errstate (even all="raise") from turning them into warnings or
# exceptions. "invalid" stays on, because valid input creates no NaN.
def _expected_range_errors():
    """Return a fresh errstate context that ignores overflow and underflow."""
    return np.errstate(over="ignore", under="ignore")


def _working_dtype(dtype):
    """Return the dtype to compute in: float16 and float32 widen to float64, wider dtypes stay."""
    if np.finfo(dtype).bits < 64:
        return np.dtype(np.float64)
    return dtype


def _normalize_axis(axis, ndim):
    """Return ``axis`` as a non-negative int, raising ValueError when out of range."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ValueError(f"axis must be an int; got {axis!r}")
    if ndim == 0:
        raise ValueError("logits must have at least one dimension (the class axis); got a scalar")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for logits with {ndim} dimensions")
    return int(axis) % ndim


def _check_classes(shape, axis):
    """Raise ValueError if the class axis is empty (softmax needs at least one class)."""
    if shape[axis] == 0:
        raise ValueError(f"logits must have at least one class along axis {axis}; got shape {shape}")


def _underflow_cutoff(dtype):
    """Return a C > 0 with exp(-C) == 0 in ``dtype``: far below the smallest subnormal."""
    info = np.finfo(dtype)
    return dtype.type(2 * (info.nmant - info.minexp + 2) * np.log(2.0))


def _two_sum(a, b):
    """Return (s, e) with s = fl(a + b) and s + e == a + b exactly (Knuth's TwoSum)."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def _compensated_sum(terms, axis):
    """Sum ``terms`` along ``axis`` (kept with length 1), with the error of about one rounding.

    Pairwise summation in which every addition is a TwoSum: the rounding
    errors are summed on the side and added once at the end. For n
    non-negative terms the relative error is eps/2 plus about
    n * log2(n) * eps^2, so it does not grow with n in practice (a plain sum
    of n terms can lose up to n * eps / 2). The terms must be finite.
    """
    values = np.moveaxis(terms, axis, -1)
    error_total = np.zeros(values.shape[:-1], dtype=values.dtype)
    while values.shape[-1] > 1:
        count = values.shape[-1]
        paired = count - count % 2
        sums, errors = _two_sum(values[..., 0:paired:2], values[..., 1:paired:2])
        error_total = error_total + np.sum(errors, axis=-1)
        if count % 2:
            sums = np.concatenate([sums, values[..., -1:]], axis=-1)
        values = sums
    return np.expand_dims(values[..., 0] + error_total, axis)


def _fraction_to_dtype(dtype, value):
    """Round a Fraction to ``dtype`` via two float64 parts (enough for 106 bits)."""
    high = float(value)
    low = float(value - fractions.Fraction(high))
    return dtype.type(high) + dtype.type(low)


@functools.lru_cache(maxsize=None)
def _ln2_parts(dtype):
    """Return (ln2_hi, ln2_lo) in ``dtype`` with ln2_hi + ln2_lo = ln 2 to about 2 * precision bits.

    ln2_hi keeps only p - 2 - ceil(log2(C)) significant bits (p the precision,
    C the underflow cutoff), so for integers 0 <= k <= C / ln 2 + 1 and
    differences -C <= d <= 0 both k * ln2_hi and d + k * ln2_hi are exact.
    """
    with decimal.localcontext() as context:
        context.prec = 80
        ln2 = fractions.Fraction(decimal.Decimal(2).ln())
    info = np.finfo(dtype)
    cutoff = float(_underflow_cutoff(dtype))
    kept_bits = info.nmant + 1 - 2 - math.ceil(math.log2(cutoff))
    ln2_hi = fractions.Fraction(math.floor(ln2 * 2**kept_bits), 2**kept_bits)
    return _fraction_to_dtype(dtype, ln2_hi), _fraction_to_dtype(dtype, ln2 - ln2_hi)


def _scale_exponents(largest_tail, dtype):
    """Return the integer k per slice that brings the largest tail term exp(d) up to about 1.

    ``largest_tail`` is the largest z_j - m over the tail classes (all but the
    first maximum), or -inf where no tail term is left, and there k is 0. k is
    also 0 where exp(largest_tail) is at least 2^(minexp + 64): then the sum
    is at least that large, and n subnormal terms, each off by at most half
    the smallest subnormal, move it by less than n * 2^-65 of its ULP.
    """
    info = np.finfo(dtype)
    ln2 = np.log(dtype.type(2))
    needs_scaling = (largest_tail < (info.minexp + 64) * ln2) & (largest_tail >= -_underflow_cutoff(dtype))
    exponents = np.floor(-np.where(needs_scaling, largest_tail, 0) / ln2)
    return exponents.astype(np.int32)


class _LogSoftmaxParts(NamedTuple):
    """The pieces of log-softmax along the class axis, in the working dtype.

    ``log_probabilities`` and ``probabilities`` have the edge rules applied.
    ``maximum`` (m, set to 0 in slices without a finite maximum) and
    ``log_normalizer`` (log1p(r), with r the sum of exp(z_j - m) over the
    classes other than the first maximum) have the class axis kept with
    length 1. ``regular`` marks the slices with a finite maximum.
    """

    log_probabilities: np.ndarray
    probabilities: np.ndarray
    maximum: np.ndarray
    log_normalizer: np.ndarray
    regular: np.ndarray


def _log_softmax_parts(logits, axis):
    """Compute log-softmax and softmax of a float array in its dtype, with the edge rules.

    The caller has widened float16 and float32 to float64 and has set
    ``np.errstate`` for the expected overflow and underflow.
    """
    dtype = logits.dtype
    maximum = np.max(logits, axis=axis, keepdims=True)
    regular = np.isfinite(maximum)
    m = np.where(regular, maximum, 0)
    finite = np.isfinite(logits) & regular
    z = np.where(finite, logits, m)

    # log-sum-exp trick: subtract the maximum so every exponent is <= 0 and exp
    # cannot overflow. d = fl(z - m) may overflow to -inf when z and m are huge
    # and of opposite signs; its exp is 0 either way. Infinite and NaN logits
    # get -inf here (exp 0), and the edge rules below set their results.
    shifted = np.where(finite, z - m, -np.inf)
    # TwoSum: shifted + error == z - m exactly. The rounding error of z - m is up
    # to half an ULP of |z - m|, which exp turns into a relative error of up to
    # about |z - m| / 2 ULPs, so it is carried along: exp(d + e) = exp(d) * (1 + e)
    # up to e^2 / 2, below 1e-25. Differences below -C underflow exp anyway, so
    # they get error 0, which also keeps TwoSum away from infinities.
    in_range = shifted >= -_underflow_cutoff(dtype)
    _, error = _two_sum(np.where(in_range, z, 0), np.where(in_range, -m, 0))

    # The maximum's own term is exp(0) = 1, so logsumexp = m + log1p(rest) with
    # rest the sum of the other (tail) terms: log1p keeps a tiny rest that
    # 1 + rest would round away (the loss of a confident, correct prediction).
    is_maximum = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(is_maximum, np.argmax(shifted, axis=axis, keepdims=True), True, axis=axis)
    # Tail terms below exp(-C) are dropped: even 10^300 of them sum to less
    # than half the smallest subnormal.
    tail = in_range & ~is_maximum

    # Tail terms that are subnormal are each rounded to a multiple of the
    # smallest subnormal, which ruins a rest in or near the subnormal range
    # (the error grows with the class count). So such slices are scaled by
    # 2^k: exp(d + k ln 2) with k ln 2 = k * ln2_hi + k * ln2_lo, where
    # d + k * ln2_hi is exact and exp(k * ln2_lo) multiplies the sum once.
    # Slices that need no scaling get k = 0, which changes nothing.
    largest_tail = np.max(np.where(tail, shifted, -np.inf), axis=axis, keepdims=True)
    scale = _scale_exponents(largest_tail, dtype)
    ln2_hi, ln2_lo = _ln2_parts(dtype)
    scaled = np.exp(np.where(tail, shifted + scale * ln2_hi, -np.inf))
    scaled = scaled + scaled * error  # exp(x + e) = exp(x) * (1 + e) up to e^2 / 2
    low_part = np.expm1(scale * ln2_lo)
    scaled_rest = _compensated_sum(scaled, axis)
    # ldexp is exact unless the rest is subnormal, and then it is the only rounding.
    rest = np.ldexp(scaled_rest + scaled_rest * low_part, -scale)
    # A scaled slice has rest < 2^(minexp + 64) * n, where log1p(rest) = rest * (1 - rest / 2 + ...)
    # equals rest in any float format.
    log_normalizer = np.where(scale > 0, rest, np.log1p(rest))
    exponentials = np.where(is_maximum, 1, np.ldexp(scaled + scaled * low_part, -scale))
    # z_i - m - log1p(rest) = shifted + (error - log1p(rest)): both big parts are
    # <= 0, so the sum has no cancellation.
    log_probabilities = shifted + (error - log_normalizer)
    probabilities = exponentials / (1 + rest)

    # A single +inf logit takes all the probability. Two or more have no limit
    # among themselves, but the finite classes still tend to 0.
    positive_infinity = np.isposinf(logits)
    count = np.sum(positive_infinity, axis=axis, keepdims=True)
    has_infinity = count > 0
    winner_value = np.where(count == 1, 0.0, np.nan).astype(dtype)
    log_probabilities = np.where(
        has_infinity,
        np.where(positive_infinity, winner_value, -np.inf),
        log_probabilities,
    )
    probabilities = np.where(
        has_infinity,
        np.where(positive_infinity, winner_value + 1, 0.0),
        probabilities,
    )

    # All -inf (maximum -inf) or any NaN (maximum NaN): no value, the whole slice is NaN.
    undefined = np.isneginf(maximum) | np.isnan(maximum)
    log_probabilities = np.where(undefined, np.nan, log_probabilities)
    probabilities = np.where(undefined, np.nan, probabilities)
    return _LogSoftmaxParts(
        log_probabilities.astype(dtype, copy=False),
        probabilities.astype(dtype, copy=False),
        m,
        log_normalizer,
        regular,
    )


def _prepare_logits(logits, axis):
    """Validate ``logits`` and return ``(array in working dtype, result dtype, axis)``."""
    dtype = result_dtype(logits)
    array = as_float_array(logits, "logits", _working_dtype(dtype))
    axis = _normalize_axis(axis, array.ndim)
    _check_classes(array.shape, axis)
    return array, dtype, axis


def log_softmax(logits, axis=-1):
    """Compute log softmax(z) along ``axis``, stably, for logits of any magnitude.

    Shapes: the result has the shape and dtype of ``logits``.

    Formula::

        log_softmax(z)_i = z_i - logsumexp(z),
        logsumexp(z) = m + log1p(sum_{j != k} exp(z_j - m)),   m = z_k = max_j z_j

    Args:
        logits: array of logits; ``-inf`` and ``+inf`` allowed (see the module
            docstring for the limits they give).
        axis: the class axis.

    Returns:
        The log-probabilities, ``<= 0`` wherever they are defined.

    Raises:
        ValueError: if ``logits`` is not real-valued, is 0-d, or ``axis`` is
            out of range.

    Accuracy: within 1 ULP for float16 and float32 and 4 ULP for float64,
    for any number of classes (see the module docstring for how this was
    measured).

    References:
        Blanchard, Higham & Higham (2021), "Accurately computing the
        log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4): the
        shift by the maximum and the ``log1p`` of the remaining terms.
        J. R. Shewchuk (1997), "Adaptive Precision Floating-Point Arithmetic
        and Fast Robust Geometric Predicates", Discrete Comput. Geom. 18,
        Theorem 7: TwoSum (due to Knuth), the exact rounding error of a + b.
    """
    array, dtype, axis = _prepare_logits(logits, axis)
    with _expected_range_errors():
        parts = _log_softmax_parts(array, axis)
        return finish(parts.log_probabilities, dtype)


def softmax(logits, axis=-1):
    """Compute softmax(z) = exp(z_i - m) / sum_j exp(z_j - m) along ``axis``, with m = max z.

    Shapes: the result has the shape and dtype of ``logits``; along ``axis``
    it sums to 1 up to rounding wherever it is defined.

    Accuracy: each probability is within 1 ULP for float16 and float32 and
    4 ULP for float64 (see the module docstring).

    Args:
        logits: array of logits; ``-inf`` gives probability 0, a single
            ``+inf`` gives a one-hot vector (see the module docstring).
        axis: the class axis.

    Returns:
        The probabilities.

    Raises:
        ValueError: as :func:`log_softmax`.
    """
    array, dtype, axis = _prepare_logits(logits, axis)
    with _expected_range_errors():
        parts = _log_softmax_parts(array, axis)
        return finish(parts.probabilities, dtype)


def _check_label_sums(labels, shape, axis, dtype):
    """Raise ValueError if a label vector along ``axis`` does not sum to 1.

    ``labels`` has its own shape; ``shape`` is the broadcast shape of logits
    and labels, so a label array of length 1 along ``axis`` (or without that
    axis) counts once per class. The message gives the vector's index in the
    labels' own shape, without the class axis.
    """
    padding = len(shape) - labels.ndim
    padded = labels.reshape((1,) * padding + labels.shape)
    along_classes = list(padded.shape)
    along_classes[axis] = shape[axis]
    # Sum in float64 so the check measures the labels, not the rounding of the sum.
    sums = np.sum(np.broadcast_to(padded, along_classes).astype(np.float64), axis=axis)
    tolerance = float(np.sqrt(np.finfo(dtype).eps))
    bad = np.abs(sums - 1.0) > tolerance
    if not bad.any():
        return
    padded_index = np.unravel_index(np.argmax(bad), sums.shape)
    # Drop the leading axes that broadcasting added (the class axis is already gone).
    added_axes = padding - 1 if axis < padding else padding
    index = tuple(int(i) for i in padded_index[added_axes:])
    where = f"the vector at index {index} of labels (the class axis left out)" if index else "the label vector"
    raise ValueError(
        f"labels must be probability vectors along axis {axis}: {where} sums to "
        f"{float(sums[padded_index])!r}, which differs from 1 by more than the tolerance "
        f"{tolerance:.3g} (sqrt of the {np.dtype(dtype).name} eps)"
    )


def _prepare_logits_and_labels(logits, labels, axis):
    """Validate and broadcast; return ``(logits, labels, result dtype, axis)``.

    The labels are checked in their own shape, before broadcasting, so that
    an error message gives an index into the array the caller passed.
    """
    dtype = result_dtype(logits, labels)
    work = _working_dtype(dtype)
    logits_array = as_float_array(logits, "logits", work)
    labels_array = as_float_array(labels, "labels", work)
    try:
        shape = np.broadcast_shapes(logits_array.shape, labels_array.shape)
    except ValueError:
        raise ValueError(
            f"logits of shape {logits_array.shape} and labels of shape {labels_array.shape} "
            "do not broadcast against each other"
        ) from None
    axis = _normalize_axis(axis, len(shape))
    _check_classes(shape, axis)
    check_unit_interval(labels_array, "labels", allow_nan=False)
    _check_label_sums(labels_array, shape, axis, dtype)
    logits_array, labels_array = np.broadcast_arrays(logits_array, labels_array)
    return logits_array, labels_array, dtype, axis


def softmax_cross_entropy_with_logits(logits, labels, axis=-1):
    """Compute the categorical cross-entropy -sum_i y_i log softmax(z)_i along ``axis``.

    Also called softmax cross-entropy or multinomial logistic loss;
    PyTorch's ``CrossEntropyLoss`` and TensorFlow's
    ``softmax_cross_entropy_with_logits`` compute it. ``logits`` and
    ``labels`` broadcast against each other; the class axis is then reduced,
    so the result has the broadcast shape without ``axis``.

    Formula::

        L(z, y) = -sum_i y_i (z_i - logsumexp(z)) = logsumexp(z) - sum_i y_i z_i

    with the convention ``0 * log 0 := 0``: a class with label 0 contributes
    0 even when its logit is ``-inf``.

    Args:
        logits: array of logits; ``-inf`` and ``+inf`` allowed.
        labels: probability vectors along ``axis`` (one-hot or soft labels).
        axis: the class axis.

    Accuracy: within 1 ULP for float16 and float32 and 4 ULP for float64,
    with one-hot or soft labels and any number of classes (see the module
    docstring).

    Returns:
        The loss per vector, ``>= 0``. It is ``+inf`` when a class with a
        positive label has probability 0 in the limit. It is NaN for slices
        with NaN logits, with all logits ``-inf``, or with a positive label on
        one of several ``+inf`` logits.

    Raises:
        ValueError: if a label is NaN or outside [0, 1], if a label vector
            does not sum to 1 within ``sqrt(eps)`` of the result dtype, or as
            :func:`log_softmax`.
    """
    logits_array, labels_array, dtype, axis = _prepare_logits_and_labels(logits, labels, axis)
    with _expected_range_errors():
        parts = _log_softmax_parts(logits_array, axis)
        positive = labels_array > 0

        # 0 * log 0 := 0: a class the labels never use adds nothing, even if log p = -inf.
        # A slice with no value (NaN logits, all -inf) has log p = NaN on every class,
        # and some label is positive, so the NaN still reaches the sum.
        terms = labels_array * -np.where(positive, parts.log_probabilities, 0)

        # log p_i = -inf at a finite logit means z_i - m overflowed (|z_i - m| > max
        # float), yet y_i * (m - z_i + log1p(r)) can be finite for y_i < 1. The halves
        # m/2 - z_i/2 cannot overflow, and halving is exact but for a subnormal's last bit.
        overflowed = positive & parts.regular & np.isfinite(logits_array) & np.isneginf(parts.log_probabilities)
        if overflowed.any():
            far_logits = np.where(overflowed, logits_array, parts.maximum)
            half = (parts.maximum / 2 - far_logits / 2) + parts.log_normalizer / 2
            terms = np.where(overflowed, 2 * (labels_array * half), terms)

        # The terms are >= 0. Where their plain sum is finite, so is every partial sum,
        # and the compensated sum keeps the error at about one rounding for any class
        # count and memory layout (a plain np.sum along a non-last axis adds one
        # term at a time). An infinite or NaN plain sum is already the right result.
        plain = np.sum(terms, axis=axis, keepdims=True)
        finite = np.isfinite(plain)
        compensated = _compensated_sum(np.where(finite, terms, 0.0), axis)
        loss = np.squeeze(np.where(finite, compensated, plain), axis=axis)
        loss = loss + 0.0  # turns -0.0 (from 1 * -(0.0) at a log-probability of 0) into +0.0
        return finish(loss, dtype)


def softmax_cross_entropy_with_logits_grad(logits, labels, axis=-1):
    """Compute dL/dz = softmax(z) - y for the categorical cross-entropy.

    Shapes: the broadcast shape of ``logits`` and ``labels`` (nothing is
    reduced). The identity is exact because each label vector sums to 1.

    Formula::

        dL/dz_i = softmax(z)_i * sum_j y_j - y_i = softmax(z)_i - y_i

    At infinite logits this is the limit of the gradient. It is 0 for a
    ``-inf`` logit with label 0 and ``-y_i`` for a ``-inf`` logit with a
    positive label (whose loss is ``+inf``). A single ``+inf`` logit gets
    ``1 - y_i``. Entries where softmax is NaN (see :func:`softmax`) are NaN.

    Args, Raises: as :func:`softmax_cross_entropy_with_logits`.

    Returns:
        The gradient, each entry in [-1, 1].
    """
    logits_array, labels_array, dtype, axis = _prepare_logits_and_labels(logits, labels, axis)
    with _expected_range_errors():
        parts = _log_softmax_parts(logits_array, axis)
        return finish(parts.probabilities - labels_array, dtype)
