"""Tests of bcelab.stable: the edge behaviour stated in each docstring, dtypes, input checks."""

import math
import warnings

import numpy as np
import pytest
from mpmath import mp

import bcelab.stable as stable
from bcelab import reference

INF = math.inf
NAN = math.nan
FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def rounded(exact, dtype):
    return reference.round_to(exact, dtype)


def same(actual, expected):
    """True when both are NaN or both are equal (0.0 == -0.0)."""
    actual, expected = float(actual), float(expected)
    return (math.isnan(actual) and math.isnan(expected)) or actual == expected


# ---------------------------------------------------------------- edge-case table
# One row per line of edge behaviour in the docstrings: (function, args, kwargs, expected).

EDGE_CASES = [
    (stable.sigmoid, (INF,), {}, 1.0),
    (stable.sigmoid, (-INF,), {}, 0.0),
    (stable.sigmoid, (NAN,), {}, NAN),
    (stable.sigmoid, (0.0,), {}, 0.5),
    (stable.sigmoid, (-0.0,), {}, 0.5),
    (stable.softplus, (INF,), {}, INF),
    (stable.softplus, (-INF,), {}, 0.0),
    (stable.softplus, (NAN,), {}, NAN),
    (stable.log_sigmoid, (INF,), {}, 0.0),
    (stable.log_sigmoid, (-INF,), {}, -INF),
    (stable.log_sigmoid, (NAN,), {}, NAN),
    (stable.bce_with_logits, (INF, 1.0), {}, 0.0),
    (stable.bce_with_logits, (INF, 0.0), {}, INF),
    (stable.bce_with_logits, (INF, 0.5), {}, INF),
    (stable.bce_with_logits, (-INF, 0.0), {}, 0.0),
    (stable.bce_with_logits, (-INF, 1.0), {}, INF),
    (stable.bce_with_logits, (-INF, 0.25), {}, INF),
    (stable.bce_with_logits, (-INF, 1.0), {"pos_weight": 0.0}, 0.0),
    (stable.bce_with_logits, (-INF, 1.0), {"pos_weight": 3.0}, INF),
    (stable.bce_with_logits, (INF, 1.0), {"pos_weight": 3.0}, 0.0),
    (stable.bce_with_logits, (-INF, 0.0), {"pos_weight": 3.0}, 0.0),
    (stable.bce_with_logits, (INF, 0.5), {"pos_weight": 3.0}, INF),
    (stable.bce_with_logits, (-INF, 0.25), {"pos_weight": 2.0}, INF),
    (stable.bce_with_logits, (INF, 1.0), {"pos_weight": 0.0}, 0.0),
    (stable.bce_with_logits, (0.0, 1.0), {"pos_weight": 0.0}, 0.0),
    (stable.bce_with_logits, (NAN, 0.0), {}, NAN),
    (stable.bce_with_logits, (NAN, 1.0), {"pos_weight": 0.0}, NAN),
    (stable.bce_with_logits, (NAN, 0.5), {"pos_weight": 2.0}, NAN),
    (stable.bce_with_logits_grad, (INF, 0.25), {}, 0.75),
    (stable.bce_with_logits_grad, (INF, 1.0), {}, 0.0),
    (stable.bce_with_logits_grad, (-INF, 0.25), {}, -0.25),
    (stable.bce_with_logits_grad, (-INF, 0.25), {"pos_weight": 2.0}, -0.5),
    (stable.bce_with_logits_grad, (INF, 0.25), {"pos_weight": 2.0}, 0.75),
    (stable.bce_with_logits_grad, (-INF, 0.0), {}, 0.0),
    (stable.bce_with_logits_grad, (0.0, 0.5), {}, 0.0),
    (stable.bce_with_logits_grad, (INF, 1.0), {"pos_weight": 3.0}, 0.0),
    (stable.bce_with_logits_grad, (-INF, 1.0), {"pos_weight": 3.0}, -3.0),
    (stable.bce_with_logits_grad, (-INF, 0.0), {"pos_weight": 3.0}, 0.0),
    (stable.bce_with_logits_grad, (0.0, 1.0), {"pos_weight": 2.0}, -1.0),
    (stable.bce_with_logits_grad, (0.0, 0.0), {"pos_weight": 2.0}, 0.5),
    (stable.bce_with_logits_grad, (NAN, 1.0), {}, NAN),
    (stable.bce_with_logits_grad, (NAN, 0.5), {"pos_weight": 2.0}, NAN),
    (stable.bce, (1.0, 0.0), {}, INF),
    (stable.bce, (1.0, 1.0), {}, 0.0),
    (stable.bce, (0.0, 0.0), {}, 0.0),
    (stable.bce, (0.0, 1.0), {}, INF),
    (stable.bce, (0.0, 1.0), {"pos_weight": 0.0}, 0.0),
    (stable.bce, (1.0, 1.0), {"pos_weight": 2.5}, 0.0),
    (stable.bce, (0.0, 0.0), {"pos_weight": 2.5}, 0.0),
    (stable.bce, (0.0, 0.5), {"pos_weight": 0.0}, 0.0),
    (stable.bce, (1.0, 0.5), {"pos_weight": 0.0}, INF),
    (stable.bce, (0.0, 0.5), {"pos_weight": 2.5}, INF),
    (stable.bce, (0.0, 0.5), {"pos_weight": 5e-324}, INF),
    (stable.bce, (NAN, 1.0), {}, NAN),
    (stable.bce, (NAN, 1.0), {"pos_weight": 0.0}, NAN),
    (stable.bce, (NAN, 0.0), {"pos_weight": 2.5}, NAN),
]


