"""tokenizer.json, read and written: ids equal to `tokenizers`' for files with every BertNormalizer setting,
word limit and decoder (built by `tokenizers` itself, and decoded as it decodes), for the directories
transformers 5 writes (tokenizer.json + tokenizer_config.json, no vocab.txt) and for ours read back by
`tokenizers` and transformers; the one-line errors for files bertkit cannot run exactly, for disagreeing files
and for corrupt ones; the CLI and a pipeline on a transformers-5 directory."""

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoTokenizer, BertTokenizer

from bertkit import (
    BertConfig,
    BertForMaskedLM,
    FileFormatError,
    InvalidArgumentError,
    WordPieceTokenizer,
    pipeline,
)
from bertkit.cli import main as cli_main
from bertkit.constants import SPECIAL_TOKENS
from bertkit.tokenizer import parallel

# Held out: none of these is in the bundled corpora.
TEXTS = [
    "The quick brown fox didn't jump over the lazy dog's kennel, did it?",
    "Héllo WÖRLD — naïve café résumé, Ångström and ΟΔΟΣ in UPPER case.",
    "東京は日本の首都です。北京是中国的首都，上海也很大！",
    "Mixed 中文 and English: 深度学习 (deep learning) [MASK] here.",
    "tabs\tand\nnew\u2028lines \u00a0nbsp\u200bzero-width\u00adsoft\x00nul\ufffdrepl",
    "emoji 👍🏽 👨‍👩‍👧 flags 🇺🇸 and combining e\u0301 a\u0308 İstanbul ß ẞ ǅ ﬁ",
    "[CLS]inside[SEP]words[PAD] [mask] [UNK [MASK]] " + "x" * 101,
    "",
]
PAIRS = [(TEXTS[0], TEXTS[2]), (TEXTS[1], TEXTS[5]), (TEXTS[6], TEXTS[4]), ("", TEXTS[3])]


def tokenizers_bert(
    vocab: list[str], with_decoder: bool = True, max_input_chars_per_word: int = 100, **normalizer
) -> Tokenizer:
    """A BERT WordPiece tokenizer built with `tokenizers` itself, as its own files describe one; people
    building one often set no decoder (`with_decoder=False`)."""
    ids = {t: i for i, t in enumerate(vocab)}
    tok = Tokenizer(
        models.WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=max_input_chars_per_word)
    )
    tok.normalizer = normalizers.BertNormalizer(**normalizer)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    if with_decoder:
        tok.decoder = decoders.WordPiece()
    return tok


def assert_same_ids(ours: WordPieceTokenizer, theirs, texts=TEXTS, pairs=PAIRS) -> None:
    """ids, type ids and offsets equal `tokenizers`' (a Tokenizer) or transformers' (a BertTokenizer)."""
    for text in texts:
        if isinstance(theirs, Tokenizer):
            ref = theirs.encode(text)
            enc = ours.encode(text)
            assert (enc.ids, enc.type_ids, enc.offsets) == (ref.ids, ref.type_ids, ref.offsets), ascii(text)
        else:
            assert ours.encode(text).ids == theirs(text)["input_ids"], ascii(text)
    for a, b in pairs:
        if isinstance(theirs, Tokenizer):
            assert ours.encode(a, b).ids == theirs.encode(a, b).ids, ascii((a, b))
        else:
            assert ours.encode(a, b).ids == theirs(a, b)["input_ids"], ascii((a, b))


@pytest.fixture(scope="module")
def hf5_dir(model_dir, tmp_path_factory) -> Path:
    """What transformers 5 saves for MiniLM's tokenizer: tokenizer.json + tokenizer_config.json, no vocab.txt."""
    directory = tmp_path_factory.mktemp("hf5")
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["tokenizer.json", "tokenizer_config.json"]
    return directory


