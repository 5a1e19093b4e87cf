"""The explorer server's dynamic batching: fill-mask throughput with 32 concurrent clients against one client
sending one request at a time, and p50/p99 latency, on the same server and the same inputs.

    python benchmarks/serve.py                       # 640 requests per mode, the `mini` preset
    python benchmarks/serve.py --requests 200 --threads 1

The server is `bertkit serve` in a subprocess (its own interpreter: the load generator here must not share a
GIL with it), on a free 127.0.0.1 port, over a random `mini` BertForMaskedLM (4 layers, hidden 256) with the
Tang poems' characters as vocabulary. Requests are poem lines with one character masked. The modes alternate
round by round (the machine is shared); throughput ratios are the median of the per-round ratios. The
pipeline called in this process one text at a time is timed too: the floor under the server's overhead. Before
timing, the answers are checked against `bertkit.pipeline("fill-mask")` in this process on the same weights.
(Not harness.interleaved: the modes are timed by their requests' latencies, over HTTP, inside one event loop.)
"""

import asyncio
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import harness
import httpx
import torch

from bertkit import BertConfig, BertForMaskedLM, WordPieceTokenizer
from bertkit.constants import SPECIAL_TOKENS
from bertkit.pipelines import pipeline

CLIENTS = 32


def masked_lines(limit: int) -> list[str]:
    """Poem lines (5 or 7 characters and punctuation, two lines a row) with one character masked."""
    lines = [line for line in harness.poem_lines(harness.DATA / "tang300.txt") if len(line) >= 10]
    return [line[: i % 5] + "[MASK]" + line[i % 5 + 1 :] for i, line in enumerate(lines[:limit])]


def save_model(directory: pathlib.Path) -> None:
    text = (harness.DATA / "tang300.txt").read_text(encoding="utf-8")
    tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + sorted(set(text) - set("\n ")), lowercase=True)
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig.preset("mini", vocab_size=len(tokenizer), max_position_embeddings=128))
    model.save_pretrained(directory, tokenizer=tokenizer)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: pathlib.Path, port: int, threads: int | None) -> subprocess.Popen:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, "-m", "bertkit", "serve", "--model", str(model), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP to POST JSON: a load generator must cost
    far less than the server it measures (httpx spends ~4 ms of CPU per request here, as much as the server)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, payload: dict) -> tuple[int, bytes]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        self.writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status_line, *headers = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        length = next(int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length:"))
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def run_mode(port: int, texts: list[str], clients: int) -> dict:
    """`clients` closed-loop clients (each sends its next request when the last is answered) share `texts`."""
    queue = list(reversed(texts))
    latencies: list[float] = []
    connections = [await Connection.open(port) for _ in range(clients)]

    async def client(connection: Connection) -> None:
        while queue:
            text = queue.pop()
            start = time.perf_counter()
            status, body = await connection.post("/api/fill-mask", {"text": text, "top_k": 5})
            latencies.append(time.perf_counter() - start)
            assert status == 200, body

    start = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    seconds = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return summarise(latencies, seconds)


def library_mode(fill, texts: list[str]) -> dict:
    """The pipeline called in this process, one text per call: the floor under the server's own overhead."""
    latencies = []
    for text in texts:
        start = time.perf_counter()
        fill(text, top_k=5)
        latencies.append(time.perf_counter() - start)
    return summarise(latencies, sum(latencies))


def summarise(latencies: list[float], seconds: float) -> dict:
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests_per_s": len(latencies) / seconds, "p50_ms": 1000 * cuts[49], "p99_ms": 1000 * cuts[98]}


async def measure(port: int, texts: list[str], rounds: int, model: pathlib.Path) -> dict:
    fill = pipeline("fill-mask", model=model)
    connection = await Connection.open(port)
    expected = fill(texts[:8], top_k=5)
    for text, want in zip(texts[:8], expected, strict=True):
        got = json.loads((await connection.post("/api/fill-mask", {"text": text, "top_k": 5}))[1])["masks"][0]
        assert [c["token"] for c in got] == [c["token"] for c in want], "the server answers otherwise"
    connection.close()
    await run_mode(port, texts[:CLIENTS], CLIENTS)  # warm-up
    results: dict[str, list[dict]] = {"library": [], "sequential": [], "concurrent": []}
    batches = {"requests": 0, "batches": 0}
    for _ in range(rounds):
        results["library"].append(library_mode(fill, texts))
        results["sequential"].append(await run_mode(port, texts, 1))
        before = httpx.get(f"http://127.0.0.1:{port}/health").json()["queue"]
        results["concurrent"].append(await run_mode(port, texts, CLIENTS))
        after = httpx.get(f"http://127.0.0.1:{port}/health").json()["queue"]
        for key in batches:
            batches[key] += after[key] - before[key]
    ratios = [
        c["requests_per_s"] / s["requests_per_s"]
        for s, c in zip(results["sequential"], results["concurrent"], strict=True)
    ]
    summary = {
        mode: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for mode, runs in results.items()
    }
    summary["throughput_ratio"] = statistics.median(ratios)
    summary["mean_concurrent_batch"] = batches["requests"] / batches["batches"]
    summary["largest_batch"] = after["largest_batch"]
    return summary


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument(
        "--requests", type=int, default=640, help="requests per mode and round (default: 640)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both modes (default: 3)")
    args = parser.parse_args()
    results = harness.Results(args)
    texts = masked_lines(args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        model = pathlib.Path(tmp) / "model"
        save_model(model)
        port = free_port()
        server = start_server(model, port, args.threads)
        try:
            summary = asyncio.run(measure(port, texts, args.rounds, model))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"fill-mask, mini preset, {len(texts)} requests per mode, {args.rounds} rounds, server threads "
        f"{args.threads or 'default'}"
    )
    modes = (
        ("library", "pipeline in-process"),
        ("sequential", "1 client, one at a time"),
        ("concurrent", f"{CLIENTS} clients"),
    )
    for mode, label in modes:
        r = summary[mode]
        print(
            f"  {label:24s} {r['requests_per_s']:7.1f} requests/s   p50 {r['p50_ms']:7.1f} ms   "
            f"p99 {r['p99_ms']:7.1f} ms"
        )
    print(
        f"  throughput ratio {summary['throughput_ratio']:.2f}x; mean batch with {CLIENTS} clients "
        f"{summary['mean_concurrent_batch']:.1f}, "
        f"largest {summary['largest_batch']}"
    )
    print(json.dumps(summary))
    concurrent, sequential = summary["concurrent"], summary["sequential"]
    results.add(
        f"Server: fill-mask throughput, {CLIENTS} clients (dynamic batching)",
        f"{concurrent['requests_per_s']:.0f} requests/s (p99 {concurrent['p99_ms']:.0f} ms)",
        f"{sequential['requests_per_s']:.0f} requests/s (the same server, one request at a time)",
        summary["throughput_ratio"],
        "answers equal the in-process pipeline's",
        note=f"mean batch {summary['mean_concurrent_batch']:.1f}",
    )


if __name__ == "__main__":
    main()
