"""The pre-training loop: MLM + NSP on prepared data, on one CPU or many GPUs, resumable to the bit.

Read top to bottom: set up (process group, tokenizer, model, optimizer, schedule, data), maybe resume, then
repeat {grad_accum micro-batches forward/backward, clip, step, log, evaluate, checkpoint}, then export the
model. Under torchrun every process runs this same code on its own share of each global batch; DDP averages
the gradients, and rank 0 alone writes files.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from bertkit.config import BertConfig
from bertkit.constants import IGNORE_INDEX
from bertkit.data.loader import PretrainingData
from bertkit.errors import TrainingError
from bertkit.model import BertForPreTraining
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train import distributed
from bertkit.train.config import PretrainConfig
from bertkit.train.distributed import Distributed, all_reduce_sum, gather_to_main
from bertkit.train.metrics import MetricsLog
from bertkit.train.optim import build_optimizer
from bertkit.train.schedule import build_scheduler
from bertkit.train.state import (
    TrainState,
    capture_rng,
    checkpoint_dirs,
    latest_checkpoint,
    load_checkpoint,
    remove_partial_checkpoints,
    restore_rng,
    save_checkpoint,
)

# Counters summed over micro-batches, processes and log steps; one all-reduce carries them all.
LOSS, MLM_CORRECT, MLM_TOTAL, NSP_CORRECT, NSP_TOTAL, TOKENS, BATCHES = range(7)


def pretrain(cfg: PretrainConfig) -> Path | None:
    """Run (or with cfg.resume, continue) pre-training; returns RUN_DIR/final, the exported model (in the
    process that wrote it, rank 0; None in the others)."""
    ctx = distributed.setup(cfg.device)
    succeeded = False
    try:
        final = _pretrain(cfg, ctx)
        succeeded = True
        return final
    finally:
        distributed.teardown(ctx, wait_for_all=succeeded)  # a failed process must not wait on the others


def model_config(cfg: PretrainConfig, tokenizer: WordPieceTokenizer) -> BertConfig:
    """The preset, sized to the tokenizer's vocabulary and the sequence length."""
    overrides = dict(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=max(512, cfg.seq_len),
        gradient_checkpointing=cfg.gradient_checkpointing,
    )
    if cfg.dropout is not None:
        overrides |= dict(hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=cfg.dropout)
    return BertConfig.preset(cfg.preset, **overrides)


