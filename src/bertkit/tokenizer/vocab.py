"""The files a BERT tokenizer lives in: vocab.txt (one token per line, the id is the line number) and
tokenizer_config.json (the normalisation settings and model_max_length), as Hugging Face's BertTokenizer reads
and writes them, and tokenizer.json (hf_json.py), all transformers 5 writes. Where a directory holds several,
they must agree, because transformers and tokenizers each follow a different one."""

import json
import os
from pathlib import Path

from bertkit.constants import CLS, MASK, PAD, SEP, UNK
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import read_settings, write_text_atomically
from bertkit.tokenizer.decode import WORDPIECE_DECODER
from bertkit.tokenizer.hf_json import TOKENIZER_JSON, WORD_LIMIT, read_tokenizer_json, tokenizer_json_text
from bertkit.tokenizer.wordpiece import MAX_WORD_CHARS

VOCAB_TXT = "vocab.txt"
CONFIG_JSON = "tokenizer_config.json"
# tokenizer_config.json's key -> (WordPieceTokenizer's argument, transformers' BertTokenizer default, the
# BertNormalizer key in tokenizer.json).
CONFIG_SETTINGS = {
    "do_lower_case": ("lowercase", True, "lowercase"),
    "strip_accents": ("strip_accents", None, "strip_accents"),
    "tokenize_chinese_chars": ("split_chinese", True, "handle_chinese_chars"),
}
SPECIAL_TOKEN_KEYS = {
    "unk_token": UNK,
    "sep_token": SEP,
    "pad_token": PAD,
    "cls_token": CLS,
    "mask_token": MASK,
}
# The tokenizer_config.json classes that rebuild the tokenizer from their own arguments, taking only the
# vocabulary and template from tokenizer.json; any other class (PreTrainedTokenizerFast) runs the file as is.
BERT_CLASSES = ("BertTokenizer", "BertTokenizerFast")
# transformers writes 1e30 for "no limit"; a real model's limit is far below this.
NO_LIMIT = 10**12


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


def load_tokenizer_files(path: Path) -> tuple[Path | list[str], dict]:
    """The vocabulary (a vocab.txt's path, or the tokens of a tokenizer.json) and WordPieceTokenizer's other
    arguments, from a tokenizer directory, a vocab.txt or a tokenizer.json.

    A directory's tokenizer.json is read when it has one (it is all transformers 5 writes); a vocab.txt beside
    it must hold the same tokens, and tokenizer_config.json's settings must be its normaliser's."""
    if not path.exists():
        raise FileFormatError(
            f"{path}: no such file or directory (expected a tokenizer directory, vocab.txt or tokenizer.json)"
        )
    if path.is_file():
        return read_tokenizer_json(path) if path.name.endswith(".json") else (path, {})
    config = read_settings(path / CONFIG_JSON) if (path / CONFIG_JSON).is_file() else {}
    _check_special_tokens(path / CONFIG_JSON, config)
    settings = {"model_max_length": _model_max_length(path / CONFIG_JSON, config)}
    if not (path / TOKENIZER_JSON).is_file():
        if not (path / VOCAB_TXT).is_file():
            raise FileFormatError(
                f"{path}: no such vocabulary file: the directory has neither {VOCAB_TXT} nor {TOKENIZER_JSON}"
            )
        defaults = {arg: config.get(key, default) for key, (arg, default, _) in CONFIG_SETTINGS.items()}
        return path / VOCAB_TXT, settings | defaults
    tokens, normalizer = read_tokenizer_json(path / TOKENIZER_JSON)
    _check_same_settings(path, config, normalizer)
    _check_word_limit(path, config, normalizer["max_word_chars"])
    if (path / VOCAB_TXT).is_file():
        _check_same_tokens(path, load_vocab(path / VOCAB_TXT), tokens)
    return tokens, settings | normalizer


def _check_special_tokens(path: Path, config: dict) -> None:
    """transformers splits the config's special tokens out of text; bertkit splits BERT's five."""
    for key, token in SPECIAL_TOKEN_KEYS.items():
        value = config.get(key, token)
        if (value.get("content") if isinstance(value, dict) else value) != token:
            raise FileFormatError(f"{path}: {key}={value!r} is not supported: bertkit's BERT uses {token}")
    extra = config.get("additional_special_tokens") or config.get("extra_special_tokens")
    if extra:
        raise FileFormatError(
            f"{path}: extra special tokens {extra!r} are not supported: bertkit splits only BERT's five "
            "out of text"
        )


def _model_max_length(path: Path, config: dict) -> int | None:
    """tokenizer_config.json's model_max_length; None when it has none, or transformers' 1e30 for none."""
    limit = config.get("model_max_length")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise FileFormatError(f"{path}: model_max_length={limit!r}, expected a positive integer")
    return limit if limit is not None and limit < NO_LIMIT else None


