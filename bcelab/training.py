"""A tiny, seeded trainer: one sigmoid neuron fitted by plain gradient descent.

The model is ``z = features @ w + b``, ``p = σ(z)``; the loss is the mean of
an elementwise loss over the examples. Everything (data, weights, learning
rate, loss, gradient, mean) is computed in one chosen dtype, so the same run
in float16, float32 and float64 shows where each dtype breaks.

The loss and its gradient are pluggable, so the textbook forms and the fixes
run through the same loop:

- ``inputs="probabilities"``: ``loss(p, y)`` and ``grad(p, y)`` receive
  ``p = sigmoid(z)`` (``sigmoid`` defaults to the textbook
  :func:`bcelab.naive.naive_sigmoid`); ``grad`` returns dL/dz per example,
  e.g. :func:`bcelab.naive.naive_chained_grad`.
- ``inputs="logits"``: ``loss(z, y)`` and ``grad(z, y)`` receive the logits,
  e.g. ``bcelab.bce_with_logits`` and ``bcelab.bce_with_logits_grad``.

In both cases ``grad`` returns the elementwise dL/dz, and the trainer applies
the chain rule through the linear layer: dL/dw = featuresᵀ g / n and
dL/db = mean(g).
"""

from dataclasses import dataclass

import numpy as np

from bcelab.floats import check_float_dtype
from bcelab.naive import errstate_context, naive_sigmoid

INPUT_KINDS = ("probabilities", "logits")

# separable_data draws 2n points per round. A margin m keeps a share
# 2 * (1 - Φ(m)) of them, so 1000 rounds cover margins up to about 3.
MAX_DRAW_ROUNDS = 1000


