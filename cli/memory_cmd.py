"""``cogarch memory``: search, show, forget, export, import, ingest and stats on a data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from cli.common import console, handled, load_settings, print_json
from cogarch.forgetting import forget_in

app = typer.Typer(help="Inspect and manage long-term memory.", no_args_is_help=True)

DataDir = typer.Option(None, "--data-dir", help="Data directory (default: the configured one).")
User = typer.Option("default", "--user", "--namespace", "-u", help="Namespace (user or agent id).")
Json = typer.Option(False, "--json", help="Print JSON.")


@contextmanager
def _memory(data_dir: Path | None) -> Iterator[Any]:
    from cogarch.composition import prepare_data_dir, secure_data_dir
    from memory import Memory
    from memory.embedders import build_embedder

    settings = load_settings(data_dir)
    root = prepare_data_dir(Path(settings.data_dir))
    try:
        with Memory.open(
            root / "memory", settings.memory, embedder=build_embedder(settings.embedding)
        ) as mem:
            yield mem
    finally:
        secure_data_dir(root)


def _rec(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "text": r.text,
        "score": round(r.score, 4),
        "why": r.why,
        "flagged": r.flagged,
        "current": r.current,
        "sources": [{"id": s.id, "metadata": s.metadata} for s in r.sources],
    }


@app.command()
def search(
    query: str,
    k: int = typer.Option(10, "-k"),
    data_dir: Path | None = DataDir,
    user: str = User,
    json_out: bool = Json,
) -> None:
    """Recall the k most relevant memories for QUERY."""
    with handled(), _memory(data_dir) as mem:
        res = mem.recall_with_confidence(query, namespace=user, k=k)
        if json_out:
            print_json(
                {"confidence": res.confidence, "deep": res.deep, "items": [_rec(r) for r in res.items]}
            )
            return
        for i, r in enumerate(res.items, 1):
            flag = " [red]FLAGGED[/]" if r.flagged else ""
            console.print(f"{i:>2}. [bold]{r.kind}[/] {r.id} {r.score:.3f}{flag}  [dim]{r.why}[/]")
            console.print(f"    {r.text}", highlight=False, markup=False)
        console.print(f"[dim]confidence {res.confidence:.2f}{' (deep walk)' if res.deep else ''}[/]")


@app.command()
def show(record_id: str, data_dir: Path | None = DataDir, json_out: bool = Json) -> None:
    """Show one record by id."""
    import dataclasses

    with handled(), _memory(data_dir) as mem:
        data = dataclasses.asdict(mem.get(record_id))
        if json_out:
            print_json(data)
        else:
            for key, value in data.items():
                console.print(f"[bold]{key}[/]: {value}", highlight=False)


@app.command()
def forget(
    record_ids: list[str] = typer.Argument(None),
    query: str | None = typer.Option(None, "--query"),
    all_: bool = typer.Option(False, "--all", help="Forget the whole namespace."),
    data_dir: Path | None = DataDir,
    user: str = User,
    json_out: bool = Json,
) -> None:
    """Forget records by id, the top matches of --query, or --all of a namespace (cascading). Also erased from
    the agent's other stores in the data directory: the substrate, the proactive log and the checkpoints (--all:
    the user's substrate file and threads; items: their bindings, and the threads are rewritten without them)."""
    with handled():
        settings = load_settings(data_dir)
        with _memory(data_dir) as mem:
            n = forget_in(settings, mem, user, record_ids or (), query=query, all=all_)
        print_json({"removed": n}) if json_out else console.print(f"forgot {n} record(s)")


@app.command()
def facts(
    data_dir: Path | None = DataDir,
    user: str = User,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Only facts that held at this time (ISO date or datetime, e.g. 2024-01-15)."
    ),
    known_at: str | None = typer.Option(
        None, "--known-at", help="The facts as the memory knew them at this time (transaction time)."
    ),
    current: bool = typer.Option(False, "--current", help="Only facts that hold now."),
    json_out: bool = Json,
) -> None:
    """List the facts of a namespace with their validity (valid time) and when they were recorded."""
    import dataclasses

    with handled(), _memory(data_dir) as mem:
        found = mem.facts(namespace=user, current_only=current, as_of=as_of, known_at=known_at)
        if json_out:
            print_json([dataclasses.asdict(f) for f in found])
            return
        if not found:
            console.print("(no facts)")
            return
        for f in found:
            until = _day(f.valid_to) if f.valid_to is not None else "now"
            state = (
                "" if f.current else f"  [dim](ended{' -> ' + f.superseded_by if f.superseded_by else ''})[/]"
            )
            console.print(
                f"[bold]{f.subject}[/] {f.relation} [bold]{f.object}[/]  "
                f"[dim]{_day(f.valid_from)} .. {until}, recorded {_day(f.recorded)}[/]{state}",
                highlight=False,
            )


