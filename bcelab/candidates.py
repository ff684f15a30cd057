"""The fixes people propose for sigmoid + binary cross-entropy, each as one function of logits and labels.

Notebook 03 compares them. Every candidate has the same signature,
``candidate(z, y) -> (loss, grad)``: it takes logits ``z`` and labels ``y``,
computes in their floating dtype (see ``bcelab._validation.result_dtype``;
float16 in, float16 arithmetic and float16 out, unless the candidate's
docstring states otherwise) and returns the elementwise loss L and the elementwise gradient
dL/dz, both with the broadcast shape of ``z`` and ``y``.

The candidates that start from probabilities compute ``p`` with the textbook
sigmoid ``1 / (1 + exp(-z))`` in that dtype, as a network that ends in a
sigmoid layer does, and differentiate through ``p`` as a hand-written
backward pass does: ``dL/dz = dL/dp * dp/dz`` with ``dp/dz = p (1 - p)``.

Most of these forms produce inf or NaN somewhere. They run under
``np.errstate(all="ignore")``, so measuring them prints no ``RuntimeWarning``:
their inf and NaN results are the data. :func:`bcelab_with_logits` is the
exception: it emits no warning for valid input by design, so nothing is
silenced there.

Labels outside [0, 1] or NaN raise ``ValueError`` naming the first offending
value and its index.

References:
    scipy.special.xlogy documentation: x·log(y) with the result 0 where x = 0.
    tf.math.xdivy documentation: x / y with the result 0 where x = 0.
    tf.nn.sigmoid_cross_entropy_with_logits documentation: the loss
    ``max(z, 0) - z * y + log(1 + exp(-abs(z)))``.
    Keras documentation, ``keras.config.epsilon()``: the default fuzz factor
    1e-7.
"""

import functools

import numpy as np

from bcelab._validation import as_float_array, check_unit_interval, finish, result_dtype
from bcelab.naive import (
    clipped_bce,
    clipped_bce_grad,
    eps_denominator_grad,
    naive_bce,
    naive_chained_grad,
    naive_sigmoid,
)
from bcelab.stable import bce_with_logits_and_grad

KERAS_EPSILON = 1e-7  # Keras' default fuzz factor, keras.config.epsilon()

# The clipping margins compared in notebook 03: Keras' default, the 1e-12 that
# an older PyTorch BCELoss added inside the log, and scikit-learn's log_loss
# default up to release 1.1 (1e-15). The fourth margin, the machine epsilon of
# the dtype, depends on the inputs (clipped_machine_eps).
CLIP_EPSILONS = (KERAS_EPSILON, 1e-12, 1e-15)


def _logits_and_labels(z, y):
    """Return ``(z, y, dtype)``: validated arrays in the dtype the candidate computes in."""
    dtype = result_dtype(z, y)
    z = as_float_array(z, "z", dtype)
    y = as_float_array(y, "y", dtype)
    check_unit_interval(y, "y", allow_nan=False)
    return z, y, dtype


def xlogy(x, y):
    """Compute x·log(y) elementwise, with the result 0 wherever x == 0 (unless y is NaN).

    The convention of ``scipy.special.xlogy``, written in numpy without
    warnings: ``0·log 0`` is 0 instead of NaN, and a NaN ``y`` still gives
    NaN. Where x != 0 and y == 0 the result is ∓inf, the true value.
    """
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    safe_y = np.where(x == 0, 1, y)  # log(1) = 0 keeps the x == 0 entries free of log(0)
    with np.errstate(divide="ignore"):  # log(0) = -inf where x != 0 is the true value
        product = x * np.log(safe_y)
    return np.where(np.isnan(y), y, product)


def xdivy(x, y):
    """Compute x / y elementwise, with the result 0 wherever x == 0 (unless y is NaN).

    The convention of ``tf.math.xdivy``, the same rule as :func:`xlogy`
    applied to the quotients in dL/dp: ``0 / 0`` is 0 instead of NaN.
    """
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    safe_y = np.where(x == 0, 1, y)  # x == 0 entries divide 0 by 1
    with np.errstate(divide="ignore"):  # x / 0 = ±inf where x != 0 is the true value
        quotient = x / safe_y
    return np.where(np.isnan(y), y, quotient)


