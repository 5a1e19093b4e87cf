"""What every task pipeline shares: a model with the task's head (loaded from a checkpoint, or given), one-or-many
inputs, and batches built with length bucketing.

A pipeline is loaded once and called many times. A call reads the model and never changes the pipeline
(options given to a call apply to that call only), so one object can serve several threads at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.checks import check_int
from bertkit.errors import CheckpointError, InvalidArgumentError
from bertkit.export.runtime import OnnxModel, is_onnx_export, onnx_model_for
from bertkit.hub import resolve_pretrained
from bertkit.model import BertModel, BertPreTrainedModel, encoder_of
from bertkit.model.batching import length_batches
from bertkit.precision import with_dtype
from bertkit.tasks.settings import ReadingOptions, saved_settings
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.encoding import Encoding

BATCH_SIZE = 32  # rows per forward pass, as sentence-transformers' and transformers' pipelines default
# transformers' tokenizers stop at 512 tokens for BERT checkpoints (model_max_length).
MAX_LENGTH = 512
# Length bucketing on a CPU (model/batching.py's length_batches), measured with all-MiniLM-L6-v2 on one thread
# (docs/benchmarks.md): a forward pass costs about its padded tokens plus 24 tokens' worth (per token, one row
# of 12 runs 2x slower than batches of 256-1024 tokens), and batches past 1024 tokens run 10-20% slower per
# token (their activations leave the cache). GPUs want big batches: there, runs of `batch_size` rows.
BATCH_COST = 24
MAX_BATCH_TOKENS = 1024


def tensor_batch(
    encodings: Sequence[Encoding], pad_id: int, device: torch.device
) -> dict[str, torch.Tensor | None]:
    """input_ids, token_type_ids, attention_mask of encodings right-padded to the longest. A batch without
    padding gets no mask at all, which lets attention take its fastest fused kernel."""
    lengths = [len(e.ids) for e in encodings]
    B, T = len(encodings), max(lengths)
    ids = np.full((B, T), pad_id, dtype=np.int64)
    types = np.zeros((B, T), dtype=np.int64)
    for row, (e, n) in enumerate(zip(encodings, lengths, strict=True)):
        ids[row, :n] = e.ids
        types[row, :n] = e.type_ids
    mask = None
    if min(lengths) < T:
        mask = torch.from_numpy(np.arange(T)[None, :] < np.array(lengths)[:, None]).long().to(device)
    return {
        "input_ids": torch.from_numpy(ids).to(device),
        "token_type_ids": torch.from_numpy(types).to(device),
        "attention_mask": mask,
    }


class Pipeline:
    """A model with the task's head and its tokenizer: loaded from one Hugging Face-layout directory, or a
    model already in memory with its tokenizer (as transformers' `pipeline(task, model=model,
    tokenizer=tokenizer)`), so that several pipelines can share one model.

    `model` may also be a Checkpoint (bertkit.checkpoint.checkpoint) already open; `model` and `tokenizer` may
    be Hugging Face Hub ids ("org/name"), read from the Hugging Face cache at `revision` (downloaded first when
    online; see bertkit.hub).

    `dtype` (float32, bfloat16, int8 or auto: bertkit.precision) is the precision the model runs in: a
    directory's model is loaded in it (default float32), a loaded model converted whole, in place, when given.

    Subclasses name the task, the architectures that carry its head (empty: any BERT, which then runs its
    encoder alone) and the class to load, and implement `_run(items, options)`: the results of a non-empty
    list of inputs, in order.
    """

    task: ClassVar[str]
    heads: ClassVar[tuple[str, ...]] = ()
    model_class: ClassVar[type[BertPreTrainedModel]] = BertModel
    defaults: ClassVar[dict[str, Any]] = {}
    # The `bertkit finetune` tasks whose models this pipeline runs: their saved settings are its defaults.
    finetuned_as: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        model: str | Path | Checkpoint | BertPreTrainedModel,
        *,
        tokenizer: WordPieceTokenizer | str | Path | None = None,
        batch_size: int = BATCH_SIZE,
        device: str | torch.device | None = None,
        dtype: str | None = None,
        revision: str | None = None,
        max_length: int | None = None,
        **options: Any,
    ):
        check_int("`batch_size`", batch_size)
        self.options = self.check_options({**self.defaults, **options})
        if isinstance(model, BertPreTrainedModel):
            if tokenizer is None:
                raise InvalidArgumentError(
                    f"`tokenizer` is needed with a loaded {type(model).__name__} (a model directory brings its own)"
                )
            self.directory = None
            self.model = self._serving_part(model)
            if device is not None:  # all of it, as transformers moves it: other pipelines may share its parts
                model.to(device)
            if dtype is not None:  # all of it too, like the device; None: as it is
                with_dtype(model, dtype)
        elif isinstance(model, str | Path | Checkpoint):
            source = Checkpoint.of(model, revision) if isinstance(model, Checkpoint) else None
            self.directory = source.path if source else resolve_pretrained(model, revision)
            if is_onnx_export(self.directory):  # run by onnxruntime, in the precision it was exported in
                self.model = onnx_model_for(self.directory, self.task, self.heads, device, dtype)
            else:
                with opened(source or self.directory) as checkpoint:
                    self._check_checkpoint(checkpoint)
                    self.model = with_dtype(self.load_model(checkpoint, device), dtype or "float32")
                    tokenizer = checkpoint.tokenizer() if tokenizer is None else tokenizer
        else:
            raise InvalidArgumentError(
                f"`model` must be a model directory or a loaded bertkit model (or a Checkpoint), got "
                f"{type(model).__name__}"
            )
        self.model.eval()
        self.tokenizer = _tokenizer(self.directory if tokenizer is None else tokenizer, revision)
        self.batch_size = batch_size
        self.device = (
            self.model.device if isinstance(self.model, OnnxModel) else next(self.model.parameters()).device
        )
        # A model bertkit fine-tuned for this task reads inputs as its training did, unless told otherwise.
        settings = saved_settings(self.model.config, self.finetuned_as)
        self.trained: ReadingOptions | None = settings.reading if settings is not None else None
        self.max_length = self._max_length(max_length)

    def _max_length(self, given: int | None) -> int:
        """Tokens per input: `given`, else the fine-tuned model's, else the model's positions (at most 512)."""
        positions = self.model.config.max_position_embeddings
        if given is None:
            return self.trained.length if self.trained is not None else min(positions, MAX_LENGTH)
        check_int("`max_length`", given, minimum=8)
        if given > positions:
            raise InvalidArgumentError(f"`max_length`={given} is more than the model's {positions} positions")
        return given

    def _check_checkpoint(self, checkpoint: Checkpoint) -> None:
        """A checkpoint without the task's head is refused before anything is loaded."""
        if self.heads:
            architecture = checkpoint.architecture
            if architecture not in self.heads:
                raise CheckpointError(
                    f"{checkpoint.path} holds a {architecture} (config.json `architectures`), which has no head for "
                    f"{self.task!r}; that task needs one of: {', '.join(self.heads)}"
                )

    def load_model(self, checkpoint: Checkpoint, device: str | torch.device | None) -> BertPreTrainedModel:
        """The task's model class, loaded from `checkpoint`."""
        return self.model_class.from_pretrained(checkpoint, device=device)

    def _serving_part(self, model: BertPreTrainedModel) -> BertPreTrainedModel:
        """The part of a loaded model this task runs: the model itself when its class (or a parent) carries
        the task's head, the encoder (`model.bert`) for a task that needs none."""
        if self.heads:
            if not any(cls.__name__ in self.heads for cls in type(model).__mro__):
                raise InvalidArgumentError(
                    f"`model` is a {type(model).__name__}, which has no head for {self.task!r}; that task "
                    f"needs one of: {', '.join(self.heads)}"
                )
            return model
        return encoder_of(model)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The options, validated; unknown names are an error (a typo would otherwise be silently ignored)."""
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            known = ", ".join(f"`{k}`" for k in self.defaults) or "none"
            raise InvalidArgumentError(
                f"{self.task!r} has no option {', '.join(map(repr, unknown))} (its options: {known})"
            )
        return options

    def __repr__(self) -> str:
        source = str(self.directory) if self.directory else f"a loaded {type(self.model).__name__}"
        return f"{type(self).__name__}(task={self.task!r}, model={source!r})"

    def is_single(self, inputs: Any) -> bool:
        """One input (a text) rather than a list of them."""
        return isinstance(inputs, str)

    def __call__(self, inputs: Any, **options: Any) -> Any:
        """The result for one input, or a list of results for a list of inputs (in the same order)."""
        options = self.check_options({**self.options, **options})
        single = self.is_single(inputs)
        items = [inputs] if single else list(inputs)
        if not items:
            raise InvalidArgumentError(f"{self.task!r}: the list of inputs is empty; give at least one")
        with torch.inference_mode():
            results = self._run(items, options)
        return results[0] if single else results

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def encode(self, items: list[Any]) -> list[Encoding]:
        """Encodings of texts or (text, pair) tuples, cut to the model's positions as transformers' pipelines
        cut them (longest_first)."""
        return self.tokenizer.encode_batch(items, max_length=self.max_length, truncation=True)

    def batches(self, encodings: Sequence[Encoding]) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """(row indices, model inputs) per length-bucketed batch."""
        lengths = [len(e.ids) for e in encodings]
        cpu = self.device.type == "cpu"
        for rows in length_batches(
            lengths,
            self.batch_size,
            batch_cost=BATCH_COST if cpu else None,
            max_tokens=MAX_BATCH_TOKENS if cpu else None,
        ):
            yield rows, tensor_batch([encodings[i] for i in rows], self.tokenizer.pad_token_id, self.device)


def _tokenizer(tokenizer: WordPieceTokenizer | str | Path, revision: str | None) -> WordPieceTokenizer:
    """The tokenizer given, or the one saved in a directory (or a Hub id's, at `revision`)."""
    if isinstance(tokenizer, WordPieceTokenizer):
        return tokenizer
    if not isinstance(tokenizer, str | Path):
        raise InvalidArgumentError(
            f"`tokenizer` must be a WordPieceTokenizer or a directory, got {type(tokenizer).__name__}"
        )
    return WordPieceTokenizer.from_pretrained(resolve_pretrained(tokenizer, revision))


def as_text(where: str, value: Any) -> str:
    """A non-empty text, or an error naming the argument."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{where} must be a string, got {type(value).__name__}: {value!r:.60}")
    if not value.strip():
        raise InvalidArgumentError(f"{where} is empty; give some text")
    return value
