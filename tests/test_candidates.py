"""Tests of bcelab.candidates: what each proposed fix does and does not fix, pinned at the edges.

True values come from ``bcelab.reference`` (mpmath); rounded values from
plain numpy scalars of the dtype. A "saturated" logit is one where the
textbook sigmoid has rounded to exactly 1.0 (z = 40 in float64, 20 in float32,
12 in float16) or to exactly 0.0 (z = -800 in float64).
"""

import numpy as np
import pytest

from bcelab import candidates
from bcelab.reference import exact_grad, exact_loss, round_to, ulp_error

DTYPES = [np.float16, np.float32, np.float64]

# A logit at which the textbook sigmoid returns exactly 1.0 in each dtype.
SATURATED = {np.float16: 12.0, np.float32: 20.0, np.float64: 40.0}


def evaluate(candidate, z, y, dtype):
    """Return (loss, grad) of ``candidate`` at scalar z, y converted to ``dtype``, as Python floats."""
    loss, grad = candidate(dtype(z), dtype(y))
    return float(loss), float(grad)


def wide_grid(dtype):
    """Return finite logits of ``dtype`` from -max to max, dense where the tails begin."""
    maximum = float(np.finfo(dtype).max)
    tails = np.exp(np.linspace(0.0, np.log(maximum), 40))
    tails[-1] = maximum
    inner = np.linspace(-60.0, 60.0, 241)
    return np.unique(np.concatenate([-tails, inner, tails]).astype(dtype))


class TestConventions:
    def test_xlogy_zero_times_log_zero(self):
        assert candidates.xlogy(0.0, 0.0) == 0.0
        assert candidates.xlogy(np.float32(0), np.float32(0)).dtype == np.float32

    def test_xlogy_log_zero_is_minus_inf(self):
        assert np.isneginf(candidates.xlogy(1.0, 0.0))

    def test_xlogy_matches_product_elsewhere(self):
        x = np.array([0.25, 1.0, 3.0])
        y = np.array([0.5, 2.0, 1e-300])
        np.testing.assert_array_equal(candidates.xlogy(x, y), x * np.log(y))

    def test_xlogy_nan_argument_propagates(self):
        assert np.isnan(candidates.xlogy(0.0, np.nan))
        assert np.isnan(candidates.xlogy(np.nan, 0.5))

    def test_xdivy_zero_over_zero(self):
        assert candidates.xdivy(0.0, 0.0) == 0.0
        assert np.isposinf(candidates.xdivy(1.0, 0.0))
        assert candidates.xdivy(3.0, 4.0) == 0.75
        assert np.isnan(candidates.xdivy(0.0, np.nan))


class TestSignatureAndDtype:
    @pytest.mark.parametrize("name", list(candidates.CANDIDATES))
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_keeps_dtype_and_shape(self, name, dtype):
        z = np.array([[-3.0, 0.0, 2.5]], dtype=dtype)
        y = np.array([[1.0], [0.0]], dtype=dtype)
        loss, grad = candidates.CANDIDATES[name](z, y)
        assert loss.dtype == dtype
        assert grad.dtype == dtype
        assert loss.shape == (2, 3)
        assert grad.shape == (2, 3)

    @pytest.mark.parametrize("name", list(candidates.CANDIDATES))
    def test_invalid_label_raises(self, name):
        with pytest.raises(ValueError, match="1.5"):
            candidates.CANDIDATES[name](np.zeros(3), np.array([0.0, 1.5, 1.0]))

    @pytest.mark.parametrize("name", list(candidates.CANDIDATES))
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_no_warnings_over_the_whole_range(self, name, dtype):
        # pytest turns warnings into errors (pyproject.toml), so a leaked RuntimeWarning fails here.
        z = wide_grid(dtype)
        for label in (0.0, 1.0):
            candidates.CANDIDATES[name](z, np.full(z.shape, label, dtype))

    # eps in the denominator shifts the value at every p by design, so it is not exact at z = 0.
    @pytest.mark.parametrize("name", [name for name in candidates.CANDIDATES if name != "eps in denominator"])
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_exact_where_nothing_saturates(self, name, dtype):
        # At z = 0 every form computes p = 1/2 exactly, so all agree with log 2 and 1/2 - y.
        for label in (0.0, 1.0):
            loss, grad = evaluate(candidates.CANDIDATES[name], 0.0, label, dtype)
            assert ulp_error(dtype(loss), exact_loss(0.0, label), dtype) <= 1
            assert grad == 0.5 - label


