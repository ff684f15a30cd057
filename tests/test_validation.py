"""Input rejection shared by every public function: clear ValueErrors, nothing silently dropped."""

import numpy as np
import pytest

import bcelab

UNARY = [bcelab.sigmoid, bcelab.log_sigmoid, bcelab.softplus, bcelab.log_softmax]
WITH_LABELS = [bcelab.bce_with_logits, bcelab.bce_with_logits_grad]


@pytest.mark.parametrize("function", UNARY + WITH_LABELS, ids=lambda f: f.__name__)
def test_integer_too_large_for_float64(function):
    args = (10**400,) if function in UNARY else (10**400, 1.0)
    with pytest.raises(ValueError, match="integer too large for float64"):
        function(*args)


@pytest.mark.parametrize("function", UNARY + WITH_LABELS, ids=lambda f: f.__name__)
def test_scalar_type_instead_of_value(function):
    args = (np.float16,) if function in UNARY else (np.float16, 1.0)
    with pytest.raises(ValueError, match="got the type float16"):
        function(*args)


@pytest.mark.parametrize("function", UNARY + WITH_LABELS, ids=lambda f: f.__name__)
def test_masked_array_rejected(function):
    logits = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    args = (logits,) if function in UNARY else (logits, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="masked array"):
        function(*args)


def test_masked_labels_rejected():
    labels = np.ma.masked_array([1.0, 0.0], mask=[False, True])
    with pytest.raises(ValueError, match="labels is a masked array"):
        bcelab.bce_with_logits(np.array([1.0, 2.0]), labels)


def test_large_int_that_fits_accepted():
    assert bcelab.bce_with_logits(2**70, 1) == 0.0


@pytest.mark.parametrize("bad", [["a", "b"], [1 + 2j], None, np.datetime64("2026-01-01")])
def test_non_real_logits_named(bad):
    with pytest.raises(ValueError, match="logits must be real numbers"):
        bcelab.bce_with_logits(bad, 1.0)
