"""Numerically stable sigmoid, softplus and binary cross-entropy, with gradients.

Every function here follows the same rules:

- numpy broadcasting; the result dtype is the floating dtype of the logits,
  labels and probabilities (float16 in, float16 out), and integer or boolean
  input is promoted to float64. ``pos_weight`` does not take part in the
  dtype choice: it is a weight, not data. Inputs are used exactly as given
  (a float64 label with float16 logits is not rounded to float16 first).
- float16 and float32 are computed in float64 and then cast to the result
  dtype. float64 is computed in float64 (a wider input dtype such as
  longdouble in its own dtype).
- Without ``pos_weight`` the float64 rounding errors of 1 + e and 1 - y are
  corrected (Fast2Sum), because without them the worst cases exceed 2 ULP.
  For float16 and float32 results they are not: the float64 intermediate is
  within a few float64 ULPs of the exact value, one float64 ULP is 2^-29 of
  a float32 ULP, and the cast adds at most 0.5 ULP. The exception is a loss
  whose float64 value lands on or near the overflow threshold of the result
  dtype (max + ulp(max)/2, which the cast rounds to inf). That is possible
  only with Python-float or integer logits beyond that dtype's range, and
  those elements are recomputed on the compensated path below.
- With ``pos_weight`` (every dtype), and in :func:`bce` for float64 results
  or with ``pos_weight``, every product and sum is kept exact as a pair
  hi + lo (TwoProduct on frexp mantissas, TwoSum), exp(-|z|) is scaled by
  2^k where it would underflow, and log1p(e) comes from an atanh series, so
  that only exp, log and log1p add errors before the final rounding. So a
  weight near the largest float64 with |z| > 745, or a subnormal label
  times |z|, gives the right result although exp(-|z|) or y·|z| alone
  underflows in float64. For float16 and float32 results the pair is rounded
  to odd in float64, so that the cast rounds the pair once instead of
  deciding a float64 value that landed exactly on a tie. That path takes
  about 10 times as long as the unweighted one for float64 and about 14
  times for float32 (measured on 10^6 elements, x86-64).
- exp, log and log1p are not correctly rounded, so an exact loss within
  their error (about 2^-53 relative) of the overflow threshold could round
  to the wrong side of it. Weighted float16/float32 losses in that band are
  recomputed with the mpmath reference. NOTE: float64 results and ``bce``
  on probabilities have no such fallback; no case has been found there.
- Accuracy measured against the mpmath reference in tests/test_accuracy.py
  (every finite float16, dense float32/float64 grids and hypothesis): the
  loss for any label in [0, 1], the gradient for labels 0 and 1, and
  :func:`bce` for any label are within 1 ULP for float16 and float32 and
  within 2 ULP for float64, with or without ``pos_weight``. The float64
  bounds rely on numpy's exp, log and log1p, which measured within 0.65 ULP
  on 20,000 random arguments each (numpy 2.4 on x86-64 with AVX-512); a
  less accurate libm shifts them.
- For a fractional label the gradient (1 - y)·σ(z) - w·y·σ(-z) is a
  difference that cancels where σ(z) is close to the label, so it is
  accurate in absolute terms only: the error is at most 1 ULP (float16,
  float32) or 2 ULP (float64) of max(σ(z), w·y), the larger scale of the
  two terms, but it can be any multiple of the gradient itself. Computing
  in float64 does not save float32: near σ(z) = 1/2 float64 resolves σ(z)
  only to 2^-54, so grad(-9e-17, 0.5) is -5.55e-17 instead of -2.25e-17.
- NOTE: longdouble input runs the float64 formulas in longdouble, but no
  ULP bound is tested for it: the loss without pos_weight has shown errors
  of 2.4 longdouble ULPs.
- Logits may be ±inf and give the mathematical limit. NaN logits give NaN.
- Labels must lie in [0, 1] and must not be NaN, probabilities must lie in
  [0, 1] (NaN gives a NaN loss), and ``pos_weight`` must be finite and
  non-negative; otherwise ``ValueError`` names the first offending value and
  its index. Nothing is clipped.
- Valid input emits no floating-point ``RuntimeWarning``: an overflow to ±inf
  is then the correctly rounded value (for example ``pos_weight·y·|z|``
  beyond the largest float), and the inputs were already checked.

The work is done in blocks of :data:`BLOCK_SIZE` elements, so that the
float64 temporaries of one block stay in the CPU cache instead of streaming
arrays of the full size through memory for every arithmetic step.

All formulas are built from one stable quantity, e = exp(-|z|) in (0, 1]:

- softplus(z) = max(z, 0) + log1p(e)
- σ(-|z|) = e / (1 + e), and σ(|z|) = 1 - σ(-|z|)
- L(z, y; w) = w·y·softplus(-z) + (1 - y)·softplus(z)
             = c·log1p(e) + (1 - y)·|z|  for z >= 0,  c·log1p(e) + w·y·|z|  for z < 0,
  with c = 1 - y + w·y
- dL/dz = (1 - y)·σ(z) - w·y·σ(-z), which is (1 - y) - σ(-|z|) for z >= 0
  and σ(-|z|) - y for z < 0 when w = 1

References:
    M. Mächler, "Accurately Computing log(1 - exp(-|a|)) Assessed by the
    Rmpfr package" (2012): the log1p(exp(·)) forms of softplus and log σ.
    D. Goldberg, "What Every Computer Scientist Should Know About
    Floating-Point Arithmetic", ACM Computing Surveys 23(1), 1991: Sterbenz's
    lemma, which makes 1 - y exact for y >= 1/2.
    T. J. Dekker, "A floating-point technique for extending the available
    precision", Numerische Mathematik 18 (1971): Fast2Sum, the exact
    rounding error of a + b when |a| >= |b|, and TwoProduct with Veltkamp's
    split, the exact rounding error of a·b.
    D. E. Knuth, The Art of Computer Programming, vol. 2, section 4.2.2:
    TwoSum, the exact rounding error of a + b for any a and b.
    W. J. Cody and W. Waite, Software Manual for the Elementary Functions
    (1980): the reduction -|z| + k·ln 2 with ln 2 split into two parts.
    S. Boldo and G. Melquiond, "Emulation of a FMA and Correctly Rounded
    Sums: Proved Algorithms Using Rounding to Odd", IEEE Transactions on
    Computers 57(4), 2008: rounding to odd with at least two extra bits,
    followed by rounding to nearest, equals one rounding to nearest.
"""

