"""``cogarch models check``: which LLM and embedder the settings select, each tested with one live call."""

from __future__ import annotations

import time
from typing import Any

from reasoning.errors import CogarchError


def check_models(settings: Any, *, live: bool = True) -> dict[str, Any]:
    """A report ``{"llm": {...}, "embedder": {...}}``; each entry has ``name``, ``ok`` and ``detail``.

    Missing credentials fail fast, before any network call, with the variable to set.
    """
    return {"llm": _check_llm(settings, live), "embedder": _check_embedder(settings, live)}


def _check_llm(settings: Any, live: bool) -> dict[str, Any]:
    model = settings.llm.model
    entry: dict[str, Any] = {"name": model, "ok": False, "detail": ""}
    try:
        from reasoning.engines import preflight

        preflight(settings.llm)
        if not live:
            entry.update(ok=True, detail="configured (not tested)")
            return entry
        from cogarch.composition import build_llm
        from reasoning.llm import GenerationOptions

        start = time.perf_counter()
        llm = build_llm(settings)
        loaded = time.perf_counter() - start
        completion = llm.complete(
            [{"role": "user", "content": "Say hello in three words."}], GenerationOptions(max_tokens=12)
        )
        entry.update(
            ok=True,
            detail=f"loaded in {loaded:.1f} s, answered {completion.text.strip()[:40]!r} "
            f"({completion.usage.completion_tokens} tokens in {time.perf_counter() - start - loaded:.1f} s)",
        )
    except CogarchError as error:
        entry["detail"] = str(error)
        entry["error"] = {"message": error.message, "hint": error.hint, "exit_code": error.exit_code}
    return entry


def _check_embedder(settings: Any, live: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": settings.embedding.model, "ok": False, "detail": ""}
    if not live:
        entry.update(ok=True, detail="configured (not tested)")
        return entry
    try:
        from cogarch.composition import build_embedder

        start = time.perf_counter()
        embedder = build_embedder(settings)
        vectors = embedder(["hello world"])
        entry.update(ok=True, detail=f"dim {vectors.shape[1]}, {time.perf_counter() - start:.1f} s")
    except CogarchError as error:
        entry["detail"] = str(error)
        entry["error"] = {"message": error.message, "hint": error.hint, "exit_code": error.exit_code}
    return entry
