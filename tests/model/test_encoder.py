import torch

from bertkit import BertConfig, BertForPreTraining, BertModel


def pretraining_inputs(cfg, B=3, T=10):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, cfg.vocab_size, (B, T), generator=g)
    labels = torch.full_like(ids, -100)
    labels[:, 2::3] = ids[:, 2::3]
    return ids, labels, torch.tensor([0, 1, 0])


def test_gradient_checkpointing_gives_the_same_gradients():
    cfg = BertConfig.preset("tiny", vocab_size=80, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    model = BertForPreTraining(cfg).train()
    ids, labels, nsp = pretraining_inputs(cfg)

    def grads():
        model.zero_grad()
        model(ids, labels=labels, next_sentence_label=nsp).loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    plain = grads()
    model.set_gradient_checkpointing(True)
    assert model.bert.encoder.gradient_checkpointing and model.config.gradient_checkpointing
    checkpointed = grads()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain, checkpointed, strict=True))


def test_gradient_checkpointing_from_config():
    model = BertModel(BertConfig.preset("tiny", vocab_size=80, gradient_checkpointing=True))
    assert model.encoder.gradient_checkpointing


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = BertModel(BertConfig.preset("tiny", vocab_size=80))
    ids = torch.randint(1, 80, (2, 8))
    model.eval()
    assert torch.equal(model(ids).last_hidden_state, model(ids).last_hidden_state)
    model.train()
    assert not torch.equal(model(ids).last_hidden_state, model(ids).last_hidden_state)


def test_bf16_autocast_training_step():
    cfg = BertConfig.preset("tiny", vocab_size=80)
    torch.manual_seed(0)
    model = BertForPreTraining(cfg).train()
    ids, labels, nsp = pretraining_inputs(cfg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(ids, attention_mask=torch.ones_like(ids), labels=labels, next_sentence_label=nsp)
    assert out.mlm_logits.dtype == torch.bfloat16
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.bert.embeddings.word_embeddings.weight.grad.dtype == torch.float32
    with torch.no_grad():
        fp32 = model.eval()(ids, labels=labels, next_sentence_label=nsp).loss
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(ids, labels=labels, next_sentence_label=nsp).loss
    assert abs(fp32.item() - bf16.item()) < 0.05 * fp32.item()


def test_torch_compile_captures_the_model():
    """Dynamo + AOT autograd capture (the part of torch.compile our code controls), without C++ codegen so it
    runs in seconds; inductor itself was checked by hand (docs/model.md)."""
    cfg = BertConfig.preset("tiny", vocab_size=80, max_position_embeddings=16)
    torch.manual_seed(0)
    model = BertModel(cfg).eval()
    ids = torch.randint(1, 80, (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)  # fullgraph: no graph breaks
    with torch.no_grad():
        assert (compiled(ids, mask).last_hidden_state - model(ids, mask).last_hidden_state).abs().max() < 1e-6

    pretraining = BertForPreTraining(cfg).train()
    labels = torch.full_like(ids, -100)
    labels[:, ::3] = ids[:, ::3]
    loss = torch.compile(pretraining, backend="aot_eager")(
        ids, mask, labels=labels, next_sentence_label=torch.tensor([0, 1])
    ).loss
    loss.backward()
    assert torch.isfinite(loss) and pretraining.bert.embeddings.word_embeddings.weight.grad is not None
