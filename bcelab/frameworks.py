"""numpy reproductions of what the common frameworks compute for binary cross-entropy.

None of the frameworks is installed here. Each function evaluates, step by
step in the dtype of its inputs, the formula the framework documents or its
source implements, and its docstring names that source and version. They let
a notebook show what a framework returns at infinite logits, at tiny losses
and for confident predictions, next to the exact value.

Shared behaviour:

- Inputs broadcast as numpy arrays do. The computation runs in the floating
  dtype of the inputs (``bcelab._validation.result_dtype``), as a framework
  runs in the dtype of its tensors, and integer input is promoted to float64.
  Constants such as Keras' epsilon are converted to that dtype first, as the
  frameworks do.
- Labels outside [0, 1] or NaN, and probabilities outside [0, 1], raise
  ``ValueError`` (bcelab's rule; PyTorch's ``BCELoss`` also rejects such
  probabilities, the others do not check). A NaN probability or logit gives
  NaN.
- Like the frameworks' kernels, they compute silently: no ``RuntimeWarning``,
  even where the result is inf or NaN.
- Elementwise results (``reduction='none'`` in PyTorch terms); take the mean
  yourself.

NOTE: the formulas match the cited sources, but the frameworks' vectorised
``exp``, ``log`` and ``log1p`` may differ from numpy's in the last bit.
"""

import numpy as np

from bcelab._validation import as_float_array, check_unit_interval, finish, result_dtype
from bcelab.naive import clipped_bce, naive_sigmoid

# PyTorch BCELoss clamps each log term at -100 (aten/src/ATen/native/Loss.cpp).
TORCH_LOG_CLAMP = -100.0

# PyTorch BCELoss backward divides by max(p * (1 - p), EPSILON) with EPSILON = 1e-12 (same file).
TORCH_BCE_BACKWARD_EPSILON = 1e-12

KERAS_DEFAULT_EPSILON = 1e-7  # keras.config.epsilon() / keras.backend.epsilon() default

SKLEARN_RELEASES = ("1.1", "1.2", "1.5")

# sklearn.metrics.log_loss's default eps up to release 1.1.
SKLEARN_LEGACY_EPS = 1e-15


def _validated(dtype_inputs, **named):
    """Return the named inputs as arrays of their common result dtype, plus that dtype."""
    dtype = result_dtype(*dtype_inputs)
    arrays = {name: as_float_array(value, name, dtype) for name, value in named.items()}
    return arrays, dtype


def _check_pos_weight(pos_weight):
    """Raise ValueError unless every pos_weight is a non-negative number (NaN rejected)."""
    invalid = np.isnan(pos_weight) | (pos_weight < 0)
    if invalid.any():
        index = tuple(int(i) for i in np.unravel_index(np.argmax(invalid), pos_weight.shape))
        raise ValueError(
            f"pos_weight must be >= 0 (NaN is not allowed); found {pos_weight[index].item()!r} at index {index}"
        )


def _pair(first, second, first_name, second_name):
    """Validate two inputs together; return them as arrays of their common dtype, plus that dtype."""
    arrays, dtype = _validated((first, second), **{first_name: first, second_name: second})
    return (arrays[first_name], arrays[second_name]), dtype


def sigmoid_backward(probabilities, grad_probabilities):
    """Chain dL/dp to dL/dz through the sigmoid output p, as ``grad * p * (1 - p)``.

    This is the backward formula of ``torch.sigmoid`` (``sigmoid_backward``
    in ATen) and of TensorFlow's ``SigmoidGrad`` op: both use the stored
    output p, so once p has rounded to exactly 1 or 0 the factor is 0.
    """
    (p, grad), dtype = _pair(probabilities, grad_probabilities, "probabilities", "grad_probabilities")
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        result = grad * p * (one - p)
    return finish(result, dtype)


def _probabilities_and_labels(probabilities, labels):
    (p, y), dtype = _pair(probabilities, labels, "probabilities", "labels")
    check_unit_interval(p, "probabilities", allow_nan=True)
    check_unit_interval(y, "labels", allow_nan=False)
    return p, y, dtype


def _logits_and_labels(logits, labels):
    (z, y), dtype = _pair(logits, labels, "logits", "labels")
    check_unit_interval(y, "labels", allow_nan=False)
    return z, y, dtype


