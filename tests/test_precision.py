"""Tests of bcelab.precision: bfloat16 rounding against an exhaustive table, its facts, its thresholds.

The independent reference for rounding is the sorted table of all 65,536
bfloat16 bit patterns decoded to float32 (a bfloat16 is the upper half of a
float32 word, so decoding is a 16-bit shift). Rounding a value to nearest,
ties to even, is then a search in that table, with no bit tricks shared with
the code under test.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcelab import floats
from bcelab.precision import (
    BFLOAT16,
    DROPPED_BITS,
    bfloat16_sigmoid_thresholds,
    correctly_rounded_sigmoid_bfloat16,
    is_bfloat16,
    naive_sigmoid_bfloat16,
    round_exact_to_bfloat16,
    round_to_bfloat16,
)


def decode(patterns):
    """Decode bfloat16 bit patterns (uint16) to their float32 values."""
    return (np.asarray(patterns, dtype=np.uint32) << np.uint32(16)).view(np.float32)


# Every finite non-negative bfloat16 value, in increasing order, with its bit pattern.
_PATTERNS = np.arange(0x0000, 0x7F80, dtype=np.uint32)  # 0x7F80 is +inf
_VALUES = decode(_PATTERNS).astype(np.float64)
_OVERFLOW_AT = _VALUES[-1] + (_VALUES[-1] - _VALUES[-2]) / 2  # max + half an ulp ties to even: inf


def table_round(value):
    """Round a float64 to bfloat16 by searching the table: nearest, ties to the even pattern."""
    if math.isnan(value):
        return math.nan
    magnitude = abs(value)
    if magnitude >= _OVERFLOW_AT:
        rounded = math.inf
    else:
        above = int(np.searchsorted(_VALUES, magnitude, side="left"))
        if above == len(_VALUES):
            rounded = _VALUES[-1]  # above max but below the overflow midpoint
        elif _VALUES[above] == magnitude:
            rounded = _VALUES[above]
        else:
            below = above - 1
            low_gap = magnitude - _VALUES[below]
            high_gap = _VALUES[above] - magnitude
            if low_gap < high_gap or (low_gap == high_gap and _PATTERNS[below] % 2 == 0):
                rounded = _VALUES[below]
            else:
                rounded = _VALUES[above]
    return math.copysign(rounded, value)


class TestFacts:
    def test_match_decoded_bit_patterns(self):
        assert BFLOAT16.max == decode(0x7F7F)
        assert BFLOAT16.smallest_normal == decode(0x0080)
        assert BFLOAT16.smallest_subnormal == decode(0x0001)
        assert BFLOAT16.eps == decode(0x3F81) - 1.0
        assert BFLOAT16.epsneg == 1.0 - decode(0x3F7F)

    def test_format_parameters(self):
        assert BFLOAT16.bits == 16
        assert BFLOAT16.precision == 8  # 7 stored fraction bits plus the implicit bit
        assert DROPPED_BITS == 16
        assert BFLOAT16.min_exponent == np.finfo(np.float32).minexp
        assert BFLOAT16.max_exponent == np.finfo(np.float32).maxexp

    def test_same_attributes_as_float_facts(self):
        shared = set(floats.DtypeFacts.__dataclass_fields__) - {"dtype"}
        assert shared <= set(type(BFLOAT16).__dataclass_fields__)

    def test_range_wider_than_float16_precision_coarser(self):
        half = floats.dtype_facts(np.float16)
        assert BFLOAT16.max > 1e38 > half.max
        assert BFLOAT16.eps > half.eps


class TestRoundToBfloat16:
    def test_exhaustive_float16_inputs(self):
        # Every float16 value (all 65,536 patterns) against the table.
        values = np.arange(0, 1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
        rounded = round_to_bfloat16(values)
        expected = np.array([table_round(float(v)) for v in values.astype(np.float64)])
        np.testing.assert_array_equal(rounded, expected.astype(np.float32))

    def test_random_float32_bit_patterns(self):
        rng = np.random.default_rng(0)
        bits = rng.integers(0, 1 << 32, size=20_000, dtype=np.uint64).astype(np.uint32)
        values = bits.view(np.float32)
        rounded = round_to_bfloat16(values)
        with np.errstate(invalid="ignore"):  # signalling-NaN patterns raise "invalid" when cast
            wide = values.astype(np.float64)
        expected = np.array([table_round(float(v)) for v in wide])
        np.testing.assert_array_equal(rounded, expected.astype(np.float32))

    def test_ties_go_to_even(self):
        # Midpoints between adjacent bfloat16 values near 1: 1 + 2**-8 lies between
        # 1 (even pattern 0x3F80) and 1 + 2**-7 (odd 0x3F81).
        assert round_to_bfloat16(np.float32(1 + 2**-8)) == 1.0
        assert round_to_bfloat16(np.float32(1 + 3 * 2**-8)) == 1 + 2 * 2**-7
        assert round_to_bfloat16(np.float32(1 + 2**-8 + 2**-20)) == 1 + 2**-7

    def test_overflow_boundary(self):
        largest = np.float32(BFLOAT16.max)
        half_ulp = np.float32(BFLOAT16.eps * 2.0 ** (BFLOAT16.max_exponent - 2))
        assert round_to_bfloat16(largest) == largest
        assert round_to_bfloat16(np.nextafter(largest + half_ulp, np.float32(0))) == largest
        assert np.isposinf(round_to_bfloat16(largest + half_ulp))
        assert np.isneginf(round_to_bfloat16(-(largest + half_ulp)))
        assert np.isposinf(round_to_bfloat16(np.finfo(np.float32).max))

    def test_special_values(self):
        values = np.array([np.inf, -np.inf, 0.0, -0.0, np.nan, -np.nan], dtype=np.float32)
        rounded = round_to_bfloat16(values)
        assert np.isposinf(rounded[0])
        assert np.isneginf(rounded[1])
        assert rounded[2] == 0
        assert not np.signbit(rounded[2])
        assert rounded[3] == 0
        assert np.signbit(rounded[3])
        assert np.all(np.isnan(rounded[4:]))
        assert np.all(is_bfloat16(rounded))

    def test_nan_with_low_payload_stays_nan(self):
        # A NaN whose only set significand bits are in the dropped half must not become inf.
        payload_nan = np.array([0x7F800001, 0xFF80FFFF], dtype=np.uint32).view(np.float32)
        rounded = round_to_bfloat16(payload_nan)
        assert np.all(np.isnan(rounded))
        assert np.signbit(rounded[1])

    def test_subnormals(self):
        smallest = BFLOAT16.smallest_subnormal
        assert round_to_bfloat16(np.float32(smallest)) == np.float32(smallest)
        assert round_to_bfloat16(np.float32(smallest / 2)) == 0.0  # tie to even (0)
        assert round_to_bfloat16(np.float32(smallest * 1.5)) == np.float32(2 * smallest)  # tie to even (2)
        just_above_half = np.nextafter(np.float32(smallest / 2), np.float32(1))
        assert round_to_bfloat16(just_above_half) == np.float32(smallest)

    def test_float64_input_rounds_once(self):
        # 1 + 2**-8 + 2**-40 is just above the midpoint 1 + 2**-8. Rounding to
        # float32 first (nearest) would land on the midpoint and then tie to 1.0;
        # the correct bfloat16 is 1 + 2**-7.
        value = 1 + 2**-8 + 2**-40
        assert np.float32(value) == np.float32(1 + 2**-8)
        assert round_to_bfloat16(value) == np.float32(1 + 2**-7)
        assert round_to_bfloat16(1 + 2**-8 - 2**-40) == 1.0

    def test_float64_beyond_float32_range(self):
        assert np.isposinf(round_to_bfloat16(1e39))
        assert np.isneginf(round_to_bfloat16(-1e300))
        assert round_to_bfloat16(1e-50) == 0.0
        assert np.signbit(round_to_bfloat16(-1e-300))

    @settings(max_examples=2000, deadline=None)
    @given(st.floats(allow_nan=False, allow_infinity=True))
    def test_float64_matches_table(self, value):
        rounded = round_to_bfloat16(value)
        expected = table_round(value)
        assert float(rounded) == expected
        assert math.copysign(1.0, float(rounded)) == math.copysign(1.0, expected)

    def test_shapes_and_dtypes(self):
        assert isinstance(round_to_bfloat16(1.0), np.float32)
        assert round_to_bfloat16(np.ones((2, 3))).shape == (2, 3)
        assert round_to_bfloat16(np.arange(3)).dtype == np.float32
        assert round_to_bfloat16(np.float16(0.1)) == round_to_bfloat16(float(np.float16(0.1)))

    def test_rejects_non_real(self):
        with pytest.raises(ValueError, match="real numbers"):
            round_to_bfloat16(np.array([1 + 2j]))

    def test_is_bfloat16_needs_float32(self):
        with pytest.raises(ValueError, match="float32"):
            is_bfloat16(np.zeros(2))
        assert list(is_bfloat16(np.float32([1.0, 1.1]))) == [True, False]


class TestRoundExact:
    @settings(max_examples=500, deadline=None)
    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_matches_table_on_floats(self, value):
        assert float(round_exact_to_bfloat16(value)) == table_round(value)

    def test_irrational_values(self):
        with mpmath.workprec(200):
            for x in (mpmath.pi, mpmath.e, 1 / mpmath.mpf(3), mpmath.sqrt(2) * 1e-39):
                rounded = float(round_exact_to_bfloat16(x))
                # Within half a bfloat16 ulp of x, and representable.
                assert is_bfloat16(np.float32(rounded))
                spacing = 2.0 ** (max(math.floor(math.log2(float(x))), BFLOAT16.min_exponent) - 7)
                assert abs(mpmath.mpf(rounded) - x) <= spacing / 2

    def test_special_values(self):
        assert np.isnan(round_exact_to_bfloat16(mpmath.nan))
        assert np.isneginf(round_exact_to_bfloat16(-mpmath.inf))
        zero = round_exact_to_bfloat16(mpmath.mpf(0))  # mpmath has no signed zero
        assert zero == 0
        assert not np.signbit(zero)


def neighbour_towards_zero(value):
    """Return the bfloat16 value one step closer to zero than the bfloat16 ``value``."""
    return decode((np.asarray(value, dtype=np.float32).view(np.uint32) >> np.uint32(16)) - np.uint32(1))


class TestSigmoidThresholds:
    """Each threshold is checked two ways: the predicate flips exactly there, and it sits at a closed form.

    Closed forms, as in tests/test_floats.py, with bfloat16's parameters:
    rounded σ(z) == 1 from z = ln(2 / epsneg - 1), rounded σ(z) == 0 up to
    z = -ln(2 / smallest_subnormal - 1), naive σ(z) == 1 from about
    ln(2 / eps), naive σ(z) == 0 up to about -ln(max + ulp(max) / 2). The
    naive forms round exp to bfloat16 first, so they may sit one bfloat16
    step away from their closed form.
    """

    def closed_forms(self):
        with mpmath.workdps(60):
            eps = mpmath.mpf(BFLOAT16.eps)
            epsneg = mpmath.mpf(BFLOAT16.epsneg)
            largest = mpmath.mpf(BFLOAT16.max)
            half_ulp_of_max = mpmath.ldexp(1, BFLOAT16.max_exponent - BFLOAT16.precision - 1)
            subnormal = mpmath.mpf(BFLOAT16.smallest_subnormal)
            return {
                "naive_one": mpmath.log(2 / eps),
                "rounded_one": mpmath.log(2 / epsneg - 1),
                "naive_zero": -mpmath.log(largest + half_ulp_of_max),
                "rounded_zero": -mpmath.log(2 / subnormal - 1),
            }

    PREDICATES = {
        "naive_one": lambda z: naive_sigmoid_bfloat16(z) == 1,
        "rounded_one": lambda z: correctly_rounded_sigmoid_bfloat16(z) == 1,
        "naive_zero": lambda z: naive_sigmoid_bfloat16(z) == 0,
        "rounded_zero": lambda z: correctly_rounded_sigmoid_bfloat16(z) == 0,
    }

    @pytest.mark.parametrize("name", sorted(PREDICATES))
    def test_predicate_flips_at_threshold(self, name):
        threshold = getattr(bfloat16_sigmoid_thresholds(), name)
        assert is_bfloat16(threshold)
        assert self.PREDICATES[name](threshold)
        assert not self.PREDICATES[name](neighbour_towards_zero(threshold))

    @pytest.mark.parametrize("name", ["rounded_one", "rounded_zero"])
    def test_rounded_thresholds_bracket_closed_form(self, name):
        threshold = getattr(bfloat16_sigmoid_thresholds(), name)
        closed = self.closed_forms()[name]
        inner = neighbour_towards_zero(threshold)
        assert min(float(inner), float(threshold)) <= closed <= max(float(inner), float(threshold))

    @pytest.mark.parametrize("name", ["naive_one", "naive_zero"])
    def test_naive_thresholds_near_closed_form(self, name):
        threshold = getattr(bfloat16_sigmoid_thresholds(), name)
        closed = float(self.closed_forms()[name])
        step = abs(float(threshold) - float(neighbour_towards_zero(threshold)))
        assert abs(float(threshold) - closed) <= 2 * step

    def test_bfloat16_saturates_long_before_float16(self):
        half = floats.sigmoid_thresholds(np.float16)
        assert bfloat16_sigmoid_thresholds().rounded_one < half.rounded_one

    def test_naive_sigmoid_returns_bfloat16_values(self):
        z = round_to_bfloat16(np.linspace(-100, 100, 201))
        assert np.all(is_bfloat16(naive_sigmoid_bfloat16(z)))
