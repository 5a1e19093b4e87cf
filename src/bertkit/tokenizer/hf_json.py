"""tokenizer.json: the one file in which Hugging Face `tokenizers` describes a whole tokenizer, and the only
vocabulary file transformers 5 writes for BERT (beside tokenizer_config.json, no vocab.txt).

bertkit runs one pipeline: BertNormalizer -> BertPreTokenizer -> WordPiece ("##", [UNK]) -> the template
[CLS] A [SEP] B [SEP], with [PAD] [UNK] [CLS] [SEP] [MASK] as the only tokens split out of raw text. A file is
read only when it describes that pipeline, with any of BertNormalizer's `lowercase`, `strip_accents` and
`handle_chinese_chars`, any WordPiece `max_input_chars_per_word`, and the WordPiece decoder or none (as
`tokenizers` writes a tokenizer built without one); anything else (another model, normaliser, pre-tokenizer,
template, decoder, or WordPiece setting) is refused with the setting named, never tokenized differently.
The file's `truncation` and `padding` are ignored: they are `tokenizers`' call defaults, which transformers
ignores too; bertkit takes them as arguments of each call.

Files are written as transformers 5 writes them for BERT, byte for byte (with the word limit or decoder
bertkit's tokenizer has where BertTokenizer's cannot hold them, as `tokenizers` writes them).
"""

import json
from pathlib import Path

from bertkit.constants import CLS, CONTINUATION, SEP, SPECIAL_TOKENS, UNK
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.tokenizer.decode import WORDPIECE_DECODER
from bertkit.tokenizer.wordpiece import MAX_WORD_CHARS

TOKENIZER_JSON = "tokenizer.json"

PRE_TOKENIZER = {"type": "BertPreTokenizer"}
# tokenizer.json's decoder -> WordPieceTokenizer's `decoder`.
DECODERS = {WORDPIECE_DECODER: {"type": "WordPiece", "prefix": CONTINUATION, "cleanup": True}, None: None}
MODEL_SETTINGS = {"unk_token": UNK, "continuing_subword_prefix": CONTINUATION}
WORD_LIMIT = "max_input_chars_per_word"
# tokenizers' BertNormalizer defaults, for a key a file leaves out, and the values bertkit runs exactly.
NORMALIZER_DEFAULTS = {
    "clean_text": True,
    "handle_chinese_chars": True,
    "strip_accents": None,
    "lowercase": True,
}
NORMALIZER_VALUES = {
    "clean_text": (True,),  # bertkit always cleans: drops control characters, maps whitespace to spaces
    "handle_chinese_chars": (True, False),
    "strip_accents": (True, False, None),
    "lowercase": (True, False),
}


def _special(token: str, type_id: int) -> dict:
    return {"SpecialToken": {"id": token, "type_id": type_id}}


def _sequence(name: str, type_id: int) -> dict:
    return {"Sequence": {"id": name, "type_id": type_id}}


# BERT's template (template.py) in tokenizers' TemplateProcessing terms.
SINGLE = [_special(CLS, 0), _sequence("A", 0), _special(SEP, 0)]
PAIR = SINGLE + [_sequence("B", 1), _special(SEP, 1)]


def _added_token(token: str, token_id: int) -> dict:
    """A special token matched in raw text before normalisation, as transformers writes it."""
    return {"id": token_id, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}  # fmt: skip


def _template_special(token: str, token_id: int) -> dict:
    return {"id": token, "ids": [token_id], "tokens": [token]}


