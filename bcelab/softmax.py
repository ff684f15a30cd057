"""Softmax, log-softmax and the categorical (softmax) cross-entropy, computed from logits.

The multi-class counterpart of the binary API: ``log_softmax`` shifts by the
maximum logit (the log-sum-exp trick), so nothing overflows, and
``softmax_cross_entropy_with_logits`` combines it with the labels without ever
forming ``log(softmax(z))`` from a rounded probability.

Edge rules, shared by every function here (``axis`` is the class axis):

- ``logits`` and ``labels`` broadcast as numpy arrays do. The result dtype is
  the floating dtype of the inputs (float16 in, float16 out), and integer and
  boolean input is promoted to float64. float16 is computed in float32 and
  rounded once at the end, because a float16 sum of many terms loses digits
  or overflows.
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
  ``RuntimeWarning``.
- Labels must be probability vectors along ``axis``. Every entry must lie
  in [0, 1] and not be NaN, and each vector must sum to 1 within
  ``sqrt(eps)`` of the result dtype. Otherwise ``ValueError`` names the
  first offending value or vector.
"""

import numpy as np

from bcelab._validation import as_float_array, check_unit_interval, finish, result_dtype


def _working_dtype(dtype):
    """Return the dtype to compute in: float16 widens to float32, others stay."""
    if dtype == np.float16:
        return np.dtype(np.float32)
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


def _check_classes(array, axis):
    """Raise ValueError if the class axis is empty (softmax needs at least one class)."""
    if array.shape[axis] == 0:
        raise ValueError(f"logits must have at least one class along axis {axis}; got shape {array.shape}")


def _log_softmax_work(logits, axis):
    """Compute log-softmax of a float array in its own dtype, applying the edge rules.

    Returns ``(log_probabilities, probabilities)`` so that softmax does not have
    to exponentiate the log-softmax (which would turn the absolute error of the
    normalizer into a relative error of every probability).
    """
    maximum = np.max(logits, axis=axis, keepdims=True)
    finite_maximum = np.isfinite(maximum)

    # log-sum-exp trick: subtract the maximum so every exponent is <= 0 and
    # exp cannot overflow; slices without a finite maximum are handled below.
    shift = np.where(finite_maximum, maximum, 0)
    shifted = np.where(finite_maximum, logits - shift, 0)
    exponentials = np.exp(shifted)

    # The maximum's own term is exp(0) = 1, so logsumexp = m + log1p(rest) with
    # rest the sum of the other terms: log1p keeps a tiny rest that 1 + rest
    # would round away (the loss of a confident, correct prediction).
    is_maximum = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(is_maximum, np.argmax(shifted, axis=axis, keepdims=True), True, axis=axis)
    rest = np.sum(np.where(is_maximum, 0, exponentials), axis=axis, keepdims=True)
    log_probabilities = shifted - np.log1p(rest)
    probabilities = exponentials / (1 + rest)

    # A single +inf logit takes all the probability. Two or more have no limit
    # among themselves, but the finite classes still tend to 0.
    positive_infinity = np.isposinf(logits)
    count = np.sum(positive_infinity, axis=axis, keepdims=True)
    has_infinity = count > 0
    winner_value = np.where(count == 1, 0.0, np.nan)
    log_probabilities = np.where(
        has_infinity,
        np.where(positive_infinity, winner_value, -np.inf),
        log_probabilities,
    )
    probabilities = np.where(
        has_infinity,
        np.where(positive_infinity, np.exp(winner_value), 0.0),
        probabilities,
    )

    # All -inf (maximum -inf) or any NaN (maximum NaN): no value, the whole slice is NaN.
    undefined = np.isneginf(maximum) | np.isnan(maximum)
    log_probabilities = np.where(undefined, np.nan, log_probabilities)
    probabilities = np.where(undefined, np.nan, probabilities)
    return log_probabilities.astype(logits.dtype, copy=False), probabilities.astype(logits.dtype, copy=False)


def _prepare_logits(logits, axis):
    """Validate ``logits`` and return ``(array in working dtype, result dtype, axis)``."""
    dtype = result_dtype(logits)
    array = as_float_array(logits, "logits", _working_dtype(dtype))
    axis = _normalize_axis(axis, array.ndim)
    _check_classes(array, axis)
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

    References:
        Blanchard, Higham & Higham (2021), "Accurately computing the
        log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4): the
        shift by the maximum and the ``log1p`` of the remaining terms.
    """
    array, dtype, axis = _prepare_logits(logits, axis)
    log_probabilities, _ = _log_softmax_work(array, axis)
    return finish(log_probabilities, dtype)


def softmax(logits, axis=-1):
    """Compute softmax(z) = exp(z_i - m) / sum_j exp(z_j - m) along ``axis``, with m = max z.

    Shapes: the result has the shape and dtype of ``logits``; along ``axis``
    it sums to 1 up to rounding wherever it is defined.

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
    _, probabilities = _log_softmax_work(array, axis)
    return finish(probabilities, dtype)


def _check_label_sums(labels, axis, dtype):
    """Raise ValueError if a label vector along ``axis`` does not sum to 1."""
    tolerance = float(np.sqrt(np.finfo(dtype).eps))
    # Sum in float64 so the check measures the labels, not the rounding of the sum.
    sums = np.sum(labels.astype(np.float64), axis=axis)
    bad = np.abs(sums - 1.0) > tolerance
    if not bad.any():
        return
    index = tuple(int(i) for i in np.unravel_index(np.argmax(bad), sums.shape))
    raise ValueError(
        f"labels must be probability vectors along axis {axis}: the vector at index "
        f"{index} (over the other axes) sums to {float(sums[index])!r}, which differs from 1 "
        f"by more than the tolerance {tolerance:.3g} (sqrt of the {np.dtype(dtype).name} eps)"
    )


def _prepare_logits_and_labels(logits, labels, axis):
    """Validate and broadcast; return ``(logits, labels, result dtype, axis)``."""
    dtype = result_dtype(logits, labels)
    work = _working_dtype(dtype)
    logits_array = as_float_array(logits, "logits", work)
    labels_array = as_float_array(labels, "labels", work)
    logits_array, labels_array = np.broadcast_arrays(logits_array, labels_array)
    axis = _normalize_axis(axis, logits_array.ndim)
    _check_classes(logits_array, axis)
    check_unit_interval(labels_array, "labels", allow_nan=False)
    _check_label_sums(labels_array, axis, dtype)
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
    log_probabilities, _ = _log_softmax_work(logits_array, axis)

    # 0 * log 0 := 0: a class the labels never use adds nothing, even if log p = -inf.
    # A slice with no value (NaN logits, all -inf) has log p = NaN on every class,
    # and some label is positive, so the NaN still reaches the sum.
    safe_log = np.where(labels_array > 0, log_probabilities, 0)
    loss = -np.sum(labels_array * safe_log, axis=axis)
    loss = loss + 0.0  # turns -0.0 (from -(1 * 0)) into +0.0
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
    _, probabilities = _log_softmax_work(logits_array, axis)
    return finish(probabilities - labels_array, dtype)
