import pytest

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.train.config import PretrainConfig

REQUIRED = dict(data="d", tokenizer="t", out="o")


def test_toml_fields_and_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        'data = "corpus"\ntokenizer = "tok"\nout = "runs/x"\npreset = "mini"\nlr = 1\n'
        "batch_size = 8\nbf16 = true\n"
    )
    cfg = PretrainConfig.from_toml(path, batch_size=16, optimizer="lamb")
    assert (cfg.data, cfg.preset, cfg.lr, cfg.batch_size, cfg.optimizer, cfg.bf16) == (
        "corpus",
        "mini",
        1,
        16,
        "lamb",
        True,
    )


def test_unknown_toml_key(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('data = "d"\nlearning_rate = 0.1\n')
    with pytest.raises(FileFormatError, match=r"run.toml: unknown key\(s\) learning_rate; valid keys are"):
        PretrainConfig.from_toml(path)


def test_bad_toml(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("lr = \n")
    with pytest.raises(FileFormatError, match="run.toml: not a valid TOML file"):
        PretrainConfig.from_toml(path)
    with pytest.raises(FileFormatError, match="missing.toml: no such config file"):
        PretrainConfig.from_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("lr", "fast", "`lr` must be float or int, got 'fast'"),
        ("lr", 0, "`lr` must be > 0"),
        ("batch_size", 0, "`batch_size` must be a positive integer"),
        ("batch_size", True, "`batch_size` must be int"),
        ("preset", "huge", "`preset` must be one of tiny, mini"),
        ("objective", "gpt", "`objective` must be one of mlm, clm, got 'gpt'"),
        ("optimizer", "sgd", "`optimizer` must be one of adamw, lamb"),
        ("schedule", "step", "`schedule` must be one of linear, cosine"),
        ("mlm_probability", 1.5, r"`mlm_probability` must be a number in \(0, 1\)"),
        ("mlm_probability", 0.0, r"`mlm_probability` must be a number in \(0, 1\)"),
        ("short_seq_prob", 1.5, r"`short_seq_prob` must be a number in \[0, 1\]"),
        ("warmup_steps", 5000, r"`warmup_steps` \(5000\) exceeds `max_steps` \(1000\)"),
        ("dropout", 1.0, r"`dropout` must be a number in \[0, 1\)"),
        ("nsp_pairs", "lines", "`nsp_pairs` must be one of segments, sentences, got 'lines'"),
        ("nsp_weight", -1.0, "`nsp_weight` must be a finite number >= 0, got -1.0"),
        ("initializer_range", 0.0, r"`initializer_range` must be a standard deviation in \(0, 1\), got 0.0"),
    ],
)
def test_invalid_values_name_the_parameter(field, value, message):
    with pytest.raises(InvalidArgumentError, match=message):
        PretrainConfig(**REQUIRED, **{field: value})


def test_short_seq_prob_of_one_is_allowed_as_in_the_data_loader():
    assert PretrainConfig(**REQUIRED, short_seq_prob=1.0).short_seq_prob == 1.0


def test_required_paths():
    with pytest.raises(InvalidArgumentError, match="`data` is required"):
        PretrainConfig(tokenizer="t", out="o")
