"""Tests of bcelab.frameworks: each reproduction against its documented behaviour and the field reports.

Expected values are computed. Exact losses and gradients come from
bcelab.reference (mpmath). Values that a framework computes wrongly are
recomputed from the same formula evaluated another way (Python floats, or
mpmath on the float32-rounded operands). So each test pins the documented
failure, not a number copied from a bug report.
"""

import math

import mpmath
import numpy as np
import pytest

from bcelab import frameworks
from bcelab.naive import naive_sigmoid
from bcelab.reference import exact_grad, exact_loss, ulp_error

inf = np.inf
f32 = np.float32
F32_EPS = float(np.finfo(np.float32).eps)


class TestTorchBCELoss:
    def test_certain_wrong_prediction_costs_100(self):
        # p = [1, 1], y = [0, 0]: the true loss is +inf; BCELoss clamps log at -100.
        loss = frameworks.torch_bce_loss(f32([1, 1]), f32([0, 0]))
        np.testing.assert_array_equal(loss, f32([100, 100]))

    def test_large_logits_through_sigmoid_cost_100(self):
        logits = f32([16.09, 17.57, 18.19, 20.43, 24.38, 25.89, 31.81, 35.35, 193.4])
        probabilities = naive_sigmoid(logits)
        loss = frameworks.torch_bce_loss(probabilities, f32(0))
        saturated = probabilities == 1
        # Every logit whose float32 sigmoid rounded to 1 costs exactly 100, the rest costs -log(1 - p).
        assert saturated.sum() == 8
        assert np.all(loss[saturated] == 100)
        expected_first = -math.log1p(-float(probabilities[0]))
        assert float(loss[0]) == pytest.approx(expected_first, rel=4 * F32_EPS)
        # The exact loss is softplus(z): 193.4 should cost 193.4, not 100.
        assert float(exact_loss(logits[-1], 0)) == pytest.approx(193.4, rel=1e-6)

    def test_correct_certain_prediction_costs_zero(self):
        assert frameworks.torch_bce_loss(f32(1), f32(1)) == 0
        assert frameworks.torch_bce_loss(f32(0), f32(0)) == 0

    def test_log1p_keeps_tiny_losses(self):
        # p = sigma(-15.25) in float32, y = 0: -log1p(-p) is accurate to float32.
        p = naive_sigmoid(f32(-15.25))
        loss = frameworks.torch_bce_loss(p, f32(0))
        with mpmath.workdps(30):
            reference = -mpmath.log1p(-mpmath.mpf(float(p)))
        assert ulp_error(loss, reference, np.float32) <= 2

    def test_matches_textbook_in_the_middle(self):
        p = np.linspace(0.01, 0.99, 50)
        y = np.linspace(0.0, 1.0, 50)
        textbook = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        np.testing.assert_allclose(frameworks.torch_bce_loss(p, y), textbook, rtol=1e-13)

    def test_rejects_probabilities_outside_unit_interval(self):
        with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\].*1\.5 at index \(1,\)"):
            frameworks.torch_bce_loss([0.5, 1.5], [0, 1])


class TestTorchBCELossGrad:
    def test_formula_with_floor(self):
        p = np.array([0.25, 0.5, 1.0, 0.0])
        y = np.array([1.0, 0.0, 0.0, 1.0])
        expected = (p - y) / np.maximum(p * (1 - p), frameworks.TORCH_BCE_BACKWARD_EPSILON)
        np.testing.assert_array_equal(frameworks.torch_bce_loss_grad(p, y), expected)

    def test_saturated_sigmoid_teaches_nothing(self):
        # z = 20, y = 0 in float32: the loss is clamped at 100 and dL/dz is exactly 0,
        # while the true gradient sigma(20) - 0 is almost 1.
        p = naive_sigmoid(f32(20))
        grad_z = frameworks.sigmoid_backward(p, frameworks.torch_bce_loss_grad(p, f32(0)))
        assert grad_z == 0
        assert float(exact_grad(20.0, 0)) > 0.99

    def test_float16_floor_rounds_to_zero(self):
        assert np.float16(frameworks.TORCH_BCE_BACKWARD_EPSILON) == 0
        grad = frameworks.torch_bce_loss_grad(np.float16(1), np.float16(0))
        assert np.isposinf(grad)


