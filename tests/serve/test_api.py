"""The JSON API through an HTTP client: every endpoint's answer, the 4xx cases, 429 past the queue limit, and 64
concurrent clients all answered in merged batches."""

import asyncio
import threading

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

from bertkit import InvalidArgumentError
from bertkit.pipelines import load_causal_lm, load_for_inference, pipeline, recite, similarity
from bertkit.serve import Limits, ServeConfig, create_app

POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"


@pytest.fixture(scope="module")
def client(mlm_dir, poet_dir):
    with TestClient(create_app(ServeConfig(model=str(mlm_dir), lm=str(poet_dir)))) as c:
        yield c


def test_health_describes_the_model(client):
    answer = client.get("/health").json()
    assert answer["status"] == "ok"
    model = answer["model"]
    assert model["architecture"] == "BertForMaskedLM" and (model["layers"], model["heads"]) == (2, 2)
    assert list(model["unavailable"]) == ["classify"]
    assert answer["queue"]["max_queue"] == 256


def test_tokenize(client, mlm_dir):
    answer = client.post("/api/tokenize", json={"text": "床前明[MASK]光 the moons"}).json()
    assert answer["tokens"] == ["[CLS]", "床", "前", "明", "[MASK]", "光", "the", "moon", "##s", "[SEP]"]
    _, tokenizer = load_for_inference(mlm_dir)
    assert answer["ids"] == tokenizer.encode("床前明[MASK]光 the moons").ids
    assert answer["offsets"][1] == [0, 1]


def test_fill_mask_answers_what_the_pipeline_answers(client, mlm_dir):
    answer = client.post("/api/fill-mask", json={"text": "[MASK]前明[MASK]光", "top_k": 3}).json()
    assert answer["masks"] == pipeline("fill-mask", model=mlm_dir)("[MASK]前明[MASK]光", top_k=3)
    assert answer["masks"][0][0]["token_str"] == "月" and len(answer["masks"][1]) == 3
    targets = ["月", "光"]
    answer = client.post("/api/fill-mask", json={"text": "床前明[MASK]光", "targets": targets}).json()
    assert answer["masks"] == [pipeline("fill-mask", model=mlm_dir)("床前明[MASK]光", targets=targets)]
    assert (
        "`targets`" in client.post("/api/fill-mask", json={"text": "[MASK]", "targets": []}).json()["error"]
    )
    one = client.post("/api/fill-mask", json={"text": "床前明[MASK]光"}).json()["masks"]
    assert len(one) == 1 and len(one[0]) == 5  # a single [MASK] is a list of one list too
    assert one[0][0]["sequence"] == "床 前 明 月 光"


def test_embed_and_similarity_answer_what_the_pipeline_answers(client, mlm_dir):
    texts = ["床前明月光", "the moon"]
    vectors = client.post("/api/embed", json={"texts": texts}).json()["embeddings"]
    embedder = pipeline("sentence-embedding", model=mlm_dir)
    assert len(vectors) == 2 and len(vectors[0]) == 128
    np.testing.assert_allclose(vectors, embedder(texts), atol=1e-6)
    words = ["moon", "light", "frost"]
    answer = client.post("/api/similarity", json={"words": words + ["moons", "山"]}).json()
    assert answer["pieces"] == [["moon"], ["light"], ["frost"], ["moon", "##s"], ["[UNK]"]]
    matrix = client.post("/api/similarity", json={"words": words}).json()["matrix"]
    np.testing.assert_allclose(matrix, similarity(embedder, words), atol=1e-6)
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-5)