def _check_same_settings(path: Path, config: dict, normalizer: dict) -> None:
    """tokenizer_config.json's settings against tokenizer.json's BertNormalizer: transformers' BertTokenizer
    rebuilds the normaliser from the config (its defaults for keys it lacks), tokenizers keeps the file's."""
    bert = config.get("tokenizer_class") in BERT_CLASSES
    for key, (arg, default, json_key) in CONFIG_SETTINGS.items():
        if key not in config and not bert:
            continue
        value = config.get(key, default)
        if value != normalizer[arg]:
            raise FileFormatError(
                f"{path}: {CONFIG_JSON} has {key}={json.dumps(value)} (transformers follows it) but "
                f"{TOKENIZER_JSON}'s normalizer has {json_key}={json.dumps(normalizer[arg])} "
                "(tokenizers follows it); make them agree"
            )


def _check_word_limit(path: Path, config: dict, max_word_chars: int) -> None:
    """transformers' BertTokenizer builds its WordPiece with the limit of 100 whatever tokenizer.json says, so
    with another limit the two references give different ids for long words."""
    if max_word_chars != MAX_WORD_CHARS and config.get("tokenizer_class") in BERT_CLASSES:
        raise FileFormatError(
            f"{path}: {CONFIG_JSON} has tokenizer_class={config['tokenizer_class']} (transformers then uses "
            f"{WORD_LIMIT}={MAX_WORD_CHARS}) but {TOKENIZER_JSON}'s model has {WORD_LIMIT}={max_word_chars} "
            "(tokenizers follows it); set tokenizer_class to PreTrainedTokenizerFast, which runs "
            f"{TOKENIZER_JSON} as it is"
        )


def _check_same_tokens(path: Path, vocab_txt: list[str], tokens: list[str]) -> None:
    if vocab_txt == tokens:
        return
    differ = next((i for i, (a, b) in enumerate(zip(vocab_txt, tokens, strict=False)) if a != b), None)
    how = (
        f"id {differ} is {vocab_txt[differ]!r} in {VOCAB_TXT} but {tokens[differ]!r} in {TOKENIZER_JSON}"
        if differ is not None
        else f"{VOCAB_TXT} has {len(vocab_txt)} tokens, {TOKENIZER_JSON} {len(tokens)} (the first "
        f"{min(len(vocab_txt), len(tokens))} agree)"
    )
    raise FileFormatError(
        f"{path}: {VOCAB_TXT} and {TOKENIZER_JSON} disagree: {how}; keep one, or make them agree"
    )


def save_tokenizer_files(
    directory: str | os.PathLike,
    tokens: list[str],
    lowercase: bool,
    strip_accents: bool | None,
    split_chinese: bool,
    model_max_length: int | None = None,
    max_word_chars: int = MAX_WORD_CHARS,
    decoder: str | None = WORDPIECE_DECODER,
) -> Path:
    """save_vocab, and tokenizer.json beside them, so that transformers 4 and 5 and tokenizers all load it.

    A word limit or decoder that transformers' BertTokenizer cannot hold makes tokenizer_config.json name
    PreTrainedTokenizerFast instead, which runs tokenizer.json as it is."""
    text = tokenizer_json_text(
        tokens, lowercase, strip_accents, split_chinese, max_word_chars, decoder
    )  # refuses before anything is written
    bert = (max_word_chars, decoder) == (MAX_WORD_CHARS, WORDPIECE_DECODER)
    tokenizer_class = BERT_CLASSES[0] if bert else "PreTrainedTokenizerFast"
    directory = save_vocab(
        directory, tokens, lowercase, strip_accents, split_chinese, model_max_length, tokenizer_class
    )
    write_text_atomically(directory / TOKENIZER_JSON, text)
    return directory


def save_vocab(
    directory: str | os.PathLike,
    tokens: list[str],
    lowercase: bool,
    strip_accents: bool | None,
    split_chinese: bool,
    model_max_length: int | None = None,
    tokenizer_class: str = BERT_CLASSES[0],
) -> Path:
    """Write vocab.txt and tokenizer_config.json into `directory` (created); returns it."""
    directory = Path(directory)
    bad = [t for t in tokens if t != t.rstrip() or "\n" in t or "\r" in t]
    if bad:
        raise InvalidArgumentError(
            f"tokens {bad[:3]!r} cannot be written to vocab.txt (line breaks/trailing spaces)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomically(directory / VOCAB_TXT, "".join(t + "\n" for t in tokens))
    config = {
        "tokenizer_class": tokenizer_class,
        "do_lower_case": lowercase,
        "strip_accents": strip_accents,
        "tokenize_chinese_chars": split_chinese,
        "unk_token": UNK,
        "sep_token": SEP,
        "pad_token": PAD,
        "cls_token": CLS,
        "mask_token": MASK,
    }
    if model_max_length is not None:
        config["model_max_length"] = model_max_length
    write_text_atomically(directory / CONFIG_JSON, json.dumps(config, indent=2) + "\n")
    return directory
