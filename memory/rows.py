"""Row -> record conversions (SQLite rows to the frozen dataclasses of :mod:`memory.records`)."""

from __future__ import annotations

import json
import sqlite3

from memory.records import Episode, Fact, Scene


def episode_from_row(r: sqlite3.Row) -> Episode:
    return Episode(
        id=r["id"],
        namespace=r["namespace"],
        text=r["text"],
        speaker=r["speaker"],
        channel=r["channel"],
        timestamp=r["ts"],
        session=r["session"],
        metadata=json.loads(r["metadata"]),
        valence=r["valence"],
        importance=r["importance"],
        flags=tuple(f for f in r["flags"].split(",") if f),
        event_id=r["event_id"],
    )


def fact_from_row(r: sqlite3.Row) -> Fact:
    return Fact(
        id=r["id"],
        namespace=r["namespace"],
        subject=r["subject"],
        relation=r["relation"],
        object=r["object"],
        text=r["text"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        confidence=r["confidence"],
        sources=tuple(json.loads(r["sources"])),
        superseded_by=r["superseded_by"],
    )


def scene_from_row(r: sqlite3.Row) -> Scene:
    return Scene(
        id=r["id"],
        namespace=r["namespace"],
        summary=r["summary"],
        members=tuple(json.loads(r["members"])),
        calibration=r["calibration"],
    )


__all__ = ["episode_from_row", "fact_from_row", "scene_from_row"]
