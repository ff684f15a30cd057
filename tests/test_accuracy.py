"""Accuracy of bcelab.stable in ULPs of the result dtype, against the mpmath reference.

Bounds: the loss (any label in [0, 1]), the gradient (labels 0 and 1) and
bce on probabilities (any label) are within 1 ULP for float16 and float32 and
2 ULP for float64, with or without pos_weight. The unit is the spacing of the
result dtype at the exact value, with the smallest subnormal as the floor.
For fractional labels the gradient is checked in absolute terms, within the
same number of ULPs of max(σ(z), w·y).

float16 is enumerated completely (every finite value). float32 and float64
use a dense grid: log-spaced magnitudes of both signs from the smallest
subnormal to the largest finite value, the thresholds where σ(z) rounds to 1,
where exp(-z) overflows and where the loss becomes subnormal, uniform logits
in [-40, 40], and hypothesis-generated logits and labels. pos_weight adds
weights from the smallest subnormal to the largest float64 and logits out to
where exp(-|z|) underflows. bce uses probabilities from the smallest
subnormal up, 1 - k·epsneg, 0 and 1 (every float16 in [0, 1]).
float32 with weights from 1e250 to the largest float64 covers logits in
(700, 800), where exp(-|z|) underflows in float64 but w·exp(-|z|) does not.
float16 and float32 losses within a few float64 ULPs of the overflow
threshold (max + ulp(max)/2) check that the final rounding is a single one.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

from bcelab import reference, stable

BOUND = {np.float16: 1.0, np.float32: 1.0, np.float64: 2.0}


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
        assert_within(errors, BOUND[dtype], z, label, f"loss, pos_weight={pos_weight}")
    for label in (dtype(0), dtype(1)):
        exact = reference.exact_array(lambda a, b: reference.exact_grad(a, b, pos_weight=pos_weight), z, label)
        errors = reference.ulp_error(stable.bce_with_logits_grad(z, label, pos_weight=pos_weight), exact, dtype)
        assert_within(errors, BOUND[dtype], z, label, f"gradient, pos_weight={pos_weight}")


def weighted_tail_grid():
    """float64 logits for the extreme weights: moderate ones, and the tails where exp(-|z|) underflows."""
    rng = np.random.default_rng(4)
    moderate = rng.uniform(-40, 40, 150)
    # max·e^-|z| is representable up to |z| ≈ 709.8 + 744.4; beyond that the loss is linear or 0.
    tail = rng.uniform(330, 1470, 150)
    return np.concatenate([moderate, tail, -tail, [0.0, 354.0, 1456.0, 745.0, -745.0]])


@pytest.mark.parametrize(
    "pos_weight",
    [5e-324, 1e-300, 0.027826773139730417, 1e10, 1e300, float(np.finfo(np.float64).max)],
    ids=["smallest-subnormal", "1e-300", "0.0278", "1e10", "1e300", "max"],
)
def test_weighted_extreme_weights_float64(pos_weight):
    # w·y, w·y·|z| and w·softplus(-z) can each underflow or overflow before the result does.
    z = weighted_tail_grid()
    tiny = float(np.finfo(np.float64).smallest_subnormal)
    for label in (0.0, 1.0, 0.3, 1 - 2.0**-53, tiny):
        exact = reference.exact_array(lambda a, b: reference.exact_loss(a, b, pos_weight=pos_weight), z, label)
        errors = reference.ulp_error(stable.bce_with_logits(z, label, pos_weight=pos_weight), exact, np.float64)
        assert_within(errors, BOUND[np.float64], z, label, f"loss, pos_weight={pos_weight}")
    for label in (0.0, 1.0):
        exact = reference.exact_array(lambda a, b: reference.exact_grad(a, b, pos_weight=pos_weight), z, label)
        errors = reference.ulp_error(stable.bce_with_logits_grad(z, label, pos_weight=pos_weight), exact, np.float64)
        assert_within(errors, BOUND[np.float64], z, label, f"gradient, pos_weight={pos_weight}")


@pytest.mark.parametrize(
    "function, z, y, pos_weight",
    [
        (stable.bce_with_logits_grad, 4.798665542306438, 1.0, 0.027826773139730417),
        (stable.bce_with_logits_grad, 9.653261611240811, 1.0, 0.1),
        (stable.bce_with_logits, -0.01989731352584756, 0.1, 3.0),
    ],
    ids=["grad-w0.0278", "grad-w0.1", "loss-w3"],
)
def test_weighted_float64_former_worst_cases(function, z, y, pos_weight):
    # Rounding w·y, c = 1 - y + w·y and w·σ(-z) on their own gives more than 2 ULP here.
    exact_function = reference.exact_loss if function is stable.bce_with_logits else reference.exact_grad
    exact = exact_function(z, y, pos_weight=pos_weight)
    error = reference.ulp_error(function(z, y, pos_weight=pos_weight), exact, np.float64)
    assert error <= BOUND[np.float64], f"{error:.3f} ULP"


def huge_weight_tail_logits():
    """float32 logits in (700, 800), where exp(-|z|) is subnormal or 0 in float64, and their negatives."""
    tail = np.linspace(700, 800, 41).astype(np.float32)
    edges = np.array([708.3964, 709.7827, 744.44, 745.1332, 750.0], dtype=np.float32)
    positive = np.concatenate([tail, edges])
    return np.concatenate([positive, -positive[::4]])


@pytest.mark.parametrize(
    "pos_weight",
    [*np.geomspace(1e250, 1e308, 9).tolist(), float(np.finfo(np.float64).max)],
    ids=lambda w: f"{w:.3g}",
)
def test_weighted_huge_weights_float32_tail(pos_weight):
    # w·exp(-|z|) is a normal float32 where exp(-|z|) alone underflows in float64,
    # and w·y·|z| is one where y·|z| alone underflows (subnormal labels).
    z = huge_weight_tail_logits()
    for label in (1.0, 0.0, 0.5, np.float32(0.3), 5e-324, 1e-320):
        exact = reference.exact_array(lambda a, b: reference.exact_loss(a, b, pos_weight=pos_weight), z, label)
        loss = stable.bce_with_logits(z, label, pos_weight=pos_weight)
        # For z < 0 the exact loss w·y·|z| can exceed the largest float64; ulp_error
        # takes those entries through its exact path.
        errors = reference.ulp_error(loss, exact, np.float32)
        assert_within(errors, BOUND[np.float32], z, label, f"loss, pos_weight={pos_weight}")
    for label in (0.0, 1.0):
        exact = reference.exact_array(lambda a, b: reference.exact_grad(a, b, pos_weight=pos_weight), z, label)
        errors = reference.ulp_error(stable.bce_with_logits_grad(z, label, pos_weight=pos_weight), exact, np.float32)
        assert_within(errors, BOUND[np.float32], z, label, f"gradient, pos_weight={pos_weight}")


def overflow_threshold(dtype):
    """Return max + ulp(max)/2 of ``dtype``: the smallest value that rounds to +inf."""
    info = np.finfo(dtype)
    return float(info.max) + 2.0 ** (info.maxexp - 2 - info.nmant)


NEAR_THRESHOLD_OFFSETS = [k * 2.0**-52 for k in range(-6, 7)]
"""Relative offsets that put a float64 product within a few float64 ULPs of the overflow threshold."""


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda d: d.__name__)
def test_weighted_loss_at_overflow_threshold(dtype):
    # w·y·|z| within a few float64 ULPs of max + ulp(max)/2: a float64 value that lands
    # on that tie must not decide it, the side of the exact loss does. For |z| >= 40
    # the log1p term is below 2^-60 of the loss, so the exact products decide the side.
    threshold = overflow_threshold(dtype)
    rng = np.random.default_rng(8)
    z = -np.exp(rng.uniform(np.log(40.0), np.log(float(np.finfo(dtype).max) / 2), 25)).astype(dtype)
    for label in (0.3, float(dtype(0.7)), 1 / 3, 1.0):
        for logit in z:
            base = threshold / (label * -float(logit))
            weights = [base * (1 + offset) for offset in NEAR_THRESHOLD_OFFSETS]
            exact = [reference.exact_loss(logit, label, pos_weight=w) for w in weights]
            loss = [stable.bce_with_logits(logit, label, pos_weight=w) for w in weights]
            errors = reference.ulp_error(np.array(loss, dtype), np.array(exact, dtype=object), dtype)
            worst = int(np.argmax(errors))
            assert errors[worst] <= BOUND[dtype], (
                f"loss: {errors[worst]:.3f} ULP at z={logit!r}, y={label!r}, pos_weight={weights[worst]!r}"
            )


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda d: d.__name__)
def test_unweighted_loss_at_overflow_threshold(dtype):
    # A list of Python floats does not set the result dtype, so these logits lie beyond
    # the range of the label dtype and y·|z| or (1 - y)·|z| can land on the overflow tie.
    threshold = overflow_threshold(dtype)
    for label in (dtype(0.3), dtype(0.7), dtype(1 / 3), dtype(0.9)):
        slope = float(label)
        logits = [-threshold / slope * (1 + offset) for offset in NEAR_THRESHOLD_OFFSETS]
        logits += [threshold / (1 - slope) * (1 + offset) for offset in NEAR_THRESHOLD_OFFSETS]
        exact = reference.exact_array(reference.exact_loss, np.array(logits), label)
        errors = reference.ulp_error(stable.bce_with_logits(logits, label), exact, dtype)
        assert_within(errors, BOUND[dtype], np.array(logits), label, "loss")
        fused = stable.bce_with_logits_and_grad(logits, label)[0]
        np.testing.assert_array_equal(fused, stable.bce_with_logits(logits, label))


@pytest.mark.parametrize("pos_weight", [None, 0.3, 4.0])
def test_grad_fractional_labels_absolute(dtype_and_grid, pos_weight):
    # The gradient cancels where σ(z) is close to y, so only an absolute bound holds:
    # BOUND ULPs of max(σ(z), w·y), the larger scale of (1 - y)·σ(z) and w·y·σ(-z).
    dtype, z = dtype_and_grid
    rng = np.random.default_rng(6)
    w = 1.0 if pos_weight is None else pos_weight
    for label in (dtype(0.5), dtype(0.1), dtype(0.9), dtype(1 / 3)):
        # Logits around the root σ(z) = y/(y + (1 - y)/w), where the two terms cancel.
        root = np.log(w * float(label) / (1 - float(label)))
        logits = np.concatenate([z[:: max(1, z.size // 300)], root + rng.uniform(-1e-3, 1e-3, 200), rng.normal(0, 1e-12, 50)])
        logits = logits.astype(dtype)
        grad = stable.bce_with_logits_grad(logits, label, pos_weight=pos_weight)
        exact = reference.exact_array(lambda a, b: reference.exact_grad(a, b, pos_weight=pos_weight), logits, label)
        for value, exact_value, logit in zip(grad, exact, logits):
            scale = max(reference.exact_sigmoid(logit), mp.mpf(w) * mp.mpf(float(label)))
            error = abs(mp.mpf(float(value)) - exact_value) / reference.spacing(scale, dtype)
            assert error <= BOUND[dtype], f"{float(error):.3f} ULP of max(σ(z), w·y) at z={logit!r}, y={label!r}"


def test_grad_fractional_label_cancellation_is_absolute():
    # σ(-9e-17) - 1/2 = -2.25e-17 is below the 2^-54 to which float64 resolves σ near 1/2:
    # the relative error is large, the absolute one is within 1 ULP of 1/2 in float32.
    z, label = np.float32(-9.0e-17), np.float32(0.5)
    grad = stable.bce_with_logits_grad(z, label)
    exact = reference.exact_grad(z, label)
    assert reference.ulp_error(grad, exact, np.float32) > 1
    assert abs(mp.mpf(float(grad)) - exact) <= reference.spacing(0.5, np.float32)


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


def weights():
    """pos_weight values: mostly moderate, sometimes anywhere in the float64 range."""
    return st.one_of(st.floats(0.0, 100.0), st.floats(0.0, float(np.finfo(np.float64).max)))


def moderate_logits():
    """float64 logits where neither σ(z) nor exp(-|z|) is saturated: most of the error budget is used here."""
    return st.floats(-40.0, 40.0)


@settings(max_examples=300, deadline=None)
@given(z=st.one_of(logits(np.float64), moderate_logits()), y=unit_labels(np.float64), pos_weight=weights())
def test_weighted_hypothesis_float64(z, y, pos_weight):
    loss = stable.bce_with_logits(z, y, pos_weight=pos_weight)
    error = reference.ulp_error(loss, reference.exact_loss(z, y, pos_weight=pos_weight), np.float64)
    assert error <= BOUND[np.float64], f"{error:.3f} ULP at z={z!r}, y={y!r}, w={pos_weight!r}"


@settings(max_examples=300, deadline=None)
@given(z=st.one_of(logits(np.float64), moderate_logits()), y=st.sampled_from([0.0, 1.0]), pos_weight=weights())
def test_weighted_grad_hypothesis_float64(z, y, pos_weight):
    grad = stable.bce_with_logits_grad(z, y, pos_weight=pos_weight)
    error = reference.ulp_error(grad, reference.exact_grad(z, y, pos_weight=pos_weight), np.float64)
    assert error <= BOUND[np.float64], f"{error:.3f} ULP at z={z!r}, y={y!r}, w={pos_weight!r}"


# ---------------------------------------------------------------- probabilities


def exact_bce(p, y, pos_weight=None):
    """Return -[w·y·log p + (1 - y)·log1p(-p)] as an mpf at 60 digits, with 0·log 0 := 0."""
    with mp.workdps(60):
        # float16, float32 and float64 values convert to mpf exactly.
        p, y = mp.mpf(float(p)), mp.mpf(float(y))
        w = mp.mpf(1) if pos_weight is None else mp.mpf(float(pos_weight))
        if mp.isnan(p):
            return mp.mpf("nan")
        # A term whose weight is 0 is absent, even where its logarithm is -inf.
        positive = mp.mpf(0)
        if w * y != 0:
            log_p = mp.log(p) if p > 0 else -mp.inf
            positive = -(w * y) * log_p

        negative = mp.mpf(0)
        if y != 1:
            log_one_minus_p = mp.log1p(-p) if p < 1 else -mp.inf
            negative = -(1 - y) * log_one_minus_p
        return positive + negative


def probability_grid(dtype):
    """Probabilities: log-spaced from the smallest subnormal to 1/2, 1 - k·epsneg, their mirrors, 0 and 1."""
    info = np.finfo(dtype)
    rng = np.random.default_rng(3)
    if dtype is np.float16:
        # Every float16 in [0, 1].
        return np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16)
    magnitudes = np.geomspace(float(info.smallest_subnormal), 0.5, 1200).astype(dtype)
    near_one = (1 - np.arange(1, 101) * float(info.epsneg)).astype(dtype)
    return np.unique(np.concatenate([
        magnitudes, dtype(1) - magnitudes, near_one, rng.random(300).astype(dtype),
        [dtype(0), dtype(1), info.smallest_subnormal, info.smallest_normal],
    ]))


def probability_labels(dtype):
    """Labels for bce: 0, 1, common fractions, the label next to 1 and the smallest subnormal."""
    info = np.finfo(dtype)
    values = [0.0, 1.0, 0.5, 0.1, 0.9, 1 / 3, 1 - float(info.epsneg), float(info.smallest_subnormal)]
    return [dtype(value) for value in values]


@pytest.mark.parametrize("pos_weight", [None, 2.5, 0.03])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
def test_bce_on_probabilities(dtype, pos_weight):
    p = probability_grid(dtype)
    labels = probability_labels(dtype)
    if dtype is np.float16:
        # Every float16 probability meets labels 0 and 1; the other labels take every 4th one.
        grids = [p if label in (0, 1) else p[::4] for label in labels]
    else:
        grids = [p] * len(labels)
    for label, grid in zip(labels, grids):
        expected = reference.exact_array(lambda a, b: exact_bce(a, b, pos_weight), grid, label)
        errors = reference.ulp_error(stable.bce(grid, label, pos_weight=pos_weight), expected, dtype)
        assert_within(errors, BOUND[dtype], grid, label, f"bce, pos_weight={pos_weight}")


@pytest.mark.parametrize(
    "p, y, pos_weight",
    [
        (5e-324, 5e-324, 2.5),
        (0.5, 1e-320, 3.0),
        (0.6414908532954051, 1 / 3, None),
        (0.7156447369716409, 1 / 3, None),
    ],
    ids=["subnormal-w-y", "subnormal-y", "third-a", "third-b"],
)
def test_bce_float64_former_worst_cases(p, y, pos_weight):
    # w·y underflows before the product with -log p, or separate roundings add up past 2 ULP.
    error = reference.ulp_error(stable.bce(p, y, pos_weight=pos_weight), exact_bce(p, y, pos_weight), np.float64)
    assert error <= BOUND[np.float64], f"{error:.3f} ULP"


def probabilities(dtype):
    width = np.finfo(dtype).bits
    return st.one_of(
        st.sampled_from([0.0, 1.0]),
        st.floats(min_value=0.0, max_value=1.0, width=width),
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_bce_hypothesis(dtype, data):
    p = dtype(data.draw(probabilities(dtype)))
    y = dtype(data.draw(unit_labels(dtype)))
    if dtype is np.float64:
        pos_weight = data.draw(st.one_of(st.none(), weights()))
    else:
        # reference.ulp_error takes float16 and float32 errors through float64, so the
        # exact loss must stay below the float64 maximum: w·y·(-log p) <= 1e300·745.
        pos_weight = data.draw(st.one_of(st.none(), st.floats(0.0, 100.0), st.floats(0.0, 1e300)))
    error = reference.ulp_error(stable.bce(p, y, pos_weight=pos_weight), exact_bce(p, y, pos_weight), dtype)
    assert error <= BOUND[dtype], f"{error:.3f} ULP at p={p!r}, y={y!r}, w={pos_weight!r}"


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda d: d.__name__)
def test_weighted_bce_near_overflow_threshold(dtype):
    # w·y·(-log p) a few float64 ULPs from the threshold. The offsets start at 2^-50, so the
    # error of log (below 2^-52 relative) cannot move the exact value across the threshold.
    threshold = overflow_threshold(dtype)
    offsets = [k * 2.0**-50 for k in (-4, -2, -1, 1, 2, 4)]
    probabilities = np.array([1e-4, 0.01, 0.3, 0.5, 0.9], dtype=dtype)
    for label in (0.3, float(dtype(0.7)), 1.0):
        for p in probabilities:
            base = threshold / (label * -np.log(float(p)))
            weights = [base * (1 + offset) for offset in offsets]
            exact = [exact_bce(p, label, w) for w in weights]
            loss = [stable.bce(p, label, pos_weight=w) for w in weights]
            errors = reference.ulp_error(np.array(loss, dtype), np.array(exact, dtype=object), dtype)
            worst = int(np.argmax(errors))
            assert errors[worst] <= BOUND[dtype], (
                f"bce: {errors[worst]:.3f} ULP at p={p!r}, y={label!r}, pos_weight={weights[worst]!r}"
            )
