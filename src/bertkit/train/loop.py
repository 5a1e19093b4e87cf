"""The training loop: one loop for every objective (MLM + NSP, causal LM, fine-tuning tasks), on one CPU or
many GPUs, resumable to the bit.

Read top to bottom: set up (process group, the objective's model and data, optimizer, schedule), maybe resume,
then repeat {grad_accum micro-batches forward/backward, clip, step, log, evaluate, checkpoint}, then export the
model. The objective (objective.py) gives the model, the batches and the metrics; everything else is here.
Under torchrun every process runs this same code on its own share of each global batch; DDP averages the
gradients, and rank 0 alone writes files.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from bertkit.errors import TrainingError
from bertkit.files import write_text_atomically
from bertkit.model import BertPreTrainedModel
from bertkit.precision import training_precision
from bertkit.train import distributed
from bertkit.train.config import PretrainConfig, TrainConfig
from bertkit.train.distributed import Distributed, all_reduce_sum, gather_to_main
from bertkit.train.metrics import MetricsLog
from bertkit.train.objective import Batch, Objective, TrainingBatches, stack_counts
from bertkit.train.optim import build_optimizer
from bertkit.train.pretraining import OBJECTIVES
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
from bertkit.train.tensorboard import require_tensorboard

# The loop's own counters, ahead of the objective's in one vector that one all-reduce carries: the sum of the
# micro-batch losses (what is minimised, checked for NaN), micro-batches, non-padding tokens.
LOSS, BATCHES, TOKENS = range(3)
OWN = TOKENS + 1  # where the objective's counts start


def pretrain(cfg: PretrainConfig) -> Path | None:
    """Run (or with cfg.resume, continue) pre-training with `cfg.objective`; returns RUN_DIR/final."""
    return train(cfg, partial(OBJECTIVES[cfg.objective], cfg))


def train(cfg: TrainConfig, make_objective: Callable[[Distributed], Objective]) -> Path | None:
    """Train what `make_objective(ctx)` gives (ctx: this process's rank, world size and device); returns
    RUN_DIR/final, the exported model (in the process that wrote it, rank 0; None in the others)."""
    ctx = distributed.setup(cfg.device)
    succeeded = False
    try:
        final = _train(cfg, make_objective, ctx)
        succeeded = True
        return final
    finally:
        distributed.teardown(ctx, wait_for_all=succeeded)  # a failed process must not wait on the others


def _train(
    cfg: TrainConfig, make_objective: Callable[[Distributed], Objective], ctx: Distributed
) -> Path | None:
    run_dir = Path(cfg.out)
    resume_from = latest_checkpoint(run_dir) if cfg.resume else None  # fail before any slow set-up
    if resume_from is None and checkpoint_dirs(run_dir):
        raise TrainingError(
            f"{run_dir} already holds checkpoints; pass `resume` to continue that run, "
            "or choose another `out`"
        )
    if cfg.report_to == "tensorboard":
        require_tensorboard()
    objective = make_objective(ctx)
    schedule = cfg.run_schedule(objective.steps_per_epoch)
    raw_model = objective.model.to(ctx.device)
    raw_model.set_gradient_checkpointing(cfg.gradient_checkpointing)
    optimizer = build_optimizer(
        raw_model, cfg.optimizer, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2), cfg.eps
    )

    if resume_from is not None:
        state = _resume(resume_from, raw_model, optimizer, objective.train, ctx, cfg.command)
    else:
        state = TrainState()
        torch.manual_seed(cfg.seed + ctx.rank)  # each process its own dropout masks
    precision = training_precision(cfg.bf16, ctx.device)
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        remove_partial_checkpoints(run_dir)
        settings = cfg.to_dict() | {"precision": precision}
        write_text_atomically(run_dir / "run.json", json.dumps(settings, indent=2) + "\n")
    log = None
    if ctx.is_main:
        resume_step = state.step if resume_from else None
        log = MetricsLog(run_dir, resume_step, tensorboard=cfg.report_to == "tensorboard")

    model = torch.compile(raw_model) if cfg.compile else raw_model
    if ctx.enabled:
        model = DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    use_bf16 = precision["dtype"] == "bfloat16"
    autocast = torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=use_bf16)

    batches = iter(objective.train)
    total = schedule.max_steps  # None under a time budget: the bar counts steps without an end
    bar = tqdm(total=total, initial=state.step, desc=cfg.command, unit="step", disable=not ctx.is_main)
    window = torch.zeros(OWN + len(objective.counts), dtype=torch.float64)  # counters since the last log line
    window_start = time.perf_counter()
    clock_start = window_start - state.train_seconds  # a resumed run goes on counting its training time
    model.train()
    try:
        while not schedule.ended(state.step, state.train_seconds):
            # --- one optimizer step: grad_accum micro-batches, gradients averaged over them and processes
            counters = torch.zeros_like(window, device=ctx.device)
            for micro in range(cfg.grad_accum):
                batch = {k: v.to(ctx.device, non_blocking=True) for k, v in next_batch(batches).items()}
                last = micro == cfg.grad_accum - 1
                # DDP all-reduces gradients in backward; only the last micro-batch's backward needs to.
                with model.no_sync() if ctx.enabled and not last else nullcontext():
                    with autocast:
                        out = model(**batch)
                    minimised = out.loss if objective.loss is None else objective.loss(out)
                    (minimised / cfg.grad_accum).backward()
                counters += _counts(objective, out, batch, minimised)
            counters = all_reduce_sum(counters, ctx).cpu()
            loss = counters[LOSS].item() / counters[BATCHES].item()  # mean over micro-batches and processes
            lr = cfg.lr * schedule.factor(state.step, state.train_seconds)
            for group in optimizer.param_groups:
                group["lr"] = lr
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
                tqdm.write(f"{cfg.command}: step {state.step + 1}: non-finite loss {loss}, update skipped")
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.tokens_seen += int(counters[TOKENS].item())
            state.train_seconds = time.perf_counter() - clock_start
            if schedule.seconds is not None and ctx.enabled:
                state.train_seconds = _from_main(state.train_seconds, ctx)
            ended = schedule.ended(state.step, state.train_seconds)
            if finite:  # a skipped step's NaN would poison the logged figures
                window += counters
            bar.update(1)

            # --- log, evaluate, checkpoint
            if state.step % cfg.log_every == 0 or ended:
                elapsed = time.perf_counter() - window_start
                figures = _figures(objective, window)
                record = {
                    "step": state.step,
                    "split": "train",
                    **figures,
                    "lr": lr,
                    "grad_norm": grad_norm,
                    "tokens_per_s": window[TOKENS].item() / elapsed,
                    "tokens_seen": state.tokens_seen,
                    "train_seconds": state.train_seconds,
                }
                if not finite:
                    record["skipped"] = True
                if log is not None:
                    log.write(record)
                bar.set_postfix(**figures, lr=lr, tok_s=round(record["tokens_per_s"]))
                window.zero_()
                window_start = time.perf_counter()
            pause_start = time.perf_counter()
            per_epoch = objective.steps_per_epoch
            epoch_end = per_epoch is not None and state.step % per_epoch == 0
            if (cfg.eval_every and state.step % cfg.eval_every == 0) or epoch_end or ended:
                if objective.heldout is not None:
                    figures = heldout_figures(raw_model, objective, cfg.eval_batches, ctx, autocast)
                    _report(log, cfg.command, {"step": state.step, "split": "heldout"}, figures)
                if objective.validate is not None:
                    figures = _validate(raw_model, objective, ctx, autocast)
                    where = {"step": state.step, "split": "validation"}
                    if per_epoch is not None:
                        where["epoch"] = round(state.step / per_epoch, 2)
                    _report(log, cfg.command, where, figures)
            if state.step % cfg.save_every == 0 or epoch_end or ended:
                _checkpoint(run_dir, raw_model, optimizer, objective.train, state, cfg.keep, ctx)
            # Evaluation and checkpoints are not training time: not in tokens/s, not spent from a time budget
            # (so how often they come does not change what the budget buys).
            paused = time.perf_counter() - pause_start
            window_start += paused
            clock_start += paused
    except (torch.OutOfMemoryError, RuntimeError) as e:
        if not isinstance(e, torch.OutOfMemoryError) and "can't allocate memory" not in str(e):
            raise  # a bug, not a full memory (the CPU allocator reports that as a plain RuntimeError)
        raise TrainingError(
            f"out of memory at step {state.step + 1} with `batch_size` {cfg.batch_size} on {ctx.device}: "
            "lower `batch_size` and raise `grad_accum` by the same factor (the same global batch), "
            "or use `gradient_checkpointing`, `bf16` or shorter sequences"
        ) from e
    finally:
        bar.close()
        batches.close()  # stops the loader's worker processes
        if log is not None:
            log.close()

    if not ctx.is_main:
        return None
    raw_model.save_pretrained(run_dir / "final", tokenizer=objective.tokenizer)
    end = {"by": schedule.limit, "step": state.step, "train_seconds": state.train_seconds}
    write_text_atomically(run_dir / "run.json", json.dumps(settings | {"ended": end}, indent=2) + "\n")
    if schedule.seconds is not None:
        tqdm.write(
            f"{cfg.command}: the time budget of {cfg.max_minutes:g} min is spent at step {state.step} "
            f"({state.train_seconds:.1f} s of training)"
        )
    return run_dir / "final"


def _from_main(value: float, ctx: Distributed) -> float:
    """Rank 0's `value` in every process (the others add 0 to it). Under a time budget, rank 0's clock is the
    run's: every process must stop at the same step and set the same learning rate, and their clocks differ."""
    mine = torch.tensor([value if ctx.is_main else 0.0], dtype=torch.float64, device=ctx.device)
    return all_reduce_sum(mine, ctx).item()


def next_batch(batches):
    """The next batch, without touching the global torch RNG: a DataLoader draws its workers' seed from it
    when its iterator starts, which would shift the dropout masks of a resumed run against the original."""
    with torch.random.fork_rng(devices=[]):
        return next(batches)


@torch.no_grad()
def _counts(objective: Objective, out, batch: Batch, loss: torch.Tensor | None = None) -> torch.Tensor:
    """The loop's counters of one micro-batch (LOSS: `loss`, by default the model's; BATCHES, TOKENS), then
    the objective's."""
    own = stack_counts((out.loss if loss is None else loss).detach(), 1, batch["attention_mask"].sum())
    return torch.cat([own, objective.measure(out, batch)])


def _figures(objective: Objective, totals: torch.Tensor) -> dict[str, float | None]:
    """The objective's figures from the sums of its counts."""
    return objective.metrics(dict(zip(objective.counts, totals[OWN:].tolist(), strict=True)))


def _validate(
    model: BertPreTrainedModel, objective: Objective, ctx: Distributed, autocast: torch.autocast
) -> dict[str, float | None]:
    """The objective's own evaluation (task metrics over every validation prediction): dropout off, no
    autograd, no RNG of training touched."""
    model.eval()
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        figures = objective.validate(model, ctx, autocast)
    model.train()
    return figures


def _report(log: MetricsLog | None, command: str, record: dict, figures: dict[str, float | None]) -> None:
    """An evaluation's record in metrics.jsonl and one line above the progress bar (rank 0)."""
    if log is None:
        return
    log.write(record | figures)
    shown = ", ".join(f"{name} {value:.4g}" for name, value in figures.items() if value is not None)
    tqdm.write(f"{command}: step {record['step']}: {record['split']} {shown}")


@torch.no_grad()
def heldout_figures(
    model: torch.nn.Module,
    objective: Objective,
    eval_batches: int,
    ctx: Distributed,
    autocast: torch.autocast,
) -> dict[str, float | None]:
    """The objective's figures on the first `eval_batches` held-out batches: the same batches every time, so
    the curve is comparable from one evaluation to the next. Dropout off; no RNG of training is touched.

    Every process walks the same global batches (its share of each; empty at the end of a small split) and
    joins the one all-reduce. The objective's counts are sums (per token, per instance), so the figures are
    those of these batches however processes divide them, the same for one process as for many."""
    model.eval()
    totals = torch.zeros(OWN + len(objective.counts), dtype=torch.float64, device=ctx.device)
    batches = objective.heldout.one_epoch()
    for _ in range(eval_batches):
        try:
            batch = {k: v.to(ctx.device) for k, v in next_batch(batches).items()}
        except StopIteration:
            break
        if len(batch["input_ids"]) == 0:
            continue  # nothing of this global batch is ours; a forward pass would average over nothing (NaN)
        with autocast:
            out = model(**batch)
        totals += _counts(objective, out, batch)
    batches.close()
    model.train()
    return _figures(objective, all_reduce_sum(totals, ctx).cpu())


def _resume(
    path: Path,
    model: torch.nn.Module,
    optimizer,
    data: TrainingBatches,
    ctx: Distributed,
    command: str,
) -> TrainState:
    state = load_checkpoint(path, model)
    if len(state.rng) != ctx.world_size:
        raise TrainingError(
            f"{path} was written by {len(state.rng)} process(es), this run has {ctx.world_size}; "
            "resume with the same number of processes (torchrun --nproc_per_node x --nnodes)"
        )
    optimizer.load_state_dict(state.optimizer)
    data.load_state_dict(state.data[ctx.rank])
    restore_rng(state.rng[ctx.rank])
    if ctx.is_main:
        tqdm.write(f"{command}: resuming from {path} (step {state.step})")
    return state


def _checkpoint(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer,
    data: TrainingBatches,
    state: TrainState,
    keep: int,
    ctx: Distributed,
) -> None:
    """Rank 0 writes; every process contributes its RNG and data position and learns whether it worked."""
    state.rng = gather_to_main(capture_rng(), ctx)
    state.data = gather_to_main(data.state_dict(), ctx)
    state.optimizer = optimizer.state_dict()
    error = None
    if ctx.is_main:
        try:
            save_checkpoint(run_dir, model, state, keep)
        except TrainingError as e:
            error = e
    failed = all_reduce_sum(torch.tensor([float(error is not None)], device=ctx.device), ctx).item()
    state.optimizer = {}  # not kept in memory between checkpoints
    if error is not None:
        raise error
    if failed:
        raise TrainingError("rank 0 could not write the checkpoint (its message says why)")
