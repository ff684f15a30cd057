"""Tests of bcelab.floats: dtype facts, ordinals, the threshold search and the saturation thresholds.

Every threshold is compared with a closed form evaluated independently in
mpmath at 100 digits:

- naive σ(z) == 1 from z = ln(2 / eps): fl(1 + u) == 1 exactly when
  u <= eps / 2 (ties to even), so 1 / (1 + exp(-z)) is 1 once exp(-z) <= eps / 2.
- rounded σ(z) == 1 from the solution of σ(z) = 1 - epsneg / 2, the midpoint
  between 1 and the float below it: z = ln(2 / epsneg - 1).
- naive σ(z) == 0 up to z = -ln(max + ulp(max) / 2): exp(-z) overflows to inf
  once it reaches the midpoint between max and the next power of two.
- rounded σ(z) == 0 up to the solution of σ(z) = smallest_subnormal / 2:
  z = -ln(2 / smallest_subnormal - 1).
"""

import warnings

import numpy as np
import pytest
from mpmath import mp

from bcelab import floats
from bcelab.naive import naive_bce, naive_sigmoid
from bcelab.reference import exact_sigmoid, round_to

DTYPES = [np.float16, np.float32, np.float64]

# IEEE 754 binary16, binary32 and binary64: storage bits and significand precision.
IEEE_FORMATS = {np.float16: (16, 11), np.float32: (32, 24), np.float64: (64, 53)}

# The naive form goes through numpy's exp, which is not correctly rounded, so
# its thresholds are allowed this many ULP of z from the closed form.
NAIVE_TOLERANCE_ULP = 2


def mp_exact(value):
    """Convert a float to an mpf without rounding."""
    with mp.workprec(2400):
        return mp.mpf(float(value))


def closed_forms(dtype):
    """Return the four thresholds of the module docstring as mpf values at 100 digits."""
    info = np.finfo(dtype)
    with mp.workdps(100):
        eps = mp_exact(info.eps)
        epsneg = mp_exact(info.epsneg)
        largest = mp_exact(info.max)
        half_ulp_of_max = mp.ldexp(1, info.maxexp - (info.nmant + 1) - 1)
        subnormal = mp_exact(info.smallest_subnormal)
        return {
            "naive_one": mp.log(2 / eps),
            "rounded_one": mp.log(2 / epsneg - 1),
            "naive_zero": -mp.log(largest + half_ulp_of_max),
            "rounded_zero": -mp.log(2 / subnormal - 1),
        }


def nearest_ulps(value, target_mpf, dtype):
    """Return the distance in ULP from ``value`` to ``target_mpf`` rounded to ``dtype``."""
    return abs(floats.ulp_distance(round_to(target_mpf, dtype), value))


def neighbours(value, count):
    """Return the ``count`` representable values below and above ``value``, nearest first."""
    below, above = [], []
    low = high = value
    for _ in range(count):
        low = np.nextafter(low, -np.inf)
        high = np.nextafter(high, np.inf)
        below.append(low)
        above.append(high)
    return below, above


class TestDtypeFacts:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_ieee_format(self, dtype):
        facts = floats.dtype_facts(dtype)
        assert (facts.bits, facts.precision) == IEEE_FORMATS[dtype]

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_relations_between_facts(self, dtype):
        facts = floats.dtype_facts(dtype)
        assert facts.eps == 2.0 ** (1 - facts.precision)
        assert facts.epsneg == facts.eps / 2
        assert facts.smallest_normal == 2.0 ** facts.min_exponent
        assert facts.smallest_subnormal == 2.0 ** (facts.min_exponent - facts.precision + 1)
        assert facts.max == (2 - facts.eps) * 2.0 ** (facts.max_exponent - 1)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_facts_are_spacings_around_one(self, dtype):
        facts = floats.dtype_facts(dtype)
        one = dtype(1)
        assert float(np.nextafter(one, dtype(2)) - one) == facts.eps
        assert float(one - np.nextafter(one, dtype(0))) == facts.epsneg
        assert float(np.nextafter(dtype(0), dtype(1))) == facts.smallest_subnormal
        assert float(np.nextafter(dtype(np.inf), dtype(0))) == facts.max

    @pytest.mark.parametrize("dtype", [np.int32, np.complex128, np.longdouble, "not a dtype"])
    def test_other_dtypes_rejected(self, dtype):
        if dtype is np.longdouble and np.dtype(np.longdouble) == np.dtype(np.float64):
            pytest.skip("longdouble is float64 on this platform")
        with pytest.raises(ValueError, match="float16, float32 or float64"):
            floats.dtype_facts(dtype)


