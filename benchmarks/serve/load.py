"""Load test of ``cogarch serve`` on loopback: N concurrent clients for T seconds, scripted LLM.

    .venv/bin/python benchmarks/serve/load.py --clients 50 --duration 60 --runs 3

Each run starts a fresh server process (``python -m cogarch.serve``: scripted/echo LLM, hash embedder, substrate
off, SQLite memory and checkpoints in a temporary data directory). Client ``i`` acts for user ``load-{i % (N/2)}``
(two clients per user, so the per-user turn lock is exercised) and sends turns back to back, every fifth one
streamed. Afterwards every acknowledged turn must be in the user's memory (its message as an episode): "lost"
counts those that are not. Prints a table and writes ``benchmarks/results/serve_load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "ck-load-test-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    sys.path.insert(0, str(ROOT))
    from cogarch.serve.auth import hash_key

    env = {k: v for k, v in os.environ.items() if not k.startswith("COGARCH_")}
    env.update(
        {
            "COGARCH_DATA_DIR": str(data_dir),
            "COGARCH_LLM__MODEL": "scripted/echo",
            "COGARCH_EMBEDDING__MODEL": "hash",
            "COGARCH_EMBEDDING__DIM": "256",
            "COGARCH_SUBSTRATE__ENABLED": "false",
            "COGARCH_SERVE__PORT": str(port),
            "COGARCH_SERVE__RATE_PER_MINUTE": "1000000",
            "COGARCH_SERVE__RATE_BURST": "100000",
            "COGARCH_SERVE__API_KEYS": json.dumps([{"name": "load", "hash": hash_key(KEY), "users": ["*"]}]),
            "ANONYMIZED_TELEMETRY": "False",
        }
    )
    log = (data_dir.parent / "server.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "cogarch.serve"], env=env, stdout=log, stderr=log)


async def wait_ready(http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


async def one_turn(http: httpx.AsyncClient, user: str, text: str, stream: bool) -> None:
    body = {
        "model": "cogarch",
        "messages": [{"role": "user", "content": text}],
        "user": user,
        "stream": stream,
    }
    if not stream:
        response = await http.post("/v1/chat/completions", json=body)
        response.raise_for_status()
        if not response.json()["choices"][0]["message"]["content"]:
            raise RuntimeError("empty reply")
        return
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        done = False
        async for line in response.aiter_lines():
            if line.startswith("data: ") and '"error"' in line:
                raise RuntimeError(line)
            done = done or line == "data: [DONE]"
        if not done:
            raise RuntimeError("stream ended without [DONE]")


async def client(i: int, users: int, http: httpx.AsyncClient, stop_at: float, out: dict[str, Any]) -> None:
    user = f"load-{i % users}"
    n = 0
    while time.monotonic() < stop_at:
        text = f"client {i} turn {n} note {uuid.uuid4().hex[:8]}"
        start = time.perf_counter()
        try:
            await one_turn(http, user, text, stream=n % 5 == 4)
        except Exception as exc:  # every failure is counted, none stops the client
            out["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
        else:
            out["latencies"].append(time.perf_counter() - start)
            out["acked"].setdefault(user, []).append(text)
        n += 1


async def lost_turns(http: httpx.AsyncClient, acked: dict[str, list[str]]) -> int:
    lost = 0
    for user, texts in acked.items():
        response = await http.get("/v1/memory/records", params={"user": user, "limit": 10000})
        stored = {e["text"] for e in response.json()["data"]}
        lost += sum(1 for t in texts if t not in stored)
    return lost


async def run_once(clients: int, duration: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cogarch-load-") as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        proc = start_server(data_dir, port)
        limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5)
        headers = {"Authorization": f"Bearer {KEY}"}
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120, limits=limits
            ) as http:
                await wait_ready(http)
                out: dict[str, Any] = {"latencies": [], "errors": [], "acked": {}}
                start = time.monotonic()
                users = max(1, clients // 2)
                await asyncio.gather(*(client(i, users, http, start + duration, out) for i in range(clients)))
                wall = time.monotonic() - start
                lost = await lost_turns(http, out["acked"])
        finally:
            proc.terminate()
            proc.wait(60)
    lat = sorted(out["latencies"])
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return {
        "turns": len(lat),
        "errors": len(out["errors"]),
        "error_samples": out["errors"][:5],
        "lost": lost,
        "wall_s": wall,
        "throughput_turns_per_s": len(lat) / wall,
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "p99_ms": q[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve_load.json")
    args = parser.parse_args()
    runs = []
    for r in range(args.runs):
        result = asyncio.run(run_once(args.clients, args.duration))
        runs.append(result)
        print(
            f"run {r + 1}: {json.dumps({k: v for k, v in result.items() if k != 'error_samples'})}",
            flush=True,
        )
    keys = ("turns", "errors", "lost", "throughput_turns_per_s", "p50_ms", "p95_ms", "p99_ms")
    median = {k: statistics.median(run[k] for run in runs) for k in keys}
    print(f"\nserve load: {args.clients} clients x {args.duration:g} s, {args.runs} runs (median)")
    print(f"{'metric':<24}{'median':>12}   per run")
    for k in keys:
        print(f"{k:<24}{median[k]:>12.1f}   " + ", ".join(f"{run[k]:.1f}" for run in runs))
    result = {
        "benchmark": "serve_load",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "clients": args.clients,
        "duration_s": args.duration,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "median": median,
        "runs": runs,
        "total_errors": sum(run["errors"] for run in runs),
        "total_lost": sum(run["lost"] for run in runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    if result["total_errors"] or result["total_lost"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
