"""bcelab: the tested implementations behind the notebook series.

Modules, one per concept:

- ``figures``: house style and :func:`figures.save_figure`.
- ``tables``: formatting numbers and generated tables for notebook outputs.
- ``symbolic``: sympy expressions for the sigmoid, softplus and BCE, and
  branch-by-branch proofs (import it explicitly; it loads sympy).
- ``naive``: the textbook forms that fail (naive sigmoid, BCE on
  probabilities and its chained gradient, clipped BCE, eps in the
  denominator), for the demonstrations.
- ``floats``: IEEE-754 facts of float16/32/64 and where σ(z) saturates in each.
- ``training``: a seeded single-neuron gradient-descent trainer with
  pluggable loss and gradient.
- ``softmax``: softmax, log-softmax and the categorical cross-entropy from logits.
- ``precision``: bfloat16 emulated in float32 (rounding, format facts, σ thresholds).
- ``frameworks``: numpy reproductions of PyTorch, Keras, TensorFlow, optax
  and scikit-learn binary cross-entropy formulas.
- ``stable``: the stable sigmoid, log_sigmoid, softplus, BCE from
  probabilities and from logits, and its gradient (exported at top level).
- ``reference``: mpmath reference values, correct rounding and ULP errors.
- ``candidates``: the proposed fixes (float64, xlogy, special cases, eps,
  clipping, softplus, logits) as ``(loss, grad)`` functions of logits and labels.
"""

__version__ = "0.1.0"

from bcelab.softmax import log_softmax, softmax_cross_entropy_with_logits
from bcelab.stable import (
    bce,
    bce_with_logits,
    bce_with_logits_and_grad,
    bce_with_logits_grad,
    log_sigmoid,
    sigmoid,
    softplus,
)