def edited(source: Path, directory: Path, name: str, edit) -> Path:
    """A copy of the tokenizer directory `source` in which `edit` changed the JSON file `name`."""
    shutil.copytree(source, directory)
    data = json.loads((directory / name).read_text(encoding="utf-8"))
    edit(data)
    (directory / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return directory


# ----- reading: ids equal tokenizers' and transformers'


@pytest.mark.parametrize(
    "normalizer",
    [
        {"lowercase": True},
        {"lowercase": False},
        {"lowercase": False, "strip_accents": True},
        {"lowercase": True, "strip_accents": False},
        {"lowercase": True, "strip_accents": True},
        {"lowercase": False, "strip_accents": False, "handle_chinese_chars": False},
        {"lowercase": True, "handle_chinese_chars": False},
    ],
    ids=lambda n: "-".join(f"{k}={v}" for k, v in n.items()),
)
def test_each_normalizer_setting_equals_tokenizers(normalizer, cased_vocab_file, adversarial_texts, tmp_path):
    vocab = cased_vocab_file.read_text(encoding="utf-8").splitlines()
    theirs = tokenizers_bert(vocab, **normalizer)
    theirs.save(str(tmp_path / "tokenizer.json"))
    ours = WordPieceTokenizer.from_pretrained(tmp_path)  # the directory: no vocab.txt, no config
    assert ours.lowercase == normalizer["lowercase"]
    assert ours.strip_accents == normalizer.get("strip_accents")
    assert ours.split_chinese == normalizer.get("handle_chinese_chars", True)
    assert ours.ids_to_tokens == vocab
    reloaded = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert_same_ids(ours, reloaded, TEXTS + adversarial_texts[:80], PAIRS)
    assert WordPieceTokenizer.from_pretrained(tmp_path / "tokenizer.json").fingerprint() == ours.fingerprint()


def test_transformers_5_directory(hf5_dir, model_dir, uncased, reference):
    ours = WordPieceTokenizer.from_pretrained(hf5_dir)
    assert ours.fingerprint() == uncased.fingerprint()
    assert ours.model_max_length == 512
    assert_same_ids(ours, AutoTokenizer.from_pretrained(hf5_dir))
    assert_same_ids(ours, reference)
    # MiniLM's own directory holds vocab.txt and tokenizer.json; they agree, and tokenizer.json is read.
    assert WordPieceTokenizer.from_pretrained(model_dir).fingerprint() == uncased.fingerprint()


def test_transformers_5_cased_directory(cased_vocab_file, tmp_path):
    """transformers 5 writing a cased, accent-keeping tokenizer that does not split Chinese."""
    BertTokenizer(
        str(cased_vocab_file), do_lower_case=False, strip_accents=False, tokenize_chinese_chars=False
    ).save_pretrained(tmp_path)
    assert not (tmp_path / "vocab.txt").exists()
    ours = WordPieceTokenizer.from_pretrained(tmp_path)
    assert (ours.lowercase, ours.strip_accents, ours.split_chinese) == (False, False, False)
    assert ours.model_max_length is None  # transformers' 1e30 means no limit
    assert_same_ids(ours, AutoTokenizer.from_pretrained(tmp_path))
    assert_same_ids(ours, Tokenizer.from_file(str(tmp_path / "tokenizer.json")))


def test_bert_processing_post_processor(model_dir, tmp_path):
    """Older files describe the template with BertProcessing; same ids."""
    ref = tokenizers_bert((model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines())
    ref.post_processor = processors.BertProcessing(("[SEP]", 102), ("[CLS]", 101))
    ref.save(str(tmp_path / "tokenizer.json"))
    assert json.loads((tmp_path / "tokenizer.json").read_text())["post_processor"]["type"] == "BertProcessing"
    assert_same_ids(WordPieceTokenizer.from_pretrained(tmp_path), ref)


def test_a_tokenizer_built_without_a_decoder(uncased, uncased_vocab, tmp_path):
    """tokenizers writes `decoder: null`; a decoder changes no id, and without one tokenizers (and
    transformers, which runs the file) joins the tokens with spaces, `##` kept."""
    theirs = tokenizers_bert(uncased_vocab, with_decoder=False)
    theirs.save(str(tmp_path / "tokenizer.json"))
    assert json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))["decoder"] is None
    ours = WordPieceTokenizer.from_pretrained(tmp_path)  # tokenizer.json alone, as transformers takes it
    assert ours.decoder is None
    assert ours.fingerprint() == uncased.fingerprint()
    assert_same_ids(ours, theirs)
    hf = AutoTokenizer.from_pretrained(tmp_path)
    unk, cls, sep, mask = (uncased.vocab[t] for t in ("[UNK]", "[CLS]", "[SEP]", "[MASK]"))
    encoded = [theirs.encode(text).ids for text in TEXTS] + [theirs.encode(a, b).ids for a, b in PAIRS]
    by_hand = [
        [],
        [unk],
        [cls, sep],
        [mask, cls],
        uncased.convert_tokens_to_ids(["##ing", "una", "##ffa", "##ble", "."]),
    ]
    for ids in encoded + by_hand:
        for skip in (True, False):
            expected = theirs.decode(ids, skip_special_tokens=skip)
            assert ours.decode(ids, skip_special_tokens=skip) == expected, (ids, skip)
            assert hf.decode(ids, skip_special_tokens=skip) == expected, (ids, skip)
    # The cases above hold what a decoder would change: pieces, punctuation, special tokens kept and dropped.
    assert "##" in ours.decode(encoded[0], skip_special_tokens=True)
    assert " , " in ours.decode(encoded[0], skip_special_tokens=True)
    assert ours.decode(encoded[6], skip_special_tokens=False).startswith("[CLS] [CLS] inside [SEP] words")
    assert "[MASK]" not in ours.decode(encoded[6], skip_special_tokens=True)


