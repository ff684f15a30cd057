"""Tests of bcelab.reference: exact values, correct rounding, spacing and ULP errors."""

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

from bcelab import reference

FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def mpf_exact(value):
    """Convert a float to an mpf without rounding, whatever the global precision."""
    with mp.workprec(2400):
        return mp.mpf(float(value))


def independent(expression, digits=120):
    """Evaluate ``expression()`` at ``digits`` digits, independently of bcelab."""
    with mp.workdps(digits):
        return expression()


def negated(value):
    """Return -value without rounding (a bare minus rounds to the global 53 bits)."""
    return mp.fneg(value, exact=True)


def relative_difference(a, b):
    with mp.workdps(120):
        return abs(a - b) / abs(b)


# ---------------------------------------------------------------- exact values


class TestExactValues:
    LOGITS = [-1e308, -745.0, -100.0, -36.75, -1.0, -2.0**-60, 0.0, 5e-324, 0.5, 17.0, 40.0, 800.0, 1.5e300]

    @pytest.mark.parametrize("z", LOGITS)
    def test_sigmoid_matches_definition(self, z):
        expected = independent(lambda: 1 / (1 + mp.exp(-mpf_exact(z))))
        assert relative_difference(reference.exact_sigmoid(z), expected) < mpmath.mpf(10) ** -50

    @pytest.mark.parametrize("z", LOGITS)
    def test_softplus_matches_definition(self, z):
        expected = independent(lambda: mp.log1p(mp.exp(mpf_exact(z))))
        assert relative_difference(reference.exact_softplus(z), expected) < mpmath.mpf(10) ** -50

    @pytest.mark.parametrize("z", LOGITS)
    def test_log_sigmoid_is_minus_softplus_of_minus_z(self, z):
        assert reference.exact_log_sigmoid(z) == negated(reference.exact_softplus(-z))

    @pytest.mark.parametrize("z", LOGITS)
    def test_sigmoid_symmetry(self, z):
        with mp.workdps(60):
            total = reference.exact_sigmoid(z) + reference.exact_sigmoid(-z)
        assert abs(total - 1) < mpmath.mpf(10) ** -55

    @pytest.mark.parametrize("z", [-745.0, -1.0, 0.0, 2.5, 40.0])
    def test_softplus_difference_is_z(self, z):
        with mp.workdps(60):
            difference = reference.exact_softplus(z) - reference.exact_softplus(-z)
        assert abs(difference - z) < mpmath.mpf(10) ** -50 * max(1, abs(z))

    def test_values_at_zero(self):
        assert reference.exact_sigmoid(0.0) == mpmath.mpf(0.5)
        assert relative_difference(reference.exact_softplus(0.0), independent(lambda: mp.log(2))) < mpmath.mpf(10) ** -55

    def test_infinite_limits(self):
        assert reference.exact_sigmoid(math.inf) == 1
        assert reference.exact_sigmoid(-math.inf) == 0
        assert reference.exact_softplus(math.inf) == mpmath.inf
        assert reference.exact_softplus(-math.inf) == 0
        assert reference.exact_log_sigmoid(math.inf) == 0
        assert reference.exact_log_sigmoid(-math.inf) == -mpmath.inf

    @pytest.mark.parametrize(
        "function", [reference.exact_sigmoid, reference.exact_softplus, reference.exact_log_sigmoid]
    )
    def test_nan_gives_nan(self, function):
        assert mp.isnan(function(math.nan))

    def test_float32_softplus_of_minus_100_is_subnormal(self):
        value = reference.exact_softplus(np.float32(-100))
        rounded = reference.round_to(value, np.float32)
        assert 0 < rounded < np.finfo(np.float32).smallest_normal
        assert relative_difference(value, independent(lambda: mp.exp(-100))) < mpmath.mpf(10) ** -40

    def test_global_precision_unchanged(self):
        before = mp.prec
        reference.exact_loss(3.0, 0.25)
        reference.exact_grad(float(np.log(1 / 3)), 0.25)
        assert mp.prec == before


