import math

import pytest

from bertkit.errors import InvalidArgumentError
from bertkit.train.schedule import lr_factor


def lrs(kind, warmup=4, total=12):
    return [2.0 * lr_factor(step, warmup_steps=warmup, max_steps=total, kind=kind) for step in range(total)]


def test_linear_warmup_then_linear_decay_to_zero():
    seen = lrs("linear")
    assert seen[:4] == pytest.approx([0.5, 1.0, 1.5, 2.0])  # climbs to the peak over the warm-up
    assert seen[4:] == pytest.approx([2.0 * (1 - i / 8) for i in range(8)])
    assert lr_factor(12, warmup_steps=4, max_steps=12) == 0.0


def test_cosine_decay():
    seen = lrs("cosine")
    assert seen[4:] == pytest.approx([1.0 + math.cos(math.pi * i / 8) for i in range(8)])
    assert lr_factor(12, warmup_steps=4, max_steps=12, kind="cosine") == pytest.approx(0.0)


def test_no_warmup_starts_at_the_peak():
    assert lr_factor(0, warmup_steps=0, max_steps=10) == 1.0


def test_unknown_schedule():
    with pytest.raises(InvalidArgumentError, match="unknown learning-rate schedule 'step'"):
        lr_factor(0, warmup_steps=0, max_steps=5, kind="step")
