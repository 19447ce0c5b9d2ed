"""Multi-host load test: several ``cogarch serve`` processes with separate data directories on one Postgres and one
Chroma server, clients spread over them, one process SIGKILLed mid-run.

    .venv/bin/python benchmarks/serve/multihost.py --postgres-url URL --chroma-url URL \
        [--processes 3] [--clients 50] [--duration 60] [--kill-at 20]

Each process (``python -m cogarch.serve``: scripted/echo LLM, hash embedder, substrate off) has its own temporary
data directory and shares only the servers: ``memory.store = "postgres"`` in a fresh schema, the vectors in the
Chroma server (a fresh collection prefix), LangGraph checkpoints in Postgres. What crosses processes is what this
measures: memory, turn locks, checkpoints, rate-limit buckets.

Client ``i`` acts for user ``<run tag>-{i % (N/2)}`` (two clients per user) and sends turns back to back; each turn goes
to the next live process in turn, so consecutive turns of a user land on different processes, and the two clients
of a user hit different processes at once (the per-user Postgres lock orders them). Turn ``k`` of a client names
the unique word of its turn ``k-1``: the reply's recalled memories must hold the previous turn, acknowledged by
another process just before ("recall misses" counts those that do not). A request that fails (the killed process,
a 503) is retried on the next live process, up to 5 times; "errors" counts turns that failed every attempt.

At ``--kill-at`` seconds the first process is SIGKILLed. Afterwards, read through a surviving process:
- lost: acknowledged turns whose message is not in the user's memory;
- duplicated: acknowledged turns stored more than once; "retried_stored_twice" counts those among them that were
  retried (a request the killed process stored but did not answer); each request carries an ``Idempotency-Key``,
  the same on every attempt, so a retry is the same turn and is stored once;
- order: per user, every stored message must be followed by its own reply ("You said: ...") before the next
  message (turns never interleave), and each client's acknowledged messages must be stored in the order sent.
Writes ``benchmarks/results/serve_multihost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import signal
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from load import free_port, wait_ready  # noqa: E402

from cogarch.serve.auth import hash_key  # noqa: E402

KEY = "ck-multihost-test-key"
ATTEMPTS = 5


def start_server(data_dir: Path, port: int, shared: dict[str, str]) -> subprocess.Popen[bytes]:
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
            "COGARCH_SERVE__REQUEST_TIMEOUT_S": "300",
            "COGARCH_SERVE__API_KEYS": json.dumps([{"name": "mh", "hash": hash_key(KEY), "users": ["*"]}]),
            "ANONYMIZED_TELEMETRY": "False",
            **shared,
        }
    )
    data_dir.mkdir(parents=True)
    log = (data_dir.parent / f"server-{port}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "cogarch.serve"], env=env, stdout=log, stderr=log)


class Cluster:
    """The server processes and one HTTP client per process; which are alive."""

    def __init__(self, urls: list[str], procs: list[subprocess.Popen[bytes]], clients: int) -> None:
        limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5)
        headers = {"Authorization": f"Bearer {KEY}"}
        self.http = [httpx.AsyncClient(base_url=u, headers=headers, timeout=300, limits=limits) for u in urls]
        self.procs = procs
        self.alive = [True] * len(urls)

    def next_live(self, after: int) -> int:
        n = len(self.http)
        for step in range(1, n + 1):
            j = (after + step) % n
            if self.alive[j]:
                return j
        raise RuntimeError("no live process")

    async def close(self) -> None:
        for http in self.http:
            await http.aclose()


async def turn(cluster: Cluster, at: int, user: str, text: str) -> tuple[dict[str, Any], int, int]:
    """One turn, retried on the next live process; returns (answer, process, attempts)."""
    body = {"model": "cogarch", "messages": [{"role": "user", "content": text}], "user": user}
    headers = {"Idempotency-Key": uuid.uuid4().hex}  # the same on every attempt: a retry is the same turn
    last: Exception | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await cluster.http[at].post("/v1/chat/completions", json=body, headers=headers)
            if response.status_code == 200:
                return response.json(), at, attempt
            last = RuntimeError(f"HTTP {response.status_code}: {response.text[:160]}")
        except httpx.TransportError as exc:
            last = exc
            if cluster.procs[at].poll() is not None:
                cluster.alive[at] = False
        at = cluster.next_live(at)
        await asyncio.sleep(0.2 * attempt)
    raise RuntimeError(f"{ATTEMPTS} attempts failed: {last}")


async def client(i: int, users: int, cluster: Cluster, stop_at: float, out: dict[str, Any]) -> None:
    user = f"{out['tag']}-{i % users}"
    at = i % len(cluster.http)
    previous: str | None = None
    n = 0
    while time.monotonic() < stop_at:
        word = f"w{uuid.uuid4().hex[:10]}"
        text = f"client {i} turn {n} word {word}" + (f" after {previous}" if previous else "")
        start = time.perf_counter()
        at = cluster.next_live(at)
        try:
            answer, served, attempts = await turn(cluster, at, user, text)
        except Exception as exc:  # every failure is counted, none stops the client
            out["errors"].append(f"{type(exc).__name__}: {exc}"[:240])
            out["unacked"].append(text)
        else:
            out["latencies"].append(time.perf_counter() - start)
            out["acked"].setdefault(user, []).append((i, text))
            out["retried"] += attempts > 1
            if attempts > 1:
                out["retried_texts"].add(text)
            if previous is not None:
                out["recall_checks"] += 1
                recalled = " ".join(r["text"] for r in answer["cogarch"]["recalled"])
                if previous not in recalled:
                    out["recall_misses"] += 1
                    out["miss_samples"].append(
                        {"user": user, "text": text, "process": served, "recalled": recalled}
                    )
            previous = word
            at = served
        n += 1


async def verify(http: httpx.AsyncClient, out: dict[str, Any]) -> dict[str, int]:
    counts = {"lost": 0, "duplicated": 0, "retried_stored_twice": 0, "interleaved": 0, "out_of_order": 0}
    for user, acked in out["acked"].items():
        response = await http.get("/v1/memory/records", params={"user": user, "limit": 10000})
        texts = [e["text"] for e in response.json()["data"]]  # oldest first
        said = [t for t in texts if not t.startswith("You said: ")]
        for k, t in enumerate(texts):  # each message is followed by its own reply
            if not t.startswith("You said: ") and (k + 1 >= len(texts) or texts[k + 1] != f"You said: {t}"):
                counts["interleaved"] += 1
        for _, text in acked:
            stored = said.count(text)
            counts["lost"] += stored == 0
            if stored > 1:
                counts["retried_stored_twice" if text in out["retried_texts"] else "duplicated"] += 1
        for c in {c for c, _ in acked}:
            mine = [text for cc, text in acked if cc == c]
            positions = [said.index(t) for t in mine if t in said]
            counts["out_of_order"] += sum(1 for a, b in itertools.pairwise(positions) if b < a)
    return counts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = f"mh{uuid.uuid4().hex[:8]}"
    shared = {
        "COGARCH_MEMORY__STORE": "postgres",
        "COGARCH_MEMORY__POSTGRES_URL": args.postgres_url,
        "COGARCH_MEMORY__POSTGRES_SCHEMA": tag,
        "COGARCH_MEMORY__CHROMA_URL": args.chroma_url,
        "COGARCH_MEMORY__COLLECTION_PREFIX": tag,
        "COGARCH_PERSISTENCE__CHECKPOINTER": "postgres",
        "COGARCH_PERSISTENCE__POSTGRES_URL": args.postgres_url,
    }
    with tempfile.TemporaryDirectory(prefix="cogarch-multihost-") as tmp:
        ports = [free_port() for _ in range(args.processes)]
        procs = [start_server(Path(tmp) / f"host{j}", port, shared) for j, port in enumerate(ports)]
        cluster = Cluster([f"http://127.0.0.1:{p}" for p in ports], procs, args.clients)
        try:
            for http in cluster.http:
                await wait_ready(http)
            out: dict[str, Any] = {
                "latencies": [], "errors": [], "unacked": [], "acked": {}, "retried": 0, "retried_texts": set(),
                "recall_checks": 0, "recall_misses": 0, "miss_samples": [], "tag": tag,
            }  # fmt: skip
            start = time.monotonic()

            async def kill() -> None:
                await asyncio.sleep(args.kill_at)
                os.kill(procs[0].pid, signal.SIGKILL)
                out["killed_at_s"] = time.monotonic() - start

            users = max(1, args.clients // 2)
            await asyncio.gather(
                kill(),
                *(client(i, users, cluster, start + args.duration, out) for i in range(args.clients)),
            )
            wall = time.monotonic() - start
            survivor = cluster.http[cluster.next_live(0)]
            counts = await verify(survivor, out)
        finally:
            await cluster.close()
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                proc.wait(60)
    lat = sorted(out["latencies"])
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return {
        "turns": len(lat),
        "errors": len(out["errors"]),
        "error_samples": out["errors"][:5],
        "retried_turns": out["retried"],
        **counts,
        "recall_checks": out["recall_checks"],
        "recall_misses": out["recall_misses"],
        "recall_miss_samples": out["miss_samples"][:3],
        "killed_at_s": out.get("killed_at_s"),
        "wall_s": wall,
        "throughput_turns_per_s": len(lat) / wall,
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "p99_ms": q[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get("COGARCH_TEST_POSTGRES_URL"))
    parser.add_argument("--chroma-url", default=os.environ.get("COGARCH_TEST_CHROMA_URL"))
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--kill-at", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve_multihost.json")
    args = parser.parse_args()
    if not args.postgres_url or not args.chroma_url:
        parser.error('--postgres-url and --chroma-url are needed (eval "$(cogarch/serve/ci_services.sh)")')
    result = asyncio.run(run(args))
    for k, v in result.items():
        print(f"{k:<24}{v}")
    report = {
        "benchmark": "serve_multihost",
        "command": " ".join(
            [Path(sys.executable).name, *("URL" if a.startswith("postgresql://") else a for a in sys.argv)]
        ),
        "processes": args.processes,
        "clients": args.clients,
        "duration_s": args.duration,
        "kill_at_s": args.kill_at,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "result": result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    if (
        result["errors"]
        or result["lost"]
        or result["duplicated"]
        or result["interleaved"]
        or result["out_of_order"]
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()
