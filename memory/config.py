"""Typed settings sections owned by ``memory``: the embedder and the stores.

Nested under the root ``cogarch.Settings`` (``COGARCH_EMBEDDING__MODEL``, ``COGARCH_MEMORY__CHROMA_URL``);
build them directly when ``memory`` is used as a library.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

LOCAL_EMBEDDER = "local/all-minilm-l6-v2"
"""The bundled embedder: all-MiniLM-L6-v2, 384-d (``memory.embedders.local``)."""


class EmbeddingSettings(BaseModel):
    """Which embedding model to use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        LOCAL_EMBEDDER,
        description=(
            "'local/all-minilm-l6-v2' (bundled, offline), 'hash' (deterministic, tests), or a litellm embedding "
            "model string such as 'openai/text-embedding-3-small'."
        ),
    )
    dim: int | None = Field(None, ge=8, description="Vector size (needed for 'hash'; checked for others).")
    api_base: str | None = Field(None, description="Base URL for a served embedding model.")
    api_key: SecretStr | None = Field(None, description="API key for a hosted embedding model.")
    batch_size: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="Texts embedded per batch (unset: the embedder's own default, 16 local, 64 per API request).",
    )
    device: str = Field("auto", description="Device of the local embedder: 'auto', 'cpu' or 'cuda'.")


class MemorySettings(BaseModel):
    """Where memory lives and how recall behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: Literal["sqlite", "postgres"] = Field(
        "sqlite",
        description="The system of record: 'sqlite' (a file in the data directory; one writer process) or "
        "'postgres' (a shared server at postgres_url; vectors then belong in a Chroma server, chroma_url).",
    )
    postgres_url: SecretStr | None = Field(
        None,
        description="libpq URL of the Postgres database for store='postgres' (postgresql://user:pw@host:5432/db; "
        "add ?options=-csearch_path%3Dname to keep the memory in its own schema).",
    )
    postgres_schema: str | None = Field(
        None,
        max_length=63,
        description="Schema of the memory's tables in that database (created if missing); unset: the URL's "
        "search_path (normally 'public'). Several memories can share one database in different schemas.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (http://host:8000); unset: embedded Chroma in the data directory.",
    )
    chroma_token: SecretStr | None = Field(
        None, description="Auth token for the Chroma server, if it needs one."
    )
    collection_prefix: str = Field("cogarch", description="Prefix of the Chroma collection names.")
    recall_k: int = Field(10, ge=1, le=1000, description="Items recalled per query by default.")
    consolidate_every: int = Field(
        50, ge=1, description="Consolidate a namespace after this many new episodes (the agent's schedule)."
    )
    deep_recall_below: float = Field(
        0.35,
        ge=0,
        le=1,
        description="Run the deeper graph walk when the fast path's confidence is below this.",
    )
    lexical_budget: int = Field(
        5000,
        ge=100,
        description="Most index postings one BM25 query may score: the rarest query terms are kept within it "
        "(very common terms carry little BM25 weight); when even the rarest exceeds it, only the most recent "
        "entries holding about that many postings are searched. Bounds recall latency at scale.",
    )
    flag_injections: bool = Field(True, description="Flag stored text that looks like injected instructions.")
    facts: Literal["auto", "parser", "llm", "off"] = Field(
        "auto",
        description="How consolidation extracts facts: 'parser' (offline, spaCy's dependency parse: "
        "memory.semantic.parser), 'llm' (structured output from the memory's LLM), 'off', or 'auto': the LLM "
        "when one is given that is not the bundled 135M model (too small for it), else the parser when spaCy's "
        "English pipeline is installed.",
    )
    fact_speakers_ignored: tuple[str, ...] = Field(
        ("agent",),
        description="Speakers whose episodes state no facts (the agent's own replies: a small model's replies "
        "would otherwise become facts about the user).",
    )


__all__ = ["LOCAL_EMBEDDER", "EmbeddingSettings", "MemorySettings"]