def _day(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime(ts))


@app.command("export")
def export_(
    out: Path = typer.Argument(..., help="Output JSON file ('-' for stdout)."),
    data_dir: Path | None = DataDir,
    user: str = User,
    vectors: bool = typer.Option(True, "--vectors/--no-vectors"),
) -> None:
    """Export a namespace as JSON."""
    with handled(), _memory(data_dir) as mem:
        data = mem.export(user, with_vectors=vectors)
        text = json.dumps(data, ensure_ascii=False)
        if str(out) == "-":
            print(text)
        else:
            try:
                out.write_text(text)
            except OSError as exc:
                from reasoning.errors import InvalidInputError

                raise InvalidInputError(f"cannot write {out}: {exc.strerror or exc}") from None
            console.print(f"wrote {out} ({len(data['episodes'])} episodes)")


@app.command("import")
def import_(
    path: Path,
    data_dir: Path | None = DataDir,
    user: str | None = typer.Option(None, "--user"),
    replace: bool = typer.Option(False, "--replace"),
    json_out: bool = Json,
) -> None:
    """Import a namespace export."""
    from reasoning.errors import InvalidInputError

    with handled():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read {path}: {exc}") from exc
        with _memory(data_dir) as mem:
            n = mem.import_(data, namespace=user, replace=replace)
        print_json({"imported": n}) if json_out else console.print(f"imported {n} record(s)")


@app.command()
def ingest(
    path: Path,
    data_dir: Path | None = DataDir,
    user: str = User,
    consolidate: bool = typer.Option(True, "--consolidate/--no-consolidate"),
    json_out: bool = Json,
) -> None:
    """Ingest JSONL (one {"text", "speaker", "timestamp", "metadata"} per line) or a LoCoMo JSON file."""
    from rich.progress import track

    from reasoning.errors import InvalidInputError

    with handled():
        try:
            raw = path.read_text()
            if path.suffix == ".jsonl":
                items = [json.loads(line) for line in raw.splitlines() if line.strip()]
            else:
                items = _locomo(json.loads(raw))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise InvalidInputError(f"cannot read {path}: {exc!r}") from exc
        with _memory(data_dir) as mem:
            ids: list[str] = []
            for i in track(range(0, len(items), 256), description="remembering", disable=json_out):
                ids += mem.remember_many(items[i : i + 256], namespace=user)
            counts = mem.consolidate(namespace=user) if consolidate else {}
        print_json({"ingested": len(ids), **counts}) if json_out else console.print(
            f"ingested {len(ids)} episodes"
        )


def _locomo(data: Any) -> list[dict[str, Any]]:
    import re
    from datetime import datetime

    out: list[dict[str, Any]] = []
    for conv in data if isinstance(data, list) else [data]:
        c = conv["conversation"]
        for n in sorted(int(m.group(1)) for key in c if (m := re.fullmatch(r"session_(\d+)", key))):
            date = c.get(f"session_{n}_date_time", "")
            ts = datetime.strptime(date.strip(), "%I:%M %p on %d %B, %Y").timestamp() if date else None
            for i, t in enumerate(c[f"session_{n}"]):
                text = t["text"] + (f" [image: {t['blip_caption']}]" if t.get("blip_caption") else "")
                out.append(
                    {
                        "text": text,
                        "speaker": t["speaker"],
                        "timestamp": None if ts is None else ts + 30 * i,
                        "metadata": {
                            "dia_id": t["dia_id"],
                            "session": f"session_{n}",
                            "date": date,
                            "conversation": conv.get("sample_id"),
                        },
                    }
                )
    return out


@app.command()
def stats(
    data_dir: Path | None = DataDir,
    user: str | None = typer.Option(None, "--user", "--namespace", "-u"),
    json_out: bool = Json,
) -> None:
    """Record counts of a namespace (or of the whole memory)."""
    with handled(), _memory(data_dir) as mem:
        data = mem.stats(user)
        if json_out:
            print_json(data)
        else:
            for key, value in data.items():
                console.print(f"{key:>18}: {value}")