@pytest.mark.parametrize(
    "function, args, kwargs, expected",
    EDGE_CASES,
    ids=[f"{f.__name__}{args}{kwargs or ''}" for f, args, kwargs, _ in EDGE_CASES],
)
def test_edge_case(function, args, kwargs, expected):
    for dtype in FLOAT_DTYPES:
        typed = [dtype(value) for value in args]
        value = function(*typed, **kwargs)
        assert np.asarray(value).dtype == dtype
        assert same(value, expected), f"{function.__name__}{tuple(typed)} = {value!r}, expected {expected!r}"


def test_zero_losses_are_positive_zero():
    assert not np.signbit(stable.bce(1.0, 1.0))
    assert not np.signbit(stable.bce(0.0, 0.0))
    assert not np.signbit(stable.bce(1.0, 1.0, pos_weight=2.5))
    assert not np.signbit(stable.bce_with_logits(INF, 1.0))
    assert not np.signbit(stable.bce_with_logits(INF, 1.0, pos_weight=2.5))


# ---------------------------------------------------------------- field reports


def test_f1_certain_wrong_probability_is_infinite():
    loss = stable.bce(np.array([1, 1], np.float32), np.array([0, 0], np.float32))
    np.testing.assert_array_equal(loss, [np.inf, np.inf])


def test_f2_saturated_logits_cost_softplus():
    z = np.array([16.09, 17.57, 18.19, 20.43, 24.38, 25.89, 31.81, 35.35, 193.4], np.float32)
    loss = stable.bce_with_logits(z, np.float32(0))
    expected = reference.round_array(reference.exact_array(reference.exact_softplus, z), np.float32)
    np.testing.assert_array_equal(loss, expected)
    assert loss[-1] == np.float32(193.4)


def test_f3_softplus_minus_100_is_subnormal_float32():
    loss = stable.bce_with_logits(np.float32(-100), np.float32(0))
    assert loss == rounded(reference.exact_softplus(np.float32(-100)), np.float32)
    assert 0 < loss < np.finfo(np.float32).smallest_normal


def test_pytorch_case_minus_15_25_float32():
    # PyTorch 2.13's CPU kernel returns 0.0 here; the loss is about 2.38e-7.
    loss = stable.bce_with_logits(np.float32(-15.25), np.float32(0))
    assert loss == rounded(reference.exact_loss(np.float32(-15.25), 0.0), np.float32)
    assert loss > 2e-7


def test_f8_stored_probability():
    p = np.float32(0.9999999)
    loss = stable.bce(p, np.float32(0))
    assert loss == rounded(exact_minus_log1p(-float(p)), np.float32)
    assert loss > 15.9