class TestTorchBCEWithLogits:
    def test_matches_exact_for_moderate_logits(self):
        z = np.linspace(-30, 30, 121)
        for y in (0.0, 0.3, 1.0):
            loss = frameworks.torch_bce_with_logits_loss(z, y)
            exact = np.array([float(exact_loss(v, y)) for v in z])
            # The two terms cancel where the loss is small, so the error is
            # bounded by a few ulp of |z|, not of the loss.
            assert np.all(np.abs(loss - exact) <= 4 * np.finfo(np.float64).eps * (np.abs(z) + 1))

    def test_pos_weight_matches_exact(self):
        z = np.linspace(-8, 8, 33)
        loss = frameworks.torch_bce_with_logits_loss(z, 1.0, pos_weight=3.0)
        exact = np.array([float(exact_loss(v, 1.0, pos_weight=3.0)) for v in z])
        np.testing.assert_allclose(loss, exact, rtol=1e-13)
        loss0 = frameworks.torch_bce_with_logits_loss(z, 0.0, pos_weight=3.0)
        np.testing.assert_allclose(loss0, frameworks.torch_bce_with_logits_loss(z, 0.0), rtol=0)

    def test_tiny_loss_cancels_to_zero_in_float32(self):
        # log_sigmoid(-15.25) = -15.25 - 2.4e-7 rounds to -15.25 in float32
        # (half an ulp there is 4.8e-7), so (1 - 0)·z - log_sigmoid(z) is 0.
        z = f32(-15.25)
        assert frameworks.torch_bce_with_logits_loss(z, f32(0)) == 0
        exact = exact_loss(z, 0)
        assert float(exact) > 0
        assert float(exact) < float(np.spacing(f32(15.25))) / 2

    @pytest.mark.parametrize(
        "z, y, expected",
        [(inf, 1.0, "nan"), (-inf, 0.0, "nan"), (-inf, 1.0, "nan"), (inf, 0.0, inf)],
    )
    def test_infinite_logits(self, z, y, expected):
        loss = frameworks.torch_bce_with_logits_loss(f32(z), f32(y))
        if expected == "nan":
            assert np.isnan(loss)
        else:
            assert loss == expected

    def test_grad_is_sigmoid_minus_label(self):
        z = np.linspace(-10, 10, 41)
        np.testing.assert_array_equal(frameworks.torch_bce_with_logits_grad(z, 1.0), naive_sigmoid(z) - 1.0)

    def test_grad_of_confident_positive_flushes_to_zero(self):
        assert frameworks.torch_bce_with_logits_grad(f32(20), f32(1)) == 0
        assert float(exact_grad(20.0, 1)) < 0

    def test_grad_with_pos_weight_matches_exact(self):
        z = np.linspace(-5, 5, 21)
        grad = frameworks.torch_bce_with_logits_grad(z, 1.0, pos_weight=4.0)
        exact = np.array([float(exact_grad(v, 1.0, pos_weight=4.0)) for v in z])
        # 4·σ(z) - 4 cancels as σ(z) nears 1: the error is a few ulp of 4, not of the result.
        np.testing.assert_allclose(grad, exact, rtol=0, atol=8 * 4.0 * np.finfo(np.float64).eps)

    def test_rejects_negative_pos_weight(self):
        with pytest.raises(ValueError, match=r"pos_weight must be >= 0.*-1\.0 at index \(\)"):
            frameworks.torch_bce_with_logits_loss(0.0, 1.0, pos_weight=-1.0)


class TestTensorFlow:
    def test_accurate_against_exact(self):
        z = f32(np.linspace(-40, 40, 161))
        for y in (0.0, 1.0):
            loss = frameworks.tf_sigmoid_cross_entropy_with_logits(z, f32(y))
            errors = ulp_error(loss, [exact_loss(v, y) for v in z], np.float32)
            assert np.max(errors) <= 4

    def test_tiny_loss_is_kept(self):
        loss = frameworks.tf_sigmoid_cross_entropy_with_logits(f32(-15.25), f32(0))
        assert ulp_error(loss, exact_loss(f32(-15.25), 0), np.float32) <= 2

    @pytest.mark.parametrize(
        "z, y, expected",
        [(inf, 1.0, "nan"), (inf, 0.0, "nan"), (-inf, 0.0, "nan"), (-inf, 1.0, inf)],
    )
    def test_infinite_logits(self, z, y, expected):
        loss = frameworks.tf_sigmoid_cross_entropy_with_logits(f32(z), f32(y))
        if expected == "nan":
            assert np.isnan(loss)
        else:
            assert loss == expected

    def test_grad_accurate_for_confident_positive(self):
        grad = frameworks.tf_sigmoid_cross_entropy_with_logits_grad(f32(20), f32(1))
        assert ulp_error(grad, exact_grad(f32(20), 1), np.float32) <= 2

    def test_grad_at_zero_is_half_minus_label(self):
        for y in (0.0, 0.25, 1.0):
            assert frameworks.tf_sigmoid_cross_entropy_with_logits_grad(0.0, y) == 0.5 - y

    def test_grad_matches_exact(self):
        z = np.linspace(-30, 30, 61)
        grad = frameworks.tf_sigmoid_cross_entropy_with_logits_grad(z, 0.0)
        exact = np.array([float(exact_grad(v, 0.0)) for v in z])
        np.testing.assert_allclose(grad, exact, rtol=1e-14)


