"""Tests of bcelab.naive: the textbook forms fail exactly where IEEE arithmetic predicts.

Expected values are computed here independently: mpmath through
``bcelab.reference`` for the true values, and plain Python floats (which are
IEEE float64) or explicit numpy scalars of the dtype for the rounded ones.
"""

import math

import numpy as np
import pytest

from bcelab import naive
from bcelab.reference import exact_sigmoid, round_to, ulp_error

DTYPES = [np.float16, np.float32, np.float64]


class TestNaiveSigmoid:
    def test_accurate_in_the_middle(self):
        logits = np.linspace(-20.0, 20.0, 81)
        computed = naive.naive_sigmoid(logits)
        errors = [ulp_error(c, exact_sigmoid(z), np.float64) for c, z in zip(computed, logits)]
        # Three roundings (exp, 1 + x, 1 / x) plus exp's own error: a few ULP at most.
        assert max(errors) <= 4

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_keeps_dtype(self, dtype):
        assert naive.naive_sigmoid(np.array([0.5, -1.0], dtype=dtype)).dtype == dtype
        assert naive.naive_sigmoid(dtype(2)).dtype == dtype

    def test_integers_promoted_to_float64(self):
        assert naive.naive_sigmoid(np.array([1, 2])).dtype == np.float64

    def test_one_at_forty_in_float64(self):
        assert naive.naive_sigmoid(np.float64(40)) == 1
        assert round_to(1 - exact_sigmoid(40.0), np.float64) > 0

    def test_zero_from_exp_overflow(self):
        z = np.float64(-710)
        assert naive.naive_sigmoid(z) == 0
        assert round_to(exact_sigmoid(z), np.float64) > 0

    def test_nan_propagates(self):
        assert np.isnan(naive.naive_sigmoid(np.float32(np.nan)))

    def test_infinite_logits(self):
        np.testing.assert_array_equal(naive.naive_sigmoid(np.array([-np.inf, np.inf])), [0.0, 1.0])

    def test_silent_by_default(self):
        # pytest turns warnings into errors (pyproject.toml), so a warning would fail here.
        assert naive.naive_sigmoid(np.float32(-1000)) == 0

    def test_errstate_raise(self):
        with pytest.raises(FloatingPointError, match="overflow"):
            naive.naive_sigmoid(np.float32(-1000), errstate="raise")

    def test_errstate_warn(self):
        with pytest.warns(RuntimeWarning, match="overflow encountered in exp"):
            naive.naive_sigmoid(np.float64(-1000), errstate="warn")

    def test_errstate_none_keeps_caller_setting(self):
        with np.errstate(over="raise"), pytest.raises(FloatingPointError):
            naive.naive_sigmoid(np.float64(-1000), errstate=None)

    def test_errstate_unknown_mode(self):
        with pytest.raises(ValueError, match="errstate must be"):
            naive.naive_sigmoid(1.0, errstate="loud")

    def test_complex_rejected(self):
        with pytest.raises(ValueError, match="real numbers"):
            naive.naive_sigmoid(np.array([1j]))


class TestNaiveBce:
    def test_interior_value(self):
        assert naive.naive_bce(0.25, 1.0) == pytest.approx(math.log(4), rel=1e-15)
        assert naive.naive_bce(0.25, 0.0) == pytest.approx(-math.log(0.75), rel=1e-15)

    def test_certain_and_wrong_is_inf(self):
        assert np.isposinf(naive.naive_bce(1.0, 0.0))
        assert np.isposinf(naive.naive_bce(0.0, 1.0))

    def test_certain_and_right_is_nan(self):
        # True loss 0, but (1 - y) * log(1 - p) is 0 * (-inf).
        assert np.isnan(naive.naive_bce(1.0, 1.0))
        assert np.isnan(naive.naive_bce(0.0, 0.0))

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_keeps_dtype(self, dtype):
        assert naive.naive_bce(dtype(0.5), dtype(1)).dtype == dtype

    def test_broadcasts(self):
        loss = naive.naive_bce(np.array([[0.2], [0.7]]), np.array([0.0, 1.0, 1.0]))
        assert loss.shape == (2, 3)

    def test_nan_probability_gives_nan(self):
        assert np.isnan(naive.naive_bce(np.nan, 1.0))

    def test_probability_out_of_range_names_value_and_index(self):
        with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]; found 1.5 at index \(1,\)"):
            naive.naive_bce(np.array([0.5, 1.5]), 1.0)

    def test_nan_label_rejected(self):
        with pytest.raises(ValueError, match=r"y must lie in .*found nan at index \(0,\)"):
            naive.naive_bce(0.5, np.array([np.nan]))

    def test_label_out_of_range_rejected(self):
        with pytest.raises(ValueError, match=r"y must lie in .*found -1.0"):
            naive.naive_bce(0.5, -1.0)

    def test_errstate_raise_shows_the_operation(self):
        with pytest.raises(FloatingPointError, match="divide by zero"):
            naive.naive_bce(1.0, 1.0, errstate="raise")


class TestNaiveBceGrad:
    def test_interior_value(self):
        p, y = 0.2, 1.0
        assert naive.naive_bce_grad(p, y) == pytest.approx(-1 / p, rel=1e-15)
        assert naive.naive_bce_grad(p, 0.0) == pytest.approx(1 / (1 - p), rel=1e-15)

    def test_division_by_zero(self):
        assert np.isposinf(naive.naive_bce_grad(1.0, 0.0))
        assert np.isneginf(naive.naive_bce_grad(0.0, 1.0))

    def test_zero_over_zero(self):
        assert np.isnan(naive.naive_bce_grad(1.0, 1.0))
        assert np.isnan(naive.naive_bce_grad(0.0, 0.0))