def test_attention_one_head_or_all(client):
    everything = client.post("/api/attention", json={"text": "床前明月光"}).json()
    assert everything["tokens"] == ["[CLS]", "床", "前", "明", "月", "光", "[SEP]"]
    assert (everything["layers"], everything["heads"]) == (2, 2)
    weights = everything["weights"]
    assert len(weights) == 2 and len(weights[0]) == 2 and len(weights[0][0]) == 7
    assert all(sum(row) == pytest.approx(1.0, abs=1e-3) for row in weights[1][1])
    one = client.post("/api/attention", json={"text": "床前明月光", "layer": 1, "head": 0}).json()
    assert one["weights"] == weights[1][0] and one["weights"] != weights[1][1]
    layer = client.post("/api/attention", json={"text": "床前明月光", "layer": 1}).json()["weights"]
    assert layer == weights[1]
    head = client.post("/api/attention", json={"text": "床前明月光", "head": 1}).json()["weights"]
    assert head == [weights[0][1], weights[1][1]]


def test_recite_answers_what_the_library_answers(client, poet_dir):
    answer = client.post("/api/recite", json={"prompt": "床前"}).json()
    assert answer == {"prompt": "床前", "text": POEM}
    options = {"do_sample": True, "top_k": 2, "seed": 3, "max_new_tokens": 5}
    sampled = client.post("/api/recite", json={"prompt": "举头", **options}).json()["text"]
    assert sampled == recite(*load_causal_lm(poet_dir), "举头", **options)


def test_classify_when_the_model_has_that_head(classifier_dir, mlm_dir, client):
    with TestClient(create_app(ServeConfig(model=str(classifier_dir)))) as other:
        unavailable = set(other.get("/health").json()["model"]["unavailable"])
        assert unavailable == {"fill-mask", "recite", "next-token", "score"}
        labels = other.post("/api/classify", json={"text": "the moon"}).json()["labels"]
        assert [x["label"] for x in labels] == ["positive", "negative"] and labels[0]["score"] > 0.99
        assert labels == pipeline("text-classification", model=classifier_dir, top_k=None)("the moon")
        answer = other.post("/api/fill-mask", json={"text": "[MASK]"})
        assert answer.status_code == 404
        assert "BertForSequenceClassification" in answer.json()["error"]
        assert "no head for 'fill-mask'" in answer.json()["error"]
        assert (
            "start the server with --lm" in other.post("/api/recite", json={"prompt": "床"}).json()["error"]
        )
    answer = client.post("/api/classify", json={"text": "the moon"})
    assert answer.status_code == 404
    assert f"{mlm_dir}: `model` is a BertForMaskedLM" in answer.json()["error"]
    assert "no head for 'text-classification'" in answer.json()["error"]


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("/api/fill-mask", b"{not json", 400, "not valid JSON"),
        ("/api/fill-mask", b"[1, 2]", 400, "must be a JSON object, got list"),
        ("/api/fill-mask", b"\xff\xfe", 400, "not valid JSON"),
        ("/api/fill-mask", {"txt": "a"}, 422, "missing field `text`"),
        ("/api/fill-mask", {"text": 3}, 422, "`text` must be a string, got int"),
        ("/api/fill-mask", {"text": "   "}, 422, "`text` is empty"),
        ("/api/fill-mask", {"text": "x" * 2001}, 413, "`text` has 2001 characters; the limit is 2000"),
        ("/api/fill-mask", {"text": "床前明月光"}, 422, "no [MASK] token to fill"),
        ("/api/fill-mask", {"text": "[MASK]", "top_k": 0}, 422, "`top_k` must be an integer from 1 to 50"),
        ("/api/fill-mask", {"text": "[MASK]", "top_k": True}, 422, "`top_k` must be an integer"),
        ("/api/embed", {"texts": []}, 422, "`texts` must be a non-empty list of strings"),
        ("/api/embed", {"texts": ["a", None]}, 422, "`texts`[1] must be a string, got NoneType"),
        ("/api/similarity", {"words": ["a"] * 65}, 413, "`words` has 65 items; the limit is 64"),
        ("/api/attention", {"text": "a", "head": 2}, 422, "`head` must be an integer from 0 to 1, got 2"),
        ("/api/attention", {"text": "月" * 70}, 422, "the model has 64 positions"),
        ("/api/recite", {"prompt": "床前龘"}, 422, "would become [UNK]: '龘'"),
        ("/api/recite", {"prompt": "床前", "top_k": 2}, 422, "add `do_sample`"),
        ("/api/recite", {"prompt": "床前", "max_new_tokens": 401}, 422, "from 1 to 400"),
        ("/api/recite", {"prompt": "床前", "do_sample": "yes"}, 422, "`do_sample` must be true or false"),
        ("/api/nothing", {}, 404, "POST /api/nothing: Not Found"),
    ],
)
def test_bad_requests_get_a_4xx_and_one_line(client, path, body, status, message):
    sent = client.post(path, content=body) if isinstance(body, bytes) else client.post(path, json=body)
    assert sent.status_code == status
    assert message in sent.json()["error"]
    assert client.post("/api/fill-mask", json={"text": "[MASK]"}).status_code == 200  # still serving


