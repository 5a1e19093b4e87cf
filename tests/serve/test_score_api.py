"""/api/score and /api/next-token: the text-scoring and next-token pipelines' answers, by the causal LM (the
default when the server has one) or the masked model; each bad request a 4xx JSON error, and the server keeps
serving, also when a bad request was batched with good ones."""

import asyncio

import httpx
import pytest
from starlette.testclient import TestClient

from bertkit import pipeline
from bertkit.serve import ServeConfig, create_app


@pytest.fixture(scope="module")
def client(mlm_dir, poet_dir):
    with TestClient(create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir)))) as c:
        yield c


def assert_same_record(answer: dict, record: dict) -> None:
    """The API's answer carries the pipeline's record: the same tokens and alternatives, the same numbers."""
    assert answer["tokens"] == record["tokens"]
    assert answer["token_log_probs"] == pytest.approx(record["token_log_probs"], abs=1e-6)
    for name in ("log_prob", "mean_log_prob", "perplexity"):
        assert answer[name] == pytest.approx(record[name], rel=1e-6)
    if "alternatives" in record:
        assert [[a["token_str"] for a in alts] for alts in answer["alternatives"]] == [
            [a["token_str"] for a in alts] for alts in record["alternatives"]
        ]
    else:
        assert "alternatives" not in answer


def test_the_scorers_run_the_models_already_loaded(client):
    explorer = client.app.state.explorer
    assert explorer.scorers["lm"].model is explorer.lm and explorer.next_tokens.model is explorer.lm
    assert explorer.scorers["cloze"].model is explorer.model  # the fill-mask head's model: one copy


def test_the_lm_scores_by_default(client, poet_dir):
    assert client.get("/health").json()["model"]["scorers"] == ["lm", "cloze"]
    answer = client.post("/api/score", json={"text": "床前明月光", "top_k": 3}).json()
    assert (answer["model"], answer["causal"], answer["pll"]) == ("lm", True, None)
    record = pipeline("text-scoring", model=poet_dir, top_k_alternatives=3)("床前明月光")
    assert_same_record(answer, record)
    assert answer["tokens"] == ["床", "前", "明", "月", "光", "[SEP]"]
    assert all(len(alts) == 3 for alts in answer["alternatives"])
    # the poet knows its poem: each character of the line is its first choice, after the first two
    assert [alts[0]["token_str"] for alts in answer["alternatives"][2:5]] == ["明", "月", "光"]
    plain = client.post("/api/score", json={"text": "床前明月光", "top_k": 0}).json()
    assert_same_record(plain, pipeline("text-scoring", model=poet_dir)("床前明月光"))
    default = client.post("/api/score", json={"text": "床前明月光"}).json()
    assert all(len(alts) == 5 for alts in default["alternatives"])


@pytest.mark.parametrize("pll", [None, "original"])
def test_the_cloze_model_scores_by_pll(client, mlm_dir, pll):
    body = {"text": "床前明月光 the moons", "model": "cloze", "top_k": 2} | ({"pll": pll} if pll else {})
    answer = client.post("/api/score", json=body).json()
    metric = pll or "within_word_l2r"
    assert (answer["model"], answer["causal"], answer["pll"]) == ("cloze", False, metric)
    record = pipeline("text-scoring", model=mlm_dir, pll=metric, top_k_alternatives=2)("床前明月光 the moons")
    assert_same_record(answer, record)
    assert answer["tokens"][-2:] == ["moon", "##s"]  # a masked model scores no [SEP]
    assert {alts[0]["token_str"] for alts in answer["alternatives"]} == {"月"}  # its head always prefers 月


def test_next_token_answers_what_the_pipeline_answers(client, poet_dir):
    answer = client.post("/api/next-token", json={"text": "床前", "top_k": 3}).json()
    assert answer["text"] == "床前"
    assert answer["candidates"] == pipeline("next-token", model=poet_dir, top_k=3)("床前")
    assert answer["candidates"][0]["token_str"] == "明" and answer["candidates"][0]["score"] > 0.5
    assert len(client.post("/api/next-token", json={"text": "床前明"}).json()["candidates"]) == 5