class TestExactLoss:
    @pytest.mark.parametrize("z", [-800.0, -3.0, 0.0, 1e-300, 12.0, 1e5])
    def test_label_zero_is_softplus(self, z):
        assert reference.exact_loss(z, 0.0) == reference.exact_softplus(z)

    @pytest.mark.parametrize("z", [-800.0, -3.0, 0.0, 1e-300, 12.0, 1e5])
    def test_label_one_is_softplus_of_minus_z(self, z):
        assert reference.exact_loss(z, 1.0) == reference.exact_softplus(-z)

    @pytest.mark.parametrize("z, y", [(-2.0, 0.3), (0.7, 1 / 3), (30.0, 0.9), (-1e4, 0.5)])
    def test_matches_cross_entropy_definition(self, z, y):
        def definition():
            p = 1 / (1 + mp.exp(-mpf_exact(z)))
            return -(mpf_exact(y) * mp.log(p) + (1 - mpf_exact(y)) * mp.log(1 - p))

        expected = independent(definition, digits=5000)
        assert relative_difference(reference.exact_loss(z, y), expected) < mpmath.mpf(10) ** -50

    def test_pos_weight_scales_positive_term(self):
        z, y, w = -1.5, 0.25, 3.0
        with mp.workdps(60):
            expected = w * y * reference.exact_softplus(-z) + (1 - y) * reference.exact_softplus(z)
        assert relative_difference(reference.exact_loss(z, y, pos_weight=w), expected) < mpmath.mpf(10) ** -55

    def test_infinite_limits(self):
        assert reference.exact_loss(math.inf, 1.0) == 0
        assert reference.exact_loss(-math.inf, 0.0) == 0
        assert reference.exact_loss(math.inf, 0.0) == mpmath.inf
        assert reference.exact_loss(-math.inf, 1.0) == mpmath.inf
        assert reference.exact_loss(math.inf, 0.5) == mpmath.inf
        assert reference.exact_loss(-math.inf, 0.0, pos_weight=5.0) == 0
        assert reference.exact_loss(-math.inf, 1.0, pos_weight=0.0) == 0

    def test_nan_gives_nan(self):
        assert mp.isnan(reference.exact_loss(math.nan, 0.0))
        assert mp.isnan(reference.exact_loss(0.0, math.nan))


class TestExactGrad:
    @pytest.mark.parametrize("z", [-745.0, -20.0, -1.0, 1.0, 36.75, 100.0, 1e308])
    def test_label_one_is_minus_sigmoid_of_minus_z(self, z):
        assert reference.exact_grad(z, 1.0) == negated(reference.exact_sigmoid(-z))

    @pytest.mark.parametrize("z", [-1e308, -100.0, -1.0, 1.0, 745.0])
    def test_label_zero_is_sigmoid(self, z):
        assert reference.exact_grad(z, 0.0) == reference.exact_sigmoid(z)

    def test_f10_gradient_at_100(self):
        value = reference.exact_grad(np.float32(100), 1.0)
        assert relative_difference(value, independent(lambda: -mp.exp(-100) / (1 + mp.exp(-100)))) < mpmath.mpf(10) ** -50

    @pytest.mark.parametrize("z, y, w", [(-2.0, 0.3, None), (0.7, 0.2, 4.0), (3.0, 0.95, 0.5)])
    def test_is_derivative_of_loss(self, z, y, w):
        with mp.workdps(80):
            derivative = mp.diff(lambda t: reference.exact_loss(t, y, pos_weight=w), mpf_exact(z))
        assert relative_difference(reference.exact_grad(z, y, pos_weight=w), derivative) < mpmath.mpf(10) ** -30

    @pytest.mark.parametrize("y", [0.25, 1 / 3, 0.1, 0.9])
    def test_cancellation_keeps_50_digits(self, y):
        # The float64 logit nearest to log(y / (1 - y)) makes σ(z) - y tiny.
        z = float(np.log(y / (1 - y)))
        expected = independent(lambda: 1 / (1 + mp.exp(-mpf_exact(z))) - mpf_exact(y), digits=400)
        value = reference.exact_grad(z, y)
        assert abs(value) < 1e-15
        assert relative_difference(value, expected) < mpmath.mpf(10) ** -50

    def test_zero_logit_is_exact(self):
        assert reference.exact_grad(0.0, 0.5) == 0
        assert reference.exact_grad(0.0, 0.25) == mpmath.mpf(0.25)
        tiny = 5e-324
        assert reference.exact_grad(0.0, tiny) == independent(lambda: (1 - 2 * mpf_exact(tiny)) / 2, digits=800)

    def test_infinite_limits(self):
        assert reference.exact_grad(math.inf, 0.25) == mpmath.mpf(0.75)
        assert reference.exact_grad(-math.inf, 0.25) == mpmath.mpf(-0.25)
        assert reference.exact_grad(-math.inf, 0.25, pos_weight=2.0) == mpmath.mpf(-0.5)
        assert reference.exact_grad(-math.inf, 0.0) == 0

    def test_nan_gives_nan(self):
        assert mp.isnan(reference.exact_grad(math.nan, 1.0))


def test_exact_array_broadcasts():
    values = reference.exact_array(reference.exact_loss, np.array([[0.0], [1.0]]), np.array([0.0, 1.0, 0.5]))
    assert values.shape == (2, 3)
    assert values.dtype == object
    assert values[1, 2] == reference.exact_loss(1.0, 0.5)


# ---------------------------------------------------------------- round_to