class TestOptax:
    def test_accurate_against_exact(self):
        z = f32(np.linspace(-40, 40, 161))
        for y in (0.0, 1.0):
            loss = frameworks.optax_sigmoid_binary_cross_entropy(z, f32(y))
            errors = ulp_error(loss, [exact_loss(v, y) for v in z], np.float32)
            assert np.max(errors) <= 4

    @pytest.mark.parametrize("z, y", [(inf, 1.0), (-inf, 0.0)])
    def test_correct_side_infinities_give_nan(self, z, y):
        # The zero-weighted term is 0·(-inf).
        assert np.isnan(frameworks.optax_sigmoid_binary_cross_entropy(f32(z), f32(y)))

    def test_wrong_side_infinity_is_inf(self):
        assert frameworks.optax_sigmoid_binary_cross_entropy(f32(inf), f32(0)) == inf

    def test_grad_accurate_and_finite_at_infinity(self):
        grad = frameworks.optax_sigmoid_binary_cross_entropy_grad(f32(20), f32(1))
        assert ulp_error(grad, exact_grad(f32(20), 1), np.float32) <= 4
        ends = frameworks.optax_sigmoid_binary_cross_entropy_grad(f32([inf, -inf, inf]), f32([1, 0, 0]))
        np.testing.assert_array_equal(ends, f32([0, 0, 1]))

    def test_grad_matches_exact(self):
        z = np.linspace(-30, 30, 61)
        grad = frameworks.optax_sigmoid_binary_cross_entropy_grad(z, 1.0)
        exact = np.array([float(exact_grad(v, 1.0)) for v in z])
        np.testing.assert_allclose(grad, exact, rtol=1e-13)


class TestKeras:
    def test_keras3_is_clip_then_log(self):
        p = f32([1.0, 0.0, 0.5])
        y = f32([0.0, 1.0, 1.0])
        eps = f32(frameworks.KERAS_DEFAULT_EPSILON)
        clipped = np.clip(p, eps, f32(1) - eps)
        expected = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
        np.testing.assert_array_equal(frameworks.keras_binary_crossentropy(p, y), expected)

    def test_double_epsilon_field_report(self):
        # y = 0, p = 0.9999999 in float32: tf.keras 2.x clips, then adds eps inside the log.
        p = f32(0.9999999)
        loss = frameworks.keras_binary_crossentropy(p, f32(0), epsilon_in_log=True)
        gap = float(f32(1) - p)  # exact (Sterbenz): p is not clipped, 1 - p is representable
        shifted = float(f32(gap + float(f32(1e-7))))  # float32 sum inside the log
        assert float(loss) == pytest.approx(-math.log(shifted), rel=2 * F32_EPS)
        right = -math.log(gap)  # -log(1 - p) with p as stored
        assert float(loss) < right - 0.5
        assert float(frameworks.keras_binary_crossentropy(p, f32(0))) == pytest.approx(right, rel=2 * F32_EPS)

    def test_epsilon_does_nothing_in_float16(self):
        half = np.float16
        assert half(1) - half(frameworks.KERAS_DEFAULT_EPSILON) == 1
        assert np.isposinf(frameworks.keras_binary_crossentropy(half(1), half(0)))
        assert np.isnan(frameworks.keras_binary_crossentropy(half(1), half(1)))

    def test_from_logits_is_tensorflow_formula(self):
        z = f32([-3.0, 0.0, 12.0])
        y = f32([1.0, 0.0, 1.0])
        np.testing.assert_array_equal(
            frameworks.keras_binary_crossentropy(z, y, from_logits=True),
            frameworks.tf_sigmoid_cross_entropy_with_logits(z, y),
        )

    def test_caps_wrong_prediction(self):
        loss = frameworks.keras_binary_crossentropy(f32(1), f32(0))
        eps = f32(frameworks.KERAS_DEFAULT_EPSILON)
        assert loss == -np.log(f32(1) - (f32(1) - eps))

    def test_grad_zero_where_clipped(self):
        p = f32([1.0, 0.0, 0.5])
        grad = frameworks.keras_binary_crossentropy_grad(p, f32([1.0, 1.0, 1.0]))
        np.testing.assert_array_equal(grad, f32([0.0, 0.0, -2.0]))

    def test_grad_double_epsilon(self):
        p = np.array([0.25])
        grad = frameworks.keras_binary_crossentropy_grad(p, np.array([0.0]), epsilon_in_log=True)
        np.testing.assert_allclose(grad, 1 / (0.75 + 1e-7), rtol=1e-15)

    def test_rejects_bad_epsilon(self):
        with pytest.raises(ValueError, match="epsilon must lie in"):
            frameworks.keras_binary_crossentropy_grad(0.5, 1.0, epsilon=0.7)