class TestNaiveChainedGrad:
    def test_equals_p_minus_y_in_the_interior(self):
        p = np.array([0.1, 0.5, 0.9])
        for y in (0.0, 1.0):
            np.testing.assert_allclose(naive.naive_chained_grad(p, y), p - y, rtol=1e-14)

    @pytest.mark.parametrize("p", [0.0, 1.0])
    @pytest.mark.parametrize("y", [0.0, 1.0])
    def test_nan_at_saturated_probabilities(self, p, y):
        # The true dL/dz = p - y is finite (0 or ±1) at both ends.
        assert np.isnan(naive.naive_chained_grad(p, y))

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_saturation_from_a_logit(self, dtype):
        z = dtype(40)
        p = naive.naive_sigmoid(z)
        assert p == 1
        assert np.isnan(naive.naive_chained_grad(p, dtype(1)))


class TestClippedBce:
    def test_float32_clip_below_epsneg_does_nothing(self):
        # 1 - 1e-8 rounds to 1 in float32, so p = 1 survives the clip.
        assert np.float32(1) - np.float32(1e-8) == 1
        assert np.isposinf(naive.clipped_bce(np.float32(1), 0, 1e-8))
        assert np.isnan(naive.clipped_bce(np.float32(1), 1, 1e-8))

    def test_float32_cap_uses_the_stored_bound(self):
        upper = np.float32(1) - np.float32(1e-7)
        expected = -math.log(1 - float(upper))  # 1 - upper is exact (Sterbenz)
        assert naive.clipped_bce(np.float32(1), 0, 1e-7) == pytest.approx(expected, rel=1e-6)

    def test_float64_caps_every_loss(self):
        # A certain wrong prediction costs -log(eps), not inf.
        for p, y in ((1.0, 0.0), (0.0, 1.0)):
            assert naive.clipped_bce(p, y, 1e-4) == pytest.approx(-math.log(1e-4), rel=1e-12)

    def test_float16_eps_rounds_to_zero(self):
        assert np.float16(1e-8) == 0
        assert np.isposinf(naive.clipped_bce(np.float16(1), 0, 1e-8))

    def test_zero_eps_is_naive(self):
        p = np.array([0.0, 0.3, 1.0])
        np.testing.assert_array_equal(naive.clipped_bce(p, 1.0, 0.0), naive.naive_bce(p, 1.0))

    @pytest.mark.parametrize("eps", [-1e-7, 0.6, float("nan"), float("inf")])
    def test_eps_out_of_range(self, eps):
        with pytest.raises(ValueError, match=r"eps must lie in \[0, 0.5\]"):
            naive.clipped_bce(0.5, 1.0, eps)

    @pytest.mark.parametrize("eps", [True, "1e-7", None])
    def test_eps_not_a_number(self, eps):
        with pytest.raises(ValueError, match="eps must be a real number"):
            naive.clipped_bce(0.5, 1.0, eps)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_keeps_dtype(self, dtype):
        assert naive.clipped_bce(dtype(0.5), dtype(1), 1e-3).dtype == dtype


class TestClippedBceGrad:
    def test_float64_magnitude_is_one_over_eps(self):
        assert naive.clipped_bce_grad(1.0, 0.0, 1e-4) == pytest.approx(1e4, rel=1e-12)
        assert naive.clipped_bce_grad(0.0, 1.0, 1e-4) == pytest.approx(-1e4, rel=1e-12)

    def test_float32_division_by_zero_returns(self):
        assert np.isposinf(naive.clipped_bce_grad(np.float32(1), 0, 1e-8))

    def test_interior_is_naive(self):
        p = np.array([0.2, 0.6])
        np.testing.assert_array_equal(naive.clipped_bce_grad(p, 0.0, 1e-3), naive.naive_bce_grad(p, 0.0))


class TestEpsDenominatorGrad:
    def test_float32_magnitude_is_one_over_eps(self):
        eps = np.float32(1e-8)
        assert naive.eps_denominator_grad(np.float32(1), 0, 1e-8) == pytest.approx(1 / float(eps), rel=1e-6)
        assert naive.eps_denominator_grad(np.float32(0), 1, 1e-8) == pytest.approx(-1 / float(eps), rel=1e-6)

    def test_float16_eps_rounds_to_zero(self):
        assert np.isposinf(naive.eps_denominator_grad(np.float16(1), 0, 1e-8))

    def test_float16_one_over_eps_overflows(self):
        eps = np.float16(1e-5)
        assert eps > 0
        assert 1 / float(eps) > float(np.finfo(np.float16).max)
        assert np.isposinf(naive.eps_denominator_grad(np.float16(1), 0, 1e-5))

    def test_float16_representable_eps_is_finite(self):
        eps = float(np.float16(1e-3))
        assert naive.eps_denominator_grad(np.float16(1), 0, 1e-3) == pytest.approx(1 / eps, rel=1e-3)

    def test_interior_close_to_naive(self):
        np.testing.assert_allclose(
            naive.eps_denominator_grad(np.array([0.3, 0.8]), 1.0, 1e-12),
            naive.naive_bce_grad(np.array([0.3, 0.8]), 1.0),
            rtol=1e-10,
        )

    @pytest.mark.parametrize("eps", [-1.0, 2.0])
    def test_eps_out_of_range(self, eps):
        with pytest.raises(ValueError, match=r"eps must lie in \[0, 1.0\]"):
            naive.eps_denominator_grad(0.5, 1.0, eps)