def words_of(n: int) -> list[str]:
    """Raw words whose normalised form (lowercased, accents stripped) has `n` characters: ASCII, accented,
    with combining accents (twice as long raw), and word pieces the vocabulary splits."""
    return ["x" * n, ("ab" * n)[:n], ("Token" * n)[:n], "é" * n, "e\u0301" * n, ("naïve" * n)[:n]]


@pytest.mark.parametrize("limit", [0, 5, 10, 100, 200])
def test_word_limit_equals_tokenizers(limit, uncased, uncased_vocab, tmp_path, monkeypatch):
    """A word over `max_input_chars_per_word` is one [UNK], as tokenizers counts it: on the normalised word."""
    theirs = tokenizers_bert(uncased_vocab, max_input_chars_per_word=limit)
    theirs.save(str(tmp_path / "tokenizer.json"))
    ours = WordPieceTokenizer.from_pretrained(tmp_path / "tokenizer.json")
    assert ours.max_word_chars == limit
    assert (ours.fingerprint() == uncased.fingerprint()) == (limit == 100)
    lengths = [n for n in (limit - 1, limit, limit + 1) if n > 0]
    texts = [" ".join(words_of(n)) + f" [MASK]{'y' * n}, {'東' * n}!" for n in lengths] + TEXTS
    assert_same_ids(ours, theirs, texts, [(texts[0], texts[-2])])
    expected = [theirs.encode(text, add_special_tokens=False).ids for text in texts]
    assert any(uncased.unk_token_id in ids for ids in expected)
    # The batch path, forked workers, with cold caches: a pickled copy carries the settings, not the caches.
    monkeypatch.setattr(parallel, "PARALLEL_MIN_TEXTS", 4)
    assert pickle.loads(pickle.dumps(ours)).tokenize_to_ids(texts * 2, num_workers=2) == expected * 2


# ----- writing: tokenizers and transformers read ours


def test_save_pretrained_writes_what_transformers_writes(uncased, model_dir, tmp_path):
    directory = uncased.save_pretrained(tmp_path / "ours")
    assert sorted(p.name for p in directory.iterdir()) == [
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
    ]
    BertTokenizer(str(model_dir / "vocab.txt")).save_pretrained(tmp_path / "theirs")
    assert (directory / "tokenizer.json").read_bytes() == (
        tmp_path / "theirs" / "tokenizer.json"
    ).read_bytes()
    assert json.loads((directory / "tokenizer_config.json").read_text())["model_max_length"] == 512


def test_ours_read_back_by_tokenizers_and_transformers(cased_vocab_file, adversarial_texts, tmp_path):
    settings = [(True, None, True), (False, None, True), (False, True, False)]
    for lowercase, strip_accents, split_chinese in settings:
        ours = WordPieceTokenizer(cased_vocab_file, lowercase, strip_accents, split_chinese)
        directory = ours.save_pretrained(tmp_path / f"{lowercase}-{strip_accents}-{split_chinese}")
        assert_same_ids(
            ours, Tokenizer.from_file(str(directory / "tokenizer.json")), TEXTS + adversarial_texts[:60]
        )
        (directory / "vocab.txt").unlink()  # transformers 5 then has only tokenizer.json for the vocabulary
        assert_same_ids(ours, AutoTokenizer.from_pretrained(directory))
        assert WordPieceTokenizer.from_pretrained(directory).fingerprint() == ours.fingerprint()