def tokenizer_json_text(
    tokens: list[str],
    lowercase: bool,
    strip_accents: bool | None,
    split_chinese: bool,
    max_word_chars: int = MAX_WORD_CHARS,
    decoder: str | None = WORDPIECE_DECODER,
) -> str:
    """The tokenizer.json of a bertkit tokenizer, as transformers 5 and tokenizers write it (serde's pretty
    JSON: two-space indent, UTF-8 unescaped, no final newline)."""
    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) < len(tokens):
        seen: set[str] = set()
        twice = [t for t in tokens if t in seen or seen.add(t)]
        raise InvalidArgumentError(
            f"tokens {twice[:3]!r} occur twice in the vocabulary; tokenizer.json maps a token to one id"
        )
    data = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [_added_token(t, vocab[t]) for t in sorted(SPECIAL_TOKENS, key=vocab.__getitem__)],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": split_chinese,
            "strip_accents": strip_accents,
            "lowercase": lowercase,
        },
        "pre_tokenizer": PRE_TOKENIZER,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": SINGLE,
            "pair": PAIR,
            "special_tokens": {t: _template_special(t, vocab[t]) for t in (CLS, SEP)},
        },
        "decoder": DECODERS[decoder],
        "model": {"type": "WordPiece", **MODEL_SETTINGS, WORD_LIMIT: max_word_chars, "vocab": vocab},
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def read_tokenizer_json(path: Path) -> tuple[list[str], dict]:
    """The vocabulary (tokens in id order) and WordPieceTokenizer's settings (lowercase, strip_accents,
    split_chinese, max_word_chars, decoder) of a BERT WordPiece tokenizer.json, or a FileFormatError naming
    the file and the first thing bertkit cannot run exactly."""
    data = _load_json(path)
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "WordPiece":
        raise FileFormatError(
            f"{path}: model {_describe(model)} is not supported: bertkit runs WordPiece only"
        )
    tokens = _vocabulary(path, model.get("vocab"))
    for key, expected in MODEL_SETTINGS.items():
        if model.get(key, expected) != expected:
            raise FileFormatError(
                f"{path}: model.{key}={model[key]!r} is not supported: bertkit's WordPiece, like "
                f"transformers' BertTokenizer, uses {expected!r}"
            )
    max_word_chars = model.get(WORD_LIMIT, MAX_WORD_CHARS)
    if type(max_word_chars) is not int or max_word_chars < 0:
        raise FileFormatError(
            f"{path}: model.{WORD_LIMIT}={json.dumps(max_word_chars)} is not supported: expected an "
            "integer >= 0, the most characters a word may have before it becomes one [UNK]"
        )
    missing = [t for t in SPECIAL_TOKENS if t not in model["vocab"]]
    if missing:
        raise FileFormatError(
            f"{path}: model.vocab lacks the special token(s) {', '.join(missing)}; a BERT vocabulary needs "
            f"all of {', '.join(SPECIAL_TOKENS)}"
        )
    vocab = model["vocab"]  # checked: token <-> id one to one
    settings = _normalizer_settings(path, data.get("normalizer"))
    if data.get("pre_tokenizer") != PRE_TOKENIZER:
        raise FileFormatError(
            f"{path}: pre_tokenizer {_describe(data.get('pre_tokenizer'))} is not supported: bertkit splits "
            "words as BertPreTokenizer does"
        )
    _check_post_processor(path, data.get("post_processor"), vocab)
    _check_added_tokens(path, data.get("added_tokens"), vocab)
    decoders = [name for name, spec in DECODERS.items() if data.get("decoder") == spec]
    if not decoders:
        raise FileFormatError(
            f"{path}: decoder {_describe(data.get('decoder'))} is not supported: bertkit decodes as "
            "WordPiece(prefix='##', cleanup=true) or, with decoder null, as tokenizers without a decoder"
        )
    return tokens, settings | {"max_word_chars": max_word_chars, "decoder": decoders[0]}


def _load_json(path: Path) -> dict:
    """The file's top-level object; a key twice in one object is an error (in model.vocab, a token twice)."""

    def unique_keys(pairs: list[tuple[str, object]]) -> dict:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            seen: set[str] = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise FileFormatError(f"{path}: {key!r} occurs twice in one JSON object (a token has one id)")
        return obj

    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique_keys)
    except UnicodeDecodeError as err:
        raise FileFormatError(f"{path}: not valid UTF-8 at byte offset {err.start}") from None
    except json.JSONDecodeError as err:
        raise FileFormatError(f"{path}: not a valid JSON file ({err})") from None
    except OSError as err:
        raise FileFormatError(f"{path}: cannot be read ({err.strerror})") from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: a tokenizer.json is a JSON object, got {type(data).__name__}")
    return data


def _vocabulary(path: Path, vocab: object) -> list[str]:
    """The tokens of model.vocab in id order; the ids must be 0 .. n-1, each used once. The checks are whole-
    list operations: a loop over 30,000 tokens would take longer than parsing the file."""
    if not isinstance(vocab, dict) or not set(map(type, vocab.values())) <= {int}:
        raise FileFormatError(f"{path}: model.vocab must map each token to an integer id")
    by_id = dict(zip(vocab.values(), vocab, strict=True))
    if len(by_id) < len(vocab):
        seen: dict[int, str] = {}
        token, token_id = next((t, i) for t, i in vocab.items() if seen.setdefault(i, t) != t)
        raise FileFormatError(
            f"{path}: model.vocab gives id {token_id} to both {seen[token_id]!r} and {token!r}"
        )
    if by_id and (min(by_id) != 0 or max(by_id) != len(by_id) - 1):
        hole = next(i for i in range(len(by_id)) if i not in by_id)
        raise FileFormatError(
            f"{path}: model.vocab has no token with id {hole}; the ids of {len(by_id)} tokens must be "
            f"0 to {len(by_id) - 1}"
        )
    return list(map(by_id.__getitem__, range(len(by_id))))


