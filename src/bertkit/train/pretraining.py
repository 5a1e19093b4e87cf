"""The pre-training objectives, both on data from `bertkit prepare`: BERT's masked language model + next
sentence prediction ("mlm"), and a causal language model ("clm"), each document a sequence."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch

from bertkit.config import BertConfig
from bertkit.constants import IGNORE_INDEX
from bertkit.data.lm_loader import CausalLMData
from bertkit.data.loader import PretrainingData
from bertkit.model import BertForPreTraining, BertLMHeadModel, BertPreTrainedModel, ModelOutput
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.config import PretrainConfig
from bertkit.train.distributed import Distributed
from bertkit.train.objective import (
    Batch,
    EvaluationBatches,
    Objective,
    TrainingBatches,
    ratio,
    stack_counts,
)

MLM_COUNTS = ("mlm_loss", "mlm_correct", "masked", "nsp_loss", "nsp_correct", "pairs")
CLM_COUNTS = ("loss", "correct", "predicted")


def model_config(cfg: PretrainConfig, tokenizer: WordPieceTokenizer, **overrides) -> BertConfig:
    """The preset, sized to the tokenizer's vocabulary and the sequence length."""
    settings = dict(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=max(512, cfg.seq_len),
    )
    if cfg.dropout is not None:
        settings |= dict(hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=cfg.dropout)
    if cfg.initializer_range is not None:
        settings |= dict(initializer_range=cfg.initializer_range)
    return BertConfig.preset(cfg.preset, **settings | overrides)


def mlm_objective(cfg: PretrainConfig, ctx: Distributed) -> Objective:
    """BERT's pre-training (BertForPreTraining): masked tokens and next-sentence labels, afresh every epoch."""
    masking = dict(
        mlm_probability=cfg.mlm_probability,
        max_predictions_per_seq=cfg.max_predictions_per_seq,
        short_seq_prob=cfg.short_seq_prob,
        nsp_negatives=cfg.nsp_negatives,
        nsp_pairs=cfg.nsp_pairs,
        whole_word_mask=cfg.whole_word_mask,
        group_by_length=cfg.group_by_length,
    )
    parts = _pretraining(cfg, ctx, partial(PretrainingData, **masking), BertForPreTraining)
    loss = None if cfg.nsp_weight == 1 else partial(weighted_loss, nsp_weight=cfg.nsp_weight)
    return Objective(*parts, MLM_COUNTS, measure_mlm, mlm_metrics, loss=loss)


def weighted_loss(out: ModelOutput, nsp_weight: float) -> torch.Tensor:
    """MLM loss + nsp_weight x NSP loss: a next-sentence task that needs the whole model's memory (pairs of
    one form, bertkit.data.instances) can ask for a larger share of the gradient than BERT's plain sum."""
    return out.mlm_loss + nsp_weight * out.nsp_loss


def clm_objective(cfg: PretrainConfig, ctx: Distributed) -> Objective:
    """A left-to-right language model (BertLMHeadModel): the preset with causal attention, every token of
    every document predicted from the ones before it."""
    data = partial(CausalLMData, packing=cfg.packing)
    parts = _pretraining(cfg, ctx, data, BertLMHeadModel, causal=True)
    return Objective(*parts, CLM_COUNTS, measure_clm, clm_metrics)


OBJECTIVES: dict[str, Callable[[PretrainConfig, Distributed], Objective]] = {
    "mlm": mlm_objective,
    "clm": clm_objective,
}


def _pretraining(
    cfg: PretrainConfig,
    ctx: Distributed,
    data: Callable[..., TrainingBatches],
    model_class: type[BertPreTrainedModel],
    **model_settings,
) -> tuple[BertPreTrainedModel, WordPieceTokenizer, TrainingBatches, EvaluationBatches | None]:
    """A fresh model of the preset, the tokenizer, and this process's share of the prepared data's training
    and held-out splits (the latter only when evaluation is on)."""
    tokenizer = WordPieceTokenizer.from_pretrained(cfg.tokenizer)
    args = dict(
        max_seq_length=cfg.seq_len,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        rank=ctx.rank,
        world_size=ctx.world_size,
        num_workers=cfg.num_workers,
    )
    train = data(cfg.data, tokenizer, split="train", **args)
    heldout = data(cfg.data, tokenizer, split="heldout", **args) if cfg.eval_every else None
    torch.manual_seed(cfg.seed)  # the same initial weights in every process
    model = model_class(model_config(cfg, tokenizer, **model_settings))
    return model, tokenizer, train, heldout


def measure_mlm(out: ModelOutput, batch: Batch) -> torch.Tensor:
    """MLM_COUNTS: for MLM and NSP, the loss times its count (the model's losses are means), the correct
    predictions and the count."""
    labels = batch["labels"][batch["labels"] != IGNORE_INDEX]  # aligned with out.mlm_logits' rows
    nsp_labels = batch["next_sentence_label"].view(-1)
    # Pairs with an NSP label: all of them, unless nsp_negatives="matched" left some unasked.
    asked = nsp_labels != IGNORE_INDEX
    nsp_labels, nsp_logits = nsp_labels[asked], out.nsp_logits[asked]
    return stack_counts(
        out.mlm_loss.double() * labels.numel(),
        (out.mlm_logits.argmax(-1) == labels).sum(),
        labels.numel(),
        out.nsp_loss.double() * nsp_labels.numel(),
        (nsp_logits.argmax(-1) == nsp_labels).sum(),
        nsp_labels.numel(),
    )


def mlm_metrics(totals: dict[str, float]) -> dict[str, float | None]:
    """loss = MLM loss per masked token + NSP loss per pair, as the model's; accuracies over all of them."""
    mlm_loss, nsp_loss = ratio(totals, "mlm_loss", "masked"), ratio(totals, "nsp_loss", "pairs")
    return {
        "loss": None if mlm_loss is None or nsp_loss is None else mlm_loss + nsp_loss,
        "mlm_acc": ratio(totals, "mlm_correct", "masked"),
        "nsp_acc": ratio(totals, "nsp_correct", "pairs"),
    }


def measure_clm(out: ModelOutput, batch: Batch) -> torch.Tensor:
    """CLM_COUNTS: the loss times the predicted tokens (the model's loss is their mean), the correct
    predictions, and the predicted tokens."""
    targets = batch["labels"][:, 1:]  # position t predicts token t + 1
    predicted = targets != IGNORE_INDEX
    total = predicted.sum()
    correct = ((out.logits[:, :-1].argmax(-1) == targets) & predicted).sum()
    return stack_counts(out.loss.double() * total, correct, total)


def clm_metrics(totals: dict[str, float]) -> dict[str, float | None]:
    """loss per predicted token, next-token accuracy, and perplexity = exp(loss)."""
    loss, accuracy = ratio(totals, "loss", "predicted"), ratio(totals, "correct", "predicted")
    if loss is None:  # every step of the window skipped
        return {"loss": None, "next_token_acc": accuracy, "perplexity": None}
    perplexity = math.exp(loss) if loss < 700 else math.inf  # exp overflows at ~709
    return {"loss": loss, "next_token_acc": accuracy, "perplexity": perplexity}
