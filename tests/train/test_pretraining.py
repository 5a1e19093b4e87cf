import pytest
import torch
import torch.nn.functional as F

from bertkit.config import BertConfig
from bertkit.model import BertForPreTraining, BertLMHeadModel
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train import config
from bertkit.train.loop import pretrain
from bertkit.train.pretraining import (
    CLM_COUNTS,
    MLM_COUNTS,
    OBJECTIVES,
    clm_metrics,
    measure_clm,
    measure_mlm,
    mlm_metrics,
    model_config,
    weighted_loss,
)


def test_every_objective_a_config_accepts_exists():
    assert tuple(OBJECTIVES) == config.OBJECTIVES


@torch.no_grad()
def test_clm_figures_are_per_predicted_token_however_batches_divide_them():
    torch.manual_seed(0)
    model = BertLMHeadModel(BertConfig.preset("tiny", vocab_size=40, causal=True)).eval()
    ids = torch.randint(5, 40, (3, 10))
    mask = (torch.arange(10) < torch.tensor([[10], [3], [6]])).long()
    labels = ids.masked_fill(mask == 0, -100)

    def measure(rows: slice) -> torch.Tensor:
        batch = {"input_ids": ids[rows], "attention_mask": mask[rows], "labels": labels[rows]}
        return measure_clm(model(**batch), batch)

    whole = clm_metrics(dict(zip(CLM_COUNTS, measure(slice(None)).tolist(), strict=True)))
    split = clm_metrics(
        dict(zip(CLM_COUNTS, (measure(slice(0, 1)) + measure(slice(1, 3))).tolist(), strict=True))
    )
    assert split == pytest.approx(whole)
    logits = model(ids, mask).logits
    per_token = F.cross_entropy(logits[:, :-1].reshape(-1, 40), labels[:, 1:].reshape(-1), reduction="none")
    predicted = labels[:, 1:].reshape(-1) != -100
    assert whole["loss"] == pytest.approx(per_token[predicted].mean().item(), rel=1e-6)
    assert whole["perplexity"] == pytest.approx(torch.exp(per_token[predicted].mean()).item(), rel=1e-6)
    correct = logits[:, :-1].argmax(-1).reshape(-1)[predicted] == labels[:, 1:].reshape(-1)[predicted]
    assert whole["next_token_acc"] == pytest.approx(correct.double().mean().item())


@torch.no_grad()
def test_mlm_figures_of_one_batch_are_the_models_loss_and_accuracies():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("tiny", vocab_size=40)).eval()
    ids = torch.randint(5, 40, (4, 12))
    labels = torch.full_like(ids, -100)
    labels[:, [2, 5]] = ids[:, [2, 5]]
    batch = {"input_ids": ids, "labels": labels, "next_sentence_label": torch.tensor([0, 1, 1, 0])}
    out = model(**batch)
    figures = mlm_metrics(dict(zip(MLM_COUNTS, measure_mlm(out, batch).tolist(), strict=True)))
    assert figures["loss"] == pytest.approx(out.loss.item(), rel=1e-6)
    assert figures["mlm_acc"] == pytest.approx(
        (out.mlm_logits.argmax(-1) == ids[:, [2, 5]].reshape(-1)).double().mean().item()
    )
    assert figures["nsp_acc"] == pytest.approx(
        (out.nsp_logits.argmax(-1) == batch["next_sentence_label"]).double().mean().item()
    )


def test_nothing_counted_gives_no_figures():
    assert clm_metrics(dict.fromkeys(CLM_COUNTS, 0.0)) == {
        "loss": None,
        "next_token_acc": None,
        "perplexity": None,
    }
    assert mlm_metrics(dict.fromkeys(MLM_COUNTS, 0.0)) == {"loss": None, "mlm_acc": None, "nsp_acc": None}


def test_nsp_weight_scales_the_next_sentence_loss(small_run, tmp_path):
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("tiny", vocab_size=40))
    ids = torch.randint(5, 40, (4, 12))
    labels = torch.full_like(ids, -100)
    labels[:, 3] = ids[:, 3]
    out = model(ids, labels=labels, next_sentence_label=torch.tensor([0, 1, 1, 0]))
    assert weighted_loss(out, 3.0).item() == pytest.approx((out.mlm_loss + 3 * out.nsp_loss).item())
    # A run weighted 0: the next-sentence head and the pooler get no gradient and end as they began; the
    # rest learns.
    cfg = small_run(tmp_path / "run", nsp_weight=0.0, weight_decay=0.0, eval_every=0)
    trained = BertForPreTraining.from_pretrained(pretrain(cfg))
    torch.manual_seed(cfg.seed)
    initial = BertForPreTraining(model_config(cfg, WordPieceTokenizer.from_pretrained(cfg.tokenizer)))
    for name in ("cls.seq_relationship.weight", "bert.pooler.dense.weight"):
        assert torch.equal(trained.get_parameter(name), initial.get_parameter(name))
    name = "bert.embeddings.word_embeddings.weight"
    assert not torch.equal(trained.get_parameter(name), initial.get_parameter(name))


def test_initializer_range_sets_the_std_of_the_models_initial_weights(small_run, tmp_path):
    tokenizer = WordPieceTokenizer.from_pretrained(small_run(tmp_path / "a").tokenizer)
    for std in (None, 0.04):
        cfg = small_run(tmp_path / "b", initializer_range=std)
        torch.manual_seed(0)
        weights = (
            BertForPreTraining(model_config(cfg, tokenizer)).bert.encoder.layer[0].intermediate.dense.weight
        )
        assert weights.std().item() == pytest.approx(std or 0.02, rel=0.05)