def torch_bce_loss(probabilities, labels):
    """Reproduce ``torch.nn.BCELoss(reduction='none')``: BCE on probabilities, each log clamped at -100.

    Formula (PyTorch >= 1.1; the ``log1p`` form of the second term in the
    current CPU kernel)::

        L = (y - 1) * max(log1p(-p), -100) - y * max(log(p), -100)

    So a certain wrong prediction (p = 1, y = 0) costs exactly 100 instead of
    inf, and so does every logit whose float32 sigmoid rounds to 1.

    Args:
        probabilities: p in [0, 1], e.g. ``torch.sigmoid`` outputs.
        labels: y in [0, 1].

    Returns:
        The elementwise loss, at most 100 per term.

    References:
        PyTorch documentation, ``torch.nn.BCELoss`` (2.x): "BCELoss clamps its
        log function outputs to be greater than or equal to -100".
        PyTorch source, ``aten/src/ATen/native/Loss.cpp``,
        ``binary_cross_entropy_out_cpu``.
    """
    p, y, dtype = _probabilities_and_labels(probabilities, labels)
    one = dtype.type(1)
    clamp = dtype.type(TORCH_LOG_CLAMP)
    with np.errstate(all="ignore"):
        log_p = np.maximum(np.log(p), clamp)
        log_not_p = np.maximum(np.log1p(-p), clamp)
        result = (y - one) * log_not_p - y * log_p
    return finish(result, dtype)


def torch_bce_loss_grad(probabilities, labels):
    """Reproduce the backward pass of ``torch.nn.BCELoss``: dL/dp = (p - y) / max(p (1 - p), 1e-12).

    Combine with :func:`sigmoid_backward` for dL/dz when p came from
    ``torch.sigmoid``. The floor of 1e-12 keeps the division finite, but when
    p has rounded to 1 or 0 the sigmoid factor p (1 - p) is 0 and the
    gradient reaching the logit is exactly 0: the sample stops teaching.
    In float16 the floor itself rounds to 0.

    Args:
        probabilities: p in [0, 1].
        labels: y in [0, 1].

    Returns:
        The elementwise dL/dp.

    References:
        PyTorch source, ``aten/src/ATen/native/Loss.cpp``,
        ``binary_cross_entropy_backward_out_cpu`` (``EPSILON = 1e-12``).
    """
    p, y, dtype = _probabilities_and_labels(probabilities, labels)
    one = dtype.type(1)
    floor = dtype.type(TORCH_BCE_BACKWARD_EPSILON)
    with np.errstate(all="ignore"):
        result = (p - y) / np.maximum((one - p) * p, floor)
    return finish(result, dtype)


def _torch_log_sigmoid(z, dtype):
    """``torch.nn.functional.logsigmoid`` as its CPU kernel computes it: min(z, 0) - log1p(exp(-|z|))."""
    return np.minimum(z, dtype.type(0)) - np.log1p(np.exp(-np.abs(z)))


def torch_bce_with_logits_loss(logits, labels, *, pos_weight=None):
    """Reproduce ``torch.nn.BCEWithLogitsLoss(reduction='none', pos_weight=...)`` (PyTorch >= 2.3).

    Formula, with w = pos_weight (1 when not given)::

        L = (1 - y) * z - (1 + (w - 1) * y) * log_sigmoid(z)

    Mathematically equal to -[w·y·log σ(z) + (1 - y)·log(1 - σ(z))], but the
    two terms cancel: for y = 0 and z = -15.25 in float32, ``log_sigmoid``
    is -15.25 - 2.4e-7, which rounds to -15.25, and the loss comes out 0.
    At infinite logits it gives NaN (0·inf or inf - inf) except for the
    wrong-side case (z = +inf, y = 0), which gives +inf.

    Args:
        logits: z, any real or ±inf.
        labels: y in [0, 1].
        pos_weight: optional weight of the positive term, >= 0, broadcast
            against the labels.

    Returns:
        The elementwise loss.

    References:
        PyTorch documentation, ``torch.nn.BCEWithLogitsLoss`` (2.x): the loss
        with ``pos_weight`` and the statement that it is more numerically
        stable than a Sigmoid followed by BCELoss.
        PyTorch source, ``aten/src/ATen/native/Loss.cpp``,
        ``binary_cross_entropy_with_logits``: the ``log_sigmoid`` form above.
        NOTE: it replaced the older ``max_val`` (log-sum-exp) form through
        pull request 115539, merged in January 2024. "PyTorch 2.3" is the
        first release branched after that date, inferred from the date and
        not checked against the release notes.
    """
    named = {"logits": logits, "labels": labels}
    if pos_weight is not None:
        named["pos_weight"] = pos_weight
    arrays, dtype = _validated(tuple(named.values()), **named)
    z, y = arrays["logits"], arrays["labels"]
    check_unit_interval(y, "labels", allow_nan=False)
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        log_sigmoid = _torch_log_sigmoid(z, dtype)
        if pos_weight is not None:
            _check_pos_weight(arrays["pos_weight"])
            log_sigmoid = log_sigmoid * ((arrays["pos_weight"] - one) * y + one)
        result = (one - y) * z - log_sigmoid
    return finish(result, dtype)


