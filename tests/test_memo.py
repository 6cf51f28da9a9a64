"""urlink.memo: values kept with the very objects they come from, and only while they live."""

from __future__ import annotations

import gc
from functools import partial

import numpy as np

from urlink import memo
from urlink.memo import kept_with


def test_kept_per_object_and_extra_and_dropped_with_the_object():
    a, b = np.ones(3), np.ones(3)  # equal values, other objects
    calls = []

    def total(x: np.ndarray, factor: float) -> float:
        calls.append(factor)
        return float(x.sum()) * factor

    assert kept_with("t", (a,), 1.0, partial(total, a, 1.0)) == 3.0
    assert kept_with("t", (a,), 1.0, partial(total, a, 1.0)) == 3.0  # kept
    assert kept_with("t", (b,), 1.0, partial(total, b, 1.0)) == 3.0  # another object
    assert kept_with("t", (a,), 2.0, partial(total, a, 2.0)) == 6.0  # another extra
    assert calls == [1.0, 1.0, 2.0]
    assert kept_with("t", (a, b), None, lambda: 7) == 7  # two sources: both must live
    held = len(memo._KEPT)
    del a
    gc.collect()
    assert len(memo._KEPT) == held - 3  # a's entries went with it, b's stay
