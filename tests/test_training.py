"""Tests of bcelab.training: the seeded data, the gradient-descent loop and its failure record."""

import functools

import numpy as np
import pytest

from bcelab import training
from bcelab.floats import sigmoid_thresholds
from bcelab.naive import naive_bce, naive_chained_grad, naive_sigmoid

DTYPES = [np.float16, np.float32, np.float64]


def logits_loss(z, y):
    """BCE from logits, log(1 + e^z) - y z, written independently of bcelab."""
    return np.logaddexp(0, z) - y * z


def logits_grad(z, y):
    """dL/dz = σ(z) - y, with σ written as tanh so it cannot overflow."""
    return 0.5 * (1 + np.tanh(z / 2)) - y


@pytest.fixture(scope="module")
def data():
    return training.separable_data(200, seed=0, margin=0.1)


@pytest.fixture(scope="module")
def naive_runs(data):
    features, labels = data
    return {
        dtype: training.train_neuron(
            features, labels, loss=naive_bce, grad=naive_chained_grad,
            dtype=dtype, learning_rate=2.0, steps=1000,
        )
        for dtype in DTYPES
    }


class TestSeparableData:
    def test_shapes_and_dtypes(self, data):
        features, labels = data
        assert features.shape == (200, 2)
        assert features.dtype == np.float64
        assert labels.shape == (200,)
        assert labels.dtype == np.float64

    def test_reproducible_from_seed(self, data):
        again = training.separable_data(200, seed=0, margin=0.1)
        np.testing.assert_array_equal(again[0], data[0])
        np.testing.assert_array_equal(again[1], data[1])
        other = training.separable_data(200, seed=1, margin=0.1)
        assert not np.array_equal(other[0], data[0])

    def test_separated_with_margin(self):
        features, labels = training.separable_data(500, seed=3, margin=0.4, scale=2.0)
        distance = features @ np.array([1.0, 1.0]) / np.sqrt(2.0)
        assert np.all(distance[labels == 1] >= 0.4 * 2.0)
        assert np.all(distance[labels == 0] <= -0.4 * 2.0)

    def test_both_classes_present(self, data):
        assert set(np.unique(data[1])) == {0.0, 1.0}

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"n": 1}, "n must be"),
            ({"n": 2.5}, "n must be"),
            ({"margin": -0.1}, "margin must be"),
            ({"scale": 0.0}, "scale must be"),
            ({"scale": float("nan")}, "scale must be"),
            ({"margin": 6.0}, "leaves too few points"),
        ],
    )
    def test_invalid_arguments(self, kwargs, message):
        arguments = {"n": 10, "seed": 0, **kwargs}
        with pytest.raises(ValueError, match=message):
            training.separable_data(**arguments)