def test_wrong_method_and_oversized_body(client):
    assert client.get("/api/fill-mask").status_code == 405
    assert "Method Not Allowed" in client.get("/api/fill-mask").json()["error"]
    huge = b'{"text": "' + b"x" * 70_000 + b'"}'
    answer = client.post("/api/tokenize", content=huge)
    assert answer.status_code == 413 and "larger than the limit of 65536 bytes" in answer.json()["error"]


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "bertkit explorer" in page.text
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"]
    # nothing on the page comes from another machine
    assert "http" not in page.text.replace('charset="utf-8"', "")


def test_a_full_queue_answers_429_and_recovers(mlm_dir):
    app = create_app(ServeConfig(model=str(mlm_dir), max_batch_size=1, max_wait_ms=0, max_queue=2))
    gate = threading.Event()

    def blocked(items):
        gate.wait(timeout=10)
        return items

    async def main():
        batcher = app.state.batcher
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                hold = asyncio.ensure_future(batcher.submit(blocked, 0))  # occupies the model
                while batcher.stats.batches == 0:
                    await asyncio.sleep(0.001)
                sent = [
                    asyncio.ensure_future(http.post("/api/fill-mask", json={"text": "[MASK]"}))
                    for _ in range(5)
                ]
                while sum(task.done() for task in sent) < 3:  # the 3 past the limit are answered at once
                    await asyncio.sleep(0.005)
                health = (await http.get("/health")).json()["queue"]  # the event loop is free meanwhile
                gate.set()
                answers = await asyncio.gather(*sent)
                await hold
                after = await http.post("/api/fill-mask", json={"text": "[MASK]"})
        return answers, after, health

    answers, after, health = asyncio.run(main())
    assert health["waiting"] == 2 and health["rejected"] == 3
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 3 and sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429]
    assert "2 requests are already waiting" in refused[0].json()["error"]
    assert refused[0].headers["retry-after"] == "1"
    assert after.status_code == 200


def test_64_concurrent_clients_are_all_answered_in_merged_batches(mlm_dir, run_server):
    app = create_app(ServeConfig(model=str(mlm_dir), max_wait_ms=50))
    texts = [f"{'床前明月光'[: 1 + i % 5]}[MASK]" for i in range(64)]

    async def main(url):
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            return await asyncio.gather(*(http.post("/api/fill-mask", json={"text": t}) for t in texts))

    with run_server(app) as url:
        answers = asyncio.run(main(url))
        queue = httpx.get(f"{url}/health").json()["queue"]
    assert [a.status_code for a in answers] == [200] * 64
    assert all(a.json()["masks"][0][0]["token_str"] == "月" for a in answers)
    assert queue["requests"] == 64 and queue["rejected"] == 0
    assert queue["batches"] < 64 and queue["largest_batch"] > 1  # the batcher really merged requests


def test_limits_are_configurable(mlm_dir):
    config = ServeConfig(model=str(mlm_dir), limits=Limits(max_text_chars=10))
    with TestClient(create_app(config)) as small:
        answer = small.post("/api/tokenize", json={"text": "x" * 11})
        assert answer.status_code == 413 and "the limit is 10" in answer.json()["error"]


def test_bad_limits_are_refused():
    with pytest.raises(InvalidArgumentError, match="`max_text_chars` must be a positive integer, got 0"):
        Limits(max_text_chars=0)
