"""Finding and reading weight files: every layout Hugging Face writes, and one clear error for each broken one."""

import datetime

import pytest
import torch

import bertkit
from bertkit import CheckpointError, FileFormatError
from bertkit.checkpoint.files import WeightReader, find_weight_files


@pytest.mark.parametrize("layout", ["safetensors", "sharded", "bin"])
def test_reader_lists_every_tensor_with_shape_and_dtype(layout, tmp_path, configs, hf_model, save_hf):
    theirs = hf_model("BertModel", configs["tiny"])
    save_hf(theirs, tmp_path, layout)
    state = theirs.state_dict()
    with WeightReader(tmp_path) as reader:
        assert set(reader.keys()) == set(state)
        for name, tensor in state.items():
            assert reader.shape(name) == tuple(tensor.shape) and reader.dtype(name) == tensor.dtype
            assert torch.equal(reader.get(name), tensor)
            assert reader.file_of(name) in reader.files
    assert (len(find_weight_files(tmp_path)) > 1) == (layout == "sharded")


def test_directory_without_weights_lists_what_was_looked_for(tmp_path, configs):
    configs["tiny"].to_json_file(tmp_path / "config.json")
    (tmp_path / "tf_model.h5").write_bytes(b"\x89HDF")
    with pytest.raises(
        CheckpointError,
        match=r"no model weights; looked for model\.safetensors, "
        r"model\.safetensors\.index\.json, pytorch_model\.bin.*tf_model\.h5 \(TensorFlow 2\)",
    ):
        bertkit.BertModel.from_pretrained(tmp_path)


def test_truncated_and_corrupt_safetensors(tmp_path, configs, hf_model):
    hf_model("BertModel", configs["tiny"]).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    for broken in (data[: len(data) - 100], data[:50], b"not a safetensors file at all"):
        weights.write_bytes(broken)
        with pytest.raises(FileFormatError, match=r"model\.safetensors: not a readable safetensors file"):
            bertkit.BertModel.from_pretrained(tmp_path)


def test_missing_shard(tmp_path, configs, hf_model):
    hf_model("BertModel", configs["tiny"]).save_pretrained(tmp_path, max_shard_size="20KB")
    shard = sorted(tmp_path.glob("model-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(FileFormatError, match=f"lists shard\\(s\\) that are not there: {shard.name}"):
        bertkit.BertModel.from_pretrained(tmp_path)


def test_bin_with_python_objects_is_refused_not_unpickled(tmp_path, configs, hf_model):
    hf_model("BertModel", configs["tiny"]).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save({"when": datetime.date(2020, 1, 1)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pytorch_model\.bin: holds Python objects other than tensors"):
        bertkit.BertModel.from_pretrained(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(FileFormatError, match=r"pytorch_model\.bin: not a readable PyTorch weights file"):
        bertkit.BertModel.from_pretrained(tmp_path)