from typing import NamedTuple

import numpy as np

from bcelab import _compensated
from bcelab._validation import as_float_array, check_unit_interval, finish, floating_dtype, result_dtype

BLOCK_SIZE = 8192
"""Elements per block: ten float64 temporaries of 64 KiB each (640 KiB) fit in an L2 cache of 1 MiB or more."""

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "bce",
    "bce_with_logits",
    "bce_with_logits_grad",
    "bce_with_logits_and_grad",
]


# ---------------------------------------------------------------- input handling


def _floating_dtype(value):
    """Return the floating dtype of ``value``, or float64 for anything else (rejected later if not numeric)."""
    dtype = floating_dtype(value)
    return np.dtype(np.float64) if dtype is None else dtype


def _as_checked_unit_interval(value, name, *, allow_nan):
    """Return ``value`` as a float array after checking that it lies in [0, 1].

    Floating input keeps its dtype (0 and 1 are exact in every float dtype, so
    the check is exact), integer and boolean input becomes float64.
    """
    dtype = _floating_dtype(value)
    array = as_float_array(value, name, dtype)
    if array.size == 0:
        return array

    # Fast path: two reductions instead of the boolean temporaries of the full check.
    if allow_nan:
        low, high = np.fmin.reduce(array, axis=None), np.fmax.reduce(array, axis=None)
    else:
        low, high = array.min(), array.max()
    if not (low >= 0 and high <= 1):
        check_unit_interval(array, name, allow_nan=allow_nan)
    return array


def _as_checked_pos_weight(pos_weight):
    """Return ``pos_weight`` as a float64 array, or None; reject negative or non-finite values."""
    if pos_weight is None:
        return None
    dtype = _floating_dtype(pos_weight)
    weights = as_float_array(pos_weight, "pos_weight", np.promote_types(dtype, np.float64))
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        index = tuple(int(i) for i in np.unravel_index(np.argmax(bad), weights.shape))
        raise ValueError(
            "pos_weight must be finite and non-negative (0 drops the positive term); "
            f"found {weights[index].item()!r} at index {index}"
        )
    return weights


def _as_logits(value):
    """Return the logits as a float array (integer and boolean input become float64)."""
    dtype = _floating_dtype(value)
    return as_float_array(value, "logits", dtype)


def _blockwise(kernel, inputs, dtype, n_outputs=1, weights=None, *, check_overflow=False):
    """Evaluate ``kernel`` block by block over the broadcast operands.

    The kernel is called as ``kernel(*input_blocks, *output_blocks,
    workspace)`` with 1-d blocks of the working dtype (float64, or ``dtype``
    when wider), and with ``w=weight_block`` added when ``weights`` is given. The iterator
    converts each output block to ``dtype`` with one rounding. ``check_overflow``
    makes the unweighted loss kernels look for results at the overflow
    threshold of a float16 or float32 ``dtype``. Returns the list of output
    arrays of ``dtype``.
    """
    n_inputs = len(inputs)
    operands = list(inputs) + ([] if weights is None else [weights])
    work = np.promote_types(dtype, np.float64)
    shape = np.broadcast_shapes(*(operand.shape for operand in operands))
    outputs = [np.empty(shape, dtype) for _ in range(n_outputs)]
    iterator = np.nditer(
        operands + outputs,
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[["readonly"]] * len(operands) + [["writeonly"]] * n_outputs,
        op_dtypes=[work] * (len(operands) + n_outputs),
        casting="same_kind",
        buffersize=BLOCK_SIZE,
    )
    # An overflow to ±inf is the correctly rounded result (in the kernel or in
    # the final cast), underflow to a subnormal or 0 is expected in the tails,
    # and the invalid operations, 0·inf where |z| or a log is infinite, are
    # replaced by their limits.
    workspace = _Workspace(work, BLOCK_SIZE, result_dtype=dtype, check_overflow=check_overflow)
    with iterator, np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for blocks in iterator:
            if weights is None:
                kernel(*blocks, workspace)
            else:
                kernel(*blocks[:n_inputs], *blocks[n_inputs + 1:], workspace, w=blocks[n_inputs])
    return outputs