def exact_minus_log1p(x):
    """Return -log1p(x) at 60 digits."""
    with mp.workdps(60):
        return -mp.log1p(mp.mpf(x))


def test_f10_gradient_at_100_float32():
    grad = stable.bce_with_logits_grad(np.float32(100), np.float32(1))
    assert grad == rounded(reference.exact_grad(np.float32(100), 1.0), np.float32)
    assert grad < 0


def test_f14_gradient_bounded_where_sigmoid_rounds_to_one():
    z = np.array([36.74, 40.0, 700.0, 1e300])
    grad = stable.bce_with_logits_grad(z, 1.0)
    expected = reference.round_array(reference.exact_array(reference.exact_grad, z, 1.0), np.float64)
    np.testing.assert_array_equal(grad, expected)
    assert np.all((grad <= 0) & (grad > -1))


def test_f15_certain_right_probability_is_zero():
    assert stable.bce(1.0, 1.0) == 0.0


def test_f16_log_sigmoid_far_left():
    assert stable.log_sigmoid(-1234.1) == -1234.1


def test_f19_losses_not_capped():
    z = np.array([60.0, 100.0, 20.0, 80.0])
    loss = stable.bce_with_logits(z, 0.0)
    expected = reference.round_array(reference.exact_array(reference.exact_softplus, z), np.float64)
    np.testing.assert_array_equal(loss, expected)


def test_sigmoid_subnormal_tail_not_flushed():
    # 1 / (1 + exp(-z)) gives 0 here because exp(745) overflows; σ(-745) is the smallest subnormal.
    value = stable.sigmoid(-745.0)
    assert value == rounded(reference.exact_sigmoid(-745.0), np.float64)
    assert value > 0


def test_softplus_subnormal_float64():
    z = np.array([-709.0, -720.0, -740.0, -745.0, -746.0])
    expected = reference.round_array(reference.exact_array(reference.exact_softplus, z), np.float64)
    np.testing.assert_array_equal(stable.softplus(z), expected)


# ---------------------------------------------------------------- dtypes and shapes


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dtype_preserved(dtype):
    z = np.array([-3.0, 0.0, 2.0], dtype)
    y = np.array([0.0, 0.5, 1.0], dtype)
    for result in (stable.sigmoid(z), stable.softplus(z), stable.log_sigmoid(z)):
        assert result.dtype == dtype
    for function in (stable.bce_with_logits, stable.bce_with_logits_grad):
        assert function(z, y).dtype == dtype
        assert function(z, y, pos_weight=2.0).dtype == dtype
    assert stable.bce(stable.sigmoid(z), y).dtype == dtype
    loss, grad = stable.bce_with_logits_and_grad(z, y)
    assert loss.dtype == grad.dtype == dtype


def test_integer_and_bool_input_promote_to_float64():
    assert stable.sigmoid(np.array([1, 2])).dtype == np.float64
    assert stable.bce_with_logits(np.array([1, -2]), np.array([True, False])).dtype == np.float64
    assert stable.bce(np.array([0, 1]), np.array([0, 1])).dtype == np.float64


def test_python_float_labels_do_not_widen():
    assert stable.bce_with_logits(np.float16(3), 0.1).dtype == np.float16
    assert stable.bce_with_logits_grad(np.array([1.0], np.float32), 1).dtype == np.float32


def test_pos_weight_does_not_set_dtype():
    z = np.array([1.0, -1.0], np.float32)
    assert stable.bce_with_logits(z, 1.0, pos_weight=np.array([2.0, 3.0])).dtype == np.float32


def test_mixed_float_dtypes_promote():
    z = np.array([1.0], np.float32)
    y = np.array([0.5], np.float64)
    assert stable.bce_with_logits(z, y).dtype == np.float64


def test_python_float_label_used_exactly():
    # 0.1 as a float64 label with float16 logits: the loss uses 0.1, not float16(0.1).
    z = np.float16(3.0)
    assert stable.bce_with_logits(z, 0.1) == rounded(reference.exact_loss(z, 0.1), np.float16)