def _normalizer_settings(path: Path, normalizer: object) -> dict:
    """lowercase, strip_accents, split_chinese of a BertNormalizer."""
    if not isinstance(normalizer, dict) or normalizer.get("type") != "BertNormalizer":
        raise FileFormatError(
            f"{path}: normalizer {_describe(normalizer)} is not supported: bertkit runs BertNormalizer only"
        )
    found = NORMALIZER_DEFAULTS | normalizer
    for key, allowed in NORMALIZER_VALUES.items():
        if not any(found[key] is value for value in allowed):
            raise FileFormatError(
                f"{path}: normalizer BertNormalizer {key}={json.dumps(found[key])} is not supported: "
                f"expected {' or '.join(map(json.dumps, allowed))}"
            )
    return {
        "lowercase": found["lowercase"],
        "strip_accents": found["strip_accents"],
        "split_chinese": found["handle_chinese_chars"],
    }


def _check_post_processor(path: Path, post: object, vocab: dict[str, int]) -> None:
    """BERT's template with the vocabulary's [CLS] and [SEP], as TemplateProcessing or BertProcessing."""
    if post == {"type": "BertProcessing", "sep": [SEP, vocab[SEP]], "cls": [CLS, vocab[CLS]]}:
        return
    if (
        isinstance(post, dict)
        and post.get("type") == "TemplateProcessing"
        and (post.get("single"), post.get("pair")) == (SINGLE, PAIR)
        and isinstance(post.get("special_tokens"), dict)
        and all(post["special_tokens"].get(t) == _template_special(t, vocab[t]) for t in (CLS, SEP))
    ):
        return
    raise FileFormatError(
        f"{path}: post_processor {_describe(post)} is not supported: bertkit adds BERT's template "
        f"{_render(PAIR)} with {CLS}={vocab[CLS]} and {SEP}={vocab[SEP]}"
    )


def _check_added_tokens(path: Path, added: object, vocab: dict[str, int]) -> None:
    """Exactly the five special tokens, with their vocabulary ids, matched in raw text as bertkit does."""
    expected = [_added_token(t, vocab[t]) for t in SPECIAL_TOKENS]
    if not isinstance(added, list) or not all(isinstance(a, dict) for a in added):
        raise FileFormatError(f"{path}: added_tokens must be a list of objects")
    extra = next((a for a in added if a not in expected), None)
    if extra is not None:
        raise FileFormatError(
            f"{path}: added token {json.dumps(extra, ensure_ascii=False)} is not supported: bertkit splits "
            f"only {' '.join(SPECIAL_TOKENS)} out of text, with their vocabulary ids, special, not "
            "normalized, no lstrip/rstrip/single_word"
        )
    missing = [e["content"] for e in expected if e not in added]
    if missing:
        raise FileFormatError(
            f"{path}: added_tokens lacks {', '.join(missing)}; bertkit splits all of "
            f"{' '.join(SPECIAL_TOKENS)} out of text, so tokenizers would tokenize differently"
        )


def _describe(component: object) -> str:
    """A component as an error names it: its type (a Sequence with the types inside), or null."""
    if not isinstance(component, dict):
        return json.dumps(component)[:80]
    kind = component.get("type")
    parts = component.get("normalizers") or component.get("pretokenizers") or component.get("processors")
    if kind == "Sequence" and isinstance(parts, list):
        return f"Sequence[{', '.join(_describe(p) for p in parts)}]"
    if kind == "TemplateProcessing":
        try:
            ids = {t: s["ids"] for t, s in component["special_tokens"].items()}
            return f"TemplateProcessing (pair {_render(component['pair'])!r}, special token ids {ids})"
        except (AttributeError, KeyError, StopIteration, TypeError, ValueError):
            pass
    return str(kind) if kind is not None else json.dumps(component)[:80]


def _render(template: list[dict]) -> str:
    """tokenizers' template string: "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"."""
    pieces = [next(iter(piece.items())) for piece in template]
    return " ".join(f"{'$' if kind == 'Sequence' else ''}{s['id']}:{s['type_id']}" for kind, s in pieces)