def test_without_the_lm_the_masked_model_scores(mlm_dir, classifier_dir):
    with TestClient(create_app(ServeConfig(model=str(mlm_dir)))) as alone:
        model = alone.get("/health").json()["model"]
        assert model["scorers"] == ["cloze"] and set(model["unavailable"]) == {
            "classify",
            "recite",
            "next-token",
        }
        assert alone.post("/api/score", json={"text": "床前明月光"}).json()["model"] == "cloze"
        answer = alone.post("/api/score", json={"text": "床前明月光", "model": "lm"})
        assert answer.status_code == 404
        assert answer.json()["error"] == (
            "`model` 'lm' is not loaded: no causal language model; start the server with --lm DIR"
        )
        answer = alone.post("/api/next-token", json={"text": "床前"})
        assert answer.status_code == 404 and "start the server with --lm DIR" in answer.json()["error"]
    with TestClient(create_app(ServeConfig(model=str(classifier_dir)))) as classifier:
        answer = classifier.post("/api/score", json={"text": "the moon"})
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert error.startswith("/api/score is not available: no language model to score with")
        assert "BertForSequenceClassification" in error and "--lm DIR" in error


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("/api/score", b"{not json", 400, "not valid JSON"),
        ("/api/score", {"txt": "床"}, 422, "missing field `text`"),
        ("/api/score", {"text": "  "}, 422, "`text` is empty"),
        (
            "/api/score",
            {"text": "床", "model": "gpt"},
            422,
            "`model` must be one of 'lm', 'cloze', got 'gpt'",
        ),
        ("/api/score", {"text": "床", "model": "cloze", "pll": "l2r"}, 422, "`pll` must be one of"),
        ("/api/score", {"text": "床", "pll": "original"}, 422, "the causal LM scores by the chain rule"),
        ("/api/score", {"text": "床", "top_k": -1}, 422, "`top_k` must be an integer from 0 to 50"),
        ("/api/score", {"text": "龘龘"}, 422, "text 0 is all [UNK]"),
        ("/api/score", {"text": "月" * 70, "model": "cloze"}, 422, "more than the model's 64 positions"),
        ("/api/score", {"text": "x" * 2001}, 413, "the limit is 2000"),
        ("/api/next-token", {"text": "床前龘"}, 422, "would become [UNK]: '龘'"),
        ("/api/next-token", {"text": "床", "top_k": 0}, 422, "`top_k` must be an integer from 1 to 50"),
        ("/api/next-token", {"text": ["床"]}, 422, "`text` must be a string, got list"),
    ],
)
def test_bad_requests_get_a_4xx_and_one_line(client, path, body, status, message):
    sent = client.post(path, content=body) if isinstance(body, bytes) else client.post(path, json=body)
    assert sent.status_code == status
    assert message in sent.json()["error"] and "\n" not in sent.json()["error"]
    assert client.post("/api/score", json={"text": "床前"}).status_code == 200  # still serving
    assert client.post("/api/next-token", json={"text": "床前"}).status_code == 200


def test_a_bad_text_batched_with_good_ones_fails_alone(mlm_dir, poet_dir):
    app = create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir), max_wait_ms=200))
    texts = ["床前明月光", "龘龘", "疑是地上霜", "举头望明月"]

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await asyncio.gather(*(http.post("/api/score", json={"text": t}) for t in texts))

    answers = asyncio.run(main())
    assert [a.status_code for a in answers] == [200, 422, 200, 200]
    assert app.state.batcher.stats.largest_batch == 4  # they were one batch before the bad one was found
    scorer = pipeline("text-scoring", model=poet_dir, top_k_alternatives=5)
    for text, answer in zip(texts, answers, strict=True):
        if answer.status_code == 200:
            assert_same_record(answer.json(), scorer(text))