def torch_bce_with_logits_grad(logits, labels, *, pos_weight=None):
    """Reproduce the backward pass of ``BCEWithLogitsLoss``: dL/dz = σ(z) - y, or with pos_weight w, (w·y + 1 - y)·σ(z) - w·y.

    σ is ``torch.sigmoid``'s ``1 / (1 + exp(-z))`` in the dtype of z, so for
    a confident positive (z = 20, y = 1, float32) σ(z) rounds to 1 and the
    gradient is exactly 0 instead of -2.1e-9.

    Args, Returns: as :func:`torch_bce_with_logits_loss`, returning dL/dz.

    References:
        PyTorch source, ``binary_cross_entropy_with_logits_backward``
        (``torch/csrc/autograd/FunctionsManual.cpp`` in 2.x, formerly in
        ``aten/src/ATen/native/Loss.cpp``).
    """
    named = {"logits": logits, "labels": labels}
    if pos_weight is not None:
        named["pos_weight"] = pos_weight
    arrays, dtype = _validated(tuple(named.values()), **named)
    z, y = arrays["logits"], arrays["labels"]
    check_unit_interval(y, "labels", allow_nan=False)
    one = dtype.type(1)
    p = naive_sigmoid(z)
    with np.errstate(all="ignore"):
        if pos_weight is None:
            result = p - y
        else:
            _check_pos_weight(arrays["pos_weight"])
            weighted_labels = arrays["pos_weight"] * y
            result = (weighted_labels + one - y) * p - weighted_labels
    return finish(result, dtype)


def tf_sigmoid_cross_entropy_with_logits(logits, labels):
    """Reproduce ``tf.nn.sigmoid_cross_entropy_with_logits``: max(z, 0) - z·y + log1p(exp(-|z|)).

    Accurate for every finite logit, tiny losses included. At infinite
    logits ``z * y`` gives inf - inf or 0·inf: NaN, except z = -inf with
    y = 1, which gives +inf.

    Args:
        logits: z, any real or ±inf.
        labels: y in [0, 1].

    Returns:
        The elementwise loss.

    References:
        TensorFlow API documentation, ``tf.nn.sigmoid_cross_entropy_with_logits``
        (r1.15 to 2.x), which derives the formula.
        TensorFlow source, ``tensorflow/python/ops/nn_impl.py``: ``relu`` and
        ``-|z|`` are written with ``where(z >= 0, ...)`` "to allow computing
        gradients at zero".
    """
    z, y, dtype = _logits_and_labels(logits, labels)
    zero = dtype.type(0)
    with np.errstate(all="ignore"):
        non_negative = z >= zero
        relu_logits = np.where(non_negative, z, zero)
        neg_abs_logits = np.where(non_negative, -z, z)
        result = relu_logits - z * y + np.log1p(np.exp(neg_abs_logits))
    return finish(result, dtype)


