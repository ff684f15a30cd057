"""Tests of bcelab.softmax: accuracy against mpmath, the edge rules, dtypes and label checks.

Accuracy targets are in ULPs of the exact value (bcelab.reference.ulp_error).
log_softmax, softmax and the cross-entropy (one-hot and soft labels) must be
within 1 ULP for float16 and float32 and within 4 ULP for float64, for any
number of classes. The rows are random or adversarial: near-equal maxima, tiny
losses (down to a subnormal log-normalizer), huge logits, up to 100,000 classes.
"""

import warnings

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
MAX_ULP = {np.float16: 1.0, np.float32: 1.0, np.float64: 4.0}


def exact_log_softmax(row):
    """Return the log-softmax of a 1-d float row as mpf values at 60 digits, and the normalizer.

    Computed as (z_i - m) - log1p(sum over j != k of exp(z_j - m)), with k the
    first maximum, so that a tiny log1p term is not lost next to m.
    """
    with mp.workdps(60):
        values = [mp.mpf(float(v)) for v in row]
        k = max(range(len(values)), key=lambda i: values[i])
        maximum = values[k]
        rest = mp.fsum(mp.exp(v - maximum) for i, v in enumerate(values) if i != k)
        log_normalizer = mp.log1p(rest)
        return [(v - maximum) - log_normalizer for v in values], maximum + log_normalizer


def adversarial_rows(dtype, count, seed):
    """Return finite logit rows of ``dtype`` with 2 to 8 classes that stress the accuracy.

    The five kinds, in turn: normal rows at several scales, tiny losses (the
    other classes far below the maximum, down to the subnormal range of exp),
    near-equal maxima, a large common offset with wide gaps, and magnitudes up
    to near the largest float.
    """
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    underflow = -np.log(float(info.smallest_subnormal))
    rows = []
    while len(rows) < count:
        classes = int(rng.integers(2, 9))
        kind = len(rows) % 5
        if kind == 0:
            row = rng.standard_normal(classes) * rng.choice([1, 5, 30, 300])
        elif kind == 1:
            top = rng.uniform(-50, 50)
            row = np.concatenate([[top], top - rng.uniform(1, underflow, classes - 1)])
        elif kind == 2:
            base = rng.uniform(-1e3, 1e3)
            step = float(np.spacing(dtype(abs(base) + 1)))
            row = base + rng.standard_normal(classes) * step * rng.integers(1, 8)
        elif kind == 3:
            row = rng.uniform(0, float(info.max) ** 0.5) - rng.uniform(0, underflow, classes)
        else:
            exponent = rng.uniform(-20, 0.99 * np.log(float(info.max)), classes)
            row = rng.choice([-1, 1], classes) * np.exp(exponent)
        row = row.astype(dtype)
        if np.all(np.isfinite(row)):
            rows.append(row)
    return rows


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