def _finish(outputs, dtype):
    results = [finish(output, dtype) for output in outputs]
    return results[0] if len(results) == 1 else tuple(results)


# ---------------------------------------------------------------- kernels
#
# Each kernel receives 1-d float64 blocks (inputs first, then outputs) and a
# workspace of preallocated block-sized buffers, and fills the outputs in
# place. The branch on the sign of z is taken arithmetically, through
# t = 1.0 where z >= 0 and 0.0 where z < 0 (NaN counts as negative and gives
# NaN anyway), because np.where and masked copies cost several times more
# than a multiplication here.


class _Workspace:
    """Block-sized scratch buffers, allocated once per call and reused for every block.

    Fresh temporaries for every block cost more than the arithmetic on them:
    the allocator returns freed memory at the top of the heap to the operating
    system, and the next block's allocation page-faults it back in.
    """

    def __init__(self, dtype, size, *, result_dtype, check_overflow):
        self._dtype = dtype
        self._size = size
        self._buffers = {}
        # Whether the kernels correct rounding errors: those of 1 + e and 1 - y
        # without pos_weight, and every one (bcelab._compensated) in bce. The
        # corrections matter only when the working dtype is also the result
        # dtype: for float16 and float32 results the float64 errors are far
        # below one ULP.
        self.compensate = dtype == result_dtype
        # float16 and float32 results are cast from float64, which rounds a
        # second time. The compensated sums are then rounded to odd, so that the
        # cast rounds the exact sum once.
        self.round_to_odd = not self.compensate
        # See _correct_overflow_ties and _settle_weighted_overflow; None for float64 results.
        self.result_dtype = np.dtype(result_dtype)
        self.narrow_overflow_threshold = None
        if not self.compensate:
            # The largest finite value plus half its ULP: from there on the cast gives ±inf.
            info = np.finfo(result_dtype)
            self.narrow_overflow_threshold = float(info.max) + 2.0 ** (info.maxexp - 2 - info.nmant)
        # None where the unweighted loss cannot come near the threshold.
        self.overflow_threshold = self.narrow_overflow_threshold if check_overflow else None

    def get(self, name, n, dtype=None):
        """Return the first ``n`` elements of the buffer called ``name``."""
        buffer = self._buffers.get(name)
        if buffer is None:
            buffer = np.empty(self._size, dtype or self._dtype)
            self._buffers[name] = buffer
        return buffer[:n]


def _exp_minus_abs(magnitude, out):
    """Write e = exp(-|z|) in (0, 1] to ``out``: never overflows, 0 at z = ±inf."""
    np.negative(magnitude, out=out)
    return np.exp(out, out=out)


def _sigmoid_of_minus_abs(e, out, workspace):
    """Write σ(-|z|) = e / (1 + e) to ``out``, from e = exp(-|z|).

    The rounding error of 1 + e is corrected for, because three roundings
    (exp, the sum and the quotient) can add up to more than 2 ULP.
    """
    n = len(e)
    if not workspace.compensate:
        np.add(e, 1.0, out=out)
        return np.divide(e, out, out=out)

    denominator = np.add(e, 1.0, out=workspace.get("denominator", n))
    # Fast2Sum, exact because 1 >= e: 1 + e = denominator + error.
    error = np.subtract(denominator, 1.0, out=workspace.get("error", n))
    np.subtract(e, error, out=error)
    quotient = np.divide(e, denominator, out=out)
    # e / (denominator + error) = quotient·(1 - error/denominator) to first order.
    np.divide(error, denominator, out=error)
    np.multiply(error, quotient, out=error)
    return np.subtract(quotient, error, out=quotient)


def _step(z, workspace):
    """Return t = 1.0 where z >= 0 and 0.0 elsewhere (-0.0 >= 0, so -0.0 gives 1.0)."""
    n = len(z)
    mask = np.greater_equal(z, 0.0, out=workspace.get("mask", n, np.bool_))
    t = workspace.get("t", n)
    np.copyto(t, mask)
    return t


def _multiply_by_sign(values, t, workspace):
    """Multiply ``values`` in place by 2t - 1, that is +1 where z >= 0 and -1 elsewhere (exact)."""
    sign = np.add(t, t, out=workspace.get("sign", len(t)))
    np.subtract(sign, 1.0, out=sign)
    return np.multiply(values, sign, out=values)


