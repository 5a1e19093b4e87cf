"""Decoding as transformers 5's BertTokenizer decodes."""

from tokenizers import decoders
from transformers import BertTokenizer

from bertkit.tokenizer.decode import decode_tokens


def test_decode_tokens_equals_tokenizers_wordpiece_decoder(uncased, corpus_lines):
    decoder = decoders.WordPiece()
    cases = [
        ["un", "##want", "##ed", "it", "'", "s", "fine", ",", "isn", "'", "t", "it", "?"],
        ["hello", ".", "do", "not", "go", "!"],
        ["a", "n't", "'s", "'ve", "'re", "'m"],
        ["##ing", "x"],  # a leading continuation has nothing to glue to
        [],
    ] + [uncased.tokenize(text) for text in corpus_lines[::7]]
    for tokens in cases:
        assert decode_tokens(tokens) == decoder.decode(tokens), tokens


def test_decode_equals_transformers(uncased, model_dir, corpus_lines, adversarial_texts):
    hf = BertTokenizer.from_pretrained(model_dir)
    for text in (
        corpus_lines[::9] + adversarial_texts[:300] + ["I don't think it's 3.5, isn't it?!", "un ##want"]
    ):
        ids = uncased.encode(text).ids
        for skip in (True, False):
            assert uncased.decode(ids, skip_special_tokens=skip) == hf.decode(
                ids, skip_special_tokens=skip
            ), ascii(text)


def test_decode_accepts_tensors(uncased):
    batch = uncased(["hello world"], return_tensors="pt")
    assert uncased.decode(batch["input_ids"][0]) == "hello world"


def test_decode_cjk_joins_chinese_without_spaces():
    from bertkit.tokenizer.decode import decode_cjk

    assert decode_cjk(list("床前明月光，疑是地上霜。")) == "床前明月光，疑是地上霜。"
    assert decode_cjk(["「", "春", "眠", "」", "不", "觉", "晓", "！"]) == "「春眠」不觉晓！"
    # Other text keeps decode's rules: spaces between words, ## pieces glued, no space before ASCII punctuation.
    assert (
        decode_cjk(["我", "用", "bert", "##kit", "和", "py", "##torch", "2", "!"])
        == "我用bertkit和pytorch 2!"
    )
    english = ["hello", "world", ",", "it", "'", "s", "fine", "!"]
    assert decode_cjk(english) == decode_tokens(english) == "hello world, it ' s fine!"
    assert decode_cjk([]) == ""