def textbook(z, y):
    """Compute the loss and dL/dz as the textbook writes them: sigmoid, BCE on p, chain rule through p.

    L = -[y log p + (1 - y) log(1 - p)] and dL/dz = (-y/p + (1 - y)/(1 - p)) · p(1 - p),
    with p = 1 / (1 + exp(-z)).
    """
    z, y, dtype = _logits_and_labels(z, y)
    p = naive_sigmoid(z)
    return naive_bce(p, y), naive_chained_grad(p, y)


def float64_promotion(z, y):
    """Compute :func:`textbook` in float64 and round the results to the dtype of the inputs.

    The first remedy of the accepted answer: more precision moves the point
    where p rounds to 1 from z ≈ 17 (float32) to z ≈ 37, and no further.
    """
    z, y, dtype = _logits_and_labels(z, y)
    loss, grad = textbook(z.astype(np.float64), y.astype(np.float64))
    with np.errstate(over="ignore"):  # a loss beyond the dtype's max rounds to inf, as it should
        return finish(loss, dtype), finish(grad, dtype)


def xlogy_convention(z, y):
    """Compute :func:`textbook` with the conventions 0·log 0 := 0 and 0/0 := 0 for the label terms.

    The second remedy of the accepted answer, which argues that the undefined
    log term is multiplied by a label of 0. L = -[xlogy(y, p) + xlogy(1 - y, 1 - p)]
    and dL/dp = -xdivy(y, p) + xdivy(1 - y, 1 - p).
    """
    z, y, dtype = _logits_and_labels(z, y)
    p = naive_sigmoid(z)
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        loss = -(xlogy(y, p) + xlogy(one - y, one - p))
        dloss_dp = -xdivy(y, p) + xdivy(one - y, one - p)
        grad = dloss_dp * (p * (one - p))
    return finish(loss, dtype), finish(grad, dtype)


def special_cases(z, y):
    """Compute :func:`textbook` with explicit branches where p is exactly 0 or 1.

    The third remedy of the accepted answer, "skip the case". Where p is 0 or
    1 the loss is its limit in p (0 where the label equals p, +inf where it
    does not) and the sample is skipped in backpropagation (dL/dz := 0).
    Elsewhere the textbook forms are finite and are used unchanged.
    """
    z, y, dtype = _logits_and_labels(z, y)
    p = naive_sigmoid(z)
    saturated = (p == 0) | (p == 1)
    interior_p = np.where(saturated, dtype.type(0.5), p)  # any value in (0, 1) keeps the unused branch finite
    interior_loss = naive_bce(interior_p, y)
    interior_grad = naive_chained_grad(interior_p, y)
    boundary_loss = np.where(y == p, dtype.type(0), dtype.type(np.inf))
    loss = np.where(saturated, boundary_loss, interior_loss)
    grad = np.where(saturated, dtype.type(0), interior_grad)
    return finish(loss, dtype), finish(grad, dtype)


def eps_in_denominator(z, y, eps=KERAS_EPSILON):
    """Compute the loss with ``eps`` added inside each log and dL/dp with ``eps`` added to each denominator.

    L = -[y log(p + eps) + (1 - y) log(1 - p + eps)], whose derivative in p
    is -y/(p + eps) + (1 - y)/(1 - p + eps) (:func:`bcelab.naive.eps_denominator_grad`),
    then dL/dz = dL/dp · p(1 - p). ``eps`` is rounded to the dtype first.
    """
    z, y, dtype = _logits_and_labels(z, y)
    p = naive_sigmoid(z)
    one = dtype.type(1)
    eps_in_dtype = dtype.type(eps)
    with np.errstate(all="ignore"):
        loss = -(y * np.log(p + eps_in_dtype) + (one - y) * np.log((one - p) + eps_in_dtype))
        grad = eps_denominator_grad(p, y, eps) * (p * (one - p))
    return finish(loss, dtype), finish(grad, dtype)


