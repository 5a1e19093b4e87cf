"""Vectors for texts: `feature-extraction` (a vector per token) and `sentence-embedding` (one per text, pooled
as the checkpoint says), and `embed_file`, a large file of lines to a .npy matrix in bounded memory.

A sentence-transformers directory says how to pool in its own files: `modules.json` lists the modules
(Transformer, then Pooling, optionally Normalize), the Pooling module's `config.json` names the pooling
(`pooling_mode_mean_tokens`, `..._cls_token`, `..._max_tokens`, `..._mean_sqrt_len_tokens`) and
`sentence_bert_config.json` the `max_seq_length` texts are cut to. A plain BERT directory gets
sentence-transformers' own default for one: mean pooling, not normalised, cut at the model's positions.
A model given already loaded has no files to read: its pooling is `pooling=` (e.g. `read_pooling(DIR)`), else
that same default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from bertkit.checkpoint.checkpoint import Checkpoint
from bertkit.checks import check_choice, check_int
from bertkit.errors import CheckpointError, InvalidArgumentError
from bertkit.files import atomic_path, check_readable, chunked, count_text_lines, iter_lines
from bertkit.model import BertModel, BertPreTrainedModel
from bertkit.model.pooling import POOLING_MODES, normalize, pool
from bertkit.pipelines.base import Pipeline, as_text
from bertkit.pipelines.load import load_bare_encoder

MODULES_FILE = "modules.json"
ST = "sentence_transformers.models."
POOLING_FLAGS = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}
OUTPUTS = ("numpy", "torch")


@dataclass(frozen=True)
class SentencePooling:
    """How a checkpoint turns token vectors into a sentence vector."""

    mode: str = "mean"
    normalize: bool = False
    max_seq_length: int | None = None

    def __post_init__(self):
        check_choice("`pooling` mode", self.mode, POOLING_MODES)
        if self.max_seq_length is not None:
            check_int("`max_seq_length`", self.max_seq_length)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read it as JSON ({e})") from e


def read_pooling(directory: str | Path) -> SentencePooling:
    """The pooling of a sentence-transformers directory (see the module's docstring); the default without one."""
    directory = Path(directory)
    if not (directory / MODULES_FILE).is_file():
        return SentencePooling()
    modules = _read_json(directory / MODULES_FILE)
    mode, norm, max_len = "mean", False, None
    for module in modules:
        kind, path = module.get("type", ""), directory / module.get("path", "")
        if kind == ST + "Transformer":
            if (path / "sentence_bert_config.json").is_file():
                max_len = _read_json(path / "sentence_bert_config.json").get("max_seq_length")
        elif kind == ST + "Pooling":
            config = _read_json(path / "config.json")
            modes = [name for flag, name in POOLING_FLAGS.items() if config.get(flag)]
            others = [
                k for k, v in config.items() if k.startswith("pooling_mode") and v and k not in POOLING_FLAGS
            ]
            if len(modes) != 1 or others:
                raise CheckpointError(
                    f"{path / 'config.json'}: bertkit pools with exactly one of "
                    f"{', '.join(POOLING_FLAGS)}; this module asks for {', '.join(modes + others) or 'none'}"
                )
            mode = modes[0]
        elif kind == ST + "Normalize":
            norm = True
        else:
            raise CheckpointError(
                f"{directory / MODULES_FILE}: module {kind!r} is not supported (bertkit runs Transformer, "
                "Pooling and Normalize)"
            )
    return SentencePooling(mode, norm, max_len)


def _output(vectors: torch.Tensor, convert_to: str) -> np.ndarray | torch.Tensor:
    return vectors.cpu().numpy() if convert_to == "numpy" else vectors


class EncoderPipeline(Pipeline):
    """A pipeline of the encoder's token vectors alone: a directory's model is loaded without its pooler (which
    no sentence pooling uses), and a loaded model with a head runs its encoder (`model.bert`)."""

    def load_model(self, checkpoint: Checkpoint, device: str | torch.device | None) -> BertModel:
        return load_bare_encoder(checkpoint, device)


class FeatureExtractionPipeline(EncoderPipeline):
    """`feature-extraction`: per text, the last layer's vector of each token, [CLS] and [SEP] included:
    a (T, H) array (`convert_to="torch"`: a tensor). transformers' pipeline gives the same numbers as nested
    lists of shape (1, T, H)."""

    task = "feature-extraction"
    defaults = {"convert_to": "numpy"}

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        check_choice("`convert_to`", options["convert_to"], OUTPUTS)
        encodings = self.encode([as_text(f"text {i}", t) for i, t in enumerate(items)])
        results: list[Any] = [None] * len(items)
        for rows, batch in self.batches(encodings):
            hidden = self.model(**batch).last_hidden_state.float()  # bf16 models too: numpy has no bf16
            for row, vectors in zip(rows, hidden, strict=True):
                results[row] = _output(vectors[: len(encodings[row].ids)].clone(), options["convert_to"])
        return results


class SentenceEmbeddingPipeline(EncoderPipeline):
    """`sentence-embedding`: one vector per text, pooled (and normalised) as the checkpoint's
    sentence-transformers files say; sentence-transformers' `encode`. A list of texts gives an (N, H) array,
    one text an (H,) vector. Options: `convert_to` numpy or torch, `normalize` (None: as configured).

    `pooling` (a SentencePooling, e.g. `read_pooling(DIR)`) replaces the directory's own; a loaded model
    without it gets the default for a plain BERT (mean, not normalised)."""

    task = "sentence-embedding"
    defaults = {"convert_to": "numpy", "normalize": None}

    def __init__(
        self,
        model: str | Path | BertPreTrainedModel,
        *,
        pooling: SentencePooling | None = None,
        **kwargs: Any,
    ):
        if pooling is not None and not isinstance(pooling, SentencePooling):
            raise InvalidArgumentError(
                f"`pooling` must be a SentencePooling (e.g. read_pooling(DIR)), got {type(pooling).__name__}"
            )
        super().__init__(model, **kwargs)
        if pooling is None:
            pooling = SentencePooling() if self.directory is None else read_pooling(self.directory)
        self.pooling = pooling
        if self.pooling.max_seq_length:
            self.max_length = min(self.max_length, self.pooling.max_seq_length)

    def __call__(self, inputs: Any, **options: Any) -> Any:
        single = self.is_single(inputs)
        vectors = super().__call__([inputs] if single else inputs, **options)
        return vectors[0] if single else vectors

    def _run(self, items: list[Any], options: dict[str, Any]) -> Any:
        check_choice("`convert_to`", options["convert_to"], OUTPUTS)
        norm = self.pooling.normalize if options["normalize"] is None else options["normalize"]
        encodings = self.encode([as_text(f"text {i}", t) for i, t in enumerate(items)])
        out = torch.empty(len(items), self.model.config.hidden_size, device=self.device)
        for rows, batch in self.batches(encodings):
            hidden = self.model(**batch).last_hidden_state.float()  # (B, T, H); pooled in fp32
            vectors = pool(hidden, batch["attention_mask"], self.pooling.mode)
            out[torch.tensor(rows, device=self.device)] = normalize(vectors) if norm else vectors
        return _output(out, options["convert_to"])


def embed_file(
    encoder: SentenceEmbeddingPipeline,
    input_path: str | Path,
    output_path: str | Path,
    chunk_size: int = 4096,
    progress: bool = True,
) -> tuple[int, int]:
    """Embed every line of a UTF-8 text file into an (N, H) float32 .npy file, `chunk_size` lines at a time,
    so neither the text nor the matrix is held in memory whole. Empty lines are an error (their vector would
    mean nothing): the message names the line. Returns the matrix's shape."""
    check_int("`chunk_size`", chunk_size)
    input_path = check_readable(input_path)
    count = count_text_lines(input_path, "embed")
    shape = (count, encoder.model.config.hidden_size)
    with atomic_path(output_path) as tmp, tmp.open("wb") as f:
        matrix = np.lib.format.open_memmap(f.name, mode="w+", dtype=np.float32, shape=shape)
        with tqdm(total=count, unit="line", disable=not progress, desc="embed") as bar:
            for i, chunk in enumerate(chunked(iter_lines(input_path), chunk_size)):
                matrix[i * chunk_size : i * chunk_size + len(chunk)] = encoder(chunk, convert_to="numpy")
                bar.update(len(chunk))
        matrix.flush()
        del matrix
    return shape


def similarity(encoder: SentenceEmbeddingPipeline, texts: list[str]) -> np.ndarray:
    """The (N, N) cosine similarities of the texts' sentence vectors: the tutorial's cherry / digital /
    information matrix."""
    if isinstance(texts, str):
        raise InvalidArgumentError("`texts` must be a list of texts")
    vectors = normalize(encoder(list(texts), convert_to="torch"))
    return (vectors @ vectors.T).cpu().numpy()
