"""Time the binary cross-entropy loss plus its gradient on 10^7 logits.

Compared, for float64 and float32, in one run on the same data:

- ``naive numpy``: the textbook form, p = 1 / (1 + exp(-z)),
  loss = -(y·log p + (1 - y)·log(1 - p)), gradient = p - y (the simplified
  gradient, not the chained form dL/dp·dp/dz, which would cost more). It is
  the baseline of every ratio. Its overflow and log 0 warnings are silenced.
- ``bcelab fused``: :func:`bcelab.stable.bce_with_logits_and_grad`.
- ``bcelab separate``: :func:`bcelab.stable.bce_with_logits` followed by
  :func:`bcelab.stable.bce_with_logits_grad`, each computing exp(-|z|) itself.
- ``scipy log_expit``, when scipy is importable: loss =
  -(y·log_expit(z) + (1 - y)·log_expit(-z)), gradient = expit(z) - y.
- ``torch fused kernel``, when torch is importable:
  ``binary_cross_entropy_with_logits(reduction="none")`` and its gradient
  from autograd.

The targets: bcelab takes at most 1.5× the naive time for float64 and 2× for
float32, where it computes in float64 to meet its accuracy target. Each time
is the minimum over ``repeats`` interleaved runs, so a slow run caused by
another process on the machine does not decide the ratio.

Run ``python bench/throughput.py`` for a table; ``bench/run.py`` calls
:func:`measure_throughput` and writes the results page.
"""

import importlib.util
import time

import numpy as np

from bcelab.stable import bce_with_logits, bce_with_logits_and_grad, bce_with_logits_grad

TARGET_RATIO = {"float64": 1.5, "float32": 2.0}
"""Maximum bcelab time / naive time, per dtype."""


def naive_loss_and_grad(z, y):
    """Return the textbook loss and gradient (p = σ(z) first), warnings silenced."""
    with np.errstate(all="ignore"):
        p = 1 / (1 + np.exp(-z))
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        grad = p - y
    return loss, grad


def separate_loss_and_grad(z, y):
    """Return bcelab's loss and gradient from the two public functions."""
    return bce_with_logits(z, y), bce_with_logits_grad(z, y)


def _scipy_method():
    if importlib.util.find_spec("scipy") is None:
        return None
    from scipy.special import expit, log_expit

    def scipy_loss_and_grad(z, y):
        loss = -(y * log_expit(z) + (1 - y) * log_expit(-z))
        return loss, expit(z) - y

    return scipy_loss_and_grad


def _torch_method():
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    def torch_loss_and_grad(z, y):
        logits = torch.from_numpy(z).requires_grad_(True)
        labels = torch.from_numpy(y)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        loss.backward(torch.ones_like(loss))
        return loss.detach().numpy(), logits.grad.numpy()

    return torch_loss_and_grad


def methods():
    """Return the (name, function) pairs to time; optional libraries only when importable."""
    available = [
        ("naive numpy", naive_loss_and_grad),
        ("bcelab fused", bce_with_logits_and_grad),
        ("bcelab separate", separate_loss_and_grad),
    ]
    for name, factory in (("scipy log_expit", _scipy_method), ("torch fused kernel", _torch_method)):
        function = factory()
        if function is not None:
            available.append((name, function))
    return available


def make_data(n, dtype, seed=0):
    """Return logits ~ N(0, 8²), which include saturated ones, and labels in {0, 1}."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 8.0, n).astype(dtype)
    labels = rng.integers(0, 2, n).astype(dtype)
    return logits, labels


def measure_throughput(n=10**7, dtypes=("float64", "float32"), repeats=5, seed=0):
    """Time loss plus gradient for each method and dtype; return one dict per pair.

    Each dict has the keys ``dtype``, ``method``, ``n``, ``seconds`` (the
    minimum over ``repeats`` interleaved runs), ``ratio`` (seconds divided by
    the naive time of the same dtype), ``target`` (the maximum ratio for the
    bcelab methods, None for the others) and ``meets_target`` (bool or None).
    """
    results = []
    for dtype in dtypes:
        logits, labels = make_data(n, np.dtype(dtype), seed)
        timed = methods()
        best = {name: float("inf") for name, _ in timed}
        for name, function in timed:
            function(logits[:1000], labels[:1000])
        for _ in range(repeats):
            for name, function in timed:
                start = time.perf_counter()
                function(logits, labels)
                best[name] = min(best[name], time.perf_counter() - start)

        baseline = best["naive numpy"]
        for name, _ in timed:
            ratio = best[name] / baseline
            target = TARGET_RATIO.get(str(dtype)) if name.startswith("bcelab") else None
            results.append({
                "dtype": str(dtype),
                "method": name,
                "n": n,
                "seconds": best[name],
                "ratio": ratio,
                "target": target,
                "meets_target": None if target is None else ratio <= target,
            })
    return results


def main():
    results = measure_throughput()
    print(f"{'dtype':8} {'method':20} {'seconds':>9} {'ratio':>7} {'target':>7}")
    for row in results:
        target = "" if row["target"] is None else f"{row['target']:.1f}"
        print(f"{row['dtype']:8} {row['method']:20} {row['seconds']:9.4f} {row['ratio']:7.2f} {target:>7}")


if __name__ == "__main__":
    main()