def tf_sigmoid_cross_entropy_with_logits_grad(logits, labels):
    """Return the derivative TensorFlow's autodiff takes of :func:`tf_sigmoid_cross_entropy_with_logits`.

    Differentiating the ``where`` form term by term gives, with
    e = exp(-|z|)::

        dL/dz = [z >= 0] - y - sign*(z) * e / (1 + e),   sign*(z) = +1 if z >= 0 else -1

    For z >= 0 and y = 1 the first two terms cancel exactly and the last is
    -σ(-z), so a confident positive gets its tiny gradient (-2.1e-9 at z = 20)
    instead of 0. NOTE: derived by hand from the graph; TensorFlow's own
    kernels may order the additions differently in the last bit.
    """
    z, y, dtype = _logits_and_labels(logits, labels)
    zero, one = dtype.type(0), dtype.type(1)
    with np.errstate(all="ignore"):
        non_negative = z >= zero
        e = np.exp(np.where(non_negative, -z, z))
        step = np.where(non_negative, one, zero)
        sign = np.where(non_negative, one, -one)
        result = step - y - sign * (e / (one + e))
    return finish(result, dtype)


def _jax_softplus(x, dtype):
    """``jax.nn.softplus`` = ``jnp.logaddexp(x, 0)`` = max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, dtype.type(0)) + np.log1p(np.exp(-np.abs(x)))


def optax_sigmoid_binary_cross_entropy(logits, labels):
    """Reproduce ``optax.sigmoid_binary_cross_entropy``: -y·log_sigmoid(z) - (1 - y)·log_sigmoid(-z).

    ``jax.nn.log_sigmoid(x)`` is ``-softplus(-x)`` with ``softplus`` =
    ``logaddexp(x, 0)``, so each term is accurate, tiny losses included.
    At infinite logits the zero-weighted term is 0·(-inf) = NaN.

    Args:
        logits: z, any real or ±inf.
        labels: y in [0, 1].

    Returns:
        The elementwise loss.

    References:
        optax source, ``optax/losses/_classification.py``,
        ``sigmoid_binary_cross_entropy`` (optax 0.2.x), with its comment
        "log(1 - sigmoid(x)) = log_sigmoid(-x), the latter more numerically
        stable".
        JAX source, ``jax/_src/nn/functions.py``: ``log_sigmoid`` and ``softplus``.
    """
    z, y, dtype = _logits_and_labels(logits, labels)
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        log_p = -_jax_softplus(-z, dtype)
        log_not_p = -_jax_softplus(z, dtype)
        result = -y * log_p - (one - y) * log_not_p
    return finish(result, dtype)


def optax_sigmoid_binary_cross_entropy_grad(logits, labels):
    """Return the gradient JAX's autodiff gives for :func:`optax_sigmoid_binary_cross_entropy`.

    ``logaddexp`` has a custom JVP: d/dx logaddexp(x, 0) = exp(x - logaddexp(x, 0)),
    with +inf replaced by 0 inside the ``exp``. So::

        dL/dz = -y·s(-z) + (1 - y)·s(z),   s(x) = exp(x - softplus(x)) = σ(x)

    accurate for a confident positive, and finite at ±inf.

    References:
        JAX source, ``jax/_src/numpy/ufuncs.py``, ``_logaddexp_jvp`` and
        ``_replace_inf``. NOTE: derived by hand from that rule, not run in JAX.
    """
    z, y, dtype = _logits_and_labels(logits, labels)
    one, zero = dtype.type(1), dtype.type(0)

    def jvp_sigmoid(x):
        # _replace_inf: +inf becomes 0 on both sides of the subtraction.
        softplus = _jax_softplus(x, dtype)
        x_safe = np.where(np.isposinf(x), zero, x)
        softplus_safe = np.where(np.isposinf(softplus), zero, softplus)
        return np.exp(x_safe - softplus_safe)

    with np.errstate(all="ignore"):
        result = -y * jvp_sigmoid(-z) + (one - y) * jvp_sigmoid(z)
    return finish(result, dtype)


def _keras_epsilon(epsilon, dtype):
    """Return Keras' epsilon converted to ``dtype``, after checking it lies in [0, 0.5]."""
    value = float(epsilon)
    if not 0.0 <= value <= 0.5:
        raise ValueError(f"epsilon must lie in [0, 0.5]; got {epsilon!r}")
    return dtype.type(value)