def test_scalars_give_numpy_scalars():
    value = stable.bce_with_logits(1.0, 0.0)
    assert isinstance(value, np.float64)
    assert np.ndim(value) == 0


def test_broadcasting():
    z = np.linspace(-5, 5, 3).reshape(3, 1)
    y = np.array([0.0, 0.25, 1.0, 0.5])
    loss = stable.bce_with_logits(z, y)
    assert loss.shape == (3, 4)
    assert loss[2, 1] == stable.bce_with_logits(z[2, 0], y[1])


def test_empty_input():
    assert stable.bce_with_logits(np.array([]), np.array([])).shape == (0,)
    assert stable.bce(np.array([], np.float32), np.array([])).shape == (0,)
    assert stable.sigmoid(np.zeros((0, 3))).shape == (0, 3)


def test_results_do_not_depend_on_blocks():
    rng = np.random.default_rng(0)
    n = 3 * stable.BLOCK_SIZE + 17
    z = rng.normal(0, 20, 2 * n)[::2]  # strided input
    y = rng.random(n)
    loss = stable.bce_with_logits(z, y)
    grad = stable.bce_with_logits_grad(z, y)
    for index in (0, stable.BLOCK_SIZE - 1, stable.BLOCK_SIZE, n - 1):
        assert loss[index] == stable.bce_with_logits(z[index], y[index])
        assert grad[index] == stable.bce_with_logits_grad(z[index], y[index])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("pos_weight", [None, 0.0, 2.5])
def test_fused_equals_separate(dtype, pos_weight):
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(0, 30, 5000), [np.inf, -np.inf, np.nan, 0.0, -0.0]]).astype(dtype)
    y = rng.random(z.size).astype(dtype)
    loss, grad = stable.bce_with_logits_and_grad(z, y, pos_weight=pos_weight)
    np.testing.assert_array_equal(loss, stable.bce_with_logits(z, y, pos_weight=pos_weight))
    np.testing.assert_array_equal(grad, stable.bce_with_logits_grad(z, y, pos_weight=pos_weight))


def test_pos_weight_broadcasts_per_column():
    z = np.array([[1.0, -2.0], [0.5, 3.0]])
    y = np.ones((2, 2))
    weights = np.array([1.0, 4.0])
    loss = stable.bce_with_logits(z, y, pos_weight=weights)
    assert loss[1, 1] == rounded(reference.exact_loss(3.0, 1.0, pos_weight=4.0), np.float64)
    assert loss[0, 0] == stable.bce_with_logits(1.0, 1.0)


def test_gradient_bounds():
    z = np.linspace(-50, 50, 1001)
    for y in (0.0, 0.3, 1.0):
        grad = stable.bce_with_logits_grad(z, y, pos_weight=2.0)
        assert np.all(grad >= -2.0 * y)
        assert np.all(grad <= 1 - y)


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize("function", [stable.bce_with_logits, stable.bce_with_logits_grad, stable.bce_with_logits_and_grad])
@pytest.mark.parametrize(
    "labels, shown, index",
    [
        ([0.0, 1.5], "1.5", "(1,)"),
        ([[0.0, 1.0], [-0.25, 0.5]], "-0.25", "(1, 0)"),
        ([0.0, NAN], "nan", "(1,)"),
        ([0, 2], "2.0", "(1,)"),
    ],
)
def test_invalid_labels_raise(function, labels, shown, index):
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]") as error:
        function(np.zeros(np.shape(labels)), labels)
    assert shown in str(error.value)
    assert index in str(error.value)


def test_label_that_rounds_into_range_is_rejected():
    # 1.0001 would round to 1.0 in float16; it is checked before any conversion.
    with pytest.raises(ValueError, match="1.0001"):
        stable.bce_with_logits(np.float16(1), np.array([1.0001]))


@pytest.mark.parametrize(
    "probabilities, shown",
    [([0.5, 1.25], "1.25"), ([-1e-300, 0.5], "-1e-300")],
)
def test_invalid_probabilities_raise(probabilities, shown):
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]") as error:
        stable.bce(probabilities, [0.0, 1.0])
    assert shown in str(error.value)