class TestSklearnLogLoss:
    def test_float32_legacy_eps_gives_nan(self):
        # eps = 1e-15: 1 - 1e-15 rounds to 1 in float32, and 0·log 0 is NaN.
        assert f32(1) - f32(1e-15) == 1
        assert np.isnan(frameworks.sklearn_log_loss(f32([1.0]), f32([1.0]), release="1.1")[0])

    @pytest.mark.parametrize("release", ["1.2", "1.5"])
    def test_dtype_eps_is_finite(self, release):
        loss = frameworks.sklearn_log_loss(f32([1.0]), f32([1.0]), release=release)[0]
        assert float(loss) == pytest.approx(-math.log1p(-F32_EPS), rel=1e-6)

    def test_eps_hides_an_infinite_loss(self):
        rows = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
        labels = np.array([1.0, 0.0, 0.0, 0.0])
        legacy = frameworks.sklearn_log_loss(rows, labels, release="1.1").mean()
        assert legacy == pytest.approx(-math.log(1e-15) / 4, rel=1e-12)
        current = frameworks.sklearn_log_loss(rows, labels).mean()
        assert current == pytest.approx(-math.log(np.finfo(np.float64).eps) / 4, rel=1e-12)

    def test_one_dimensional_matches_rows(self):
        p = np.array([0.2, 0.7, 0.9])
        y = np.array([0.0, 1.0, 1.0])
        rows = np.stack([1 - p, p], axis=-1)
        for release in frameworks.SKLEARN_RELEASES:
            np.testing.assert_allclose(
                frameworks.sklearn_log_loss(p, y, release=release),
                frameworks.sklearn_log_loss(rows, y, release=release),
                rtol=1e-15,
            )

    def test_matches_textbook_in_the_middle(self):
        p = np.linspace(0.05, 0.95, 19)
        y = (p > 0.5).astype(float)
        textbook = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        np.testing.assert_allclose(frameworks.sklearn_log_loss(p, y), textbook, rtol=1e-13)

    def test_rejects_unknown_release(self):
        with pytest.raises(ValueError, match="release must be one of"):
            frameworks.sklearn_log_loss([0.5], [1.0], release="0.24")

    def test_rejects_rows_of_three(self):
        with pytest.raises(ValueError, match="2 columns"):
            frameworks.sklearn_log_loss(np.full((2, 3), 1 / 3), [0.0, 1.0])


class TestShared:
    LOSSES = [
        lambda z, y: frameworks.torch_bce_with_logits_loss(z, y),
        lambda z, y: frameworks.torch_bce_with_logits_grad(z, y),
        frameworks.tf_sigmoid_cross_entropy_with_logits,
        frameworks.tf_sigmoid_cross_entropy_with_logits_grad,
        frameworks.optax_sigmoid_binary_cross_entropy,
        frameworks.optax_sigmoid_binary_cross_entropy_grad,
        lambda z, y: frameworks.keras_binary_crossentropy(z, y, from_logits=True),
    ]
    PROBABILITY_LOSSES = [
        frameworks.torch_bce_loss,
        frameworks.torch_bce_loss_grad,
        frameworks.keras_binary_crossentropy,
        lambda p, y: frameworks.keras_binary_crossentropy(p, y, epsilon_in_log=True),
        frameworks.keras_binary_crossentropy_grad,
        frameworks.sklearn_log_loss,
    ]

    @pytest.mark.parametrize("function", LOSSES + PROBABILITY_LOSSES)
    @pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
    def test_dtype_preserved(self, function, dtype):
        result = function(np.array([0.0, 0.5, 1.0], dtype=dtype), np.array([0.0, 1.0, 1.0], dtype=dtype))
        assert result.dtype == dtype

    @pytest.mark.parametrize("function", LOSSES)
    def test_silent_at_infinities_and_nan(self, function):
        # pytest turns warnings into errors, so a RuntimeWarning fails here.
        function(f32([inf, -inf, np.nan, inf]), f32([1, 0, 1, 0]))

    @pytest.mark.parametrize("function", PROBABILITY_LOSSES)
    def test_nan_probability_gives_nan(self, function):
        result = function(np.array([np.nan, 0.5]), np.array([1.0, 1.0]))
        assert np.isnan(result[0])
        assert not np.isnan(result[1])

    @pytest.mark.parametrize("function", LOSSES + PROBABILITY_LOSSES)
    def test_rejects_labels_outside_unit_interval(self, function):
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
            function(np.array([0.5, 0.5]), np.array([1.0, 2.0]))

    def test_sigmoid_backward_is_product(self):
        p = np.array([0.25, 1.0])
        np.testing.assert_array_equal(frameworks.sigmoid_backward(p, np.array([2.0, 5.0])), [0.375, 0.0])
