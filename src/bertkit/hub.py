"""Hugging Face Hub ids ("org/name") as local directories, resolved the way `transformers` resolves them: a
local path of that name wins; otherwise huggingface_hub (the `hub` extra) finds the id in the Hugging Face
cache, downloading what a BERT needs first when online.

Only a string that is not a local path and has the Hub's form of a repository id is looked up; anything else
is handed back as the path it is, so its caller reports it as the missing directory or file.
"""

import os
import re
from pathlib import Path

from bertkit.errors import CheckpointError, InvalidArgumentError

# The Hub's rules for a repository id (huggingface_hub's validate_repo_id): `name` or `org/name`, each part of
# letters, digits, "_", "-" and ".", starting and ending with a letter, digit or "_"; no "--" or "..".
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
HUB_ID = re.compile(rf"(?:{_PART}/)?{_PART}")
HUB_ID_MAX = 96

# What a BERT directory needs from its repository: every JSON file (config, tokenizer files, shard indexes,
# sentence-transformers' modules.json and pooling, a fine-tuned model's task settings), the vocabulary, and the
# weights in one format: safetensors where the repository has them, as transformers prefers, else PyTorch's.
TEXT_FILES = ["*.json", "vocab.txt"]
SAFETENSORS_FILES = ["model.safetensors", "model-*-of-*.safetensors"]
TORCH_FILES = ["pytorch_model.bin", "pytorch_model-*-of-*.bin"]

TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's spellings of a true environment variable


def is_hub_id(name: object) -> bool:
    """Whether `name` is looked up on the Hub: a string that is not a local path and reads as a repository
    id. A Path never is."""
    return (
        isinstance(name, str)
        and not Path(name).exists()
        and len(name) <= HUB_ID_MAX
        and HUB_ID.fullmatch(name) is not None
        and "--" not in name
        and ".." not in name
        and not name.endswith(".git")
    )


def hub_cache() -> Path:
    """The Hugging Face cache as the environment says now: HF_HUB_CACHE, else HF_HOME/hub, else
    ~/.cache/huggingface/hub. huggingface_hub reads these once, when first imported, and a notebook or a test
    may set them later."""
    env = os.environ
    cache = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")  # the second: its older name
    if not cache:
        home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
        cache = os.path.join(home, "hub")
    return Path(os.path.expandvars(os.path.expanduser(cache)))


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or transformers' TRANSFORMERS_OFFLINE) as the environment says now."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    return (value or "").upper() in TRUE


def resolve_pretrained(name_or_path: str | os.PathLike, revision: str | None = None) -> Path:
    """The local directory of a model or tokenizer: `name_or_path` itself, or for a Hub id (see `is_hub_id`)
    its snapshot in the Hugging Face cache at `revision` (a branch, tag or commit; default main), downloaded
    first unless HF_HUB_OFFLINE is set. Only a BERT's files are downloaded, one weights format."""
    if not is_hub_id(name_or_path):
        return Path(name_or_path)
    return _snapshot(name_or_path, revision)


def _snapshot(repo_id: str, revision: str | None) -> Path:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.utils import (  # where every release since 0.x exports them
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:
        raise InvalidArgumentError(
            f"{repo_id}: no such file or directory; to load it as a Hugging Face Hub id, install "
            "huggingface_hub: pip install 'bertkit[hub]'"
        ) from None

    cache, offline = hub_cache(), hub_offline()
    where = f"{repo_id}: no such local file or directory, and"
    at = f" at revision {revision!r}" if revision else ""

    def fetch(patterns: list[str]) -> Path:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                cache_dir=cache,
                local_files_only=offline,
                allow_patterns=patterns,
            )
        )

    try:
        directory = fetch(TEXT_FILES + SAFETENSORS_FILES)
        if not any(next(directory.glob(pattern), None) for pattern in SAFETENSORS_FILES):
            directory = fetch(TORCH_FILES)
    except GatedRepoError:
        raise CheckpointError(
            f"{where} the Hub model of that name is gated: accept its terms on huggingface.co, then log in "
            "(`hf auth login`)"
        ) from None
    except RepositoryNotFoundError:
        raise CheckpointError(
            f"{where} no Hub model of that name (or it is private: log in with `hf auth login`)"
        ) from None
    except RevisionNotFoundError:
        raise CheckpointError(f"{where} the Hub model of that name has no revision {revision!r}") from None
    except LocalEntryNotFoundError as e:
        folder = cache / ("models--" + repo_id.replace("/", "--"))
        why = (
            "HF_HUB_OFFLINE is set, so nothing is downloaded"
            if offline
            else f"the Hub could not be reached ({str(e.__cause__ or e).splitlines()[0]})"
        )
        raise CheckpointError(
            f"{where} not (fully) in the Hugging Face cache{at}: looked in {folder}; {why}"
        ) from None
    return directory
