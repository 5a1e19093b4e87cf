"""What a language model computes: the probability of a text, token by token, and the next token's distribution.

A causal model (BertLMHeadModel) gives each token log P(token | the tokens before it), the first conditioned on
[CLS]: the chain rule, P(w1 ... wn) = prod P(wi | w1 ... wi-1). A masked model (BertForMaskedLM,
BertForPreTraining) has no such chain; its pseudo-log-likelihood (Salazar et al., ACL 2020) masks each token in
turn and scores it from both sides. `pll="within_word_l2r"` (Kauf & Ivanova, 2023) also masks the later pieces of
the same word, so that "##ing" cannot give "play" away; `pll="original"` masks the token alone. Both are
minicons' `MaskedLMScorer` metrics, and the causal scores are its `IncrementalLMScorer`'s.

Only the scored positions go through the LM head's vocabulary projection, which otherwise costs more than the
encoder for every position of every masked copy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from bertkit.checkpoint.checkpoint import Checkpoint
from bertkit.checks import check_choice, check_int
from bertkit.constants import CONTINUATION
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMaskedLM, BertLMHeadModel, BertPreTrainedModel
from bertkit.pipelines.base import MAX_BATCH_TOKENS, Pipeline, as_text
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.encoding import Encoding

PLL_METRICS = ("within_word_l2r", "original")
LM_HEADS = ("BertLMHeadModel", "BertForMaskedLM", "BertForPreTraining")
# One forward pass: where its scored tokens go among all the texts' (N,), their hidden states (N, H) and ids (N,).
Batch = tuple[np.ndarray, torch.Tensor, torch.Tensor]


def perplexity(mean_log_prob: float) -> float:
    """exp of minus the mean log-probability; infinite past float range (a mean below about -709) rather than
    an OverflowError."""
    return math.exp(-mean_log_prob) if mean_log_prob > -709.0 else math.inf


def token_log_probs(
    predictions: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, top_k: int = 0
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """(N,) natural-log probabilities of `targets` under the LM head's scores of `hidden` (N, H); with `top_k`,
    also the k most likely tokens' (probabilities, ids), each (N, k), best first."""
    logits = predictions(hidden).float()  # (N, V)
    log_z = logits.logsumexp(dim=-1)  # (N,)
    chosen = logits.gather(1, targets[:, None])[:, 0] - log_z
    if not top_k:
        return chosen, None
    best, ids = logits.topk(min(top_k, logits.shape[-1]), dim=-1)
    return chosen, ((best - log_z[:, None]).exp(), ids)


def ranked_tokens(tokenizer: WordPieceTokenizer, scores: list[float], ids: list[int]) -> list[dict[str, Any]]:
    """fill-mask's records of ranked tokens: `{"token": id, "token_str": ..., "score": probability}`."""
    return [
        {"token": i, "token_str": tokenizer.decode([i], skip_special_tokens=False), "score": s}
        for s, i in zip(scores, ids, strict=True)
    ]


def unknown_characters(tokenizer: WordPieceTokenizer, text: str, encoding: Encoding) -> list[str]:
    """The pieces of `text` that became [UNK] (characters or words outside the model's vocabulary)."""
    unk = tokenizer.unk_token_id
    return [text[a:b] for i, (a, b) in zip(encoding.ids, encoding.offsets, strict=True) if i == unk]


@dataclass(slots=True)
class Row:
    """One row of a causal model's forward pass: a text, or a window of a long one. The tokens at `predict_at`
    (row positions) are scored against `targets`, which are the text's scored tokens `first`, `first + 1`,
    ..."""

    ids: list[int]
    text: int
    first: int
    predict_at: list[int]
    targets: list[int]

    @property
    def type_ids(self) -> list[int]:  # one segment: what tensor_batch reads beside the ids
        return [0] * len(self.ids)


