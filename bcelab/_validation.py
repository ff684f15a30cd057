"""Input checks and dtype rules shared by every public bcelab function.

The rules (see the package docstring): numpy broadcasting; the result dtype is
the floating dtype of the inputs, with integer and boolean input promoted to
float64; labels outside [0, 1] or NaN labels raise ``ValueError`` naming the
first offending value and its index.
"""

import numpy as np


def floating_dtype(value):
    """Return the floating dtype of an array or numpy scalar, or None for anything else.

    A numpy scalar type such as ``np.float16`` itself (not a value of it) has
    a ``dtype`` attribute that is not a dtype, so it counts as "anything else".
    """
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.floating):
        return dtype
    return None


def result_dtype(*values):
    """Return the floating dtype that a function of ``values`` computes in.

    Only numpy arrays and numpy scalars with a floating dtype vote, so
    ``bce_with_logits(np.float16(3), 1)`` stays float16. Python floats and
    integer or boolean arrays do not vote. With no floating input the
    result is float64.
    """
    floating = [dtype for dtype in map(floating_dtype, values) if dtype is not None]
    if not floating:
        return np.dtype(np.float64)
    return np.result_type(*floating)


def as_float_array(value, name, dtype):
    """Convert ``value`` to an ndarray of ``dtype``, rejecting non-real input.

    Raises ValueError for complex, string, object or datetime input, because
    a loss of such values has no meaning and numpy would otherwise coerce or
    fail with an unrelated message.
    """
    if isinstance(value, type):
        raise ValueError(f"{name} must be an array or a number; got the type {value.__name__}")
    if isinstance(value, np.ma.MaskedArray):
        # Computing on the hidden entries would silently drop the mask.
        raise ValueError(
            f"{name} is a masked array, which is not supported; "
            f"pass value.compressed() or value.filled(...) instead"
        )
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind == "O" and all(type(item) is int for item in array.flat):
        # Python ints too large for int64 arrive as an object array.
        try:
            return array.astype(dtype)
        except OverflowError:
            raise ValueError(
                f"{name} contains an integer too large for {np.dtype(dtype)}; "
                f"pass float('inf') for an infinite value"
            ) from None
    if kind not in "biuf":
        raise ValueError(
            f"{name} must be real numbers (bool, int or float); "
            f"got an array of dtype {array.dtype}"
        )
    return array.astype(dtype, copy=False)


def check_unit_interval(array, name, *, allow_nan):
    """Raise ValueError if an entry of ``array`` lies outside [0, 1].

    NaN counts as offending unless ``allow_nan`` is true: NaN labels are an
    error, whereas a NaN probability or logit propagates to a NaN loss.
    The message names the first offending value (in C order) and its index.
    """
    with np.errstate(invalid="ignore"):
        bad = (array < 0) | (array > 1)
    if not allow_nan:
        bad |= np.isnan(array)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.unravel_index(np.argmax(bad), array.shape))
    value = array[index].item()
    allowed = "[0, 1]" if allow_nan else "[0, 1] (NaN is not allowed)"
    raise ValueError(
        f"{name} must lie in {allowed}; found {value!r} at index {index}"
    )


def finish(result, dtype):
    """Return ``result`` cast to ``dtype``, as a numpy scalar for 0-d results."""
    result = np.asarray(result).astype(dtype, copy=False)
    if result.ndim == 0:
        return result[()]
    return result
