import errno
import random

import numpy as np
import pytest
import torch

from bertkit.config import BertConfig
from bertkit.errors import CheckpointError, TrainingError
from bertkit.model import BertForPreTraining
from bertkit.train import state as state_module
from bertkit.train.optim import build_optimizer
from bertkit.train.state import (
    TrainState,
    capture_rng,
    checkpoint_dirs,
    latest_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return BertForPreTraining(BertConfig.preset("tiny", vocab_size=60, max_position_embeddings=16))


def trained_state(model, step):
    opt = build_optimizer(model, "adamw", lr=1e-3)
    ids = torch.randint(0, 60, (2, 8))
    model(ids, labels=ids, next_sentence_label=torch.tensor([0, 1])).loss.backward()
    opt.step()
    return TrainState(
        step=step,
        tokens_seen=16 * step,
        optimizer=opt.state_dict(),
        train_seconds=0.5 * step,
        data=[{"epoch": 0, "batch_index": step}],
        rng=[capture_rng()],
    )


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model()
    state = trained_state(model, 3)
    path = save_checkpoint(tmp_path, model, state, keep=2)
    assert path == tmp_path / "checkpoints" / "step-3"
    assert {p.name for p in path.iterdir()} == {"model.safetensors", "config.json", "trainer.pt"}
    exported = BertForPreTraining.from_pretrained(path)  # a checkpoint is also a model directory
    assert torch.equal(
        exported.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight
    )

    fresh = tiny_model(seed=1)
    loaded = load_checkpoint(latest_checkpoint(tmp_path), fresh)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert fresh.cls.predictions.decoder.weight is fresh.bert.embeddings.word_embeddings.weight  # still tied
    assert (loaded.step, loaded.tokens_seen, loaded.train_seconds) == (3, 48, 1.5)
    assert loaded.data == [{"epoch": 0, "batch_index": 3}]
    opt = build_optimizer(fresh, "adamw", lr=1e-3)
    opt.load_state_dict(loaded.optimizer)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], state.optimizer["state"][0]["exp_avg"])


def test_rng_states_are_restored():
    saved = capture_rng()
    draws = (random.random(), np.random.rand(), torch.rand(3))
    restore_rng(saved)
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert draws[:2] == again[:2] and torch.equal(draws[2], again[2])


def test_only_the_newest_keep_checkpoints_stay(tmp_path):
    model = tiny_model()
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, model, trained_state(model, step), keep=2)
    assert [p.name for p in checkpoint_dirs(tmp_path)] == ["step-30", "step-40"]
    assert latest_checkpoint(tmp_path).name == "step-40"


def test_disk_full_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model = tiny_model()
    save_checkpoint(tmp_path, model, trained_state(model, 1), keep=3)
    before = (tmp_path / "checkpoints" / "step-1" / "model.safetensors").read_bytes()

    def disk_full(obj, path):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state_module.torch, "save", disk_full)
    with pytest.raises(
        TrainingError, match=r"step-2: the disk is full; the previous checkpoint .*step-1 is intact"
    ):
        save_checkpoint(tmp_path, model, trained_state(model, 2), keep=3)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-1"]  # no temporary left behind
    assert (tmp_path / "checkpoints" / "step-1" / "model.safetensors").read_bytes() == before
    monkeypatch.undo()
    assert load_checkpoint(latest_checkpoint(tmp_path), tiny_model()).step == 1


def test_resume_without_a_checkpoint(tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint to resume from"):
        latest_checkpoint(tmp_path)


def test_partial_directories_are_not_checkpoints(tmp_path):
    (tmp_path / "checkpoints" / ".tmp-step-5").mkdir(parents=True)
    assert checkpoint_dirs(tmp_path) == []


@pytest.mark.parametrize(
    "broken,message",
    [
        (
            "model.safetensors",
            "cannot load the model weights: .*model.safetensors: not a readable safetensors file",
        ),
        ("trainer.pt", "trainer.pt is missing or corrupt"),
    ],
)
def test_corrupt_checkpoint(tmp_path, broken, message):
    model = tiny_model()
    path = save_checkpoint(tmp_path, model, trained_state(model, 1), keep=1)
    data = (path / broken).read_bytes()
    (path / broken).write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointError, match=f"step-1: {message}.*delete .*step-1 to resume from the checkpoint"
    ):
        load_checkpoint(path, tiny_model())


def test_checkpoint_of_another_model_size(tmp_path):
    model = tiny_model()
    path = save_checkpoint(tmp_path, model, trained_state(model, 1), keep=1)
    other = BertForPreTraining(BertConfig.preset("mini", vocab_size=60, max_position_embeddings=16))
    with pytest.raises(CheckpointError, match="step-1: cannot load the model weights: .*shape"):
        load_checkpoint(path, other)
