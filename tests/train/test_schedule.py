import math

import pytest
import torch

from bertkit.errors import InvalidArgumentError
from bertkit.train.schedule import build_scheduler, lr_factor


def lrs(kind, warmup=4, total=12):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=2.0)
    sched = build_scheduler(opt, warmup_steps=warmup, max_steps=total, kind=kind)
    seen = []
    for _ in range(total):
        seen.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return seen


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


def test_scheduler_state_round_trips_through_weights_only_load(tmp_path):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = build_scheduler(opt, warmup_steps=2, max_steps=10)
    for _ in range(5):
        opt.step()
        sched.step()
    torch.save(sched.state_dict(), tmp_path / "s.pt")
    opt2 = torch.optim.SGD([p], lr=1.0)
    sched2 = build_scheduler(opt2, warmup_steps=2, max_steps=10)
    sched2.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    opt2.step()
    sched2.step()
    assert sched2.get_last_lr() == pytest.approx([lr_factor(6, warmup_steps=2, max_steps=10)])


def test_unknown_schedule():
    with pytest.raises(InvalidArgumentError, match="unknown learning-rate schedule 'step'"):
        build_scheduler(
            torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0),
            warmup_steps=0,
            max_steps=5,
            kind="step",
        )