def test_save_pretrained_keeps_word_limit_and_decoder(uncased_vocab, tmp_path):
    """A word limit or decoder BertTokenizer cannot hold is written to tokenizer.json, and the config names
    PreTrainedTokenizerFast, so that transformers runs the file as tokenizers does."""
    ours = WordPieceTokenizer(uncased_vocab, max_word_chars=5, decoder=None)
    directory = ours.save_pretrained(tmp_path / "tok")
    assert json.loads((directory / "tokenizer_config.json").read_text())["tokenizer_class"] == (
        "PreTrainedTokenizerFast"
    )
    theirs = Tokenizer.from_file(str(directory / "tokenizer.json"))
    texts = [*TEXTS, " ".join(words_of(5) + words_of(6))]
    assert_same_ids(ours, theirs, texts)
    assert_same_ids(ours, AutoTokenizer.from_pretrained(directory), texts)
    ids = theirs.encode(texts[0]).ids
    assert (
        ours.decode(ids) == theirs.decode(ids) == AutoTokenizer.from_pretrained(directory).decode(ids, True)
    )
    again = WordPieceTokenizer.from_pretrained(directory)
    assert (again.max_word_chars, again.decoder, again.fingerprint()) == (5, None, ours.fingerprint())


def test_save_refuses_duplicate_tokens_before_writing(tmp_path):
    tok = WordPieceTokenizer([*SPECIAL_TOKENS, "a", "b", "a"])
    with pytest.raises(InvalidArgumentError, match=r"tokens \['a'\] occur twice in the vocabulary"):
        tok.save_pretrained(tmp_path / "tok")
    assert not (tmp_path / "tok").exists()


# ----- files that disagree


def test_vocab_txt_and_tokenizer_json_must_agree(model_dir, tmp_path):
    directory = tmp_path / "tok"
    shutil.copytree(model_dir, directory, ignore=lambda *_: ["model.safetensors"])
    lines = (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
    lines[1000], lines[1001] = lines[1001], lines[1000]
    (directory / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        FileFormatError,
        match="vocab.txt and tokenizer.json disagree: id 1000 is '#' in vocab.txt but '\"' in tokenizer.json",
    ):
        WordPieceTokenizer.from_pretrained(directory)
    (directory / "vocab.txt").write_text("\n".join(lines[:1000]) + "\n", encoding="utf-8")
    with pytest.raises(
        FileFormatError, match="vocab.txt has 1000 tokens, tokenizer.json 30522 \\(the first 1000 agree\\)"
    ):
        WordPieceTokenizer.from_pretrained(directory)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("do_lower_case", False, "do_lower_case=false .* normalizer has lowercase=true"),
        ("strip_accents", False, "strip_accents=false .* normalizer has strip_accents=null"),
        ("tokenize_chinese_chars", False, "tokenize_chinese_chars=false .* has handle_chinese_chars=true"),
    ],
)
def test_config_and_tokenizer_json_must_agree(hf5_dir, tmp_path, key, value, message):
    """transformers rebuilds the normaliser from tokenizer_config.json, tokenizers keeps tokenizer.json's."""
    directory = edited(hf5_dir, tmp_path / "tok", "tokenizer_config.json", lambda c: c.update({key: value}))
    with pytest.raises(FileFormatError, match=f"tokenizer_config.json has {message}"):
        WordPieceTokenizer.from_pretrained(directory)


def test_config_bert_tokenizer_and_a_word_limit_must_agree(hf5_dir, tmp_path):
    """transformers' BertTokenizer builds its WordPiece with the limit 100, tokenizers keeps the file's;
    PreTrainedTokenizerFast runs the file."""
    directory = edited(hf5_dir, tmp_path / "tok", "tokenizer.json", _set("model.max_input_chars_per_word", 7))
    with pytest.raises(
        FileFormatError,
        match=r"tokenizer_class=BertTokenizer \(transformers then uses max_input_chars_per_word=100\) but "
        r"tokenizer.json's model has max_input_chars_per_word=7 \(tokenizers follows it\); set tokenizer_class",
    ):
        WordPieceTokenizer.from_pretrained(directory)
    fast = edited(
        directory,
        tmp_path / "fast",
        "tokenizer_config.json",
        _set("tokenizer_class", "PreTrainedTokenizerFast"),
    )
    ours = WordPieceTokenizer.from_pretrained(fast)
    assert ours.max_word_chars == 7
    texts = [" ".join(words_of(7) + words_of(8))]
    assert_same_ids(ours, AutoTokenizer.from_pretrained(fast), texts, [])
    theirs = Tokenizer.from_file(str(fast / "tokenizer.json"))
    theirs.no_padding()  # MiniLM's file pads to 128 by default
    assert_same_ids(ours, theirs, texts, [])