def _sigmoid_kernel(z, out, workspace):
    n = len(z)
    magnitude = np.abs(z, out=workspace.get("magnitude", n))
    e = _exp_minus_abs(magnitude, out=magnitude)
    small = _sigmoid_of_minus_abs(e, workspace.get("small", n), workspace)
    t = _step(z, workspace)

    # σ(z) = t - sign·σ(-|z|): 1 - σ(-|z|) for z >= 0, which loses nothing because
    # σ(-|z|) <= 1/2, and σ(-|z|) itself for z < 0, so the left tail is never flushed to 0.
    _multiply_by_sign(small, t, workspace)
    np.subtract(t, small, out=out)


def _log1p_exp_minus_abs(z, workspace):
    n = len(z)
    magnitude = np.abs(z, out=workspace.get("magnitude", n))
    e = _exp_minus_abs(magnitude, out=magnitude)
    return np.log1p(e, out=e)


def _softplus_kernel(z, out, workspace):
    # softplus(z) = max(z, 0) + log1p(exp(-|z|)): exp cannot overflow and log1p keeps tiny values.
    log1p_term = _log1p_exp_minus_abs(z, workspace)
    np.maximum(z, 0.0, out=out)
    np.add(out, log1p_term, out=out)


def _log_sigmoid_kernel(z, out, workspace):
    # log σ(z) = -softplus(-z) = min(z, 0) - log1p(exp(-|z|)).
    log1p_term = _log1p_exp_minus_abs(z, workspace)
    np.minimum(z, 0.0, out=out)
    np.subtract(out, log1p_term, out=out)


class _LabelTerms(NamedTuple):
    """Per-block label coefficients shared by the unweighted loss and gradient kernels."""

    t: np.ndarray
    """1.0 where z >= 0, 0.0 elsewhere."""
    slope: np.ndarray
    """|t - y|: fl(1 - y) where z >= 0 and y where z < 0."""
    slope_error: np.ndarray | None
    """The exact rounding error of 1 - y where z >= 0, 0 where z < 0; None without compensation."""


def _label_terms(z, y, workspace):
    """Return the :class:`_LabelTerms` of one block."""
    n = len(z)
    t = _step(z, workspace)
    # t - y is fl(1 - y) for t = 1 (exact for y >= 1/2, by Sterbenz) and -y for t = 0.
    slope = np.subtract(t, y, out=workspace.get("slope", n))
    slope_error = None
    if workspace.compensate:
        # Fast2Sum, exact because |t| >= |y| where t = 1: t - y = slope + ((t - slope) - y).
        slope_error = np.subtract(t, slope, out=workspace.get("slope_error", n))
        np.subtract(slope_error, y, out=slope_error)
    np.abs(slope, out=slope)
    return _LabelTerms(t, slope, slope_error)


def _write_loss(magnitude, log1p_term, labels, out, workspace):
    """Write log1p(e) + slope·|z| to ``out``; both terms are >= 0, so nothing cancels.

    slope_error·|z| is added to the small term first, so that the rounding of
    1 - y does not count among the roundings of the result.
    """
    slope, correction = labels.slope, None
    np.multiply(slope, magnitude, out=out)
    if labels.slope_error is not None:
        correction = np.multiply(labels.slope_error, magnitude, out=workspace.get("correction", len(out)))

    infinite = np.isinf(magnitude, out=workspace.get("mask", len(out), np.bool_))
    if infinite.any():
        # 0·inf is NaN, but a term whose label weight is 0 is absent: its limit is 0.
        out[infinite & (slope == 0.0)] = 0.0
        if correction is not None:
            correction[infinite] = 0.0

    if correction is not None:
        log1p_term = np.add(correction, log1p_term, out=correction)
    np.add(out, log1p_term, out=out)


def _near_threshold(out, threshold, relative_band):
    """Return the indices of the losses in ``out`` within ``relative_band`` of ``threshold`` (none if it is None)."""
    if threshold is None:
        return np.empty(0, dtype=np.intp)
    band = threshold * relative_band
    # The loss is >= 0, and fmax skips NaN; one reduction keeps the common case cheap.
    if not np.fmax.reduce(out) >= threshold - band:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(np.abs(out - threshold) <= band)


def _correct_overflow_ties(z, y, out, workspace):
    """Recompute, on the compensated path, the losses near the overflow threshold of a float16 or float32 result.

    The float64 loss is within a few float64 ULPs of the exact value, so the
    final cast is off by at most 1 ULP, with one exception. Near the overflow
    threshold max + ulp(max)/2, those few float64 ULPs can put the value on
    the threshold or on the other side of it from the exact loss. The cast
    then gives +inf for a finite loss, or the reverse. This needs logits
    beyond the result dtype's range, that is Python-float or integer logits
    with float16 or float32 labels. For example, at z = -218364.45890968267
    and y = float16(0.300048828125) the exact loss is just below 65520, but
    y·|z| rounds to 65520.0 in float64. The compensated path rounds those
    elements to odd, so that the cast rounds their exact value once.
    """
    index = _near_threshold(out, workspace.overflow_threshold, 2.0**-40)
    if index.size == 0:
        return
    logits, labels = z[index], y[index]
    exact = np.empty_like(logits)
    _write_weighted_loss(logits, _weighted_parts(logits, labels, np.ones_like(logits)), exact, to_odd=True)
    out[index] = exact


