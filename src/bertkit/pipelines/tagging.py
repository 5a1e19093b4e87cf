"""`token-classification`: a label per token (named entities, tags), grouped into entities as transformers'
token-classification pipeline groups them, with the same `aggregation_strategy` choices:

- none: one record per token, `{"entity", "score", "index", "word", "start", "end"}`;
- simple: adjacent tokens of the same entity type (B-X then I-X..., or X X) merged into one
  `{"entity_group", "score" (the mean), "word", "start", "end"}`;
- first / max / average: first make every word agree on one label (that of its first token, of its most
  confident token, or of its averaged scores), then group as simple.

A token continues a word when its text is not as long as the token (`##ing` read as `ing`), tokenizers'
rule for WordPiece; [UNK] tokens show the text they stand for. Entities labelled "O" are left out.

A text longer than the model's positions is cut, unless `stride` is given: then, as transformers, it is read in
windows `[CLS] tokens[a:b] [SEP]` that overlap by `stride` tokens (tokenizers' overflowing tokens), each
window's entities are found on its own, and where entities of different windows overlap the longer one is kept
(of two as long, the more confident). Windows of every text are batched together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bertkit.checks import check_choice, check_int
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForTokenClassification
from bertkit.pipelines.base import Pipeline, as_text
from bertkit.tasks.windows import spans
from bertkit.tokenizer import Encoding, WordPieceTokenizer
from bertkit.tokenizer.decode import decode_tokens
from bertkit.tokenizer.template import assemble

STRATEGIES = ("none", "simple", "first", "max", "average")


def tag_of(label: str) -> tuple[str, str]:
    """("B" or "I", entity type) of an IOB label; a label without a prefix continues its type."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


def token_records(text: str, encoding, scores: np.ndarray, unk_id: int) -> list[dict[str, Any]]:
    """One record per real token: its token text, class probabilities, character span, and whether it
    continues the previous token's word."""
    records = []
    for index, (token_id, token, (start, end), special) in enumerate(
        zip(encoding.ids, encoding.tokens, encoding.offsets, encoding.special_tokens_mask, strict=True)
    ):
        if special:
            continue
        word = text[start:end]
        is_subword = len(token) != len(word)
        if token_id == unk_id:
            token, is_subword = word, False
        records.append(
            {"word": token, "scores": scores[index], "start": start, "end": end, "index": index,
             "is_subword": is_subword}
        )  # fmt: skip
    return records


def word_entity(tokens: list[dict[str, Any]], strategy: str, labels: list[str]) -> dict[str, Any]:
    """The tokens of one word as one record, labelled as `strategy` says."""
    if strategy == "first":
        scores = tokens[0]["scores"]
    elif strategy == "max":
        scores = max(tokens, key=lambda t: t["scores"].max())["scores"]
    else:  # average
        scores = np.nanmean(np.stack([t["scores"] for t in tokens]), axis=0)
    best = int(scores.argmax())
    return {
        "entity": labels[best],
        "score": float(scores[best]),
        "word": decode_tokens([t["word"] for t in tokens]),
        "start": tokens[0]["start"],
        "end": tokens[-1]["end"],
    }


