"""Stored tensor names to canonical ones, and back to the names a model's state_dict uses.

Our modules carry Hugging Face's parameter names, so the mapping is a near-identity: old names renamed, the
`bert.` prefix added or stripped (BertModel checkpoints have none), tied copies of the word embeddings folded
into the tensor they copy. The canonical name is Hugging Face's task-model name: `bert.` prefixed, current
LayerNorm names.
"""

import torch
from torch import nn

PREFIX = "bert."  # where a task model keeps its BertModel; a BertModel checkpoint's keys lack it
# Names from checkpoints converted by pytorch-pretrained-bert out of Google's TensorFlow release.
LEGACY_SUFFIXES = {".gamma": ".weight", ".beta": ".bias"}
# Second names of one tensor: the MLM decoder is the word embedding matrix, its bias is cls.predictions.bias.
# Read when the first name is absent; never written (transformers re-ties them on load).
TIED_ALIASES = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}
IGNORED_SUFFIXES = (".position_ids",)  # an index buffer older transformers saved; holds no learned values


def canonical_names(names: list[str]) -> dict[str, str]:
    """Map each stored name to its canonical name: {canonical: stored}.

    Keys with no learned values (position_ids buffers) are left out.
    """
    names = [n for n in names if not n.endswith(IGNORED_SUFFIXES)]
    add_prefix = not any(n.startswith(PREFIX) for n in names)  # a BertModel's own state_dict
    result = {}
    for name in names:
        canon = PREFIX + name if add_prefix else name
        for old, new in LEGACY_SUFFIXES.items():
            if canon.endswith(old):
                canon = canon.removesuffix(old) + new
        result[canon] = name
    for alias, target in TIED_ALIASES.items():
        if alias in result:
            stored = result.pop(alias)
            result.setdefault(target, stored)
    return result


def model_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state_dict tensors under canonical names, one entry per tensor (tied copies dropped)."""
    state = model.state_dict(keep_vars=True)
    by_name = canonical_names(list(state))
    seen: set[int] = set()
    result = {}
    for canon, name in by_name.items():
        tensor = state[name]
        if id(tensor) not in seen:
            seen.add(id(tensor))
            result[canon] = tensor
    return result


def model_name(canon: str, model: nn.Module) -> str:
    """A canonical name as `model.state_dict()` spells it (a bare BertModel has no `bert.` prefix)."""
    return canon if hasattr(model, "bert") else canon.removeprefix(PREFIX)


def head_modules(canonical: list[str]) -> frozenset[str]:
    """The head modules among canonical names: `cls.predictions`, `classifier`, ... (everything outside `bert.`)."""
    return frozenset(
        ".".join(c.split(".")[:2]) if c.startswith("cls.") else c.split(".")[0]
        for c in canonical
        if not c.startswith(PREFIX)
    )