class TestTrainNeuronMechanics:
    def test_history_shapes(self, data):
        history = training.train_neuron(*data, loss=logits_loss, grad=logits_grad, inputs="logits", steps=7)
        assert history.steps == 7
        assert history.losses.shape == (7,)
        assert history.weights.shape == (8, 3)
        assert history.weight_norms.shape == (8,)
        np.testing.assert_array_equal(history.weights[0], np.zeros(3))

    def test_update_is_gradient_of_mean_loss(self, data):
        features, labels = data
        start = np.array([0.3, -0.2, 0.1])
        rate = 0.5
        history = training.train_neuron(
            features, labels, loss=logits_loss, grad=logits_grad, inputs="logits",
            learning_rate=rate, steps=1, initial_weights=start,
        )

        def mean_loss(weights):
            return np.mean(logits_loss(features @ weights[:2] + weights[2], labels))

        step = 1e-6
        numeric = np.array([
            (mean_loss(start + step * unit) - mean_loss(start - step * unit)) / (2 * step)
            for unit in np.eye(3)
        ])
        np.testing.assert_allclose((start - history.weights[1]) / rate, numeric, rtol=1e-6, atol=1e-9)
        assert history.losses[0] == pytest.approx(mean_loss(start), rel=1e-14)

    def test_probabilities_and_logits_paths_agree(self, data):
        def probabilities_loss(p, y):
            return -(y * np.log(p) + (1 - y) * np.log(1 - p))

        def probabilities_grad(p, y):
            return p - y

        from_p = training.train_neuron(*data, loss=probabilities_loss, grad=probabilities_grad, steps=20)
        from_z = training.train_neuron(*data, loss=logits_loss, grad=logits_grad, inputs="logits", steps=20)
        np.testing.assert_allclose(from_p.weights, from_z.weights, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(from_p.losses, from_z.losses, rtol=1e-12)

    def test_loss_decreases_while_stable(self, data):
        history = training.train_neuron(*data, loss=logits_loss, grad=logits_grad, inputs="logits", steps=50)
        assert np.all(np.diff(history.losses) < 0)
        assert history.first_inf_loss is None
        assert history.first_nan_loss is None
        assert history.first_nan_weights is None
        assert history.first_inf_weights is None
        assert history.first_saturated is None

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_everything_in_dtype(self, data, dtype):
        history = training.train_neuron(*data, loss=naive_bce, grad=naive_chained_grad, dtype=dtype, steps=3)
        assert history.dtype == dtype
        assert history.losses.dtype == dtype
        assert history.weights.dtype == dtype
        assert history.weight_norms.dtype == np.float64

    def test_weight_norm_includes_bias(self, data):
        history = training.train_neuron(*data, loss=logits_loss, grad=logits_grad, inputs="logits", steps=3)
        np.testing.assert_allclose(history.weight_norms, np.linalg.norm(history.weights, axis=1), rtol=1e-15)

    def test_custom_sigmoid_is_used(self, data):
        calls = []

        def counting_sigmoid(z):
            calls.append(z.shape)
            return naive_sigmoid(z)

        training.train_neuron(*data, loss=naive_bce, grad=naive_chained_grad, sigmoid=counting_sigmoid, steps=4)
        assert calls == [(200,)] * 4

    def test_errstate_raise_stops_at_first_failure(self, data):
        # The naive functions set their own error mode unless given errstate=None.
        with pytest.raises(FloatingPointError):
            training.train_neuron(
                *data,
                loss=functools.partial(naive_bce, errstate=None),
                grad=functools.partial(naive_chained_grad, errstate=None),
                sigmoid=functools.partial(naive_sigmoid, errstate=None),
                dtype=np.float16, learning_rate=2.0, steps=100, errstate="raise",
            )


class TestTrainNeuronValidation:
    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"inputs": "odds"}, "inputs must be one of"),
            ({"learning_rate": 0.0}, "learning_rate must be positive"),
            ({"steps": 0}, "steps must be a positive integer"),
            ({"steps": 2.0}, "steps must be a positive integer"),
            ({"dtype": np.int32}, "float16, float32 or float64"),
            ({"initial_weights": [0.0, 0.0]}, r"initial_weights must have shape \(3,\)"),
        ],
    )
    def test_invalid_arguments(self, data, kwargs, message):
        with pytest.raises(ValueError, match=message):
            training.train_neuron(*data, loss=naive_bce, grad=naive_chained_grad, **kwargs)

    def test_features_must_be_two_dimensional(self):
        with pytest.raises(ValueError, match="features must be a 2-d array"):
            training.train_neuron(np.zeros(4), np.zeros(4), loss=naive_bce, grad=naive_chained_grad)

    def test_labels_must_match(self):
        with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
            training.train_neuron(np.zeros((4, 2)), np.zeros(3), loss=naive_bce, grad=naive_chained_grad)

    @pytest.mark.parametrize("bad", [2.0, -0.5, np.nan])
    def test_labels_in_unit_interval(self, bad):
        labels = np.array([0.0, 1.0, bad, 0.0])
        with pytest.raises(ValueError, match="labels must lie in .* at index 2"):
            training.train_neuron(np.zeros((4, 2)), labels, loss=naive_bce, grad=naive_chained_grad)


class TestNaiveRunFails:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_first_saturation_is_first_nan(self, naive_runs, dtype):
        history = naive_runs[dtype]
        step = history.first_saturated
        assert step is not None
        assert history.first_nan_loss == step
        assert history.first_nan_weights == step
        assert history.first_inf_loss is None

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_finite_before_nan_everywhere_after(self, naive_runs, dtype):
        history = naive_runs[dtype]
        step = history.first_nan_weights
        assert np.all(np.isfinite(history.losses[:step]))
        assert np.all(np.isfinite(history.weights[: step + 1]))
        assert np.all(np.isnan(history.weights[step + 1 :]))
        assert np.all(np.isnan(history.losses[step + 1 :]))

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_cause_is_a_confident_right_positive(self, data, naive_runs, dtype):
        features, labels = data
        history = naive_runs[dtype]
        weights = history.weights[history.first_saturated]
        logits = features.astype(dtype) @ weights[:2] + weights[2]
        saturated = naive_sigmoid(logits) == 1
        assert saturated.any()
        assert np.all(labels[saturated] == 1)
        assert np.all(logits[saturated] >= sigmoid_thresholds(dtype).naive_one)

    def test_wider_dtype_postpones_failure(self, naive_runs):
        steps = [naive_runs[dtype].first_nan_weights for dtype in DTYPES]
        assert steps[0] < steps[1] < steps[2]

    def test_stable_gradient_survives_the_same_budget(self, data):
        features, labels = data
        history = training.train_neuron(
            features, labels, loss=logits_loss, grad=logits_grad, inputs="logits",
            dtype=np.float32, learning_rate=2.0, steps=1000,
        )
        assert np.all(np.isfinite(history.weights))
        assert np.all(np.isfinite(history.losses))