def separable_data(n, *, seed, margin=0.5, scale=1.0):
    """Draw ``n`` linearly separable 2-D points with labels 0 and 1, reproducibly.

    Points are drawn from a standard normal (times ``scale``) in the plane
    and labelled 1 where ``x0 + x1 > 0``, 0 elsewhere. Points closer than
    ``margin * scale`` to that line are discarded and replaced by new draws,
    so the two classes are separated by a gap of width ``2 * margin * scale``.
    The returned arrays are float64, and the trainer converts them to its dtype.

    Args:
        n: number of points, at least 2.
        seed: seed of ``np.random.default_rng``.
        margin: half-width of the empty band around the separating line, in
            units of ``scale``; non-negative.
        scale: standard deviation of each coordinate; positive.

    Returns:
        ``(features, labels)`` with shapes ``(n, 2)`` and ``(n,)``.

    Raises:
        ValueError: if ``n``, ``margin`` or ``scale`` is out of range, or the
            margin is so wide that too few draws fall outside it.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer of at least 2; got {n!r}")
    if not margin >= 0:
        raise ValueError(f"margin must be non-negative; got {margin!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale!r}")

    rng = np.random.default_rng(seed)
    normal = np.array([1.0, 1.0]) / np.sqrt(2.0)
    points = np.empty((0, 2))
    for _ in range(MAX_DRAW_ROUNDS):
        batch = rng.standard_normal((2 * n, 2))
        kept = batch[np.abs(batch @ normal) >= margin]
        points = np.concatenate([points, kept])
        if len(points) >= n:
            break
    else:
        raise ValueError(
            f"margin {margin!r} leaves too few points: {len(points)} of {n} kept after "
            f"{MAX_DRAW_ROUNDS} rounds of draws; use a smaller margin"
        )
    features = points[:n] * scale
    labels = (features @ normal > 0).astype(np.float64)
    return features, labels


@dataclass(frozen=True)
class TrainingHistory:
    """The per-step record of one run of :func:`train_neuron`.

    Step k evaluates the loss at ``weights[k]`` and updates to
    ``weights[k + 1]``. ``weights[:, :-1]`` are the feature weights and
    ``weights[:, -1]`` is the bias. The ``first_*`` fields are step indices,
    or None if the event never happened within the run.
    """

    dtype: np.dtype
    losses: np.ndarray  # (steps,) mean loss at step k
    weights: np.ndarray  # (steps + 1, n_features + 1)
    weight_norms: np.ndarray  # (steps + 1,) Euclidean norm of weights[k], bias included
    first_saturated: int | None  # first step with some p exactly 0 or 1 (always None for logits)
    first_inf_loss: int | None  # first step whose mean loss is ±inf
    first_nan_loss: int | None  # first step whose mean loss is NaN
    first_nan_weights: int | None  # first step whose update makes a weight NaN
    first_inf_weights: int | None  # first step whose update makes a weight ±inf

    @property
    def steps(self):
        """Number of steps run."""
        return len(self.losses)


def _first_index(mask):
    """Return the first index where the 1-d boolean ``mask`` is true, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def train_neuron(
    features,
    labels,
    *,
    loss,
    grad,
    inputs="probabilities",
    sigmoid=naive_sigmoid,
    dtype=np.float64,
    learning_rate=1.0,
    steps=100,
    initial_weights=None,
    errstate="ignore",
):
    """Fit one sigmoid neuron by full-batch gradient descent in ``dtype`` and record every step.

    At step k, with weights ``w`` and bias ``b``:
    ``z = features @ w + b``; the loss is ``mean(loss(u, labels))`` and the
    update is ``[w, b] -= learning_rate * [featuresᵀ g / n, mean(g)]`` with
    ``g = grad(u, labels)``, where ``u`` is ``sigmoid(z)`` or ``z`` as
    selected by ``inputs``. The run continues after NaN appears, so the history
    shows how it spreads.

    Args:
        features: ``(n, d)`` array-like, converted to ``dtype``.
        labels: ``(n,)`` array-like in [0, 1], converted to ``dtype``.
        loss: elementwise loss, a function of ``(u, labels)``.
        grad: elementwise dL/dz, a function of ``(u, labels)``.
        inputs: ``"probabilities"`` or ``"logits"``, what ``u`` is.
        sigmoid: the σ used when ``inputs="probabilities"``.
        dtype: float16, float32 or float64; all arithmetic runs in it.
        learning_rate: step size, positive; converted to ``dtype``.
        steps: number of gradient steps, at least 1.
        initial_weights: ``(d + 1,)`` starting ``[w, b]``; zeros by default.
        errstate: numpy error mode during the run, as in :mod:`bcelab.naive`;
            ``"ignore"`` keeps expected inf/NaN from printing warnings, and
            None keeps the caller's ``np.errstate``. The functions of
            :mod:`bcelab.naive` apply their own ``errstate`` argument, so
            pass them with ``errstate=None`` to let this one decide.

    Returns:
        A :class:`TrainingHistory`.

    Raises:
        ValueError: for shapes that do not match, labels outside [0, 1],
            ``inputs`` not one of ``INPUT_KINDS``, or a non-positive
            ``learning_rate`` or ``steps``.
    """
    dtype = check_float_dtype(dtype)
    features = np.asarray(features, dtype=dtype)
    labels = np.asarray(labels, dtype=dtype)
    if features.ndim != 2:
        raise ValueError(f"features must be a 2-d array (examples, features); got shape {features.shape}")
    n, d = features.shape
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match features; got {labels.shape}")
    if np.isnan(labels).any() or (labels < 0).any() or (labels > 1).any():
        index = int(np.flatnonzero(np.isnan(labels) | (labels < 0) | (labels > 1))[0])
        raise ValueError(f"labels must lie in [0, 1]; found {labels[index].item()!r} at index {index}")
    if inputs not in INPUT_KINDS:
        raise ValueError(f"inputs must be one of {INPUT_KINDS}; got {inputs!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")

    if initial_weights is None:
        weights = np.zeros(d + 1, dtype=dtype)
    else:
        weights = np.array(initial_weights, dtype=dtype)
        if weights.shape != (d + 1,):
            raise ValueError(f"initial_weights must have shape ({d + 1},) (weights, then bias); got {weights.shape}")
    rate = dtype.type(learning_rate)
    count = dtype.type(n)

    losses = np.empty(steps, dtype=dtype)
    saturated = np.zeros(steps, dtype=bool)
    history = np.empty((steps + 1, d + 1), dtype=dtype)
    history[0] = weights
    with errstate_context(errstate):
        for step in range(steps):
            logits = features @ weights[:-1] + weights[-1]
            if inputs == "probabilities":
                values = np.asarray(sigmoid(logits), dtype=dtype)
                saturated[step] = bool(((values == 0) | (values == 1)).any())
            else:
                values = logits
            losses[step] = np.mean(np.asarray(loss(values, labels), dtype=dtype))
            per_example = np.asarray(grad(values, labels), dtype=dtype)
            gradient = np.append(features.T @ per_example / count, np.sum(per_example) / count)
            weights = weights - rate * gradient
            history[step + 1] = weights

    # The norm is taken in float64 so that it does not overflow for float16 weights.
    norms = np.sqrt(np.sum(np.square(history.astype(np.float64)), axis=1))

    return TrainingHistory(
        dtype=dtype,
        losses=losses,
        weights=history,
        weight_norms=norms,
        first_saturated=_first_index(saturated),
        first_inf_loss=_first_index(np.isinf(losses)),
        first_nan_loss=_first_index(np.isnan(losses)),
        first_nan_weights=_first_index(np.isnan(history[1:]).any(axis=1)),
        first_inf_weights=_first_index(np.isinf(history[1:]).any(axis=1)),
    )