def test_config_special_tokens_must_be_berts(hf5_dir, tmp_path):
    directory = edited(
        hf5_dir, tmp_path / "a", "tokenizer_config.json", lambda c: c.update(mask_token="<mask>")
    )
    with pytest.raises(FileFormatError, match="tokenizer_config.json: mask_token='<mask>' is not supported"):
        WordPieceTokenizer.from_pretrained(directory)
    extra = {"additional_special_tokens": ["[unused0]"]}
    directory = edited(hf5_dir, tmp_path / "b", "tokenizer_config.json", lambda c: c.update(extra))
    with pytest.raises(FileFormatError, match=r"extra special tokens \['\[unused0\]'\] are not supported"):
        WordPieceTokenizer.from_pretrained(directory)


# ----- what bertkit cannot run exactly, and corrupt files


def _set(dotted: str, value):
    """An edit of a tokenizer.json: set the key at `dotted` (list items by index) to `value`."""

    def edit(data: dict) -> None:
        *parents, last = dotted.split(".")
        for key in parents:
            data = data[int(key)] if isinstance(data, list) else data[key]
        data[int(last) if isinstance(data, list) else last] = value

    return edit


def _rename_mask(data: dict) -> None:
    vocab = data["model"]["vocab"]
    vocab["[MASK2]"] = vocab.pop("[MASK]")


def refused(directory: Path, message: str) -> None:
    """from_pretrained fails with one line naming the tokenizer.json and matching `message`."""
    with pytest.raises(FileFormatError, match=message) as err:
        WordPieceTokenizer.from_pretrained(directory)
    assert str(err.value).startswith(f"{directory / 'tokenizer.json'}: ") and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _set("model", {"type": "BPE", "vocab": {}, "merges": []}),
            "model BPE is not supported: bertkit runs WordPiece",
        ),
        (_set("model.type", "Unigram"), "model Unigram is not supported"),
        (_set("model.type", "WordLevel"), "model WordLevel is not supported"),
        (
            _set("normalizer", {"type": "NFKC"}),
            "normalizer NFKC is not supported: bertkit runs BertNormalizer only",
        ),
        (
            _set("normalizer", {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}]}),
            r"normalizer Sequence\[NFD, Lowercase\] is not supported",
        ),
        (_set("normalizer", None), "normalizer null is not supported"),
        (
            _set("normalizer.clean_text", False),
            "BertNormalizer clean_text=false is not supported: expected true",
        ),
        (_set("normalizer.lowercase", "yes"), 'BertNormalizer lowercase="yes" is not supported'),
        (_set("pre_tokenizer", {"type": "Whitespace"}), "pre_tokenizer Whitespace is not supported"),
        (
            _set("model.continuing_subword_prefix", "@@"),
            "model.continuing_subword_prefix='@@' is not supported",
        ),
        (
            _set("model.max_input_chars_per_word", -1),
            "model.max_input_chars_per_word=-1 is not supported: expected an integer >= 0",
        ),
        (_set("model.max_input_chars_per_word", "200"), 'model.max_input_chars_per_word="200" is not'),
        (_set("model.unk_token", "[unused0]"), r"model.unk_token='\[unused0\]' is not supported"),
        (_set("post_processor", None), "post_processor null is not supported: bertkit adds BERT's template"),
        (_set("post_processor.pair", []), r"post_processor TemplateProcessing \(pair '', special token ids"),
        (
            _set("post_processor.special_tokens.[CLS].ids", [7]),
            r"\{'\[CLS\]': \[7\], '\[SEP\]': \[102\]\}\) is not supported.* \[CLS\]=101 and \[SEP\]=102",
        ),
        (
            _set("post_processor", {"type": "RobertaProcessing"}),
            "post_processor RobertaProcessing is not supported",
        ),
        (
            _set("added_tokens.4.lstrip", True),
            r'added token \{"id": 103, "content": "\[MASK\]".*"lstrip": true',
        ),
        (
            _set("added_tokens.4", {"id": 1, "content": "[unused0]"}),
            r'added token \{"id": 1, "content": "\[unused0\]"\}',
        ),
        (_set("added_tokens", []), r"added_tokens lacks \[PAD\], \[UNK\], \[CLS\], \[SEP\], \[MASK\]"),
        (_set("decoder", {"type": "BPEDecoder"}), "decoder BPEDecoder is not supported"),
        (_set("decoder.cleanup", False), "decoder WordPiece is not supported: bertkit decodes as WordPiece"),
        (_rename_mask, "model.vocab lacks the special token\\(s\\) \\[MASK\\]"),
        (_set("model.vocab.[MASK]", 0), "model.vocab gives id 0 to both '\\[PAD\\]' and '\\[MASK\\]'"),
        (
            _set("model.vocab.[MASK]", 40000),
            "model.vocab has no token with id 103; the ids of 30522 tokens must be 0 to 30521",
        ),
        (_set("model.vocab.[MASK]", "103"), "model.vocab must map each token to an integer id"),
        (_set("model.vocab", [["[PAD]", 0]]), "model.vocab must map each token to an integer id"),
    ],
)
def test_what_bertkit_cannot_run_is_refused(hf5_dir, tmp_path, edit, message):
    refused(edited(hf5_dir, tmp_path / "tok", "tokenizer.json", edit), message)