def test_nan_probability_is_not_an_error():
    assert np.isnan(stable.bce(np.array([NAN, 0.5]), np.array([1.0, 0.0]))[0])


def test_bce_rejects_nan_labels():
    with pytest.raises(ValueError, match="labels"):
        stable.bce([0.5], [NAN])


@pytest.mark.parametrize("pos_weight, shown", [(-1.0, "-1.0"), (INF, "inf"), (NAN, "nan"), ([1.0, -0.5], "-0.5")])
def test_invalid_pos_weight_raises(pos_weight, shown):
    for function in (stable.bce_with_logits, stable.bce_with_logits_grad, stable.bce):
        with pytest.raises(ValueError, match="pos_weight must be finite and non-negative") as error:
            function(np.array([0.5, 0.5]), np.array([1.0, 0.0]), pos_weight=pos_weight)
        assert shown in str(error.value)


@pytest.mark.parametrize("bad", [np.array([1 + 2j]), np.array(["a"]), np.array([None], dtype=object)])
def test_non_real_input_raises(bad):
    with pytest.raises(ValueError, match="real numbers"):
        stable.sigmoid(bad)
    with pytest.raises(ValueError, match="real numbers"):
        stable.bce_with_logits(bad, 0.0)


# ---------------------------------------------------------------- warnings


def extreme_inputs(dtype):
    """Logits, labels and probabilities at the edges of ``dtype``, all valid."""
    info = np.finfo(dtype)
    z = [INF, -INF, NAN, info.max, -info.max, info.smallest_subnormal, -info.smallest_subnormal, 0.0, -0.0, 745.0, -745.0, 1e-30]
    y = [0.0, 1.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0, 0.0, 0.1]
    p = [0.0, 1.0, NAN, 1.0, 0.0, info.smallest_subnormal, 1.0, 0.5, 0.0, 1.0, 0.0, 1.0]
    with np.errstate(over="ignore"):
        return tuple(np.array(values, dtype=np.float64).astype(dtype) for values in (z, y, p))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_no_floating_point_warnings_for_valid_input(dtype):
    z, y, p = extreme_inputs(dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        stable.sigmoid(z)
        stable.softplus(z)
        stable.log_sigmoid(z)
        for pos_weight in (None, 0.0, 1e308):
            stable.bce_with_logits(z, y, pos_weight=pos_weight)
            stable.bce_with_logits_grad(z, y, pos_weight=pos_weight)
            stable.bce_with_logits_and_grad(z, y, pos_weight=pos_weight)
            stable.bce(p, y, pos_weight=pos_weight)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant <= 52, reason="longdouble is float64 on this platform")
def test_longdouble_weighted_matches_float64_reference():
    # longdouble runs the compensated formulas in its own dtype. No longdouble ULP bound
    # is promised, but rounded to float64 the result must be within 1 float64 ULP.
    rng = np.random.default_rng(7)
    z = np.concatenate([rng.uniform(-40, 40, 200), rng.uniform(300, 1400, 50), [0.0, np.inf, -np.inf]])
    cases = [(stable.bce_with_logits, reference.exact_loss, label) for label in (0.0, 1.0, 0.3)]
    cases += [(stable.bce_with_logits_grad, reference.exact_grad, label) for label in (0.0, 1.0)]
    for function, exact_function, label in cases:
        result = function(z.astype(np.longdouble), np.longdouble(label), pos_weight=2.5)
        assert result.dtype == np.longdouble
        exact = reference.exact_array(lambda a, b: exact_function(a, b, pos_weight=2.5), z, label)
        errors = reference.ulp_error(result.astype(np.float64), exact, np.float64)
        assert errors.max() <= 1, f"{function.__name__}, y={label}: {errors.max():.3f} float64 ULP"


def test_overflow_gives_infinity():
    # w·y·|z| beyond the largest float64 rounds to +inf.
    assert stable.bce_with_logits(-1e308, 1.0, pos_weight=10.0) == INF
    assert stable.bce_with_logits(np.float16(-60000), np.float16(1), pos_weight=2.0) == INF


# ---------------------------------------------------------------- float16 and float32 with pos_weight


