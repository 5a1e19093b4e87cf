"""The files a BERT tokenizer lives in, as Hugging Face's BertTokenizer reads and writes them: vocab.txt (one
token per line, the id is the line number) and tokenizer_config.json (the normalisation settings)."""

import json
import os
from pathlib import Path

from bertkit.constants import CLS, MASK, PAD, SEP, UNK
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import read_settings, write_text_atomically


def load_vocab(path: str | os.PathLike) -> list[str]:
    """The tokens of a vocab.txt, one per line; trailing whitespace is dropped, as tokenizers does."""
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(
            f"{path}: is a directory; pass its vocab.txt, or use WordPieceTokenizer.from_pretrained"
        )
    if not path.is_file():
        raise FileFormatError(f"{path}: no such vocabulary file (expected a vocab.txt, one token per line)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise FileFormatError(f"{path}: not valid UTF-8 at byte offset {err.start}") from None
    except OSError as err:
        raise FileFormatError(f"{path}: cannot be read ({err.strerror})") from None
    return [line.rstrip() for line in text.splitlines()] if text else []


def load_settings(directory: Path) -> dict:
    """lowercase, strip_accents and split_chinese from the directory's tokenizer_config.json (do_lower_case,
    strip_accents, tokenize_chinese_chars); BERT's defaults where the file or a key is missing."""
    config_path = directory / "tokenizer_config.json"
    config = read_settings(config_path) if config_path.is_file() else {}
    return {
        "lowercase": config.get("do_lower_case", True),
        "strip_accents": config.get("strip_accents"),
        "split_chinese": config.get("tokenize_chinese_chars", True),
    }


def save_vocab(
    directory: str | os.PathLike,
    tokens: list[str],
    lowercase: bool,
    strip_accents: bool | None,
    split_chinese: bool,
) -> Path:
    """Write vocab.txt and tokenizer_config.json into `directory` (created); returns it."""
    directory = Path(directory)
    bad = [t for t in tokens if t != t.rstrip() or "\n" in t or "\r" in t]
    if bad:
        raise InvalidArgumentError(
            f"tokens {bad[:3]!r} cannot be written to vocab.txt (line breaks/trailing spaces)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomically(directory / "vocab.txt", "".join(t + "\n" for t in tokens))
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": lowercase,
        "strip_accents": strip_accents,
        "tokenize_chinese_chars": split_chinese,
        "unk_token": UNK,
        "sep_token": SEP,
        "pad_token": PAD,
        "cls_token": CLS,
        "mask_token": MASK,
    }
    write_text_atomically(directory / "tokenizer_config.json", json.dumps(config, indent=2) + "\n")
    return directory