def _settle_weighted_overflow(z, y, w, out, workspace):
    """Decide, in exact arithmetic, the weighted float16/float32 losses next to the overflow threshold.

    The compensated float64 loss is within about 2^-53 relative of the exact
    value, because exp, log and log1p are not correctly rounded. Near the
    threshold max + ulp(max)/2 of the result dtype that error can decide
    between the largest finite value and inf. Those rare elements are
    recomputed with the mpmath reference and rounded once to the result
    dtype, so the cast that follows is exact.
    """
    index = _near_threshold(out, workspace.narrow_overflow_threshold, 2.0**-45)
    if index.size == 0:
        return

    from bcelab import reference  # mpmath is loaded only for these rare elements

    for i in index:
        exact = reference.exact_loss(float(z[i]), float(y[i]), pos_weight=float(w[i]))
        out[i] = float(reference.round_to(exact, workspace.result_dtype))


def _write_grad(small, labels, out, workspace):
    """Write dL/dz = sign·(slope - σ(-|z|)) to ``out``.

    That is (1 - y) - σ(-z) for z >= 0, so for y = 1 it is -σ(-z) itself,
    never σ(z) - 1, which cancels to 0 once σ(z) rounds to 1; and σ(z) - y
    for z < 0.
    """
    np.subtract(labels.slope, small, out=out)
    if labels.slope_error is not None:
        np.add(out, labels.slope_error, out=out)
    _multiply_by_sign(out, labels.t, workspace)


def _weighted_parts(z, y, w):
    """Return the parts shared by the compensated loss and gradient with pos_weight.

    Returns (constants, s, c, t, e_hi, e_lo, e_exponent), where s, c and t
    are those of :func:`_compensated.scaled_label_terms` and exp(-|z|) = (e_hi + e_lo)·2^e_exponent.
    """
    constants = _compensated.constants(z.dtype)
    s, c, t = _compensated.scaled_label_terms(z, y, w, constants["split"])
    e_hi, e_lo, e_exponent = _compensated.scaled_exp_minus_abs(np.abs(z), constants)
    return constants, s, c, t, e_hi, e_lo, e_exponent


def _write_weighted_loss(z, parts, out, *, to_odd):
    """Write L = s·|z| + c·log1p(exp(-|z|)) to ``out``; only exp adds an error before the final rounding.

    ``to_odd`` rounds the float64 result to odd, for a float16 or float32 result.
    """
    constants, s, c, _, e_hi, e_lo, e_exponent = parts
    split = constants["split"]
    magnitude = np.abs(z)
    log1p_hi, log1p_lo = _compensated.log1p_pair(e_hi, constants)
    # log1p(e) = e·(1 - e/2 + ...) is e itself in the scaled tail, the only place where e_lo is nonzero.
    log1p_term = _compensated.normalize(log1p_hi, log1p_lo + e_lo, e_exponent)
    linear = _compensated.scaled_product(s, _compensated.normalize(magnitude, np.zeros_like(magnitude)), split)
    curved = _compensated.scaled_product(c, log1p_term, split)
    out[...] = _compensated.round_scaled_sum(linear, curved, 1.0, to_odd=to_odd)

    # At |z| = inf the linear term is inf·s: +inf, or 0 for an absent term (s = 0).
    infinite = np.isinf(magnitude)
    if infinite.any():
        out[infinite] = np.where(s.hi[infinite] > 0, np.inf, 0.0)
    out[np.isnan(z)] = np.nan


def _write_weighted_grad(z, parts, out, *, to_odd):
    """Write dL/dz = sign(z)·(s - c·σ(-|z|)) to ``out``; only exp adds an error before the final rounding.

    This is (1 - y) - c·σ(-|z|) for z >= 0 and c·σ(-|z|) - w·y for z < 0,
    the same as (1 - y)·σ(z) - w·y·σ(-z); for y = 1 and z >= 0 it is
    -w·σ(-|z|), a single product, and for y = 0 it is σ(z). ``to_odd``
    rounds the float64 result to odd, for a float16 or float32 result.
    """
    constants, s, c, t, e_hi, e_lo, e_exponent = parts
    split = constants["split"]
    # σ(-|z|) = e / (1 + e) as a pair q + q_lo: Fast2Sum for 1 + e (1 >= e),
    # TwoProduct for the remainder e - q·(1 + e) of the division.
    denominator = 1.0 + e_hi
    denominator_error = e_hi - (denominator - 1.0)
    q = e_hi / denominator
    product, product_error = _compensated.two_product(q, denominator, split)
    remainder = ((e_hi - product) - product_error) - q * denominator_error
    # In the scaled tail e / (1 + e) = e, so e_lo adds unchanged.
    sigmoid_small = _compensated.normalize(q, remainder / denominator + e_lo, e_exponent)
    curved = _compensated.scaled_product(c, sigmoid_small, split)
    out[...] = _compensated.round_scaled_sum(s, curved, -1.0, to_odd=to_odd)
    out *= 2.0 * t - 1.0
    out[np.isnan(z)] = np.nan