class TestRoundTo:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_ties_go_to_even(self, dtype):
        eps = mpf_exact(np.finfo(dtype).eps)
        with mp.workprec(400):
            assert reference.round_to(1 + eps / 2, dtype) == 1
            assert reference.round_to(1 + 3 * eps / 2, dtype) == dtype(1) + 2 * np.finfo(dtype).eps
            assert reference.round_to(-(1 + eps / 2), dtype) == -1

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_just_above_halfway_rounds_up(self, dtype):
        eps = mpf_exact(np.finfo(dtype).eps)
        with mp.workprec(400):
            assert reference.round_to(1 + eps / 2 + mp.mpf(2) ** -300, dtype) == dtype(1) + np.finfo(dtype).eps

    @pytest.mark.parametrize("dtype", [np.float16, np.float32])
    def test_no_double_rounding_through_float64(self, dtype):
        # 1 + eps/2 + 2^-80 rounds to the tie 1 + eps/2 in float64, and then to 1 by ties-to-even.
        eps = mpf_exact(np.finfo(dtype).eps)
        with mp.workprec(400):
            value = 1 + eps / 2 + mp.mpf(2) ** -80
        assert dtype(float(value)) == 1
        assert reference.round_to(value, dtype) == dtype(1) + np.finfo(dtype).eps

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_subnormals(self, dtype):
        tiny = np.finfo(dtype).smallest_subnormal
        tiny_mpf = mpf_exact(tiny)
        with mp.workprec(2400):
            half = reference.round_to(tiny_mpf / 2, dtype)
            assert half == 0
            assert not np.signbit(half)
            assert reference.round_to(tiny_mpf / 2 + mp.mpf(2) ** -1200, dtype) == tiny
            assert reference.round_to(3 * tiny_mpf / 2, dtype) == 2 * tiny
            assert reference.round_to(5 * tiny_mpf / 2, dtype) == 2 * tiny
            assert reference.round_to(7 * tiny_mpf, dtype) == 7 * tiny
            negative = reference.round_to(-tiny_mpf / 4, dtype)
            assert negative == 0
            assert np.signbit(negative)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_overflow_after_rounding(self, dtype):
        info = np.finfo(dtype)
        largest = mpf_exact(info.max)
        half_ulp = mpf_exact(np.spacing(np.nextafter(info.max, dtype(0)))) / 2
        with mp.workprec(2400):
            assert reference.round_to((largest + half_ulp) * (1 - mp.mpf(2) ** -200), dtype) == info.max
            assert reference.round_to(largest + half_ulp, dtype) == np.inf
            assert reference.round_to(-(largest + half_ulp), dtype) == -np.inf
            assert reference.round_to(largest * 4, dtype) == np.inf

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_returns_numpy_scalar_of_dtype(self, dtype):
        value = reference.round_to(mpmath.mpf(1) / 3, dtype)
        assert type(value) is dtype

    def test_specials(self):
        assert np.isnan(reference.round_to(mpmath.nan, np.float32))
        assert reference.round_to(mpmath.inf, np.float16) == np.inf
        assert reference.round_to(-mpmath.inf, np.float64) == -np.inf
        assert reference.round_to(0, np.float32) == 0

    def test_rejects_other_dtypes(self):
        with pytest.raises(ValueError, match="float16, float32 or float64"):
            reference.round_to(1, np.longdouble if np.finfo(np.longdouble).nmant > 52 else np.int32)

    @settings(max_examples=300, deadline=None)
    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_agrees_with_numpy_casts_from_float64(self, x):
        # numpy's float64 -> float32 and float64 -> float16 casts round once, to nearest even.
        with np.errstate(over="ignore"):
            expected32 = np.float32(x)
            expected16 = np.float16(x)
        assert reference.round_to(x, np.float32) == expected32
        assert reference.round_to(x, np.float16) == expected16
        assert reference.round_to(x, np.float64) == x

    def test_round_array(self):
        values = reference.exact_array(reference.exact_softplus, np.array([-100.0, 0.0, 50.0]))
        rounded = reference.round_array(values, np.float32)
        assert rounded.dtype == np.float32
        assert rounded[1] == np.float32(np.log(2))
        assert rounded[2] == np.float32(50)


# ---------------------------------------------------------------- spacing and ulp_error