def _pretrain(cfg: PretrainConfig, ctx: Distributed) -> Path | None:
    run_dir = Path(cfg.out)
    resume_from = latest_checkpoint(run_dir) if cfg.resume else None  # fail before any slow set-up
    if resume_from is None and checkpoint_dirs(run_dir):
        raise TrainingError(
            f"{run_dir} already holds checkpoints; pass `resume` to continue that run, "
            "or choose another `out`"
        )
    tokenizer = WordPieceTokenizer.from_pretrained(cfg.tokenizer)
    data_args = dict(
        max_seq_length=cfg.seq_len,
        batch_size=cfg.batch_size,
        mlm_probability=cfg.mlm_probability,
        max_predictions_per_seq=cfg.max_predictions_per_seq,
        short_seq_prob=cfg.short_seq_prob,
        whole_word_mask=cfg.whole_word_mask,
        seed=cfg.seed,
        rank=ctx.rank,
        world_size=ctx.world_size,
        num_workers=cfg.num_workers,
    )
    train_data = PretrainingData(cfg.data, tokenizer, split="train", **data_args)
    heldout = PretrainingData(cfg.data, tokenizer, split="heldout", **data_args) if cfg.eval_every else None

    torch.manual_seed(cfg.seed)  # the same initial weights in every process
    raw_model = BertForPreTraining(model_config(cfg, tokenizer)).to(ctx.device)
    optimizer = build_optimizer(
        raw_model, cfg.optimizer, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2), cfg.eps
    )
    scheduler = build_scheduler(
        optimizer, warmup_steps=cfg.warmup_steps, max_steps=cfg.max_steps, kind=cfg.schedule
    )

    if resume_from is not None:
        state = _resume(resume_from, raw_model, optimizer, scheduler, train_data, ctx)
    else:
        state = TrainState()
        torch.manual_seed(cfg.seed + ctx.rank)  # each process its own dropout masks
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        remove_partial_checkpoints(run_dir)
        (run_dir / "run.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")
    log = MetricsLog(run_dir, resume_step=state.step if resume_from else None) if ctx.is_main else None

    model = torch.compile(raw_model) if cfg.compile else raw_model
    if ctx.enabled:
        model = DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    use_bf16 = (
        cfg.bf16 if cfg.bf16 is not None else ctx.device.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    autocast = torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=use_bf16)

    batches = iter(train_data)
    bar = tqdm(total=cfg.max_steps, initial=state.step, desc="pretrain", unit="step", disable=not ctx.is_main)
    window = torch.zeros(7, dtype=torch.float64)  # counters since the last log line
    window_start = time.perf_counter()
    model.train()
    try:
        while state.step < cfg.max_steps:
            # --- one optimizer step: grad_accum micro-batches, gradients averaged over them and processes
            counters = torch.zeros(7, dtype=torch.float64, device=ctx.device)
            for micro in range(cfg.grad_accum):
                batch = {k: v.to(ctx.device, non_blocking=True) for k, v in next_batch(batches).items()}
                last = micro == cfg.grad_accum - 1
                # DDP all-reduces gradients in backward; only the last micro-batch's backward needs to.
                with model.no_sync() if ctx.enabled and not last else nullcontext():
                    with autocast:
                        out = model(**batch)
                    (out.loss / cfg.grad_accum).backward()
                counters += _counts(out, batch)
            counters = all_reduce_sum(counters, ctx).cpu()
            loss = counters[LOSS].item() / counters[BATCHES].item()  # mean over micro-batches and processes
            lr = scheduler.get_last_lr()[0]
            grad_norm = (
                torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.clip_norm).item()
                if cfg.clip_norm
                else None
            )
            finite = math.isfinite(loss) and (grad_norm is None or math.isfinite(grad_norm))
            if finite:
                optimizer.step()
            elif not cfg.skip_nonfinite:
                raise TrainingError(
                    f"the loss is {loss} (gradient norm {grad_norm}) at step {state.step + 1}; "
                    "lower `lr`, raise `warmup_steps`, or pass `skip_nonfinite` to skip such steps"
                )
            elif ctx.is_main:
                tqdm.write(f"pretrain: step {state.step + 1}: non-finite loss {loss}, update skipped")
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            state.step += 1
            state.tokens_seen += int(counters[TOKENS].item())
            if finite:  # a skipped step's NaN would poison the logged averages
                window += counters
            bar.update(1)

            # --- log, evaluate, checkpoint
            if state.step % cfg.log_every == 0 or state.step == cfg.max_steps:
                elapsed = time.perf_counter() - window_start
                record = {
                    "step": state.step,
                    "split": "train",
                    **_rates(window),
                    "lr": lr,
                    "grad_norm": grad_norm,
                    "tokens_per_s": window[TOKENS].item() / elapsed,
                    "tokens_seen": state.tokens_seen,
                }
                if not finite:
                    record["skipped"] = True
                if log is not None:
                    log.write(record)
                bar.set_postfix(
                    loss=record["loss"],
                    mlm_acc=record["mlm_acc"],
                    nsp_acc=record["nsp_acc"],
                    lr=lr,
                    tok_s=round(record["tokens_per_s"]),
                )
                window.zero_()
                window_start = time.perf_counter()
            pause_start = time.perf_counter()
            if heldout is not None and (state.step % cfg.eval_every == 0 or state.step == cfg.max_steps):
                record = {
                    "step": state.step,
                    "split": "heldout",
                    **evaluate(raw_model, heldout, cfg, ctx, autocast),
                }
                if log is not None:
                    log.write(record)
                    tqdm.write(
                        f"pretrain: step {state.step}: heldout loss {record['loss']:.4f}, "
                        f"MLM accuracy {record['mlm_acc']:.3f}, NSP accuracy {record['nsp_acc']:.3f}"
                    )
            if state.step % cfg.save_every == 0 or state.step == cfg.max_steps:
                _checkpoint(run_dir, raw_model, optimizer, scheduler, train_data, state, cfg.keep, ctx)
            # Evaluation and checkpoints are not training time.
            window_start += time.perf_counter() - pause_start
    except (torch.OutOfMemoryError, RuntimeError) as e:
        if not isinstance(e, torch.OutOfMemoryError) and "can't allocate memory" not in str(e):
            raise  # a bug, not a full memory (the CPU allocator reports that as a plain RuntimeError)
        raise TrainingError(
            f"out of memory at step {state.step + 1} with `batch_size` {cfg.batch_size} and `seq_len` {cfg.seq_len} "
            f"on {ctx.device}: lower `batch_size` and raise `grad_accum` by the same factor (the same global batch), "
            "or use `gradient_checkpointing`, `bf16` or a smaller `seq_len`"
        ) from e
    finally:
        bar.close()
        batches.close()  # stops the loader's worker processes
        if log is not None:
            log.close()

    if not ctx.is_main:
        return None
    raw_model.save_pretrained(run_dir / "final", tokenizer=tokenizer)
    return run_dir / "final"


def next_batch(batches):
    """The next batch, without touching the global torch RNG: a DataLoader draws its workers' seed from it
    when its iterator starts, which would shift the dropout masks of a resumed run against the original."""
    with torch.random.fork_rng(devices=[]):
        return next(batches)