def keras_binary_crossentropy(outputs, labels, *, from_logits=False, epsilon=KERAS_DEFAULT_EPSILON,
                              epsilon_in_log=False):
    """Reproduce ``keras.losses.binary_crossentropy`` (elementwise, before the mean over the last axis).

    With ``from_logits=True`` Keras calls TensorFlow's formula
    (:func:`tf_sigmoid_cross_entropy_with_logits`). Otherwise it clips the
    probabilities to ``[epsilon, 1 - epsilon]`` (epsilon converted to the
    dtype) and takes the logs::

        Keras 3:                 L = -[y log(p_c) + (1 - y) log(1 - p_c)]
        tf.keras 2.x backend:    L = -[y log(p_c + eps) + (1 - y) log(1 - p_c + eps)]

    The second form (``epsilon_in_log=True``) applies epsilon twice. In
    float16, ``1 - 1e-7`` rounds to 1, so the clip does nothing at p = 1.

    Keras' TensorFlow backend also recovers the logits on its own when the
    probabilities come straight from a Keras ``sigmoid`` activation (it
    caches them as ``_keras_logits``) or from a ``Sigmoid`` graph op, and
    then uses the logits formula even with ``from_logits=False``. That
    depends on the graph, which numpy does not have: pass the logits with
    ``from_logits=True`` to reproduce it.

    Args:
        outputs: probabilities in [0, 1], or logits when ``from_logits``.
        labels: y in [0, 1].
        from_logits: whether ``outputs`` are logits.
        epsilon: Keras' fuzz factor, ``keras.config.epsilon()`` (default 1e-7).
        epsilon_in_log: True for the tf.keras 2.x backend's double epsilon.

    Returns:
        The elementwise loss.

    References:
        Keras 3 source, ``keras/src/backend/tensorflow/nn.py``,
        ``binary_crossentropy`` and ``_get_logits``.
        tf.keras 2.x source, ``keras/backend.py``, ``binary_crossentropy``
        (``bce = target * tf.math.log(output + epsilon())`` after the clip).
        NOTE: the double epsilon is in the tf.keras 2.x ``backend.py``
        (``keras/src/backend.py`` in the later 2.x layout); the first and last
        releases that have it are not pinned down here.
    """
    if from_logits:
        return tf_sigmoid_cross_entropy_with_logits(outputs, labels)
    if not epsilon_in_log:
        # Keras 3's probability branch is exactly the clip-then-log patch.
        return clipped_bce(outputs, labels, epsilon)
    p, y, dtype = _probabilities_and_labels(outputs, labels)
    eps = _keras_epsilon(epsilon, dtype)
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        clipped = np.clip(p, eps, one - eps)
        result = -(y * np.log(clipped + eps) + (one - y) * np.log(one - clipped + eps))
    return finish(result, dtype)


def keras_binary_crossentropy_grad(probabilities, labels, *, epsilon=KERAS_DEFAULT_EPSILON,
                                   epsilon_in_log=False):
    """Return dL/dp that TensorFlow's autodiff takes through Keras' clipped probability branch.

    The clip passes the gradient only where ``epsilon <= p <= 1 - epsilon``
    (TensorFlow's ``clip_by_value`` gradient); outside, dL/dp is exactly 0,
    so a prediction clipped at p = 1 gets no gradient at all. Inside::

        dL/dp = -y / (p + e) + (1 - y) / (1 - p + e),   e = eps if epsilon_in_log else 0

    Combine with :func:`sigmoid_backward` for dL/dz.

    Args, References: as :func:`keras_binary_crossentropy`.
    """
    p, y, dtype = _probabilities_and_labels(probabilities, labels)
    eps = _keras_epsilon(epsilon, dtype)
    one, zero = dtype.type(1), dtype.type(0)
    shift = eps if epsilon_in_log else zero
    with np.errstate(all="ignore"):
        clipped = np.clip(p, eps, one - eps)
        inside = (p >= eps) & (p <= one - eps)
        derivative = -y / (clipped + shift) + (one - y) / (one - clipped + shift)
        result = np.where(inside, derivative, zero)
        result = np.where(np.isnan(p), np.nan, result)
    return finish(result, dtype)


def _sklearn_columns(p, rows):
    """Return the two class columns (P(y = 0), P(y = 1)) of ``y_pred``."""
    if rows:
        return p[..., 0], p[..., 1]
    return p.dtype.type(1) - p, p