class TestAccuracyInUlps:
    # 150 rows per dtype, 2 to 8 classes; 3 of every 5 rows have tiny losses, near-equal
    # maxima or a large offset. float64 errors come from exp, the sum and log1p.
    ROWS = 150

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_log_softmax_adversarial_rows(self, dtype):
        worst = 0.0
        for row in adversarial_rows(dtype, self.ROWS, seed=10):
            exact, _ = exact_log_softmax(row)
            errors = ulp_error(log_softmax(row), np.array(exact, dtype=object), dtype)
            worst = max(worst, float(np.max(errors)))
        assert worst <= MAX_ULP[dtype]

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_one_hot_cross_entropy_adversarial_rows(self, dtype):
        worst = 0.0
        for row in adversarial_rows(dtype, self.ROWS, seed=11):
            exact, _ = exact_log_softmax(row)
            for k in range(len(row)):
                labels = np.zeros(len(row), dtype=dtype)
                labels[k] = 1
                loss = softmax_cross_entropy_with_logits(row, labels)
                worst = max(worst, ulp_error(loss, -exact[k], dtype))
        assert worst <= MAX_ULP[dtype]

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_soft_label_cross_entropy_adversarial_rows(self, dtype):
        rng = np.random.default_rng(12)
        worst = 0.0
        for row in adversarial_rows(dtype, self.ROWS, seed=12):
            labels = rng.dirichlet(np.ones(len(row))).astype(dtype)
            exact, _ = exact_log_softmax(row)
            with mp.workdps(60):
                reference = -mp.fsum(mp.mpf(float(y)) * v for y, v in zip(labels, exact))
            loss = softmax_cross_entropy_with_logits(row, labels)
            worst = max(worst, ulp_error(loss, reference, dtype))
        assert worst <= MAX_ULP[dtype]

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_softmax_adversarial_rows(self, dtype):
        worst = 0.0
        for row in adversarial_rows(dtype, self.ROWS, seed=13):
            exact, _ = exact_log_softmax(row)
            with mp.workdps(60):
                reference = np.array([mp.exp(v) for v in exact], dtype=object)
            worst = max(worst, float(np.max(ulp_error(softmax(row), reference, dtype))))
        assert worst <= MAX_ULP[dtype]

    def test_tiny_float64_loss_far_below_the_maximum(self):
        # Loss exp(-528.3...) = 3.57e-230: rounding z_j - m alone, before exp,
        # would cost about 528 / 2 ULP.
        logits = np.array([-299.50744759910685, 228.81388235970817])
        exact, _ = exact_log_softmax(logits)
        loss = softmax_cross_entropy_with_logits(logits, np.array([0.0, 1.0]))
        assert ulp_error(loss, -exact[1], np.float64) <= 2
        assert ulp_error(log_softmax(logits), np.array(exact, dtype=object), np.float64).max() <= 2

    def test_tiny_float32_loss_is_rounded_once(self):
        # Loss 2.018e-19: computed in float32, the rounding of z_j - m cost about 30 ULP.
        logits = np.float32([23.565473556518555, -19.48145294189453])
        exact, _ = exact_log_softmax(logits)
        loss = softmax_cross_entropy_with_logits(logits, np.float32([1.0, 0.0]))
        assert ulp_error(loss, -exact[0], np.float32) <= 0.5


def many_class_rows(classes, dtype, seed):
    """Return logit rows of ``dtype`` with ``classes`` classes whose other terms are tiny.

    The four kinds: every other class 740 below the maximum, so their terms
    exp(-740) are float64 subnormals. A random row whose maximum is raised by
    740. A constant tail 745.2 below, where each term is below half the
    smallest float64 subnormal but their sum is not. A tail 20 to 40 below,
    a small rest in the normal range, where a plain sum loses digits as the
    class count grows.
    """
    rng = np.random.default_rng(seed)
    raised = rng.standard_normal(classes) * 3
    raised[rng.integers(classes)] = raised.max() + 740.0
    rows = [
        np.r_[0.0, np.full(classes - 1, -740.0)],
        raised,
        np.r_[0.0, np.full(classes - 1, -745.2)],
        np.r_[0.0, -rng.uniform(20, 40, classes - 1)],
    ]
    return [row.astype(dtype) for row in rows]


def exact_log_softmax_at(row, indices):
    """Return the exact log-softmax of a 1-d row at ``indices``, as mpf values at 40 digits.

    Equal logits share one exp, which keeps rows of 100,000 classes fast.
    The first maximum is left out of the sum, as in exact_log_softmax.
    """
    values, counts = np.unique(row, return_counts=True)
    with mp.workdps(40):
        maximum = mp.mpf(float(values[-1]))
        rest = int(counts[-1]) - 1 + mp.fsum(
            int(count) * mp.exp(mp.mpf(float(value)) - maximum) for value, count in zip(values[:-1], counts[:-1])
        )
        log_normalizer = mp.log1p(rest)
        return [(mp.mpf(float(row[i])) - maximum) - log_normalizer for i in indices]


def checked_classes(row, count=200, seed=0):
    """Return the indices to compare: the maximum, the minimum and ``count`` random classes."""
    rng = np.random.default_rng(seed)
    picked = {int(np.argmax(row)), int(np.argmin(row))}
    picked.update(int(i) for i in rng.integers(0, len(row), min(count, len(row))))
    return sorted(picked)


