"""`token-classification`: a label per token (named entities, tags), grouped into entities as transformers'
token-classification pipeline groups them, with the same `aggregation_strategy` choices:

- none: one record per token, `{"entity", "score", "index", "word", "start", "end"}`;
- simple: adjacent tokens of the same entity type (B-X then I-X..., or X X) merged into one
  `{"entity_group", "score" (the mean), "word", "start", "end"}`;
- first / max / average: first make every word agree on one label (that of its first token, of its most
  confident token, or of its averaged scores), then group as simple.

A token continues a word when its text is not as long as the token (`##ing` read as `ing`), tokenizers'
rule for WordPiece; [UNK] tokens show the text they stand for. Entities labelled "O" are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bertkit.checks import check_choice
from bertkit.model import BertForTokenClassification
from bertkit.pipelines.base import Pipeline, as_text
from bertkit.tokenizer.decode import decode_tokens

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


class TokenClassificationPipeline(Pipeline):
    """`token-classification` (NER): per text, the list of entities (see the module's docstring).
    Options: `aggregation_strategy` (default none, as transformers), `ignore_labels` (default ["O"]).
    Texts longer than the model's positions are cut; the entities of the cut-off tail are not found."""

    task = "token-classification"
    heads = ("BertForTokenClassification",)
    model_class = BertForTokenClassification
    defaults = {"aggregation_strategy": "none", "ignore_labels": ("O",)}

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[list[dict[str, Any]]]:
        strategy = options["aggregation_strategy"]
        strategy = strategy.lower() if isinstance(strategy, str) else strategy
        check_choice("`aggregation_strategy`", strategy, STRATEGIES)
        ignore = set(options["ignore_labels"])
        texts = [as_text(f"text {i}", t) for i, t in enumerate(items)]
        config = self.model.config
        labels = [(config.id2label or {}).get(i, f"LABEL_{i}") for i in range(config.num_labels)]
        encodings = self.encode(texts)
        results: list[list[dict[str, Any]]] = [[] for _ in texts]
        unk = self.tokenizer.unk_token_id
        for rows, batch in self.batches(encodings):
            probabilities = self.model(**batch).logits.float().softmax(dim=-1).cpu().numpy()  # (B, T, C)
            for row, scores in zip(rows, probabilities, strict=True):
                records = token_records(texts[row], encodings[row], scores, unk)
                results[row] = entities_of(records, strategy, labels, ignore)
        return results