def group(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent records of one entity type merged; a B- label starts a new entity."""
    groups: list[list[dict[str, Any]]] = []
    for entity in entities:
        bi, tag = tag_of(entity["entity"])
        if groups and bi != "B" and tag == tag_of(groups[-1][-1]["entity"])[1]:
            groups[-1].append(entity)
        else:
            groups.append([entity])
    return [
        {
            "entity_group": tag_of(members[0]["entity"])[1],
            "score": float(np.nanmean([m["score"] for m in members])),
            "word": decode_tokens([m["word"] for m in members]),
            "start": members[0]["start"],
            "end": members[-1]["end"],
        }
        for members in groups
    ]


def entities_of(
    records: list[dict[str, Any]], strategy: str, labels: list[str], ignore: set[str]
) -> list[dict[str, Any]]:
    """The pipeline's output for one text's token records."""
    if strategy in ("none", "simple"):
        entities = []
        for r in records:
            best = int(r["scores"].argmax())
            entities.append(
                {"entity": labels[best], "score": float(r["scores"][best]), "index": r["index"],
                 "word": r["word"], "start": r["start"], "end": r["end"]}
            )  # fmt: skip
    else:
        words: list[list[dict[str, Any]]] = []
        for r in records:
            if words and r["is_subword"]:
                words[-1].append(r)
            else:
                words.append([r])
        entities = [word_entity(w, strategy, labels) for w in words]
    if strategy != "none":
        entities = group(entities)
    key = "entity" if strategy == "none" else "entity_group"
    return [e for e in entities if e[key] not in ignore]


def check_stride(stride: Any, strategy: str, max_length: int) -> None:
    """`stride` is a number of overlapping tokens that leaves each window room to move on, and comes with a
    strategy whose entities can be merged across windows (transformers refuses `none`)."""
    check_int("`stride`", stride, minimum=0)
    if strategy == "none":
        raise InvalidArgumentError(
            "`stride` needs an `aggregation_strategy` of simple, first, max or average (as transformers): "
            "the tokens of overlapping windows are not merged one by one"
        )
    room = max_length - 2
    if stride >= room:
        raise InvalidArgumentError(
            f"`stride`={stride} must be smaller than the {room} text tokens a window holds "
            f"(the model's {max_length} positions minus [CLS] and [SEP])"
        )


def text_windows(
    whole: Encoding, tokenizer: WordPieceTokenizer, max_length: int, stride: int
) -> list[Encoding]:
    """`[CLS] tokens[a:b] [SEP]` for each window over a text's tokens (`whole`, without special tokens), with
    the text's own offsets, cut as tokenizers' overflowing windows (tasks/windows.py)."""
    out = []
    for a, b in spans(len(whole.ids), max_length - 2, stride):
        ids, type_ids, special = assemble(
            whole.ids[a:b], None, tokenizer.cls_token_id, tokenizer.sep_token_id
        )
        out.append(
            Encoding(
                ids,
                type_ids,
                special,
                lambda a=a, b=b: [(0, 0), *whole.offsets[a:b], (0, 0)],
                tokenizer.ids_to_tokens,
            )
        )
    return out


def resolve_overlaps(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """transformers' `aggregate_overlapping_entities`: in order of start, an entity starting inside the one kept
    before it replaces that one when it is longer, or as long and more confident; otherwise it is dropped."""
    if not entities:
        return entities
    entities = sorted(entities, key=lambda e: e["start"])
    kept, previous = [], entities[0]
    for entity in entities:
        if previous["start"] <= entity["start"] < previous["end"]:
            length, previous_length = entity["end"] - entity["start"], previous["end"] - previous["start"]
            if length > previous_length or length == previous_length and entity["score"] > previous["score"]:
                previous = entity
        else:
            kept.append(previous)
            previous = entity
    kept.append(previous)
    return kept


class TokenClassificationPipeline(Pipeline):
    """`token-classification` (NER): per text, the list of entities (see the module's docstring).
    Options: `aggregation_strategy` (default none, as transformers), `ignore_labels` (default ["O"]), `stride`
    (default None: texts longer than the model's positions are cut and the entities of the cut-off tail are not
    found; a number: they are read in windows overlapping by that many tokens)."""

    task = "token-classification"
    heads = ("BertForTokenClassification",)
    model_class = BertForTokenClassification
    finetuned_as = ("tag",)
    defaults = {"aggregation_strategy": "none", "ignore_labels": ("O",), "stride": None}

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[list[dict[str, Any]]]:
        strategy = options["aggregation_strategy"]
        strategy = strategy.lower() if isinstance(strategy, str) else strategy
        check_choice("`aggregation_strategy`", strategy, STRATEGIES)
        stride = options["stride"]
        if stride is not None:
            check_stride(stride, strategy, self.max_length)
        ignore = set(options["ignore_labels"])
        texts = [as_text(f"text {i}", t) for i, t in enumerate(items)]
        config = self.model.config
        labels = [(config.id2label or {}).get(i, f"LABEL_{i}") for i in range(config.num_labels)]
        encodings, owner = self.encode_windows(texts, stride)
        found: list[list[dict[str, Any]]] = [[] for _ in encodings]
        unk = self.tokenizer.unk_token_id
        for rows, batch in self.batches(encodings):
            probabilities = self.model(**batch).logits.float().softmax(dim=-1).cpu().numpy()  # (B, T, C)
            for row, scores in zip(rows, probabilities, strict=True):
                records = token_records(texts[owner[row]], encodings[row], scores, unk)
                found[row] = entities_of(records, strategy, labels, ignore)
        results: list[list[dict[str, Any]]] = [[] for _ in texts]
        for row, entities in enumerate(found):  # a text's windows in order, as transformers gathers them
            results[owner[row]] += entities
        if stride is None:
            return results
        counts = np.bincount(owner, minlength=len(texts))
        return [resolve_overlaps(r) if n > 1 else r for r, n in zip(results, counts, strict=True)]

    def encode_windows(self, texts: list[str], stride: int | None) -> tuple[list[Encoding], list[int]]:
        """The encodings to run (one per text, cut to the model's positions, or with `stride` every window of
        every text) and the text each belongs to."""
        if stride is None:
            return self.encode(texts), list(range(len(texts)))
        encodings, owner = [], []
        for i, whole in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            parts = text_windows(whole, self.tokenizer, self.max_length, stride)
            encodings += parts
            owner += [i] * len(parts)
        return encodings, owner
