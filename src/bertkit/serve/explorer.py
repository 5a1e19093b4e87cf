"""The models behind the explorer and one batch function per API endpoint.

Each batch function takes the list of requests the batcher gathered and returns one answer per request. The
inference itself is the library's: `bertkit.pipeline` for fill-mask, sentence embeddings and classification
(so the server answers what the Python API and the command line answer), `bertkit.viz.attention_weights` for
the attention maps and `bertkit.pipelines.recite` for the causal LM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bertkit import model as models
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertLMHeadModel, BertPreTrainedModel
from bertkit.pipelines import TASKS, Pipeline, load_causal_lm, pipeline, read_pooling, recite, similarity
from bertkit.pipelines.base import checkpoint_architecture
from bertkit.pipelines.load import load_bare_encoder
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.viz.attention import attention_weights

# The endpoints that need a head, and the pipeline task that serves each.
HEAD_TASKS = {"fill-mask": "fill-mask", "classify": "text-classification"}


def load_model(directory: Path, architecture: str) -> BertPreTrainedModel:
    """The checkpoint as the class it was saved as when one of the head endpoints can use it, else its bare
    encoder (a head no endpoint uses is not worth memory)."""
    if any(architecture in TASKS[task].heads for task in HEAD_TASKS.values()):
        return getattr(models, architecture).from_pretrained(directory)
    return load_bare_encoder(directory)


class Explorer:
    """One checkpoint (its encoder, and its MLM or classification head when it has one) and, optionally, a
    causal LM to recite with. `unavailable` maps each endpoint this checkpoint cannot serve to the reason.

    The checkpoint is loaded once, and every endpoint's pipeline shares that one model: sentence embeddings
    and the attention maps run its encoder (`model.bert`), fill-mask or classification the model with its
    head."""

    def __init__(self, model_dir: str | Path, lm_dir: str | Path | None = None):
        directory = Path(model_dir)
        self.architecture = checkpoint_architecture(directory)
        self.model = load_model(directory, self.architecture)
        self.tokenizer = WordPieceTokenizer.from_pretrained(directory)
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
        if lm_dir is None:
            self.unavailable["recite"] = "no causal language model; start the server with --lm DIR"
        else:
            self.lm, self.lm_tokenizer = load_causal_lm(lm_dir)

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


def _split(rows: list, sizes: list[int]) -> list[list]:
    """`rows` cut into consecutive parts of the given sizes: one part per request of a batch."""
    parts, start = [], 0
    for size in sizes:
        parts.append(rows[start : start + size])
        start += size
    return parts