class TestTextbook:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_saturated_right_is_nan(self, dtype):
        loss, grad = evaluate(candidates.textbook, SATURATED[dtype], 1.0, dtype)
        assert np.isnan(loss)
        assert np.isnan(grad)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_saturated_wrong_is_inf_loss_nan_grad(self, dtype):
        loss, grad = evaluate(candidates.textbook, SATURATED[dtype], 0.0, dtype)
        assert np.isposinf(loss)
        assert np.isnan(grad)


class TestFloat64Promotion:
    def test_rescues_float32_at_twenty(self):
        loss, grad = evaluate(candidates.float64_promotion, 20.0, 0.0, np.float32)
        assert ulp_error(np.float32(loss), exact_loss(np.float32(20.0), 0.0), np.float32) <= 1
        assert grad == 1.0

    def test_fails_like_textbook_in_float64(self):
        z = np.array([-800.0, -40.0, 0.5, 40.0, 800.0])
        for label in (0.0, 1.0):
            y = np.full(z.shape, label)
            np.testing.assert_array_equal(candidates.float64_promotion(z, y)[0], candidates.textbook(z, y)[0])
            np.testing.assert_array_equal(candidates.float64_promotion(z, y)[1], candidates.textbook(z, y)[1])

    def test_fails_in_float32_beyond_float64_saturation(self):
        loss, grad = evaluate(candidates.float64_promotion, 40.0, 1.0, np.float32)
        assert np.isnan(loss)
        assert np.isnan(grad)


class TestXlogyConvention:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_fixes_saturated_right(self, dtype):
        loss, grad = evaluate(candidates.xlogy_convention, SATURATED[dtype], 1.0, dtype)
        assert loss == 0.0
        assert grad == 0.0

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_leaves_saturated_wrong(self, dtype):
        loss, grad = evaluate(candidates.xlogy_convention, SATURATED[dtype], 0.0, dtype)
        assert np.isposinf(loss)
        assert np.isnan(grad)


class TestSpecialCases:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_saturated_right_is_zero(self, dtype):
        assert evaluate(candidates.special_cases, SATURATED[dtype], 1.0, dtype) == (0.0, 0.0)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_saturated_wrong_is_skipped(self, dtype):
        loss, grad = evaluate(candidates.special_cases, SATURATED[dtype], 0.0, dtype)
        assert np.isposinf(loss)
        assert grad == 0.0  # the true gradient is about 1: the worst example gets no push

    def test_interior_unchanged(self):
        z = np.linspace(-10.0, 10.0, 21)
        y = (z > 0).astype(float)
        np.testing.assert_array_equal(candidates.special_cases(z, y)[1], candidates.textbook(z, y)[1])


class TestEpsInDenominator:
    def test_loss_finite_but_gradient_vanishes_for_wrong_negative(self):
        # z = -40, y = 1: p ≈ 4e-18 is far below eps, so dL/dp ≈ -1/eps and dL/dz ≈ -p/eps, not -1.
        loss, grad = evaluate(candidates.eps_in_denominator, -40.0, 1.0, np.float64)
        assert np.isfinite(loss)
        assert abs(grad) < 1e-9
        assert float(exact_grad(-40.0, 1.0)) == pytest.approx(-1.0)

    def test_loss_below_zero_when_right(self):
        # -log(1 - p + eps) with p ≈ 0 is -log(1 + eps) < 0: a negative cross-entropy.
        loss, _ = evaluate(candidates.eps_in_denominator, -40.0, 0.0, np.float64)
        assert loss < 0.0

    def test_float16_eps_overflows_the_quotient(self):
        # 1/eps ≈ 8.4e6 exceeds float16's max 65504, and inf · p(1 - p) = inf · 0 = NaN.
        _, grad = evaluate(candidates.eps_in_denominator, SATURATED[np.float16], 0.0, np.float16)
        assert np.isnan(grad)


