"""Accuracy of bcelab.stable in ULPs of the result dtype, against the mpmath reference.

Bounds: loss (any label in [0, 1]) and gradient (labels 0 and 1) within 1 ULP
for float16 and float32 and 2 ULP for float64, the unit being the spacing of
the result dtype at the exact value with the smallest subnormal as the floor.
With pos_weight the float64 bound measured and asserted here is 3 ULP.

float16 is enumerated completely (every finite value). float32 and float64
use a dense grid: log-spaced magnitudes of both signs from the smallest
subnormal to the largest finite value, the thresholds where σ(z) rounds to 1,
where exp(-z) overflows and where the loss becomes subnormal, uniform logits
in [-40, 40], and hypothesis-generated logits and labels.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

from bcelab import reference, stable

BOUND = {np.float16: 1.0, np.float32: 1.0, np.float64: 2.0}
WEIGHTED_BOUND = {np.float16: 1.0, np.float32: 1.0, np.float64: 3.0}


def loss_labels(dtype):
    """Labels for the loss: 0, 1, 1/2, 0.1, 0.9 and 1/3 rounded to ``dtype``."""
    return [dtype(value) for value in (0.0, 1.0, 0.5, 0.1, 0.9, 1 / 3)]


def thresholds(dtype):
    """Logits at which something in the naive forms changes, each with its neighbours."""
    info = np.finfo(dtype)
    eps = float(info.eps)
    tiny = float(info.smallest_subnormal)
    centres = [
        np.log(2 / eps),  # σ(z) rounds to 1 above about log(2/eps)
        np.log(float(info.max)),  # exp(z) overflows above log(max)
        -np.log(float(info.max)),
        np.log(tiny),  # softplus(z) ≈ e^z falls below the smallest subnormal
        np.log(float(info.smallest_normal)),  # ... and becomes subnormal
        np.log(eps),
        0.0,
    ]
    values = []
    for centre in centres:
        for sign in (1.0, -1.0):
            point = dtype(sign * centre)
            values.extend([np.nextafter(point, dtype(-np.inf)), point, np.nextafter(point, dtype(np.inf))])
    return np.array(values, dtype=dtype)


def dense_grid(dtype, n_log, n_uniform, seed=0):
    info = np.finfo(dtype)
    rng = np.random.default_rng(seed)
    exponents = np.linspace(np.log2(float(info.smallest_subnormal)), np.log2(float(info.max)), n_log)
    # log2(max) rounds up to the overflow exponent; that one point becomes inf and is dropped below.
    with np.errstate(over="ignore"):
        magnitudes = np.exp2(exponents).astype(dtype)
    magnitudes = np.concatenate([
        magnitudes,
        [info.smallest_subnormal, 2 * info.smallest_subnormal, info.smallest_normal, info.max],
    ]).astype(dtype)
    uniform = rng.uniform(-40, 40, n_uniform).astype(dtype)
    grid = np.concatenate([magnitudes, -magnitudes, uniform, thresholds(dtype), [dtype(0), dtype(-0.0)]])
    return grid[np.isfinite(grid)]


def all_finite_float16():
    bits = np.arange(0, 0x7C00, dtype=np.uint16)
    positive = bits.view(np.float16)
    return np.concatenate([positive, -positive[1:]])


def grid_for(dtype):
    if dtype is np.float16:
        return all_finite_float16()
    if dtype is np.float32:
        return dense_grid(np.float32, 1500, 1000)
    return dense_grid(np.float64, 3000, 1000)


def assert_within(errors, bound, z, label, what):
    worst = int(np.argmax(errors))
    assert errors[worst] <= bound, (
        f"{what}: {errors[worst]:.3f} ULP > {bound} at z={z.flat[worst]!r}, y={label!r}"
    )


@pytest.fixture(scope="module", params=[np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
def dtype_and_grid(request):
    return request.param, grid_for(request.param)


# ---------------------------------------------------------------- grids


def test_loss_on_grid(dtype_and_grid):
    dtype, z = dtype_and_grid
    rng = np.random.default_rng(1)
    random_labels = rng.random(z.size).astype(dtype)
    for label in loss_labels(dtype) + [random_labels]:
        logits = z
        if dtype is np.float16 and np.ndim(label) == 0 and label not in (0, 1):
            # Every float16 logit meets labels 0, 1 and a random label; the other
            # fixed labels take every 8th one, to keep the test file within a minute.
            logits = z[::8]
        exact = reference.exact_array(reference.exact_loss, logits, label)
        errors = reference.ulp_error(stable.bce_with_logits(logits, label), exact, dtype)
        assert_within(errors, BOUND[dtype], logits, label if np.ndim(label) == 0 else "random", "loss")


def test_grad_on_grid(dtype_and_grid):
    dtype, z = dtype_and_grid
    for label in (dtype(0), dtype(1)):
        exact = reference.exact_array(reference.exact_grad, z, label)
        errors = reference.ulp_error(stable.bce_with_logits_grad(z, label), exact, dtype)
        assert_within(errors, BOUND[dtype], z, label, "gradient")


def test_fused_matches_separate_on_grid(dtype_and_grid):
    dtype, z = dtype_and_grid
    labels = np.random.default_rng(2).random(z.size).astype(dtype)
    loss, grad = stable.bce_with_logits_and_grad(z, labels)
    np.testing.assert_array_equal(loss, stable.bce_with_logits(z, labels))
    np.testing.assert_array_equal(grad, stable.bce_with_logits_grad(z, labels))


@pytest.mark.parametrize(
    "function, exact_function",
    [
        (stable.sigmoid, reference.exact_sigmoid),
        (stable.softplus, reference.exact_softplus),
        (stable.log_sigmoid, reference.exact_log_sigmoid),
    ],
    ids=["sigmoid", "softplus", "log_sigmoid"],
)
def test_building_blocks_on_grid(dtype_and_grid, function, exact_function):
    dtype, z = dtype_and_grid
    if dtype is np.float16:
        z = z[::4]  # the loss and gradient tests already cover every float16 value
    errors = reference.ulp_error(function(z), reference.exact_array(exact_function, z), dtype)
    assert_within(errors, BOUND[dtype], z, None, function.__name__)


@pytest.mark.parametrize("pos_weight", [0.3, 2.0, 7.5])
def test_weighted_on_grid(dtype_and_grid, pos_weight):
    dtype, z = dtype_and_grid
    z = z[:: max(1, z.size // 1500)]
    for label in (dtype(0), dtype(1), dtype(0.3), dtype(0.9)):
        exact = reference.exact_array(lambda a, b: reference.exact_loss(a, b, pos_weight=pos_weight), z, label)
        errors = reference.ulp_error(stable.bce_with_logits(z, label, pos_weight=pos_weight), exact, dtype)
        assert_within(errors, WEIGHTED_BOUND[dtype], z, label, f"loss, pos_weight={pos_weight}")
    for label in (dtype(0), dtype(1)):
        exact = reference.exact_array(lambda a, b: reference.exact_grad(a, b, pos_weight=pos_weight), z, label)
        errors = reference.ulp_error(stable.bce_with_logits_grad(z, label, pos_weight=pos_weight), exact, dtype)
        assert_within(errors, WEIGHTED_BOUND[dtype], z, label, f"gradient, pos_weight={pos_weight}")


# ---------------------------------------------------------------- hypothesis


def logits(dtype):
    width = np.finfo(dtype).bits
    return st.floats(allow_nan=False, allow_infinity=False, width=width)


def unit_labels(dtype):
    width = np.finfo(dtype).bits
    return st.one_of(
        st.sampled_from([0.0, 1.0]),
        st.floats(min_value=0.0, max_value=1.0, width=width),
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_loss_hypothesis(dtype, data):
    z = dtype(data.draw(logits(dtype)))
    y = dtype(data.draw(unit_labels(dtype)))
    error = reference.ulp_error(stable.bce_with_logits(z, y), reference.exact_loss(z, y), dtype)
    assert error <= BOUND[dtype], f"{error:.3f} ULP at z={z!r}, y={y!r}"


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_grad_hypothesis(dtype, data):
    z = dtype(data.draw(logits(dtype)))
    y = dtype(data.draw(st.sampled_from([0.0, 1.0])))
    error = reference.ulp_error(stable.bce_with_logits_grad(z, y), reference.exact_grad(z, y), dtype)
    assert error <= BOUND[dtype], f"{error:.3f} ULP at z={z!r}, y={y!r}"


@settings(max_examples=300, deadline=None)
@given(z=logits(np.float64), y=unit_labels(np.float64), pos_weight=st.floats(0.0, 100.0))
def test_weighted_hypothesis_float64(z, y, pos_weight):
    loss = stable.bce_with_logits(z, y, pos_weight=pos_weight)
    error = reference.ulp_error(loss, reference.exact_loss(z, y, pos_weight=pos_weight), np.float64)
    assert error <= WEIGHTED_BOUND[np.float64], f"{error:.3f} ULP at z={z!r}, y={y!r}, w={pos_weight!r}"


# ---------------------------------------------------------------- probabilities


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
def test_bce_on_probabilities(dtype):
    rng = np.random.default_rng(3)
    tiny = float(np.finfo(dtype).smallest_subnormal)
    magnitudes = np.geomspace(tiny, 0.5, 800).astype(dtype)
    p = np.concatenate([magnitudes, dtype(1) - magnitudes, rng.random(400).astype(dtype)])
    for label in (dtype(0), dtype(1)):
        expected = reference.exact_array(exact_bce_of_probability, p, label)
        errors = reference.ulp_error(stable.bce(p, label), expected, dtype)
        assert_within(errors, BOUND[dtype], p, label, "bce")


def exact_bce_of_probability(p, y):
    """Return -log p (y = 1) or -log(1 - p) (y = 0) at 60 digits."""
    with mp.workdps(60):
        q = mp.mpf(float(p))
        return -mp.log(q) if y == 1 else -mp.log1p(-q)
