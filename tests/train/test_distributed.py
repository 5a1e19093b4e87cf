"""torchrun with 2 CPU processes (gloo): trains, rank 0 checkpoints, resumes, and equals one process."""

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bertkit.cli import main
from bertkit.data.lm_loader import CausalLMData
from bertkit.data.loader import PretrainingData
from bertkit.errors import TrainingError
from bertkit.model import BertForPreTraining, BertLMHeadModel
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train import distributed
from bertkit.train.config import PretrainConfig
from bertkit.train.distributed import Distributed
from bertkit.train.loop import heldout_figures, pretrain
from bertkit.train.metrics import read_metrics
from bertkit.train.pretraining import OBJECTIVES
from bertkit.train.state import checkpoint_dirs

# Held-out documents: five one-line documents make exactly five instances (a lone sentence is paired with a
# random one); the four short lines of one document make a single instance when the pair is a true next one.
FIVE_LINES = ["兰叶春葳蕤，", "桂华秋皎洁。", "欣欣此生意，", "自尔为佳节。", "谁知林栖者，"]
FOUR_SHORT_LINES = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def torchrun(args, env, program=("-m", "bertkit", "pretrain")):
    """`program args` (`bertkit pretrain` unless told otherwise) in 2 processes; fails the test if one fails."""
    command = [*TORCHRUN, *program, *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_two_processes_match_one_process_with_the_same_global_batch(
    small_run, as_flags, subprocess_env, tmp_path
):
    # Dropout off: two processes draw two mask streams where one process draws one.
    settings = dict(max_steps=8, save_every=4, keep=3, eval_every=4, dropout=0.0)
    ddp_dir = tmp_path / "ddp"
    torchrun(as_flags(small_run(ddp_dir, batch_size=4, **settings)), subprocess_env)

    records = read_metrics(ddp_dir)
    assert [(r["step"], r["split"]) for r in records if r["step"] <= 4] == [
        (1, "train"),
        (2, "train"),
        (3, "train"),
        (4, "train"),
        (4, "heldout"),
    ]  # rank 0 alone writes metrics
    assert [p.name for p in checkpoint_dirs(ddp_dir)] == ["step-4", "step-8"]
    saved = torch.load(ddp_dir / "checkpoints" / "step-4" / "trainer.pt", weights_only=True)
    assert len(saved["rng"]) == 2 and not torch.equal(saved["rng"][0]["torch"], saved["rng"][1]["torch"])
    assert saved["data"] == [{"epoch": 0, "batch_index": 4}] * 2

    # The same global batch in one process: per-process batches of 4 come out of the loader as consecutive
    # batches of the one-process stream, and accumulating 2 of them averages gradients as DDP does. Evaluation
    # reads eval_batches per process, so one process reads twice as many to cover the same held-out batches.
    single_dir = tmp_path / "single"
    pretrain(small_run(single_dir, batch_size=4, grad_accum=2, eval_batches=4, **settings))
    ddp, single = read_metrics(ddp_dir), read_metrics(single_dir)
    assert [(r["step"], r["split"]) for r in ddp] == [(r["step"], r["split"]) for r in single]
    for a, b in zip(ddp, single, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5, abs=1e-6), a["step"]
        assert a["mlm_acc"] == pytest.approx(b["mlm_acc"]) and a["nsp_acc"] == pytest.approx(b["nsp_acc"])
    ddp_weights = BertForPreTraining.from_pretrained(ddp_dir / "final").state_dict()
    for name, tensor in BertForPreTraining.from_pretrained(single_dir / "final").state_dict().items():
        torch.testing.assert_close(ddp_weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)

    # Resume the two-process run from step 4, as after a crash: steps 5-8 come out the same to the bit.
    losses = [(r["step"], r["split"], r["loss"]) for r in ddp]
    for later in (ddp_dir / "checkpoints" / "step-8", ddp_dir / "final"):
        for f in later.iterdir():
            f.unlink()
        later.rmdir()
    torchrun([*as_flags(small_run(ddp_dir, batch_size=4, **settings)), "--resume"], subprocess_env)
    assert [(r["step"], r["split"], r["loss"]) for r in read_metrics(ddp_dir)] == losses
    assert (ddp_dir / "final" / "model.safetensors").exists()

    # One process cannot take over the two processes' data shares and RNG streams.
    with pytest.raises(TrainingError, match="step-8 was written by 2 process"):
        pretrain(small_run(ddp_dir, batch_size=4, resume=True, **settings | {"max_steps": 12}))


def test_a_causal_lm_in_two_processes_equals_one_process_down_to_a_heldout_row_for_one_rank(
    heldout_corpus, corpus, small_run, as_flags, subprocess_env, tmp_path
):
    # Three one-line held-out documents pack into one row: rank 1's share of the held-out batch is empty.
    data = str(heldout_corpus([[line] for line in FIVE_LINES[:3]]))
    kw = dict(split="heldout", max_seq_length=32, batch_size=4, world_size=2, num_workers=0)
    shares = [list(CausalLMData(data, corpus["tokenizer"], rank=r, **kw).one_epoch()) for r in (0, 1)]
    assert [[len(b["input_ids"]) for b in share] for share in shares] == [[1], [0]]
    settings = dict(objective="clm", data=data, max_steps=6, eval_every=3, save_every=3, dropout=0.0)
    torchrun(as_flags(small_run(tmp_path / "ddp", **settings)), subprocess_env)
    pretrain(
        small_run(tmp_path / "single", grad_accum=2, eval_batches=4, **settings)
    )  # the same global batch
    ddp, single = read_metrics(tmp_path / "ddp"), read_metrics(tmp_path / "single")
    assert [(r["step"], r["split"]) for r in ddp] == [(r["step"], r["split"]) for r in single]
    assert [r["step"] for r in ddp if r["split"] == "heldout"] == [3, 6]
    for a, b in zip(ddp, single, strict=True):
        assert {"loss", "next_token_acc", "perplexity"} <= set(a) and "mlm_acc" not in a
        for figure in ("loss", "next_token_acc", "perplexity"):
            assert a[figure] == pytest.approx(b[figure], rel=1e-5), (a["step"], a["split"], figure)
        assert a["perplexity"] == pytest.approx(math.exp(a["loss"]))
    weights = BertLMHeadModel.from_pretrained(tmp_path / "ddp" / "final").state_dict()
    for name, tensor in BertLMHeadModel.from_pretrained(tmp_path / "single" / "final").state_dict().items():
        torch.testing.assert_close(weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    from transformers import BertLMHeadModel as HFBertLMHeadModel

    hf = HFBertLMHeadModel.from_pretrained(tmp_path / "ddp" / "final").eval()
    ids = torch.randint(5, hf.config.vocab_size, (2, 12))
    with torch.no_grad():
        ours = BertLMHeadModel.from_pretrained(tmp_path / "ddp" / "final").eval()(ids).logits
        torch.testing.assert_close(ours, hf(ids).logits, rtol=1e-4, atol=1e-5)
    assert main(["plot", str(tmp_path / "ddp")]) == 0
    assert (tmp_path / "ddp" / "loss.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def one_instance_heldout(heldout_corpus, corpus) -> tuple[str, int]:
    """(data, seed): a held-out split of one instance, at the seed whose epoch-0 pair is a true next one."""
    data = heldout_corpus([FOUR_SHORT_LINES])
    tokenizer = WordPieceTokenizer.from_pretrained(corpus["tokenizer"])
    for seed in range(100):
        kw = {"split": "heldout", "max_seq_length": 32, "batch_size": 1, "seed": seed, "num_workers": 0}
        if PretrainingData(data, tokenizer, **kw).batches_in_epoch() == 1:
            return str(data), seed
    raise AssertionError("no seed makes the held-out document one instance")


def test_a_heldout_split_of_one_instance_evaluates_in_two_processes(
    one_instance_heldout, small_run, as_flags, subprocess_env, tmp_path
):
    # The reported crash: fewer held-out instances than processes x batch size leave rank 1 nothing to
    # evaluate; it must still join the all-reduce, and the result must be one process's.
    data, seed = one_instance_heldout
    settings = dict(data=data, seed=seed, max_steps=2, eval_every=1, save_every=2, dropout=0.0)
    torchrun(as_flags(small_run(tmp_path / "ddp", **settings)), subprocess_env)
    pretrain(small_run(tmp_path / "single", grad_accum=2, eval_batches=4, **settings))  # as in the test above
    ddp, single = read_metrics(tmp_path / "ddp"), read_metrics(tmp_path / "single")
    assert [(r["step"], r["split"]) for r in ddp] == [(r["step"], r["split"]) for r in single]
    assert [r["step"] for r in ddp if r["split"] == "heldout"] == [1, 2]
    for a, b in zip(ddp, single, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5), (a["step"], a["split"])
        assert (a["mlm_acc"], a["nsp_acc"]) == pytest.approx((b["mlm_acc"], b["nsp_acc"]))


def test_evaluation_counts_each_heldout_instance_once_however_processes_share_it(
    heldout_corpus, one_instance_heldout, small_run, subprocess_env, tmp_path
):
    five = str(heldout_corpus([[line] for line in FIVE_LINES]))
    one, seed = one_instance_heldout
    # (split, batch size per process, eval_batches) in two processes: five instances, of which one global batch
    # of four; all five in two, the second only rank 0's (rank 1's share empty); more batches than there are;
    # one global batch of eight (rank 1's share one instance) or of sixteen (rank 1's share empty). Then the
    # single instance, rank 1's share empty.
    shapes = [(five, 2, 1), (five, 2, 2), (five, 2, 3), (five, 4, 1), (five, 8, 1), (one, 4, 2)]
    cases = [small_run(tmp_path, data=d, batch_size=b, eval_batches=k, seed=seed) for d, b, k in shapes]
    cases_file, results_file = tmp_path / "cases.json", tmp_path / "results.json"
    cases_file.write_text(json.dumps([cfg.to_dict() for cfg in cases]))
    torchrun([str(cases_file), str(results_file)], subprocess_env, program=[__file__])
    # One process with the same global batch puts the instances in other batches: the sums must not care.
    for cfg, result in zip(cases, json.loads(results_file.read_text()), strict=True):
        alone = _heldout_metrics(dataclasses.replace(cfg, batch_size=2 * cfg.batch_size), Distributed())
        assert result == pytest.approx(alone, rel=1e-5), (cfg.data, cfg.batch_size, cfg.eval_batches)


def _heldout_metrics(cfg: PretrainConfig, ctx: Distributed) -> dict[str, float]:
    """`heldout_figures` on cfg's held-out split of a model freshly initialised from cfg.seed (in every process alike)."""
    objective = OBJECTIVES[cfg.objective](cfg, ctx)
    return heldout_figures(
        objective.model, objective, cfg.eval_batches, ctx, torch.autocast("cpu", enabled=False)
    )


def _heldout_metrics_of_each_case(cases_file: str, results_file: str) -> None:
    """Each process of `torchrun` on this file: `_heldout_metrics` of every case; rank 0 writes the results."""
    ctx = distributed.setup("cpu")
    cases = [PretrainConfig(**fields) for fields in json.loads(Path(cases_file).read_text())]
    results = [_heldout_metrics(cfg, ctx) for cfg in cases]
    if ctx.is_main:
        Path(results_file).write_text(json.dumps(results))
    distributed.teardown(ctx, wait_for_all=True)


def test_device_choice():
    from bertkit.errors import InvalidArgumentError
    from bertkit.train.distributed import pick_device, setup

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto") == (
        torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    )
    with pytest.raises(InvalidArgumentError, match="`device`: Invalid device string"):
        pick_device("tpu:banana")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidArgumentError, match="`device` cuda: CUDA is not available"):
            pick_device("cuda")
    single = setup("cpu")  # no torchrun variables: one process, no process group
    assert (single.rank, single.world_size, single.is_main, single.enabled) == (0, 1, True, False)


if __name__ == "__main__":  # torchrun runs this file for the evaluation test above
    _heldout_metrics_of_each_case(*sys.argv[1:])
