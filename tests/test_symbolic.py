"""Tests of bcelab.symbolic: the sympy expressions and the branch-by-branch proofs."""

import math

import mpmath
import pytest
import sympy

from bcelab import symbolic

z = symbolic.logit_symbol("z")
y = sympy.Symbol("y", real=True)
p = sympy.Symbol("p", positive=True)
w = sympy.Symbol("w", positive=True)


def is_zero(expr):
    return sympy.simplify(expr) == 0


class TestExpressions:
    def test_logit_symbol_is_real(self):
        assert z.is_real is True
        assert z.name == "z"

    def test_sigmoid_derivative(self):
        sigma = symbolic.sigmoid(z)
        assert is_zero(sympy.diff(sigma, z) - sigma * (1 - sigma))

    def test_sigmoid_at_zero_is_half(self):
        assert symbolic.sigmoid(sympy.Integer(0)) == sympy.Rational(1, 2)

    def test_softplus_derivative_is_sigmoid(self):
        assert is_zero(sympy.diff(symbolic.softplus(z), z) - symbolic.sigmoid(z))

    def test_log_sigmoid_is_minus_softplus(self):
        assert is_zero(-sympy.log(symbolic.sigmoid(z)) - symbolic.softplus(-z))
        assert is_zero(-sympy.log(1 - symbolic.sigmoid(z)) - symbolic.softplus(z))

    def test_softplus_difference_is_identity(self):
        assert is_zero(symbolic.softplus(z) - symbolic.softplus(-z) - z)

    def test_bce_derivative_in_p(self):
        expected = -y / p + (1 - y) / (1 - p)
        assert is_zero(sympy.diff(symbolic.bce(p, y), p) - expected)

    def test_chained_gradient_is_sigmoid_minus_label(self):
        sigma = symbolic.sigmoid(z)
        chained = sympy.diff(symbolic.bce(p, y), p).subs(p, sigma) * sympy.diff(sigma, z)
        assert is_zero(chained - (sigma - y))

    def test_bce_of_logit_is_softplus_minus_yz(self):
        loss = symbolic.bce(symbolic.sigmoid(z), y)
        assert is_zero(loss - (symbolic.softplus(z) - y * z))

    def test_weighted_bce_with_unit_weight_is_bce(self):
        assert symbolic.weighted_bce(p, y, 1) == symbolic.bce(p, y)

    def test_weighted_bce_gradient(self):
        sigma = symbolic.sigmoid(z)
        gradient = sympy.diff(symbolic.weighted_bce(sigma, y, w), z)
        assert is_zero(gradient - ((1 + (w - 1) * y) * sigma - w * y))


class TestBranchDifferences:
    def test_stable_bce_equals_bce_on_both_branches(self):
        loss = symbolic.bce(symbolic.sigmoid(z), y)
        differences = symbolic.branch_differences(symbolic.stable_bce_with_logits(z, y), loss, z)
        assert set(differences) == {"nonnegative", "negative"}
        assert differences["nonnegative"] == 0
        assert differences["negative"] == 0

    def test_stable_weighted_bce_equals_weighted(self):
        loss = symbolic.weighted_bce(symbolic.sigmoid(z), y, w)
        stable = symbolic.stable_weighted_bce_with_logits(z, y, w)
        differences = symbolic.branch_differences(stable, loss, z)
        assert differences["nonnegative"] == 0
        assert differences["negative"] == 0

    def test_missing_max_term_fails_on_nonnegative_branch(self):
        wrong = -y * z + sympy.log(1 + sympy.exp(-sympy.Abs(z)))
        loss = symbolic.bce(symbolic.sigmoid(z), y)
        differences = symbolic.branch_differences(wrong, loss, z)
        assert sympy.simplify(differences["nonnegative"] + z) == 0
        assert differences["negative"] == 0

    def test_wrong_exponent_sign_fails_on_both_branches(self):
        wrong = sympy.Max(z, 0) - y * z + sympy.log(1 + sympy.exp(sympy.Abs(z)))
        loss = symbolic.bce(symbolic.sigmoid(z), y)
        differences = symbolic.branch_differences(wrong, loss, z)
        assert sympy.simplify(differences["nonnegative"] - z) == 0
        assert sympy.simplify(differences["negative"] + z) == 0

    def test_difference_is_written_in_original_symbol(self):
        differences = symbolic.branch_differences(sympy.Abs(z), z, z)
        assert differences["nonnegative"] == 0
        assert sympy.simplify(differences["negative"] + 2 * z) == 0
        assert differences["negative"].free_symbols == {z}

    def test_rejects_expression_as_variable(self):
        with pytest.raises(ValueError, match="must be a sympy Symbol"):
            symbolic.branch_differences(z, z, 2 * z)

    def test_rejects_symbol_not_declared_real(self):
        plain = sympy.Symbol("z")
        with pytest.raises(ValueError, match="must be declared real"):
            symbolic.branch_differences(plain, plain, plain)


# Logits and labels for the numerical cross-check, spanning both branches.
LOGITS = [-30.0, -1.5, 0.0, 2.0, 30.0]
LABELS = [0.0, 0.25, 1.0]


def exact_bce_with_logits(z_value, y_value, pos_weight=1.0):
    """Return the weighted BCE of a logit, computed with mpmath at 50 significant digits."""
    with mpmath.workdps(50):
        z_mp, y_mp = mpmath.mpf(z_value), mpmath.mpf(y_value)
        log_sigmoid = -mpmath.log1p(mpmath.exp(-z_mp))
        log_one_minus_sigmoid = -mpmath.log1p(mpmath.exp(z_mp))
        return float(-(pos_weight * y_mp * log_sigmoid + (1 - y_mp) * log_one_minus_sigmoid))


class TestNumericalAgreement:
    """The branch forms evaluated in float64 agree with an mpmath reference."""

    @pytest.mark.parametrize("z_value", LOGITS)
    @pytest.mark.parametrize("y_value", LABELS)
    def test_stable_bce_matches_mpmath(self, z_value, y_value):
        function = sympy.lambdify((z, y), symbolic.stable_bce_with_logits(z, y), "math")
        expected = exact_bce_with_logits(z_value, y_value)
        # Tolerance: a few float64 roundings of terms no larger than |z| + log 2.
        assert math.isclose(function(z_value, y_value), expected, rel_tol=1e-14, abs_tol=1e-14)

    @pytest.mark.parametrize("z_value", LOGITS)
    @pytest.mark.parametrize("y_value", LABELS)
    def test_stable_weighted_bce_matches_mpmath(self, z_value, y_value):
        stable = symbolic.stable_weighted_bce_with_logits(z, y, w)
        function = sympy.lambdify((z, y, w), stable, "math")
        expected = exact_bce_with_logits(z_value, y_value, pos_weight=3.0)
        assert math.isclose(function(z_value, y_value, 3.0), expected, rel_tol=1e-14, abs_tol=1e-13)


def test_show_equation_displays_latex(monkeypatch):
    displayed = []
    monkeypatch.setattr(symbolic, "display", displayed.append)
    symbolic.show_equation(r"\sigma(z)", symbolic.sigmoid(z))
    assert len(displayed) == 1
    assert displayed[0].data == r"\sigma(z) = \frac{1}{1 + e^{- z}}"