# With pos_weight every dtype takes the compensated path. For float16 and
# float32 results the uncompensated float64 one is not enough: exp(-|z|)
# underflows for |z| > 745 while w·exp(-|z|) is still a float32, y·|z|
# underflows for a subnormal y before it is multiplied by w, and a rounded
# float64 value can land on a tie of the result dtype.


def _loss_kernel(z, y, out, workspace, w=None):
    if w is not None:
        _write_weighted_loss(z, _weighted_parts(z, y, w), out, to_odd=workspace.round_to_odd)
        _settle_weighted_overflow(z, y, w, out, workspace)
        return
    n = len(z)
    magnitude = np.abs(z, out=workspace.get("magnitude", n))
    e = _exp_minus_abs(magnitude, out=workspace.get("e", n))
    log1p_term = np.log1p(e, out=e)
    labels = _label_terms(z, y, workspace)
    _write_loss(magnitude, log1p_term, labels, out, workspace)
    _correct_overflow_ties(z, y, out, workspace)


def _grad_kernel(z, y, out, workspace, w=None):
    if w is not None:
        _write_weighted_grad(z, _weighted_parts(z, y, w), out, to_odd=workspace.round_to_odd)
        return
    n = len(z)
    magnitude = np.abs(z, out=workspace.get("magnitude", n))
    e = _exp_minus_abs(magnitude, out=magnitude)
    small = _sigmoid_of_minus_abs(e, workspace.get("small", n), workspace)
    labels = _label_terms(z, y, workspace)
    _write_grad(small, labels, out, workspace)


def _loss_and_grad_kernel(z, y, loss_out, grad_out, workspace, w=None):
    if w is not None:
        parts = _weighted_parts(z, y, w)
        _write_weighted_grad(z, parts, grad_out, to_odd=workspace.round_to_odd)
        _write_weighted_loss(z, parts, loss_out, to_odd=workspace.round_to_odd)
        _settle_weighted_overflow(z, y, w, loss_out, workspace)
        return
    n = len(z)
    magnitude = np.abs(z, out=workspace.get("magnitude", n))
    e = _exp_minus_abs(magnitude, out=workspace.get("e", n))
    small = _sigmoid_of_minus_abs(e, workspace.get("small", n), workspace)
    log1p_term = np.log1p(e, out=e)
    labels = _label_terms(z, y, workspace)
    _write_grad(small, labels, grad_out, workspace)
    _write_loss(magnitude, log1p_term, labels, loss_out, workspace)
    _correct_overflow_ties(z, y, loss_out, workspace)


# ---------------------------------------------------------------- public API


def sigmoid(z):
    """Compute the logistic sigmoid σ(z) = 1 / (1 + e^(-z)) elementwise.

    Accurate in both tails: for z < 0 it is e^z / (1 + e^z), so σ(z) is not
    flushed to 0 while it is still a subnormal number, and exp never overflows.

    Args:
        z: logits, array-like of real numbers.

    Returns:
        σ(z), same shape, dtype of ``z`` (float64 for integer input).
        σ(+inf) = 1, σ(-inf) = 0, σ(NaN) = NaN.
    """
    logits = _as_logits(z)
    dtype = result_dtype(z)
    return _finish(_blockwise(_sigmoid_kernel, [logits], dtype), dtype)


def softplus(z):
    """Compute softplus(z) = log(1 + e^z) elementwise.

    Computed as max(z, 0) + log1p(e^(-|z|)), so e^z never overflows and tiny
    values such as softplus(-100) ≈ 3.72e-44 keep their digits.

    Args:
        z: logits, array-like of real numbers.

    Returns:
        softplus(z), same shape, dtype of ``z`` (float64 for integer input).
        softplus(+inf) = +inf, softplus(-inf) = 0, softplus(NaN) = NaN.
    """
    logits = _as_logits(z)
    dtype = result_dtype(z)
    return _finish(_blockwise(_softplus_kernel, [logits], dtype), dtype)


def log_sigmoid(z):
    """Compute log σ(z) = -softplus(-z) elementwise.

    Computed as min(z, 0) - log1p(e^(-|z|)), so log σ(-1234.1) = -1234.1
    instead of the log 0 of the naive form.

    Args:
        z: logits, array-like of real numbers.

    Returns:
        log σ(z) <= 0, same shape, dtype of ``z`` (float64 for integer input).
        log σ(+inf) = 0, log σ(-inf) = -inf, log σ(NaN) = NaN.
    """
    logits = _as_logits(z)
    dtype = result_dtype(z)
    return _finish(_blockwise(_log_sigmoid_kernel, [logits], dtype), dtype)