def _counts(out, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """[loss, MLM correct, MLM predicted, NSP correct, NSP total, tokens, 1] of one micro-batch."""
    with torch.no_grad():
        labels = batch["labels"][batch["labels"] != IGNORE_INDEX]  # aligned with out.mlm_logits' rows
        nsp_labels = batch["next_sentence_label"].view(-1)
        return torch.stack(
            [
                out.loss.detach().double(),
                (out.mlm_logits.argmax(-1) == labels).sum().double(),
                torch.tensor(labels.numel(), dtype=torch.float64, device=labels.device),
                (out.nsp_logits.argmax(-1) == nsp_labels).sum().double(),
                torch.tensor(nsp_labels.numel(), dtype=torch.float64, device=labels.device),
                batch["attention_mask"].sum().double(),
                torch.ones((), dtype=torch.float64, device=labels.device),
            ]
        )


def _rates(counters: torch.Tensor) -> dict[str, float | None]:
    """Mean loss over the micro-batches, and accuracies as correct / total (not a mean of per-batch ratios);
    None when there is nothing to average (every step of the window skipped as non-finite)."""

    def ratio(num: int, den: int) -> float | None:
        return counters[num].item() / counters[den].item() if counters[den] > 0 else None

    return {
        "loss": ratio(LOSS, BATCHES),
        "mlm_acc": ratio(MLM_CORRECT, MLM_TOTAL),
        "nsp_acc": ratio(NSP_CORRECT, NSP_TOTAL),
    }


@torch.no_grad()
def evaluate(
    model: BertForPreTraining,
    data: PretrainingData,
    cfg: PretrainConfig,
    ctx: Distributed,
    autocast: torch.autocast,
) -> dict[str, float]:
    """Loss and accuracies on the first `eval_batches` held-out batches: the same batches every time, so
    the curve is comparable from one evaluation to the next. Dropout off; no RNG of training is touched.

    Every process walks the same global batches (its share of each; empty at the end of a small split) and
    joins the one all-reduce. The shares differ in size, so the loss is summed per masked token and per
    instance rather than averaged per batch: it is the loss of those instances however batches and
    processes divide them, the same for one process as for many."""
    model.eval()
    # _counts' seven, then the MLM loss summed over masked tokens and the NSP loss summed over pairs
    counters = torch.zeros(9, dtype=torch.float64, device=ctx.device)
    batches = data.one_epoch()
    for _ in range(cfg.eval_batches):
        try:
            batch = {k: v.to(ctx.device) for k, v in next_batch(batches).items()}
        except StopIteration:
            break
        if len(batch["input_ids"]) == 0:
            continue  # nothing of this global batch is ours; a forward pass would average over nothing (NaN)
        with autocast:
            out = model(**batch)
        counts = _counts(out, batch)
        mlm_sum, nsp_sum = out.mlm_loss * counts[MLM_TOTAL], out.nsp_loss * counts[NSP_TOTAL]  # mean x count
        counters += torch.cat([counts, torch.stack([mlm_sum, nsp_sum]).double()])
    batches.close()
    model.train()
    totals = all_reduce_sum(counters, ctx).cpu()
    loss = totals[7] / totals[MLM_TOTAL] + totals[8] / totals[NSP_TOTAL]  # MLM + NSP, as the model's loss
    return _rates(totals[:7]) | {"loss": loss.item()}


def _resume(
    path: Path, model: BertForPreTraining, optimizer, scheduler, data: PretrainingData, ctx: Distributed
) -> TrainState:
    state = load_checkpoint(path, model)
    if len(state.rng) != ctx.world_size:
        raise TrainingError(
            f"{path} was written by {len(state.rng)} process(es), this run has {ctx.world_size}; "
            "resume with the same number of processes (torchrun --nproc_per_node x --nnodes)"
        )
    optimizer.load_state_dict(state.optimizer)
    scheduler.load_state_dict(state.scheduler)
    data.load_state_dict(state.data[ctx.rank])
    restore_rng(state.rng[ctx.rank])
    if ctx.is_main:
        tqdm.write(f"pretrain: resuming from {path} (step {state.step})")
    return state


def _checkpoint(
    run_dir: Path,
    model: BertForPreTraining,
    optimizer,
    scheduler,
    data: PretrainingData,
    state: TrainState,
    keep: int,
    ctx: Distributed,
) -> None:
    """Rank 0 writes; every process contributes its RNG and data position and learns whether it worked."""
    state.rng = gather_to_main(capture_rng(), ctx)
    state.data = gather_to_main(data.state_dict(), ctx)
    state.optimizer, state.scheduler = optimizer.state_dict(), scheduler.state_dict()
    error = None
    if ctx.is_main:
        try:
            save_checkpoint(run_dir, model, state, keep)
        except TrainingError as e:
            error = e
    failed = all_reduce_sum(torch.tensor([float(error is not None)], device=ctx.device), ctx).item()
    state.optimizer, state.scheduler = {}, {}  # not kept in memory between checkpoints
    if error is not None:
        raise error
    if failed:
        raise TrainingError("rank 0 could not write the checkpoint (its message says why)")