@pytest.mark.parametrize("z", [740.0, 745.0, 750.0, 780.0])
@pytest.mark.parametrize("pos_weight", [1e300, 1e308])
def test_float32_huge_weight_beyond_exp_underflow(z, pos_weight):
    # exp(-|z|) is subnormal or 0 in float64 here, while w·exp(-|z|) is a normal float32.
    logit = np.float32(z)
    loss = stable.bce_with_logits(logit, 1.0, pos_weight=pos_weight)
    grad = stable.bce_with_logits_grad(logit, 1.0, pos_weight=pos_weight)
    loss_error = reference.ulp_error(loss, reference.exact_loss(logit, 1.0, pos_weight=pos_weight), np.float32)
    grad_error = reference.ulp_error(grad, reference.exact_grad(logit, 1.0, pos_weight=pos_weight), np.float32)
    assert loss_error <= 1, f"loss {float(loss)!r}: {loss_error:.3g} ULP"
    assert grad_error <= 1, f"gradient {float(grad)!r}: {grad_error:.3g} ULP"


@pytest.mark.parametrize(
    "z, y",
    [(-88.7, 5e-324), (-12345.678, 5e-324), (-88.7, 1e-320)],
)
def test_float32_subnormal_label_huge_weight(z, y):
    # y·|z| underflows in float64 before it is multiplied by w = 1e308.
    logit = np.float32(z)
    loss = stable.bce_with_logits(logit, y, pos_weight=1e308)
    error = reference.ulp_error(loss, reference.exact_loss(logit, y, pos_weight=1e308), np.float32)
    assert error <= 1, f"loss {float(loss)!r}: {error:.3g} ULP"


def test_float16_weighted_loss_just_below_overflow():
    # 7·0.3·31200 is 65519.99999999999757...: the float64 product rounds to 65520,
    # the tie between 65504 and overflow, but the exact loss rounds to 65504.
    z = np.float16(-31200)
    exact = reference.exact_loss(z, 0.3, pos_weight=7.0)
    assert exact < 65520
    assert stable.bce_with_logits(z, 0.3, pos_weight=7.0) == np.float16(65504)
    assert stable.bce_with_logits_and_grad(z, 0.3, pos_weight=7.0)[0] == np.float16(65504)


@pytest.mark.parametrize(
    "z, label, largest",
    [
        (-218364.45890968267, np.float16(0.3), np.finfo(np.float16).max),
        (-4.861176608210111e38, np.float32(0.7), np.finfo(np.float32).max),
    ],
    ids=["float16", "float32"],
)
def test_unweighted_loss_just_below_overflow(z, label, largest):
    # Python-float logits beyond the label dtype's range: y·|z| rounds in float64
    # to max + ulp(max)/2, the overflow tie, while the exact loss lies below it.
    exact = reference.exact_loss(z, label)
    assert reference.round_to(exact, label.dtype) == largest
    assert stable.bce_with_logits(z, label) == largest
    assert stable.bce_with_logits_and_grad(z, label)[0] == largest


@pytest.mark.parametrize(
    "dtype, z, y, pos_weight",
    [
        (np.float16, 8.234, 1.0, 246930725.14346018),
        (np.float16, 1.921, 1.0, 479324.7917680381),
        (np.float32, 0.014224395, 1.0, 4.9599484105756126e38),
        (np.float32, 34.514797, 0.99999994, 3.3221973735010216e53),
    ],
)
def test_weighted_loss_just_below_overflow_finite(dtype, z, y, pos_weight):
    # Each exact loss lies within 2^-53 relative below max + ulp(max)/2, so it rounds to max.
    logits, labels = np.array([z], dtype), np.array([y], dtype)
    exact = reference.exact_loss(float(logits[0]), float(labels[0]), pos_weight=pos_weight)
    expected = reference.round_to(exact, dtype)
    assert expected == np.finfo(dtype).max
    assert stable.bce_with_logits(logits, labels, pos_weight=pos_weight)[0] == expected
    assert stable.bce_with_logits_and_grad(logits, labels, pos_weight=pos_weight)[0][0] == expected