def _evaluate_with_labels(kernel, z, y, pos_weight, n_outputs=1):
    logits = _as_logits(z)
    labels = _as_checked_unit_interval(y, "labels", allow_nan=False)
    weights = _as_checked_pos_weight(pos_weight)
    dtype = result_dtype(z, y)
    # The loss is at most |z| + log 2, so it reaches the overflow threshold of
    # the result dtype only for logits of a wider dtype (Python floats, integers).
    check_overflow = bool(np.finfo(logits.dtype).max > np.finfo(dtype).max)
    outputs = _blockwise(kernel, [logits, labels], dtype, n_outputs, weights, check_overflow=check_overflow)
    return _finish(outputs, dtype)


def bce_with_logits(z, y, *, pos_weight=None):
    """Compute the binary cross-entropy from logits elementwise.

    L(z, y; w) = -[w·y·log σ(z) + (1 - y)·log(1 - σ(z))]
               = w·y·softplus(-z) + (1 - y)·softplus(z),
    evaluated as c·log1p(e^(-|z|)) + (1 - y)·max(z, 0) + w·y·max(-z, 0) with
    c = 1 - y + w·y: a sum of non-negative terms, so nothing cancels.
    Accuracy: at most 1 ULP for float16 and float32 and 2 ULP for float64,
    for any label and pos_weight (details in the module docstring).

    Args:
        z: logits, array-like of real numbers (±inf allowed).
        y: labels in [0, 1] (soft labels allowed), broadcast against ``z``.
        pos_weight: optional weight w >= 0 of the positive term, finite,
            broadcast against ``z`` and ``y``; None means 1.

    Returns:
        The loss, broadcast shape, floating dtype of ``z`` and ``y``.
        Limits: L(+inf, 1) = 0, L(+inf, y < 1) = +inf, L(-inf, 0) = 0,
        L(-inf, y > 0) = +inf (0 when w = 0). NaN logits give NaN.

    Raises:
        ValueError: a label outside [0, 1] or NaN, or a pos_weight that is
            negative, infinite or NaN (the message names value and index).
    """
    return _evaluate_with_labels(_loss_kernel, z, y, pos_weight)


def bce_with_logits_grad(z, y, *, pos_weight=None):
    """Compute dL/dz of :func:`bce_with_logits` elementwise.

    dL/dz = (1 - y)·σ(z) - w·y·σ(-z), which is σ(z) - y for w = 1. It is
    evaluated from σ(-|z|), so for y = 1 and large z the result is -σ(-z)
    and not the σ(z) - 1 that cancels to 0, and for y = 0 and very negative
    z it is σ(z) down to the subnormal range instead of 1 / (1 + e^(-z)),
    which is 0 once e^(-z) overflows. For labels 0 and 1 the accuracy is
    that of the loss. For fractional labels the error is bounded in absolute
    terms only, by 1 ULP (float16, float32) or 2 ULP (float64) of
    max(σ(z), w·y): near σ(z) = y the difference cancels.

    Args:
        z: logits, array-like of real numbers (±inf allowed).
        y: labels in [0, 1], broadcast against ``z``.
        pos_weight: optional finite weight w >= 0 of the positive term.

    Returns:
        The gradient, broadcast shape, floating dtype of ``z`` and ``y``,
        bounded by [-w·y, 1 - y]. Limits: 1 - y at z = +inf and -w·y at
        z = -inf. NaN logits give NaN.

    Raises:
        ValueError: as :func:`bce_with_logits`.
    """
    return _evaluate_with_labels(_grad_kernel, z, y, pos_weight)


def bce_with_logits_and_grad(z, y, *, pos_weight=None):
    """Compute :func:`bce_with_logits` and :func:`bce_with_logits_grad` in one pass.

    Shares e^(-|z|) and the label coefficients between the two, which is what
    a training step needs. The values are identical to the two separate calls.

    Returns:
        (loss, gradient), each with the broadcast shape and the floating
        dtype of ``z`` and ``y``.

    Raises:
        ValueError: as :func:`bce_with_logits`.
    """
    return _evaluate_with_labels(_loss_and_grad_kernel, z, y, pos_weight, n_outputs=2)


def _bce_kernel(p, y, out, workspace, w=None):
    # Without pos_weight a float16 or float32 result needs no compensation: the
    # loss is at most -log(smallest subnormal) ≈ 744.4, far from their overflow
    # threshold, and elsewhere the second rounding costs at most 0.5 ULP.
    if workspace.compensate or w is not None:
        _write_compensated_bce(p, y, w, out, to_odd=workspace.round_to_odd)
        return
    n = len(p)
    # -log(1 - p) as -log1p(-p) keeps the digits of p < 2^-53 that 1 - p would round away.
    negative_term = np.negative(p, out=workspace.get("negative_term", n))
    np.log1p(negative_term, out=negative_term)
    positive_term = np.log(p, out=workspace.get("positive_term", n))

    one_minus_y = np.subtract(1.0, y, out=workspace.get("one_minus_y", n))
    weighted_y = y if w is None else np.multiply(w, y, out=workspace.get("weighted_y", n))
    for coefficient, term in ((one_minus_y, negative_term), (weighted_y, positive_term)):
        infinite = np.isinf(term, out=workspace.get("mask", n, np.bool_))
        np.multiply(coefficient, term, out=term)
        if infinite.any():
            # 0·log 0 := 0: a term whose coefficient is 0 is absent, even where its log is -inf.
            # w·y can underflow to 0 while w and y are positive; that term stays -inf.
            if coefficient is weighted_y and w is not None:
                absent = (y == 0.0) | (w == 0.0)
            else:
                absent = coefficient == 0.0
            term[infinite] = np.where(absent[infinite], 0.0, -np.inf)

    np.add(negative_term, positive_term, out=out)
    # 0 - sum instead of -sum, so a zero loss is +0.0 rather than -0.0.
    np.subtract(0.0, out, out=out)
    # A NaN probability gives NaN even where both coefficients are 0 (w = 0 and y = 1).
    nan = np.isnan(p, out=workspace.get("mask", n, np.bool_))
    if nan.any():
        out[nan] = np.nan


