"""Sympy expressions for the sigmoid, the softplus and binary cross-entropy.

Notebook 01 derives the gradient of the loss with these expressions, and
:func:`branch_differences` proves the branch formulas that implementations use
(``max(z, 0)``, ``|z|``) by splitting on the sign of the logit.

Every function takes and returns sympy expressions; nothing here is evaluated
in floating point. Build symbols with :func:`logit_symbol` so that they carry
the ``real`` assumption that the simplifications need.
"""

import sympy
from IPython.display import Math, display

# The two branches a proof splits into, as sympy assumptions on the logit.
BRANCH_ASSUMPTIONS = (
    ("nonnegative", {"nonnegative": True}),
    ("negative", {"negative": True}),
)


def logit_symbol(name="z"):
    """Return a real sympy symbol for a logit."""
    return sympy.Symbol(name, real=True)


def sigmoid(z):
    """Return the logistic sigmoid σ(z) = 1 / (1 + e^(−z)) as a sympy expression."""
    return 1 / (1 + sympy.exp(-z))


def softplus(z):
    """Return softplus(z) = log(1 + e^z) as a sympy expression."""
    return sympy.log(1 + sympy.exp(z))


def bce(p, y):
    """Return the binary cross-entropy −[y log p + (1 − y) log(1 − p)].

    Args:
        p: the predicted probability of the positive class.
        y: the label (0 or 1, or a soft label in [0, 1]).
    """
    return -(y * sympy.log(p) + (1 - y) * sympy.log(1 - p))


def weighted_bce(p, y, pos_weight):
    """Return the BCE with a positive-class weight, −[w·y log p + (1 − y) log(1 − p)].

    ``pos_weight`` (w) multiplies only the positive term, as in
    ``bcelab.bce_with_logits(..., pos_weight=w)``.
    """
    return -(pos_weight * y * sympy.log(p) + (1 - y) * sympy.log(1 - p))


def stable_bce_with_logits(z, y):
    """Return the BCE of logit ``z`` in the branch form max(z, 0) − y·z + log(1 + e^(−|z|)).

    The exponent −|z| is never positive, so e^(−|z|) cannot overflow in
    floating point, and the result equals ``bce(sigmoid(z), y)`` for every
    real z (notebook 01 proves it with :func:`branch_differences`).
    """
    return sympy.Max(z, 0) - y * z + sympy.log(1 + sympy.exp(-sympy.Abs(z)))


def stable_weighted_bce_with_logits(z, y, pos_weight):
    """Return the weighted BCE of logit ``z`` in branch form.

    The form is (1 − y)·z + (1 + (w − 1)·y)·(max(−z, 0) + log(1 + e^(−|z|))),
    where the bracket is softplus(−z) written so that no exponent is positive.
    It equals ``weighted_bce(sigmoid(z), y, pos_weight)`` for every real z.
    """
    softplus_of_minus_z = sympy.Max(-z, 0) + sympy.log(1 + sympy.exp(-sympy.Abs(z)))
    return (1 - y) * z + (1 + (pos_weight - 1) * y) * softplus_of_minus_z


def branch_differences(lhs, rhs, variable):
    """Simplify ``lhs − rhs`` separately for ``variable`` ≥ 0 and ``variable`` < 0.

    On each branch the variable is replaced by a symbol of the same name that
    carries the branch's sign assumption, so that sympy can resolve ``Max``,
    ``Min``, ``Abs`` and ``Piecewise`` before it simplifies. Both differences
    are 0 exactly when the identity holds for every real value.

    Args:
        lhs, rhs: sympy expressions.
        variable: a real sympy ``Symbol`` (see :func:`logit_symbol`).

    Returns:
        A dict ``{"nonnegative": difference, "negative": difference}`` of
        simplified sympy expressions, written in terms of ``variable``.

    Raises:
        ValueError: if ``variable`` is not a sympy Symbol declared real.
    """
    if not isinstance(variable, sympy.Symbol):
        raise ValueError(f"variable must be a sympy Symbol; got {variable!r} of type {type(variable).__name__}")
    if variable.is_real is not True:
        raise ValueError(
            f"variable {variable} must be declared real, e.g. sympy.Symbol({variable.name!r}, real=True), "
            f"so that both sign branches exist; its assumptions are {variable.assumptions0}"
        )

    differences = {}
    for branch, assumptions in BRANCH_ASSUMPTIONS:
        branch_symbol = sympy.Symbol(variable.name, **assumptions)
        difference = sympy.simplify((lhs - rhs).subs(variable, branch_symbol))
        differences[branch] = difference.subs(branch_symbol, variable)
    return differences


def show_equation(lhs, expr):
    """Display the equation ``lhs = expr`` as LaTeX in a notebook.

    ``lhs`` is a LaTeX string and ``expr`` a sympy expression. The output is ``text/latex`` with a fixed ``text/plain`` twin, so
    it depends only on the pinned sympy version's LaTeX printer.
    """
    display(Math(f"{lhs} = {sympy.latex(expr)}"))