class TextScoringPipeline(Pipeline):
    """`text-scoring`: per text, `tokens` (the scored ones), `token_log_probs` (natural log, one per token),
    `log_prob` (their sum), `mean_log_prob` and `perplexity` (exp of minus the mean); with
    `top_k_alternatives=K`, also `alternatives`, per scored token the K most likely tokens in its place
    (fill-mask's records).

    A causal model scores every token after [CLS], and the closing [SEP] unless `score_end=False`; a text
    longer than the model's positions is read in windows `stride` tokens apart (default: half a window), each
    token scored once, with the window's earlier tokens as its context (Hugging Face's "Perplexity of
    fixed-length models"). A masked model scores every token of the text by `pll`, masked copies of all the
    texts of a call batched together by length.
    """

    task = "text-scoring"
    heads = LM_HEADS
    model_class = BertForMaskedLM
    defaults = {"pll": "within_word_l2r", "score_end": True, "stride": None, "top_k_alternatives": 0}

    def load_model(self, checkpoint: Checkpoint, device: str | torch.device | None) -> BertPreTrainedModel:
        causal = checkpoint.architecture == "BertLMHeadModel"
        return (BertLMHeadModel if causal else BertForMaskedLM).from_pretrained(checkpoint, device=device)

    @property
    def causal(self) -> bool:
        return isinstance(self.model, BertLMHeadModel)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        options = super().check_options(options)
        check_choice("`pll`", options["pll"], PLL_METRICS)
        if not isinstance(options["score_end"], bool):
            raise InvalidArgumentError(f"`score_end` must be True or False, got {options['score_end']!r}")
        if options["stride"] is not None:
            check_int("`stride`", options["stride"])
        check_int("`top_k_alternatives`", options["top_k_alternatives"], minimum=0)
        return options

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[dict[str, Any]]:
        texts = [as_text(f"text {i}", t) for i, t in enumerate(items)]
        encodings = self.tokenizer.encode_batch(texts)
        for i, (text, e) in enumerate(zip(texts, encodings, strict=True)):
            unknown = unknown_characters(self.tokenizer, text, e)
            if len(unknown) == len(e.ids) - 2:
                raise InvalidArgumentError(
                    f"text {i} is all [UNK]: the model's vocabulary has none of its characters or words "
                    f"({', '.join(map(repr, unknown[:10]))}), so there is nothing to score"
                )
        if self.causal:
            sequences = [e.ids if options["score_end"] else e.ids[:-1] for e in encodings]
            batches = self._causal_batches(self._windows(sequences, options["stride"]), sequences)
        else:
            if options["stride"] is not None:
                raise InvalidArgumentError(
                    f"`stride` windows a causal model's long texts; a {type(self.model).__name__} scores "
                    "each text whole (pseudo-log-likelihood)"
                )
            sequences = [e.ids[:-1] for e in encodings]  # [CLS] and the text: [SEP] is context, not scored
            batches = self._masked_batches(encodings, options["pll"])
        k = options["top_k_alternatives"]
        log_probs, alternatives = self._score(batches, [len(s) - 1 for s in sequences], k)
        results = []
        for i, sequence in enumerate(sequences):
            total = float(log_probs[i].sum())
            mean = total / len(log_probs[i])
            record = {
                "tokens": self.tokenizer.convert_ids_to_tokens(sequence[1:]),
                "token_log_probs": log_probs[i].tolist(),
                "log_prob": total,
                "mean_log_prob": mean,
                "perplexity": perplexity(mean),
            }
            if k:
                scores, ids = alternatives[i]
                record["alternatives"] = [
                    ranked_tokens(self.tokenizer, s, t)
                    for s, t in zip(scores.tolist(), ids.tolist(), strict=True)
                ]
            results.append(record)
        return results

    def _windows(self, sequences: list[list[int]], stride: int | None) -> list[Row]:
        """Causal rows: each sequence whole, or in windows of the model's positions `stride` apart, a window
        scoring the tokens after the previous window's end (the first: every token after [CLS])."""
        window = self.max_length
        stride = window // 2 if stride is None else stride
        if stride >= window:
            raise InvalidArgumentError(
                f"`stride` ({stride}) must be smaller than the window of {window} tokens (the model's "
                "positions): the next window starts `stride` tokens later, keeping the rest as context"
            )
        rows = []
        for i, ids in enumerate(sequences):
            end = 0
            for begin in range(0, len(ids), stride):
                start, end = end, min(begin + window, len(ids))
                chunk = ids[begin:end]
                scored = range(max(start, 1), end)  # positions in the sequence
                rows.append(
                    Row(chunk, i, scored[0] - 1, [p - begin - 1 for p in scored], ids[scored[0] : end])
                )
                if end == len(ids):
                    break
        return rows

    def _masked_batches(self, encodings: list[Encoding], pll: str) -> Iterator[Batch]:
        """PLL batches: one copy of each text per token, that token masked (and with within_word_l2r, the
        pieces of its word after it). The copies of texts of one length run together, unpadded, at most
        MAX_BATCH_TOKENS tokens a batch; built as arrays, since a text of n tokens makes n copies."""
        by_length: dict[int, list[int]] = {}
        for i, e in enumerate(encodings):
            if len(e.ids) > self.max_length:
                raise InvalidArgumentError(
                    f"text {i} has {len(e.ids)} tokens, more than the model's {self.max_length} positions; a "
                    "masked model scores a text whole, so split it"
                )
            by_length.setdefault(len(e.ids), []).append(i)
        starts = np.cumsum([0] + [len(e.ids) - 2 for e in encodings])  # each text's first scored token
        for length, texts in sorted(by_length.items(), reverse=True):
            n = length - 2  # scored tokens (and copies) per text: positions 1 .. n
            ids = np.array([encodings[i].ids for i in texts])  # (texts, length)
            positions = np.tile(np.arange(1, n + 1), len(texts))  # (copies,) the masked token of each copy
            stops = np.concatenate([_mask_stops(encodings[i].tokens, pll) for i in texts])
            text_rows = np.repeat(np.arange(len(texts)), n)
            where = starts[texts][text_rows] + positions - 1
            per_batch = max(1, MAX_BATCH_TOKENS // length)
            for b in range(0, len(positions), per_batch):
                rows = slice(b, b + per_batch)
                yield (
                    where[rows],
                    self._masked_hidden(ids[text_rows[rows]], positions[rows], stops[rows]),
                    torch.from_numpy(ids[text_rows[rows], positions[rows]]),
                )

    def _causal_batches(self, rows: list[Row], sequences: list[list[int]]) -> Iterator[Batch]:
        """The causal rows in length-bucketed batches, with each scored token's place among the texts'."""
        starts = np.cumsum([0] + [len(s) - 1 for s in sequences])  # each text's first scored token
        for indices, batch in self.batches(rows):
            chosen = [rows[i] for i in indices]
            hidden = self.model.bert(**batch).last_hidden_state  # (B, T, H)
            device = hidden.device
            at_rows = torch.tensor([b for b, r in enumerate(chosen) for _ in r.predict_at], device=device)
            at_columns = torch.tensor([p for r in chosen for p in r.predict_at], device=device)
            where = np.concatenate([r.first + np.arange(len(r.targets)) + starts[r.text] for r in chosen])
            targets = torch.tensor([t for r in chosen for t in r.targets])
            yield where, hidden[at_rows, at_columns], targets

    def _score(
        self, batches: Iterator[Batch], counts: list[int], top_k: int
    ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
        """Per text, its `count` tokens' log-probabilities and, with top_k, their alternatives (probabilities,
        ids), from `batches` of (places among all the texts' scored tokens, hidden states, targets)."""
        total = sum(counts)
        log_probs = np.zeros(total, dtype=np.float64)
        alternatives = (np.zeros((total, top_k)), np.zeros((total, top_k), dtype=np.int64))
        for where, hidden, targets in batches:
            scores, best = token_log_probs(
                self.model.cls.predictions, hidden, targets.to(hidden.device), top_k
            )
            log_probs[where] = scores.cpu().numpy()
            if best is not None:
                for kept, found in zip(alternatives, best, strict=True):
                    kept[where] = found.cpu().numpy()
        splits = np.cumsum(counts)[:-1]
        per_text = [np.split(a, splits) for a in alternatives]
        return np.split(log_probs, splits), list(zip(*per_text, strict=True))

    def _masked_hidden(self, ids: np.ndarray, positions: np.ndarray, stops: np.ndarray) -> torch.Tensor:
        """(B, H): each copy's last hidden state at its masked position, for `ids` (B, T) with columns
        `positions:stops` masked.

        Without a causal mask, attention treats the tokens as a set, each placed by its position embedding: so
        each copy's scored token is moved to the front with its position id kept, and the last layer runs for
        that first position alone (BertModel's `cls_only`), skipping the other positions' queries and
        feed-forward there."""
        device = self.device
        columns = np.arange(ids.shape[1])
        masked = (columns >= positions[:, None]) & (columns < stops[:, None])
        ids = np.where(masked, self.tokenizer.mask_token_id, ids)
        scored = positions[:, None]
        order = np.where(columns == 0, scored, columns - (columns <= scored))  # [p, 0, ..., p-1, p+1, ...]
        out = self.model.bert(
            torch.from_numpy(np.take_along_axis(ids, order, 1)).to(device),
            position_ids=torch.from_numpy(order).to(device),
            cls_only=True,
        )
        return out.last_hidden_state[:, 0]


def _mask_stops(tokens: list[str], pll: str) -> np.ndarray:
    """Per scored token 1 .. n of a text's tokens ([CLS] text [SEP]), where its copy's masked span ends: the
    next token (`original`), or the end of its word (`within_word_l2r`: the word's later pieces masked too)."""
    n = len(tokens) - 2
    stops = np.arange(2, n + 2)
    if pll == "within_word_l2r":
        for p in range(n - 1, 0, -1):  # stops[p - 1] is position p's
            if tokens[p + 1].startswith(CONTINUATION):
                stops[p - 1] = stops[p]
    return stops


class NextTokenPipeline(Pipeline):
    """`next-token`: the `top_k` most likely tokens to follow a text under a causal model, best first, as
    fill-mask's records `{"token": id, "token_str": ..., "score": probability}`. The model reads `[CLS] text`
    (no [SEP]: the text is not over), as `recite` does."""

    task = "next-token"
    heads = ("BertLMHeadModel",)
    model_class = BertLMHeadModel
    defaults = {"top_k": 5}

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[list[dict[str, Any]]]:
        top_k = options["top_k"]
        check_int("`top_k`", top_k)
        texts = [as_text(f"text {i}", t) for i, t in enumerate(items)]
        rows = []
        for i, (text, e) in enumerate(
            zip(texts, self.tokenizer.encode_batch(texts, add_special_tokens=False), strict=True)
        ):
            unknown = unknown_characters(self.tokenizer, text, e)
            if unknown:
                raise InvalidArgumentError(
                    f"text {i} has characters outside the model's vocabulary, which would become [UNK]: "
                    + ", ".join(map(repr, unknown))
                )
            if len(e.ids) >= self.max_length:
                raise InvalidArgumentError(
                    f"text {i} has {len(e.ids)} tokens; with [CLS] the model reads at most {self.max_length}"
                )
            ids = [self.tokenizer.cls_token_id, *e.ids]
            rows.append(Row(ids, i, 0, [len(ids) - 1], []))
        results: list[Any] = [None] * len(rows)
        for indices, batch in self.batches(rows):
            hidden = self.model.bert(**batch).last_hidden_state  # (B, T, H)
            last = torch.tensor([rows[i].predict_at[0] for i in indices], device=hidden.device)
            logits = self.model.cls.predictions(hidden[torch.arange(len(indices)), last])  # (B, V)
            scores, ids = logits.float().softmax(dim=-1).topk(min(top_k, logits.shape[-1]), dim=-1)
            for i, s, t in zip(indices, scores.tolist(), ids.tolist(), strict=True):
                results[i] = ranked_tokens(self.tokenizer, s, t)
        return results