def sklearn_log_loss(probabilities, labels, *, release="1.5"):
    """Reproduce the per-sample terms of ``sklearn.metrics.log_loss`` for binary labels.

    ``log_loss`` returns their mean (``normalize=True``). ``probabilities``
    is ``y_pred`` in either of its binary shapes: the positive-class
    probability p, one per sample, or rows [P(y = 0), P(y = 1)] along an
    extra last axis of length 2. Each release clips with a different eps:

    - ``"1.1"`` (releases up to 1.1): ``y_pred`` is clipped with
      ``eps=1e-15`` in its own dtype. A 1-d p then becomes the columns
      [1 - p, p], the rows are renormalised to sum 1, and the loss is
      ``-(Y * log P).sum(axis=1)``. In float32, ``1 - 1e-15`` rounds to 1, so
      p = 1 with y = 1 gives 0·log 0 = NaN.
    - ``"1.2"`` (1.2 to 1.4, ``eps="auto"``): the same with eps =
      ``np.finfo(y_pred.dtype).eps`` and ``xlogy`` (0·log 0 := 0).
    - ``"1.5"`` (1.5 and later, the ``eps`` parameter removed): a 1-d p
      first becomes [1 - p, p]. Then both columns are clipped to
      ``[np.finfo(dtype).eps, 1 - eps]`` and the loss uses ``xlogy``, with
      no renormalisation.

    Every release caps a certain wrong prediction at about ``-log(eps)``:
    34.5 with 1e-15, 36.0 in float64 and 15.9 in float32 with the dtype eps.

    Args:
        probabilities: p in [0, 1] with the shape of ``labels``, or rows of
            two class probabilities with one extra last axis of length 2.
        labels: y in {0, 1} (values in [0, 1] are accepted and used as weights).
        release: ``"1.1"``, ``"1.2"`` or ``"1.5"``.

    Returns:
        The elementwise loss (per sample).

    Raises:
        ValueError: for an unknown release, rows whose last axis is not of
            length 2, or probabilities and labels outside [0, 1].

    References:
        scikit-learn documentation, ``sklearn.metrics.log_loss`` (1.1: eps=1e-15;
        1.2: "The default value changed from 1e-15 to 'auto'", equivalent to
        ``np.finfo(y_pred.dtype).eps``; 1.3: setting eps deprecated).
        scikit-learn source, ``sklearn/metrics/_classification.py``, ``log_loss``
        (1.1, 1.3 and 1.5); pull request 28851 (merged April 2024, release
        1.5) removed the eps parameter.
    """
    if release not in SKLEARN_RELEASES:
        raise ValueError(f"release must be one of {SKLEARN_RELEASES}; got {release!r}")
    rows = np.ndim(probabilities) == np.ndim(labels) + 1
    if rows and np.shape(probabilities)[-1] != 2:
        raise ValueError(
            f"probability rows must have 2 columns [P(y=0), P(y=1)]; got shape {np.shape(probabilities)}"
        )
    (p, y), dtype = _pair(probabilities, labels, "probabilities", "labels")
    check_unit_interval(p, "probabilities", allow_nan=True)
    check_unit_interval(y, "labels", allow_nan=False)
    one, zero = dtype.type(1), dtype.type(0)
    eps = dtype.type(SKLEARN_LEGACY_EPS) if release == "1.1" else dtype.type(np.finfo(dtype).eps)

    with np.errstate(all="ignore"):
        if release == "1.5":
            negative, positive = _sklearn_columns(p, rows)
            negative, positive = np.clip(negative, eps, one - eps), np.clip(positive, eps, one - eps)
        else:
            negative, positive = _sklearn_columns(np.clip(p, eps, one - eps), rows)
            total = negative + positive  # renormalise each row to sum 1, as these releases did
            negative, positive = negative / total, positive / total

        if release == "1.1":
            # -(Y * log P): 0 * log 0 is NaN.
            result = -((one - y) * np.log(negative) + y * np.log(positive))
        else:
            # xlogy(Y, P): a zero label contributes 0 whatever P is.
            negative_term = np.where(one - y == zero, zero, (one - y) * np.log(negative))
            positive_term = np.where(y == zero, zero, y * np.log(positive))
            result = -(negative_term + positive_term)
        undefined = np.isnan(p).any(axis=-1) if rows else np.isnan(p)
        result = np.where(undefined, np.nan, result)
    return finish(result, dtype)