def clipped(z, y, eps):
    """Compute the loss on p clipped to [eps, 1 - eps], and dL/dz as automatic differentiation does.

    L = L_textbook(clip(p, eps, 1 - eps), y) (:func:`bcelab.naive.clipped_bce`).
    The derivative of clip is 1 inside [eps, 1 - eps] and 0 outside, so
    dL/dz = dL/dp · p(1 - p) inside and exactly 0 outside. The bounds are
    ``eps`` and ``1 - eps`` rounded to the dtype: where ``1 - eps`` rounds to
    1 the clip does nothing at p = 1.
    """
    z, y, dtype = _logits_and_labels(z, y)
    p = naive_sigmoid(z)
    one = dtype.type(1)
    low = dtype.type(eps)
    high = one - low
    loss = clipped_bce(p, y, eps)
    inside = (p >= low) & (p <= high)
    with np.errstate(all="ignore"):
        grad_inside = clipped_bce_grad(p, y, eps) * (p * (one - p))
    grad = np.where(inside, grad_inside, dtype.type(0))
    return finish(loss, dtype), finish(grad, dtype)


def clipped_machine_eps(z, y):
    """Compute :func:`clipped` with eps = ``np.finfo(dtype).eps``, the machine epsilon of the inputs' dtype."""
    dtype = result_dtype(z, y)
    return clipped(z, y, float(np.finfo(dtype).eps))


def _softplus(x):
    # softplus(x) = max(x, 0) + log1p(exp(-|x|)): exp never overflows and log1p keeps tiny values.
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_loss(z, y):
    """Compute the loss from logits with softplus, but dL/dz still through p as the textbook does.

    L = y·softplus(-z) + (1 - y)·softplus(z), because -log σ(z) = softplus(-z)
    and -log(1 - σ(z)) = softplus(z) (log-sum-exp with one term 0). The
    gradient is :func:`textbook`'s: a stable forward pass with the old
    hand-written backward pass.
    """
    z, y, dtype = _logits_and_labels(z, y)
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        loss = y * _softplus(-z) + (one - y) * _softplus(z)
    grad = naive_chained_grad(naive_sigmoid(z), y)
    return finish(loss, dtype), finish(grad, dtype)


def logits_formulation(z, y):
    """Compute the loss with TensorFlow's documented formula and dL/dz as the fused σ(z) - y.

    L = max(z, 0) - z·y + log(1 + exp(-|z|)) (with log1p) and
    dL/dz = σ(z) - y with σ(z) = 1 / (1 + exp(-z)): no division by p or 1 - p.
    """
    z, y, dtype = _logits_and_labels(z, y)
    with np.errstate(all="ignore"):
        # max(z, 0) - z y + log1p(exp(-|z|)) = softplus(z) - z y, with exp never overflowing.
        loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        grad = naive_sigmoid(z) - y
    return finish(loss, dtype), finish(grad, dtype)


def bcelab_with_logits(z, y):
    """Compute the loss and dL/dz with bcelab's stable implementation, in one pass over the logits.

    The values equal ``bcelab.bce_with_logits(z, y)`` and ``bcelab.bce_with_logits_grad(z, y)``.
    """
    return bce_with_logits_and_grad(z, y)


CANDIDATES = {
    "textbook": textbook,
    "float64 promotion": float64_promotion,
    "xlogy convention": xlogy_convention,
    "special cases": special_cases,
    "eps in denominator": eps_in_denominator,
    **{f"clip {eps:g}": functools.partial(clipped, eps=eps) for eps in CLIP_EPSILONS},
    "clip finfo.eps": clipped_machine_eps,
    "softplus loss": softplus_loss,
    "logits formulation": logits_formulation,
    "bcelab": bcelab_with_logits,
}
"""Every candidate by the name notebook 03 uses in its tables and legends, in the order it teaches them."""