class TestOrdinals:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_round_trip_and_order(self, dtype):
        rng = np.random.default_rng(1)
        info = np.finfo(dtype)
        magnitudes = np.exp(rng.uniform(np.log(float(info.smallest_subnormal)), np.log(float(info.max)), 200))
        values = np.concatenate([magnitudes, -magnitudes]).astype(dtype)
        values = np.sort(values[np.isfinite(values)])
        ordinals = [floats.to_ordinal(v) for v in values]
        assert ordinals == sorted(ordinals)
        for value, ordinal in zip(values, ordinals):
            assert floats.from_ordinal(ordinal, dtype) == value

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_one_ordinal_is_one_nextafter(self, dtype):
        for value in (dtype(-3.5), dtype(0), dtype(1), np.finfo(dtype).smallest_normal):
            assert floats.ulp_distance(value, np.nextafter(value, dtype(np.inf))) == 1
            assert floats.ulp_distance(value, np.nextafter(value, dtype(-np.inf))) == -1

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_signed_zeros_and_infinities(self, dtype):
        assert floats.to_ordinal(dtype(0.0)) == floats.to_ordinal(dtype(-0.0)) == 0
        top = floats.to_ordinal(np.finfo(dtype).max)
        assert floats.to_ordinal(dtype(np.inf)) == top + 1
        assert floats.to_ordinal(dtype(-np.inf)) == -(top + 1)

    def test_nan_rejected(self):
        with pytest.raises(ValueError, match="NaN"):
            floats.to_ordinal(np.float32(np.nan))

    def test_mixed_dtypes_rejected(self):
        with pytest.raises(ValueError, match="same dtype"):
            floats.ulp_distance(np.float32(1), np.float64(1))


class TestSearch:
    def test_first_true_finds_exact_value(self):
        threshold = floats.first_true(lambda x: x >= 1.5, np.float32(0), np.float32(1e6))
        assert threshold == np.float32(1.5)

    def test_first_true_from_above(self):
        threshold = floats.first_true(lambda x: x <= -2.25, np.float64(0), np.float64(-1e300))
        assert threshold == -2.25

    def test_first_true_rejects_bad_bracket(self):
        with pytest.raises(ValueError, match="predicate"):
            floats.first_true(lambda x: x > 5, np.float64(6), np.float64(10))

    def test_search_outward_doubles_then_bisects(self):
        threshold = floats.search_outward(lambda x: x >= 1000.125, np.float64(0), 1)
        assert threshold == 1000.125

    def test_search_outward_reports_no_change(self):
        with pytest.raises(ValueError, match="false from"):
            floats.search_outward(lambda x: False, np.float16(0), -1)

    def test_search_outward_rejects_direction(self):
        with pytest.raises(ValueError, match="direction"):
            floats.search_outward(lambda x: True, np.float16(0), 0)