def test_corrupt_files(hf5_dir, tmp_path):
    directory = shutil.copytree(hf5_dir, tmp_path / "tok")
    path = directory / "tokenizer.json"
    good = path.read_text(encoding="utf-8")
    path.write_text(good[:-200], encoding="utf-8")
    refused(directory, "not a valid JSON file")
    path.write_text(good.replace('"[unused1]": 2', '"[unused0]": 2'), encoding="utf-8")
    refused(directory, "'\\[unused0\\]' occurs twice in one JSON object")
    path.write_bytes(b'{"model": "\xff"}')
    refused(directory, "not valid UTF-8 at byte offset 11")
    path.write_text("[]", encoding="utf-8")
    refused(directory, "a tokenizer.json is a JSON object, got list")


def test_a_directory_without_vocabulary(tmp_path):
    with pytest.raises(
        FileFormatError, match="no such vocabulary file: the directory has neither vocab.txt nor"
    ):
        WordPieceTokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text('{"model_max_length": "long"}', encoding="utf-8")
    (tmp_path / "vocab.txt").write_text("\n".join(SPECIAL_TOKENS), encoding="utf-8")
    with pytest.raises(
        FileFormatError, match="tokenizer_config.json: model_max_length='long', expected a positive"
    ):
        WordPieceTokenizer.from_pretrained(tmp_path)


# ----- everything that loads a tokenizer takes a transformers-5 directory


def test_cli_tokenize_a_transformers_5_directory(hf5_dir, capsys):
    assert cli_main(["tokenize", "--vocab", str(hf5_dir), "Hello, naïve [MASK]! 東京"]) == 0
    assert capsys.readouterr().out == "[CLS] hello , naive [MASK] ! 東 京 [SEP]\n"


def test_fill_mask_pipeline_on_a_transformers_5_directory(uncased, model_dir, tmp_path):
    """A masked LM whose tokenizer transformers 5 saved (no vocab.txt) predicts what the same weights do beside
    MiniLM's vocab.txt: the pipeline reads the tokenizer.json to the same ids, [MASK] included."""
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig.preset("tiny", vocab_size=len(uncased)))
    with_vocab_txt = tmp_path / "vocab_txt"
    model.save_pretrained(with_vocab_txt, tokenizer=uncased)
    hf5 = tmp_path / "hf5"
    hf5.mkdir()
    for name in ("config.json", "model.safetensors"):
        (hf5 / name).symlink_to(with_vocab_txt / name)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(hf5)
    assert not (hf5 / "vocab.txt").exists()
    texts = ["The capital of France is [MASK].", "東京は[MASK]本の首都です。"]
    assert pipeline("fill-mask", model=hf5)(texts) == pipeline("fill-mask", model=with_vocab_txt)(texts)