class TestManyClasses:
    # The exact log-normalizer of these rows is subnormal or tiny, where each
    # subnormal tail term rounded on its own would add an error of up to half
    # a subnormal ULP per class.
    @pytest.mark.parametrize("classes", [100, 1000, 100_000])
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_log_softmax_and_one_hot_loss(self, classes, dtype):
        for row in many_class_rows(classes, dtype, seed=classes):
            top = int(np.argmax(row))
            labels = np.zeros(classes, dtype=dtype)
            labels[top] = 1
            with warnings.catch_warnings(), np.errstate(all="raise"):
                warnings.simplefilter("error")
                computed = log_softmax(row)
                probabilities = softmax(row)
                loss = softmax_cross_entropy_with_logits(row, labels)
            indices = checked_classes(row)
            exact = np.array(exact_log_softmax_at(row, indices), dtype=object)
            assert np.max(ulp_error(computed[indices], exact, dtype)) <= MAX_ULP[dtype]
            with mp.workdps(40):
                exact_probabilities = np.array([mp.exp(v) for v in exact], dtype=object)
            assert np.max(ulp_error(probabilities[indices], exact_probabilities, dtype)) <= MAX_ULP[dtype]
            (exact_top,) = exact_log_softmax_at(row, [top])
            assert ulp_error(loss, -exact_top, dtype) <= MAX_ULP[dtype]

    @pytest.mark.parametrize("classes", [100, 1000, 100_000])
    def test_soft_label_loss(self, classes):
        rng = np.random.default_rng(classes + 1)
        for row in many_class_rows(classes, np.float64, seed=classes + 1):
            support = rng.choice(classes, size=4, replace=False)
            labels = np.zeros(classes)
            labels[support] = rng.dirichlet(np.ones(4))
            exact = exact_log_softmax_at(row, support)
            with mp.workdps(40):
                reference = -mp.fsum(mp.mpf(float(labels[i])) * v for i, v in zip(support, exact))
            loss = softmax_cross_entropy_with_logits(row, labels)
            assert ulp_error(loss, reference, np.float64) <= MAX_ULP[np.float64]

    # (classes, tail): logits (0, tail, ..., tail), whose other terms exp(tail) are
    # float64 subnormals. Summed one rounded term at a time, these were off by
    # 21.7 ULP, 428 ULP and everything (-0.0 for a subnormal) as the class count grows.
    SUBNORMAL_NORMALIZERS = [(100, -740.0), (1000, -745.0), (100_000, -745.2)]

    @pytest.mark.parametrize("classes, tail", SUBNORMAL_NORMALIZERS)
    def test_subnormal_log_normalizer(self, classes, tail):
        logits = np.r_[0.0, np.full(classes - 1, tail)]
        with mp.workdps(60):
            exact = (classes - 1) * mp.exp(tail)  # log1p(r) = r to 300 digits here
        labels = np.zeros(classes)
        labels[0] = 1
        loss = softmax_cross_entropy_with_logits(logits, labels)
        assert loss > 0
        assert ulp_error(loss, exact, np.float64) <= 0.5
        assert ulp_error(log_softmax(logits)[0], -exact, np.float64) <= 0.5

    def test_sum_along_a_strided_axis(self):
        # Along axis 0 numpy's sum adds one term at a time, which lost 67 ULP on this
        # row. The compensated sum does not depend on the memory layout.
        rng = np.random.default_rng(7)
        row = np.r_[0.0, -rng.uniform(20, 40, 99_999)]
        (exact,) = exact_log_softmax_at(row, [0])
        columns = np.stack([row, row], axis=1)
        result = log_softmax(columns, axis=0)
        assert ulp_error(result[0, 0], exact, np.float64) <= MAX_ULP[np.float64]
        assert result[0, 0] == log_softmax(row)[0]


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
        # overflow (max 65,504); computed in float64, each log-probability is -log(70000).
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

    def test_broadcast_label_error_names_index_in_labels(self):
        with pytest.raises(ValueError, match=r"found 1\.5 at index \(0,\)"):
            softmax_cross_entropy_with_logits(np.zeros((3, 2)), np.array([1.5, -0.5]))

    def test_broadcast_label_sum_error_names_index_in_labels(self):
        labels = np.array([[1.0, 0.0], [0.3, 0.3], [0.0, 1.0]])
        with pytest.raises(ValueError, match=r"vector at index \(1,\) of labels.*sums to 0\.6"):
            softmax_cross_entropy_with_logits(np.zeros((4, 3, 2)), labels)

    def test_labels_broadcast_along_classes_count_per_class(self):
        # Labels of length 1 along the class axis repeat for every class: 4 * 0.25 = 1.
        loss = softmax_cross_entropy_with_logits(np.zeros((3, 4)), np.full((3, 1), 0.25))
        np.testing.assert_allclose(loss, np.log(4.0), rtol=1e-15)
        with pytest.raises(ValueError, match=r"vector at index \(0,\) of labels.*sums to 1\.2"):
            softmax_cross_entropy_with_logits(np.zeros((3, 4)), np.full((3, 1), 0.3))

    def test_shapes_that_do_not_broadcast(self):
        with pytest.raises(ValueError, match=r"shape \(2, 3\).*shape \(2, 4\) do not broadcast"):
            softmax_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 4)))

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
    # (logits, labels) of valid input whose computation overflows or underflows
    # on the way to a correctly rounded result.
    CASES = [
        (np.array([1.7976931348623157e308, -1.7976931348623157e308]), np.array([1.0, 0.0])),
        (np.array([1.7976931348623157e308, -1.7976931348623157e308]), np.array([0.0, 1.0])),
        (np.float32([3e38, -3e38]), np.float32([0.0, 1.0])),
        (np.array([1e308, -1e308]), np.array([0.5, 0.5])),
        (np.float16([60000, -60000]), np.float16([1.0, 0.0])),
        (np.float16([0, -20]), np.float16([1.0, 0.0])),
        (np.array([0.0, -800.0]), np.array([1.0, 0.0])),
        # One row takes the overflow path while another has a -inf logit under label 0.
        (np.array([[1e308, -1e308], [0.0, -inf]]), np.array([[0.5, 0.5], [1.0, 0.0]])),
        (np.array([[inf, -inf, 0.0], [-inf, -inf, -inf], [nan, 1.0, 2.0], [inf, inf, 1e308]]),
         np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])),
    ]

    @staticmethod
    def call_all(logits, labels):
        log_softmax(logits)
        softmax(logits)
        softmax_cross_entropy_with_logits(logits, labels)
        softmax_cross_entropy_with_logits_grad(logits, labels)

    @pytest.mark.parametrize("logits, labels", CASES)
    def test_warnings_as_errors(self, logits, labels):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            self.call_all(logits, labels)

    @pytest.mark.parametrize("logits, labels", CASES)
    def test_errstate_raise(self, logits, labels):
        with np.errstate(all="raise"):
            self.call_all(logits, labels)

    def test_caller_errstate_is_restored(self):
        with np.errstate(all="raise"):
            log_softmax(np.array([0.0, -800.0]))
            assert np.geterr()["under"] == "raise"