class TestSpacing:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_powers_of_two(self, dtype):
        info = np.finfo(dtype)
        for k in range(int(info.minexp), int(info.maxexp)):
            with mp.workprec(2400):
                power = mp.ldexp(mp.mpf(1), k)
                assert reference.spacing(power, dtype) == mp.ldexp(mp.mpf(1), k - info.nmant)
                below = power * (1 - mp.mpf(2) ** -200)
                if k > info.minexp:
                    assert reference.spacing(below, dtype) == mp.ldexp(mp.mpf(1), k - 1 - info.nmant)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_subnormal_floor(self, dtype):
        tiny = mpf_exact(np.finfo(dtype).smallest_subnormal)
        assert reference.spacing(0, dtype) == tiny
        assert reference.spacing(tiny, dtype) == tiny
        with mp.workprec(2400):
            assert reference.spacing(tiny / 1000, dtype) == tiny

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_beyond_max_uses_top_binade(self, dtype):
        info = np.finfo(dtype)
        top = mpf_exact(np.spacing(np.nextafter(info.max, dtype(0))))
        with mp.workprec(2400):
            assert reference.spacing(mpf_exact(info.max) * 8, dtype) == top

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_agrees_with_numpy_spacing(self, dtype):
        info = np.finfo(dtype)
        values = np.concatenate([
            np.geomspace(float(info.smallest_subnormal), float(info.max) / 4, 300),
            [float(info.smallest_subnormal), float(info.smallest_normal), 1.0, 0.0],
        ]).astype(dtype)
        for value in values:
            assert reference.spacing(value, dtype) == mpf_exact(np.spacing(value))


class TestUlpError:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_neighbours_are_one_ulp_apart(self, dtype):
        values = np.array([1.0, 0.75, 3e-5, 1e4], dtype=dtype)
        above = np.nextafter(values, dtype(np.inf))
        errors = reference.ulp_error(above, values, dtype)
        assert errors.dtype == np.float64
        np.testing.assert_array_equal(errors, 1.0)

    def test_half_ulp_from_exact(self):
        with mp.workprec(200):
            exact = 1 + mpf_exact(np.finfo(np.float32).eps) / 2
        assert reference.ulp_error(np.float32(1), exact, np.float32) == 0.5

    def test_subnormal_floor(self):
        tiny = np.finfo(np.float32).smallest_subnormal
        assert reference.ulp_error(np.float32(0), mpf_exact(tiny) * 3, np.float32) == 3.0
        assert reference.ulp_error(np.float32(0), mpf_exact(1e-60), np.float32) < 1e-10

    def test_special_values(self):
        dtype = np.float64
        assert reference.ulp_error(np.inf, mpmath.inf, dtype) == 0.0
        assert reference.ulp_error(-np.inf, -mpmath.inf, dtype) == 0.0
        assert reference.ulp_error(np.inf, -mpmath.inf, dtype) == math.inf
        assert reference.ulp_error(1e308, mpmath.inf, dtype) == math.inf
        assert reference.ulp_error(np.inf, mpmath.mpf(1), dtype) == math.inf
        assert reference.ulp_error(np.nan, mpmath.mpf(1), dtype) == math.inf
        assert reference.ulp_error(np.nan, mpmath.nan, dtype) == 0.0
        assert reference.ulp_error(1.0, mpmath.nan, dtype) == math.inf

    def test_overflowing_exact_value_accepts_infinity(self):
        with mp.workprec(200):
            beyond = mpf_exact(np.finfo(np.float16).max) + 16
        assert reference.ulp_error(np.float16(np.inf), beyond, np.float16) == 0.0
        assert reference.ulp_error(np.float16(np.inf), mpf_exact(np.finfo(np.float16).max) + 15, np.float16) == math.inf

    def test_broadcasts_and_returns_float_for_scalars(self):
        errors = reference.ulp_error(np.zeros((2, 3)), np.zeros(3), np.float64)
        assert errors.shape == (2, 3)
        assert isinstance(reference.ulp_error(0.0, 0.0, np.float64), float)

    @pytest.mark.parametrize("dtype", [np.float16, np.float32])
    def test_narrow_path_agrees_with_exact_path(self, dtype):
        rng = np.random.default_rng(0)
        z = rng.normal(0, 30, 300)
        exact = reference.exact_array(reference.exact_softplus, z)
        computed = reference.round_array(exact, dtype)
        computed = np.nextafter(computed, dtype(np.inf)) if dtype is np.float32 else computed
        fast = reference.ulp_error(computed, exact, dtype)
        slow = np.array([reference._ulp_error_scalar(c, x, np.dtype(dtype)) for c, x in zip(computed, exact)])
        np.testing.assert_allclose(fast, slow, rtol=0, atol=2.0**-28)


def test_ulp_error_exact_beyond_float64_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            beyond = reference.ulp_error(np.float32(3e38), mp.mpf("1e400"), np.float32)
            overflowed = reference.ulp_error(np.float32(np.inf), mp.mpf("1e400"), np.float32)
    assert beyond == math.inf
    assert overflowed == 0.0


def test_ulp_error_beyond_float64_range_is_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            error = reference.ulp_error(np.float64(1e300), mp.mpf("5e-324"), np.float64)
    assert error == math.inf