class TestClipped:
    def test_loss_capped_at_minus_log_eps(self):
        loss, grad = evaluate(candidates.CANDIDATES["clip 1e-07"], 40.0, 0.0, np.float64)
        expected = -np.log(1.0 - (1.0 - 1e-7))  # the clipped p is 1 - eps rounded to float64
        assert loss == pytest.approx(expected, rel=1e-12)
        assert float(exact_loss(40.0, 0.0)) == pytest.approx(40.0)

    @pytest.mark.parametrize("eps", candidates.CLIP_EPSILONS)
    def test_gradient_zero_outside_clip_range(self, eps):
        _, grad = evaluate(candidates.CANDIDATES[f"clip {eps:g}"], 40.0, 0.0, np.float64)
        assert grad == 0.0

    @pytest.mark.parametrize("eps, dtype", [(1e-12, np.float32), (1e-15, np.float32), (1e-7, np.float16)])
    def test_absorbed_eps_leaves_p_equal_one(self, eps, dtype):
        assert dtype(1) - dtype(eps) == dtype(1)
        loss, grad = evaluate(candidates.CANDIDATES[f"clip {eps:g}"], SATURATED[dtype], 0.0, dtype)
        assert np.isposinf(loss)
        assert np.isnan(grad)

    def test_representable_eps_keeps_float32_finite(self):
        loss, grad = evaluate(candidates.CANDIDATES["clip 1e-07"], 20.0, 0.0, np.float32)
        assert np.isfinite(loss)
        assert grad == 0.0

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_machine_eps_never_absorbed(self, dtype):
        z = wide_grid(dtype)
        for label in (0.0, 1.0):
            loss, grad = candidates.clipped_machine_eps(z, np.full(z.shape, label, dtype))
            assert np.isfinite(loss).all()
            assert np.isfinite(grad).all()


class TestSoftplusLoss:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_loss_accurate_in_the_tails(self, dtype):
        z = np.array([-30.0, -12.0, 12.0, 30.0], dtype=dtype)
        for label in (0.0, 1.0):
            loss, _ = candidates.softplus_loss(z, np.full(z.shape, label, dtype))
            exact = [exact_loss(value, label) for value in z]
            assert max(ulp_error(loss, np.array(exact, dtype=object), dtype)) <= 2

    def test_gradient_still_nan(self):
        _, grad = evaluate(candidates.softplus_loss, 40.0, 1.0, np.float64)
        assert np.isnan(grad)


class TestLogitsFormulation:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_finite_everywhere(self, dtype):
        z = wide_grid(dtype)
        for label in (0.0, 1.0):
            loss, grad = candidates.logits_formulation(z, np.full(z.shape, label, dtype))
            assert np.isfinite(loss).all()
            assert np.isfinite(grad).all()
            assert (np.abs(grad) <= 1).all()

    def test_fused_gradient_loses_the_tail(self):
        # σ(40) rounds to 1, so σ(z) - 1 is 0 although the true gradient is -σ(-40) ≈ -4.2e-18.
        _, grad = evaluate(candidates.logits_formulation, 40.0, 1.0, np.float64)
        assert grad == 0.0
        assert round_to(exact_grad(40.0, 1.0), np.float64) < 0


class TestBcelab:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_within_one_or_two_ulp(self, dtype):
        z = wide_grid(dtype)
        limit = 2 if dtype == np.float64 else 1
        for label in (0.0, 1.0):
            y = np.full(z.shape, label, dtype)
            loss, grad = candidates.bcelab_with_logits(z, y)
            exact_losses = np.array([exact_loss(value, label) for value in z], dtype=object)
            exact_grads = np.array([exact_grad(value, label) for value in z], dtype=object)
            assert ulp_error(loss, exact_losses, dtype).max() <= limit
            assert ulp_error(grad, exact_grads, dtype).max() <= limit

    def test_matches_public_api(self):
        import bcelab.stable

        z = np.array([-800.0, -40.0, 0.5, 40.0, 800.0])
        y = np.array([1.0, 0.0, 0.3, 1.0, 0.0])
        loss, grad = candidates.bcelab_with_logits(z, y)
        np.testing.assert_array_equal(loss, bcelab.stable.bce_with_logits(z, y))
        np.testing.assert_array_equal(grad, bcelab.stable.bce_with_logits_grad(z, y))
