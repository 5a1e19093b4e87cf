"""The models behind the explorer and one batch function per API endpoint.

Each batch function takes the list of requests the batcher gathered and returns one answer per request. The
inference itself is the library's: `bertkit.pipeline` for fill-mask, sentence embeddings and classification
(so the server answers what the Python API and the command line answer), `bertkit.viz.attention_weights` for
the attention maps, `bertkit.pipelines.recite` for the causal LM, and `text-scoring` / `next-token` for what
the language models compute (a text's probability token by token, the next token's candidates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.errors import InvalidArgumentError
from bertkit.model import MODEL_CLASSES, BertLMHeadModel, BertPreTrainedModel
from bertkit.pipelines import TASKS, Pipeline, load_causal_lm, pipeline, read_pooling, recite, similarity
from bertkit.pipelines.load import load_bare_encoder
from bertkit.precision import with_dtype
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.viz.attention import attention_weights

# The endpoints that need a head, and the pipeline task that serves each.
HEAD_TASKS = {"fill-mask": "fill-mask", "classify": "text-classification"}
NO_LM = "no causal language model; start the server with --lm DIR"
# /api/score's `model`: the causal LM (--lm), or the checkpoint (--model) with its masked-LM head.
SCORERS = ("lm", "cloze")


def load_model(checkpoint: Checkpoint) -> BertPreTrainedModel:
    """The checkpoint as the class it was saved as when one of the head endpoints can use it, else its bare
    encoder (a head no endpoint uses is not worth memory)."""
    if any(checkpoint.architecture in TASKS[task].heads for task in HEAD_TASKS.values()):
        return MODEL_CLASSES[checkpoint.architecture].from_pretrained(checkpoint)
    return load_bare_encoder(checkpoint)


class Explorer:
    """One checkpoint (its encoder, and its MLM or classification head when it has one) and, optionally, a
    causal LM to recite, score and predict the next token with, both in `dtype` (bertkit.precision). Each may
    be a directory, a Hub id (at `revision`) or a Checkpoint. `unavailable` maps each endpoint this checkpoint
    cannot serve to the reason.

    The checkpoint is loaded once, and every endpoint's pipeline shares that one model: sentence embeddings
    and the attention maps run its encoder (`model.bert`), fill-mask or classification the model with its
    head."""

    def __init__(
        self,
        model_dir: str | Path | Checkpoint,
        lm_dir: str | Path | Checkpoint | None = None,
        dtype: str = "float32",
        revision: str | None = None,
    ):
        with opened(model_dir, revision) as checkpoint:
            directory, self.architecture = checkpoint.path, checkpoint.architecture
            self.model = with_dtype(load_model(checkpoint), dtype)
            self.tokenizer = checkpoint.tokenizer()
        shared = {"model": self.model, "tokenizer": self.tokenizer}
        # Any checkpoint has an encoder: it embeds (pooled as the directory's sentence-transformers files say).
        self.embedder = pipeline("sentence-embedding", **shared, pooling=read_pooling(directory))
        self.unavailable: dict[str, str] = {}
        self.heads: dict[str, Pipeline] = {}
        for endpoint, task in HEAD_TASKS.items():
            try:  # top_k=None: classification answers every label, best first
                options = {"top_k": None} if task == "text-classification" else {}
                self.heads[endpoint] = pipeline(task, **shared, **options)
            except InvalidArgumentError as err:  # the model's class has no head for the task
                self.unavailable[endpoint] = f"{directory}: {err}"
        self.lm: BertLMHeadModel | None = None
        self.lm_tokenizer: WordPieceTokenizer | None = None
        # Scorers by SCORERS' names: the LM first, the default, since only it gives a text a probability (the
        # chain rule); a masked model's pseudo-log-likelihood ranks texts but sums to no probability.
        self.scorers: dict[str, Pipeline] = {}
        self.no_scorer: dict[str, str] = {}
        if lm_dir is None:
            self.unavailable["recite"] = self.unavailable["next-token"] = self.no_scorer["lm"] = NO_LM
        else:
            self.lm, self.lm_tokenizer = load_causal_lm(lm_dir, dtype, revision)
            lm = {"model": self.lm, "tokenizer": self.lm_tokenizer}
            self.scorers["lm"] = pipeline("text-scoring", **lm)
            self.next_tokens = pipeline("next-token", **lm)
        if "fill-mask" in self.heads:  # the same heads: a masked-LM head
            self.scorers["cloze"] = pipeline("text-scoring", **shared)
        else:
            self.no_scorer["cloze"] = self.unavailable["fill-mask"]
        if not self.scorers:
            self.unavailable["score"] = (
                f"no language model to score with: {'; '.join(self.no_scorer.values())}"
            )

    @property
    def config(self):
        return self.model.config

    def describe(self) -> dict[str, Any]:
        """What /health reports: the model's shape and which endpoints it serves."""
        config = self.config
        return {
            "architecture": self.architecture,
            "layers": config.num_hidden_layers,
            "heads": config.num_attention_heads,
            "hidden_size": config.hidden_size,
            "vocab_size": config.vocab_size,
            "max_tokens": config.max_position_embeddings,
            "causal": config.causal,
            "labels": [config.id2label[i] for i in sorted(config.id2label)] if config.id2label else None,
            "lm": None if self.lm is None else {"vocab_size": self.lm.config.vocab_size},
            "scorers": list(self.scorers),  # /api/score's `model` choices, the default first
            "unavailable": self.unavailable,
        }

    def tokenize(self, texts: list[str]) -> list[dict[str, Any]]:
        """WordPiece tokens, ids and character offsets of each text, with [CLS] and [SEP] as the model sees it."""
        return [
            {"tokens": e.tokens, "ids": e.ids, "offsets": [list(o) for o in e.offsets]}
            for e in (self.tokenizer.encode(text) for text in texts)
        ]

    def fill_mask(
        self, texts: list[str], top_k: int, targets: tuple[str, ...] | None = None
    ) -> list[list[list[dict[str, Any]]]]:
        """Per text, one list of transformers' fill-mask records per [MASK] (also when there is just one),
        among the `targets` alone when given."""
        results = self.heads["fill-mask"](texts, top_k=top_k, targets=targets)
        return [r if isinstance(r[0], list) else [r] for r in results]

    def embed(self, text_lists: list[list[str]]) -> list[list[list[float]]]:
        """One vector per text, pooled as the checkpoint says; all requests' texts encoded as one batch."""
        vectors = self.embedder([t for texts in text_lists for t in texts], convert_to="numpy").tolist()
        return _split(vectors, [len(texts) for texts in text_lists])

    def similarity(self, word_lists: list[list[str]]) -> list[dict[str, Any]]:
        """The cosine-similarity matrix of each request's words (one pipeline call each: a page asks rarely),
        and each word's WordPiece tokens: a word outside the vocabulary is split, or becomes [UNK]."""
        return [
            {
                "matrix": similarity(self.embedder, words).tolist(),
                "pieces": [self.tokenizer.tokenize(word) for word in words],
            }
            for words in word_lists
        ]

    def attention(self, texts: list[str], layer: int | None, head: int | None) -> list[dict[str, Any]]:
        """softmax(QK^T/sqrt(d_k)) over each text's tokens: every layer and head, (layers, heads, T, T), or
        the one `layer` and/or `head` asked for (the page draws one head at a time; a base model's full set
        for 512 tokens would be 38 million numbers)."""
        answers = []
        for text in texts:
            tokens, weights = attention_weights(self.model, self.tokenizer, text)
            if layer is not None:
                weights = weights[layer]  # (heads, T, T)
            if head is not None:
                weights = weights[..., head, :, :]  # the head axis, with or without the layer axis
            # 4 decimals in float64: JSON then carries 0.2102, not float32's 0.2101999968290329
            answers.append({"tokens": tokens, "weights": weights.astype("float64").round(4).tolist()})
        return answers

    def recite(self, prompts: list[str], **options: Any) -> list[str]:
        """Each prompt continued by the causal LM (generation runs one prompt at a time)."""
        assert self.lm is not None and self.lm_tokenizer is not None
        return [recite(self.lm, self.lm_tokenizer, prompt, **options) for prompt in prompts]

    def classify(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        """Every label with its probability, best first."""
        return self.heads["classify"](texts)

    def score(self, texts: list[str], scorer: str, top_k: int, pll: str | None) -> list[dict[str, Any]]:
        """The `text-scoring` record of each text by the named scorer, with each token's `top_k` alternatives;
        `pll` (a masked model's metric) None for the scorer's default."""
        options = {"top_k_alternatives": top_k} | ({} if pll is None else {"pll": pll})
        return self.scorers[scorer](texts, **options)

    def next_token(self, texts: list[str], top_k: int) -> list[list[dict[str, Any]]]:
        """The causal LM's `top_k` candidates for the token after each text, best first."""
        return self.next_tokens(texts, top_k=top_k)


def _split(rows: list, sizes: list[int]) -> list[list]:
    """`rows` cut into consecutive parts of the given sizes: one part per request of a batch."""
    parts, start = [], 0
    for size in sizes:
        parts.append(rows[start : start + size])
        start += size
    return parts