class TestThresholds:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_values_have_the_dtype(self, dtype):
        thresholds = floats.sigmoid_thresholds(dtype)
        for name in ("naive_one", "rounded_one", "naive_zero", "rounded_zero", "naive_loss_y0_inf", "naive_loss_y1_inf"):
            assert np.asarray(getattr(thresholds, name)).dtype == dtype, name

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_naive_one_matches_closed_form(self, dtype):
        threshold = floats.sigmoid_thresholds(dtype).naive_one
        assert nearest_ulps(threshold, closed_forms(dtype)["naive_one"], dtype) <= NAIVE_TOLERANCE_ULP

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_naive_zero_matches_closed_form(self, dtype):
        threshold = floats.sigmoid_thresholds(dtype).naive_zero
        assert nearest_ulps(threshold, closed_forms(dtype)["naive_zero"], dtype) <= NAIVE_TOLERANCE_ULP

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_rounded_one_is_first_value_past_closed_form(self, dtype):
        threshold = floats.sigmoid_thresholds(dtype).rounded_one
        boundary = closed_forms(dtype)["rounded_one"]
        assert mp_exact(threshold) > boundary
        assert mp_exact(np.nextafter(threshold, dtype(0))) < boundary

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_rounded_zero_is_last_value_before_closed_form(self, dtype):
        threshold = floats.sigmoid_thresholds(dtype).rounded_zero
        boundary = closed_forms(dtype)["rounded_zero"]
        assert mp_exact(threshold) < boundary
        assert mp_exact(np.nextafter(threshold, dtype(0))) > boundary

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_naive_one_is_monotone_nearby(self, dtype):
        threshold = floats.sigmoid_thresholds(dtype).naive_one
        below, above = neighbours(threshold, 200)
        assert naive_sigmoid(threshold) == 1
        assert all(naive_sigmoid(z) < 1 for z in below)
        assert all(naive_sigmoid(z) == 1 for z in above)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_naive_zero_is_monotone_nearby(self, dtype):
        threshold = floats.sigmoid_thresholds(dtype).naive_zero
        below, above = neighbours(threshold, 200)
        assert naive_sigmoid(threshold) == 0
        assert all(naive_sigmoid(z) == 0 for z in below)
        assert all(naive_sigmoid(z) > 0 for z in above)

    def test_float16_naive_thresholds_hold_for_every_value(self):
        # float16 has few enough values to check the monotonicity everywhere.
        thresholds = floats.sigmoid_thresholds(np.float16)
        every = np.arange(2**16, dtype=np.uint16).view(np.float16)
        every = every[np.isfinite(every)]
        sigma = naive_sigmoid(every)
        np.testing.assert_array_equal(sigma == 1, every >= thresholds.naive_one)
        np.testing.assert_array_equal(sigma == 0, every <= thresholds.naive_zero)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_rounded_thresholds_against_reference_nearby(self, dtype):
        thresholds = floats.sigmoid_thresholds(dtype)
        one, zero = thresholds.rounded_one, thresholds.rounded_zero
        assert round_to(exact_sigmoid(one), dtype) == 1
        assert round_to(exact_sigmoid(np.nextafter(one, dtype(0))), dtype) < 1
        assert round_to(exact_sigmoid(zero), dtype) == 0
        assert round_to(exact_sigmoid(np.nextafter(zero, dtype(0))), dtype) > 0

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_naive_saturates_before_rounded(self, dtype):
        thresholds = floats.sigmoid_thresholds(dtype)
        assert thresholds.naive_one < thresholds.rounded_one
        assert thresholds.naive_zero > thresholds.rounded_zero

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_loss_is_inf_exactly_where_sigmoid_saturates(self, dtype):
        thresholds = floats.sigmoid_thresholds(dtype)
        assert thresholds.naive_loss_y0_inf == thresholds.naive_one
        assert thresholds.naive_loss_y1_inf == thresholds.naive_zero
        before_one = np.nextafter(thresholds.naive_one, dtype(0))
        before_zero = np.nextafter(thresholds.naive_zero, dtype(0))
        assert np.isposinf(naive_bce(naive_sigmoid(thresholds.naive_one), dtype(0)))
        assert np.isfinite(naive_bce(naive_sigmoid(before_one), dtype(0)))
        assert np.isposinf(naive_bce(naive_sigmoid(thresholds.naive_zero), dtype(1)))
        assert np.isfinite(naive_bce(naive_sigmoid(before_zero), dtype(1)))

    def test_other_dtype_rejected(self):
        with pytest.raises(ValueError, match="float16, float32 or float64"):
            floats.sigmoid_thresholds(np.int64)


class TestRecordedWarnings:
    def test_messages_are_stable_and_distinct(self):
        with floats.recorded_warnings() as messages:
            with np.errstate(divide="warn", invalid="warn"):
                np.log(np.zeros(3))
                np.log(np.zeros(2))
                np.zeros(1) * np.array([np.inf])
        assert messages == [
            "RuntimeWarning: divide by zero encountered in log",
            "RuntimeWarning: invalid value encountered in multiply",
        ]

    def test_empty_when_nothing_warns(self):
        with floats.recorded_warnings() as messages:
            np.log(np.ones(3))
        assert messages == []

    def test_filters_restored_afterwards(self):
        with floats.recorded_warnings():
            pass
        with pytest.raises(RuntimeWarning), warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(divide="warn"):
                np.log(np.zeros(1))