class TestOverflowingDifferences:
    def test_huge_opposite_logits_give_the_limits(self):
        fmax = np.finfo(np.float64).max
        logits = np.array([fmax, -fmax])
        np.testing.assert_array_equal(log_softmax(logits), [0.0, -inf])
        np.testing.assert_array_equal(softmax(logits), [1.0, 0.0])
        assert softmax_cross_entropy_with_logits(logits, np.array([1.0, 0.0])) == 0.0
        assert softmax_cross_entropy_with_logits(logits, np.array([0.0, 1.0])) == inf

    def test_soft_label_on_overflowed_difference_is_finite(self):
        # z_1 - z_0 = -2e308 overflows, but the loss 0.5 * 2e308 = 1e308 does not.
        loss = softmax_cross_entropy_with_logits(np.array([1e308, -1e308]), np.array([0.5, 0.5]))
        assert loss == 1e308

    def test_float16_result_overflows_to_minus_inf(self):
        # log_softmax = -120000, beyond the float16 range (max 65504).
        np.testing.assert_array_equal(log_softmax(np.float16([60000, -60000])), np.float16([0.0, -inf]))


@pytest.mark.parametrize("n_classes", [1000, 100_000])
def test_soft_label_loss_along_axis_0_accurate(n_classes):
    # A plain np.sum along a non-last axis adds one term at a time; the loss must not depend on it.
    rng = np.random.default_rng(1)
    z = rng.uniform(-3, 3, n_classes) + rng.uniform(5, 30)
    y = rng.random(n_classes)
    y /= y.sum()
    along_axis_0 = softmax_cross_entropy_with_logits(np.stack([z, z], 1), np.stack([y, y], 1), axis=0)
    along_last_axis = softmax_cross_entropy_with_logits(z, y)
    assert along_axis_0[0] == along_axis_0[1]
    assert ulp_error(along_axis_0[0], along_last_axis, np.float64) <= 1
    if n_classes <= 1000:
        log_probabilities, _ = exact_log_softmax(z)
        with mp.workdps(60):
            exact = -mp.fsum(mp.mpf(float(label)) * lp for label, lp in zip(y, log_probabilities))
        assert ulp_error(along_axis_0[0], exact, np.float64) <= 4