def _write_compensated_bce(p, y, w, out, *, to_odd):
    """Write the bce of probabilities to ``out``; only log and log1p add errors before the final rounding.

    L = (1 - y)·(-log1p(-p)) + w·y·(-log p): both coefficients are exact
    pairs and the products are formed on frexp mantissas, so a subnormal w·y
    or y·(-log p) is not rounded on its own, and only log and log1p add errors.
    ``to_odd`` rounds the float64 result to odd, for a float16 or float32 result.
    """
    split = _compensated.constants(p.dtype)["split"]
    # -log(1 - p) as -log1p(-p) keeps the digits of p < 2^-53 that 1 - p would round away.
    negative_term = -np.log1p(-p)
    positive_term = -np.log(p)
    negative_infinite = np.isinf(negative_term)
    positive_infinite = np.isinf(positive_term)
    negative_term[negative_infinite] = 0.0
    positive_term[positive_infinite] = 0.0

    # Fast2Sum, exact because 1 >= y: 1 - y = one_minus_y + one_minus_y_error.
    one_minus_y = 1.0 - y
    one_minus_y_error = (1.0 - one_minus_y) - y
    negative_coefficient = _compensated.normalize(one_minus_y, one_minus_y_error)
    positive_coefficient = _compensated.normalize(y, np.zeros_like(y))
    if w is not None:
        positive_coefficient = _compensated.scaled_product(_compensated.normalize(w, np.zeros_like(w)), positive_coefficient, split)

    negative = _compensated.scaled_product(negative_coefficient, _compensated.normalize(negative_term, np.zeros_like(p)), split)
    positive = _compensated.scaled_product(positive_coefficient, _compensated.normalize(positive_term, np.zeros_like(p)), split)
    out[...] = _compensated.round_scaled_sum(negative, positive, 1.0, to_odd=to_odd)

    # 0·log 0 := 0: an infinite log counts only where its coefficient is nonzero.
    infinite = (negative_infinite & (one_minus_y > 0)) | (positive_infinite & (positive_coefficient.hi > 0))
    out[infinite] = np.inf
    # A NaN probability gives NaN even where both coefficients are 0 (w = 0 and y = 1).
    out[np.isnan(p)] = np.nan


def bce(p, y, *, pos_weight=None):
    """Compute the binary cross-entropy from probabilities elementwise.

    L(p, y; w) = -[w·y·log p + (1 - y)·log(1 - p)] with 0·log 0 := 0, so
    bce(1, 1) = bce(0, 0) = 0, while bce(1, y < 1) and bce(0, y > 0) are
    +inf: the prediction is certain and wrong. log(1 - p) is evaluated as
    log1p(-p). Prefer :func:`bce_with_logits` when logits are available,
    because p = σ(z) has already rounded to 0 or 1 once |z| is large.
    Accuracy, for any label and pos_weight: at most 1 ULP for float16 and
    float32 and 2 ULP for float64 (subnormal p, y and w·y included), since
    float64 keeps w·y, 1 - y and the sum exact and rounds once.
    With pos_weight = 0 the positive term is dropped: bce(0, y,
    pos_weight=0) = 0 for every y.

    Args:
        p: probabilities in [0, 1]; NaN propagates to a NaN loss.
        y: labels in [0, 1], broadcast against ``p``.
        pos_weight: optional finite weight w >= 0 of the positive term.

    Returns:
        The loss, broadcast shape, floating dtype of ``p`` and ``y``.

    Raises:
        ValueError: a probability outside [0, 1], a label outside [0, 1] or
            NaN, or an invalid pos_weight (the message names value and index).
    """
    labels = _as_checked_unit_interval(y, "labels", allow_nan=False)
    probabilities = _as_checked_unit_interval(p, "probabilities", allow_nan=True)
    weights = _as_checked_pos_weight(pos_weight)
    dtype = result_dtype(p, y)
    # log 0 = -inf is the true value of a certain, wrong prediction.
    with np.errstate(divide="ignore"):
        outputs = _blockwise(_bce_kernel, [probabilities, labels], dtype, 1, weights)
    return _finish(outputs, dtype)
