"""Tests of bcelab.softmax: accuracy against mpmath, the edge rules, dtypes and label checks.

Accuracy targets: log_softmax is within 4 ulp of the mpmath value plus
4 ulp of the log-sum-exp, because the normalizer's size sets its absolute
error. softmax is within 4 ulp relative. The cross-entropy is within a few
ulp of the loss's own magnitude plus the normalizer's.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mpmath import mp

import bcelab
from bcelab.reference import ulp_error
from bcelab.softmax import (
    log_softmax,
    softmax,
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_grad,
)

inf = np.inf
nan = np.nan
DTYPES = [np.float16, np.float32, np.float64]


def exact_log_softmax(row):
    """Return the log-softmax of a 1-d float row as mpf values at 60 digits."""
    with mp.workdps(60):
        values = [mp.mpf(float(v)) for v in row]
        normalizer = mp.log(mp.fsum(mp.exp(v) for v in values))
        return [v - normalizer for v in values], normalizer


class TestExports:
    def test_package_exports(self):
        assert bcelab.log_softmax is log_softmax
        assert bcelab.softmax_cross_entropy_with_logits is softmax_cross_entropy_with_logits


class TestLogSoftmaxAccuracy:
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_random_rows_match_mpmath(self, dtype):
        rng = np.random.default_rng(0)
        rows = (rng.standard_normal((40, 5)) * rng.choice([1, 30, 300], size=(40, 1))).astype(dtype)
        computed = log_softmax(rows)
        eps = float(np.finfo(dtype).eps)
        for row, result in zip(rows, computed):
            exact, normalizer = exact_log_softmax(row)
            for value, reference in zip(result, exact):
                tolerance = 4 * eps * (abs(float(reference)) + abs(float(normalizer)))
                assert abs(float(value) - float(reference)) <= tolerance

    def test_large_logits_do_not_overflow(self):
        result = log_softmax(np.array([1000.0, 999.0, -1000.0]))
        exact, _ = exact_log_softmax([1000.0, 999.0, -1000.0])
        assert np.all(np.isfinite(result))
        np.testing.assert_allclose(result, [float(v) for v in exact], rtol=1e-15)

    def test_softmax_sums_to_one(self):
        rng = np.random.default_rng(1)
        rows = rng.standard_normal((50, 7)) * 50
        sums = softmax(rows).sum(axis=-1)
        np.testing.assert_allclose(sums, 1.0, rtol=0, atol=8 * np.finfo(np.float64).eps)

    def test_softmax_relative_accuracy(self):
        row = np.array([0.0, -30.0, -700.0, 5.0])
        exact, _ = exact_log_softmax(row)
        with mp.workdps(60):
            reference = [float(mp.exp(v)) for v in exact]
        np.testing.assert_allclose(softmax(row), reference, rtol=4 * np.finfo(np.float64).eps)

    def test_axis_argument(self):
        rows = np.array([[1.0, 2.0], [3.0, 5.0]])
        np.testing.assert_array_equal(log_softmax(rows, axis=0), log_softmax(rows.T, axis=-1).T)


class TestLogSoftmaxEdges:
    # (logits, expected log_softmax) with exact expected values.
    CASES = [
        ([0.0, -inf], [0.0, -inf]),
        ([-inf, 5.0, -inf], [-inf, 0.0, -inf]),
        ([inf, 1.0, -inf], [0.0, -inf, -inf]),
        ([inf, inf, 1.0], [nan, nan, -inf]),
        ([-inf, -inf], [nan, nan]),
        ([nan, 1.0], [nan, nan]),
        ([nan, inf], [nan, nan]),
        ([7.0], [0.0]),
    ]

    @pytest.mark.parametrize("logits, expected", CASES)
    def test_edge_values(self, logits, expected):
        np.testing.assert_array_equal(log_softmax(np.array(logits)), np.array(expected))

    @pytest.mark.parametrize("logits, expected", CASES)
    def test_softmax_is_exp_of_edges(self, logits, expected):
        np.testing.assert_array_equal(softmax(np.array(logits)), np.exp(np.array(expected)))

    def test_rows_are_independent(self):
        rows = np.array([[-inf, -inf], [1.0, 1.0]])
        result = log_softmax(rows)
        assert np.all(np.isnan(result[0]))
        np.testing.assert_allclose(result[1], -np.log(2.0), rtol=1e-15)


class TestDtypes:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_dtype_preserved(self, dtype):
        logits = np.array([[1.0, 2.0, 3.0]], dtype=dtype)
        labels = np.array([[0.0, 0.0, 1.0]], dtype=dtype)
        assert log_softmax(logits).dtype == dtype
        assert softmax(logits).dtype == dtype
        assert softmax_cross_entropy_with_logits(logits, labels).dtype == dtype
        assert softmax_cross_entropy_with_logits_grad(logits, labels).dtype == dtype

    def test_integers_promote_to_float64(self):
        assert log_softmax([1, 2, 3]).dtype == np.float64
        assert softmax_cross_entropy_with_logits([1, 2, 3], [0, 0, 1]).dtype == np.float64

    def test_scalar_loss_is_numpy_scalar(self):
        loss = softmax_cross_entropy_with_logits(np.float32([1, 2]), np.float32([0, 1]))
        assert isinstance(loss, np.float32)

    def test_float16_accumulates_wider(self):
        # 70,000 equal float16 logits: a float16 sum of their exponentials would
        # overflow (max 65,504); computed in float32, each log-probability is -log(70000).
        logits = np.zeros(70_000, dtype=np.float16)
        result = log_softmax(logits)
        assert result.dtype == np.float16
        assert np.all(result == np.float16(-np.log(70_000.0)))

    def test_float16_matches_rounded_float64(self):
        rng = np.random.default_rng(2)
        logits = (rng.standard_normal((20, 4)) * 4).astype(np.float16)
        labels = np.eye(4)[rng.integers(0, 4, 20)]
        loss16 = softmax_cross_entropy_with_logits(logits, labels.astype(np.float16))
        loss64 = softmax_cross_entropy_with_logits(logits.astype(np.float64), labels)
        np.testing.assert_allclose(loss16.astype(np.float64), loss64, rtol=2 * np.finfo(np.float16).eps, atol=1e-3)


class TestCrossEntropy:
    def test_matches_mpmath(self):
        rng = np.random.default_rng(3)
        logits = rng.standard_normal((30, 6)) * 20
        labels = rng.dirichlet(np.ones(6), size=30)
        computed = softmax_cross_entropy_with_logits(logits, labels)
        for row, y, value in zip(logits, labels, computed):
            exact, normalizer = exact_log_softmax(row)
            with mp.workdps(60):
                reference = -mp.fsum(mp.mpf(float(w)) * v for w, v in zip(y, exact))
            tolerance = 8 * np.finfo(np.float64).eps * (abs(float(reference)) + abs(float(normalizer)))
            assert abs(float(value) - float(reference)) <= tolerance

    def test_one_hot_equals_minus_log_softmax(self):
        logits = np.array([2.0, -1.0, 0.5])
        loss = softmax_cross_entropy_with_logits(logits, [0.0, 1.0, 0.0])
        assert loss == -log_softmax(logits)[1]

    def test_broadcast_and_shape(self):
        logits = np.zeros((4, 3, 5))
        labels = np.full(5, 0.2)
        loss = softmax_cross_entropy_with_logits(logits, labels)
        assert loss.shape == (4, 3)
        np.testing.assert_allclose(loss, np.log(5.0), rtol=1e-15)

    def test_axis_other_than_last(self):
        logits = np.array([[1.0, 4.0], [2.0, -3.0], [0.0, 0.0]])
        labels = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
        np.testing.assert_array_equal(
            softmax_cross_entropy_with_logits(logits, labels, axis=0),
            softmax_cross_entropy_with_logits(logits.T, labels.T, axis=-1),
        )

    def test_large_confident_logit_is_tiny_not_zero(self):
        # Exact loss log(1 + e^-40) = 4.25e-18: a softmax rounded to 1.0 would give 0.
        loss = softmax_cross_entropy_with_logits(np.array([40.0, 0.0]), [1.0, 0.0])
        with mp.workdps(40):
            reference = float(mp.log1p(mp.exp(-40)))
        assert loss == pytest.approx(reference, rel=4 * np.finfo(np.float64).eps, abs=0)

    def test_tiny_loss_in_float32_subnormal_range(self):
        # log(1 + e^-100 + e^-200) = 3.7e-44 is a float32 subnormal; 1 + 3.7e-44 would round to 1.
        logits = np.float32([100.0, -100.0, 0.0])
        loss = softmax_cross_entropy_with_logits(logits, np.float32([1.0, 0.0, 0.0]))
        with mp.workdps(40):
            reference = mp.log1p(mp.exp(-100) + mp.exp(-200))
        assert ulp_error(loss, reference, np.float32) <= 2


class TestCrossEntropyEdges:
    # (logits, labels, expected loss).
    CASES = [
        ([-inf, 0.0], [0.0, 1.0], 0.0),  # impossible class, label 0: contributes 0
        ([-inf, 0.0, 0.0], [0.0, 0.5, 0.5], float(np.log(2.0))),
        ([-inf, 0.0], [1.0, 0.0], inf),  # impossible class with a positive label
        ([-inf, 0.0], [0.5, 0.5], inf),
        ([inf, 3.0], [1.0, 0.0], 0.0),  # single +inf with all the mass
        ([inf, 3.0], [0.0, 1.0], inf),
        ([inf, inf, 3.0], [0.5, 0.5, 0.0], nan),  # no limit among two +inf logits
        ([inf, inf, 3.0], [0.0, 0.0, 1.0], inf),  # finite class still tends to 0
        ([-inf, -inf], [1.0, 0.0], nan),  # all -inf: no limit
        ([nan, 0.0], [0.0, 1.0], nan),  # NaN in, NaN out, even under a zero label
    ]

    @pytest.mark.parametrize("logits, labels, expected", CASES)
    def test_edge_values(self, logits, labels, expected):
        loss = softmax_cross_entropy_with_logits(np.array(logits), np.array(labels))
        if np.isnan(expected):
            assert np.isnan(loss)
        else:
            assert loss == pytest.approx(expected, rel=1e-15)

    def test_zero_loss_is_positive_zero(self):
        loss = softmax_cross_entropy_with_logits(np.array([inf, 0.0]), [1.0, 0.0])
        assert loss == 0.0
        assert not np.signbit(loss)


class TestGradient:
    def test_equals_softmax_minus_labels(self):
        logits = np.array([[0.3, -1.2, 2.0], [5.0, 5.0, 5.0]])
        labels = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
        np.testing.assert_array_equal(
            softmax_cross_entropy_with_logits_grad(logits, labels), softmax(logits) - labels
        )

    def test_matches_central_differences(self):
        logits = np.array([0.4, -0.7, 1.3, 0.1])
        labels = np.array([0.1, 0.2, 0.6, 0.1])
        step = 1e-6
        numeric = np.empty(4)
        for i in range(4):
            shift = np.zeros(4)
            shift[i] = step
            numeric[i] = (
                softmax_cross_entropy_with_logits(logits + shift, labels)
                - softmax_cross_entropy_with_logits(logits - shift, labels)
            ) / (2 * step)
        np.testing.assert_allclose(softmax_cross_entropy_with_logits_grad(logits, labels), numeric, atol=1e-8)

    # (logits, labels, expected gradient): the limits at infinite logits.
    CASES = [
        ([-inf, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -0.5, 0.5]),  # masked slot: exactly 0
        ([-inf, 0.0], [1.0, 0.0], [-1.0, 1.0]),
        ([inf, 0.0], [0.0, 1.0], [1.0, -1.0]),
        ([inf, inf, 0.0], [0.0, 0.0, 1.0], [nan, nan, -1.0]),
        ([-inf, -inf], [1.0, 0.0], [nan, nan]),
    ]

    @pytest.mark.parametrize("logits, labels, expected", CASES)
    def test_edge_values(self, logits, labels, expected):
        result = softmax_cross_entropy_with_logits_grad(np.array(logits), np.array(labels))
        np.testing.assert_array_equal(result, np.array(expected))

    @settings(max_examples=200, deadline=None)
    @given(
        hnp.arrays(np.float64, (5,), elements=st.floats(-1e6, 1e6)),
        hnp.arrays(np.float64, (5,), elements=st.floats(0.0, 1.0)),
    )
    def test_bounded_and_sums_to_zero(self, logits, weights):
        if weights.sum() == 0:
            weights = np.ones(5)
        labels = weights / weights.sum()
        gradient = softmax_cross_entropy_with_logits_grad(logits, labels)
        assert np.all(np.abs(gradient) <= 1.0)
        assert abs(gradient.sum()) <= 1e-12


class TestProperties:
    @settings(max_examples=200, deadline=None)
    @given(hnp.arrays(np.float64, (4,), elements=st.floats(-1e300, 1e300)))
    def test_log_softmax_finite_and_non_positive(self, logits):
        result = log_softmax(logits)
        assert np.all(result <= 0.0)
        assert np.all(np.isfinite(result) | np.isneginf(result))
        # The largest logit's log-probability is >= -log(n).
        assert result[np.argmax(logits)] >= -np.log(4.0) - 1e-12

    @settings(max_examples=200, deadline=None)
    @given(
        hnp.arrays(np.float32, (6,), elements=st.floats(-1e4, 1e4, width=32)),
        st.floats(-1e4, 1e4, width=32),
    )
    def test_shift_invariance(self, logits, shift):
        # Shifting every logit by the same constant changes nothing mathematically;
        # numerically the error grows with the size of the shifted logits.
        shifted = (logits + np.float32(shift)).astype(np.float32)
        labels = np.full(6, 1 / 6)
        a = softmax_cross_entropy_with_logits(logits.astype(np.float64), labels)
        b = softmax_cross_entropy_with_logits(shifted.astype(np.float64) - np.float64(shift), labels)
        scale = np.max(np.abs(shifted)) + 1.0
        assert abs(a - b) <= 8 * np.finfo(np.float32).eps * scale


class TestValidation:
    def test_label_outside_unit_interval(self):
        with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\].*-0\.5 at index \(0, 0\)"):
            softmax_cross_entropy_with_logits(np.zeros((1, 2)), [[-0.5, 1.5]])

    def test_nan_label(self):
        with pytest.raises(ValueError, match=r"NaN is not allowed.*nan at index \(1,\)"):
            softmax_cross_entropy_with_logits(np.zeros(2), [1.0, nan])

    def test_label_sum_names_index_sum_and_tolerance(self):
        labels = np.array([[0.5, 0.5], [0.5, 0.4]])
        with pytest.raises(ValueError, match=r"index \(1,\).*sums to 0\.9.*tolerance 1\.49e-08"):
            softmax_cross_entropy_with_logits(np.zeros((2, 2)), labels)

    def test_label_sum_tolerance_follows_dtype(self):
        # 1e-4 off is within sqrt(eps) of float32 (3.45e-4) but not of float64.
        labels = np.array([0.5, 0.5001])
        softmax_cross_entropy_with_logits(np.zeros(2, np.float32), labels.astype(np.float32))
        with pytest.raises(ValueError, match="sums to"):
            softmax_cross_entropy_with_logits(np.zeros(2), labels)

    def test_scalar_logits_rejected(self):
        with pytest.raises(ValueError, match="at least one dimension"):
            log_softmax(3.0)

    def test_axis_out_of_range(self):
        with pytest.raises(ValueError, match="axis 2 is out of range"):
            log_softmax(np.zeros((2, 2)), axis=2)

    def test_empty_class_axis(self):
        with pytest.raises(ValueError, match="at least one class"):
            log_softmax(np.zeros((3, 0)))

    def test_complex_logits_rejected(self):
        with pytest.raises(ValueError, match="logits must be real numbers"):
            log_softmax(np.array([1j, 2.0]))


class TestNoWarnings:
    def test_infinite_and_nan_inputs_are_silent(self):
        # pytest runs with filterwarnings=error, so any RuntimeWarning fails this test.
        logits = np.array([[inf, -inf, 0.0], [-inf, -inf, -inf], [nan, 1.0, 2.0], [inf, inf, 1e308]])
        labels = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
        log_softmax(logits)
        softmax(logits)
        softmax_cross_entropy_with_logits(logits, labels)
        softmax_cross_entropy_with_logits_grad(logits, labels)
