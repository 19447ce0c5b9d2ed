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


class RecallWeights(BaseModel):
    """Weights of the recall signals (the formula is in :mod:`memory.recall`). Defaults were tuned on the LoCoMo
    development conversations only (BENCHMARKS.md, M); set a weight to 0 to remove its signal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dense: float = Field(
        1.0, ge=0, description="Dense (cosine) similarity, rescaled within the candidate pool."
    )
    unnamed_dense: bool = Field(
        True,
        description="The dense query leaves out the names of the namespace's speakers (memory.text.without_names).",
    )
    lex: float = Field(1.0, ge=0, description="BM25 over the lexical index, rescaled to the best hit.")
    ppr: float = Field(
        2.5,
        ge=0,
        description="Personalized PageRank over the memory graph (phrase nodes, episodes), as (ppr / max) ** walk_power.",
    )
    adj: float = Field(
        0.6, ge=0, description="Temporal contiguity: the best seed score of the adjacent episodes."
    )
    ent: float = Field(
        0.15, ge=0, description="Per query phrase node an episode mentions, times its hub weight."
    )
    speaker: float = Field(
        2.5,
        ge=0,
        description="Episodes spoken by someone the query names (a question about Ann: Ann's turns).",
    )
    when: float = Field(0.15, ge=0, description="A 'when' question: episodes that carry a time expression.")
    window: float = Field(0.3, ge=0, description="Items inside the date window the query names.")
    recency: float = Field(0.03, ge=0, description="Recency prior (90-day decay from the newest candidate).")
    importance: float = Field(0.05, ge=0, description="Importance prior (the gateway's tag).")
    past_factor: float = Field(
        0.5, ge=0, description="Scale of superseded facts unless the query asks about the past."
    )
    pool: int = Field(40, ge=1, description="Dense and lexical hits per query on the fast path (x3 deep).")
    neighbours: int = Field(
        10,
        ge=0,
        description="The previous and next episodes of this many best seeds join the candidates, scored by adj.",
    )
    walk_power: float = Field(
        0.5, gt=0, le=1, description="The walk's score enters as (ppr / max ppr) ** walk_power (1: linear)."
    )
    alpha: float = Field(
        0.7, gt=0, lt=1, description="PPR damping: probability of following an edge rather than restarting."
    )
    seed_passages: float = Field(
        0.0,
        ge=0,
        description="PPR restart mass on the dense + BM25 seed episodes (HippoRAG 2's passage nodes).",
    )
    seed_phrases: float = Field(
        1.0, ge=0, description="PPR restart mass on the phrase nodes the query names, each by specificity."
    )
    synonym: float = Field(1.0, ge=0, description="Scale of synonym edges between phrase nodes in the walk.")
    links: float = Field(
        0.0,
        ge=0,
        description="Scale of episode-to-episode edges (temporal next, associative similar) in the walk.",
    )


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
    postgres_timeout_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="How long a Postgres call waits for a connection (the server down: it then fails, 503 in "
        "the server).",
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
    consolidate_in: Literal["background", "foreground"] = Field(
        "background",
        description="Where the agent consolidates: 'background' (its worker thread, after the turn returned: "
        "consolidation never delays a reply; Agent.wait_consolidated waits for it) or 'foreground' (in the turn, "
        "or Agent.idle, before it returns: results at once, for notebooks and benchmarks).",
    )
    deep_recall_below: float = Field(
        0.35,
        ge=0,
        le=1,
        description="Run the deeper graph walk when the fast path's confidence is below this.",
    )
    lexical_budget: int | None = Field(
        None,
        ge=100,
        description="Most index postings one BM25 query may score: the rarest query terms are kept within it "
        "(very common terms carry little BM25 weight); when even the rarest exceeds it, only the most recent "
        "entries holding about that many postings are searched. Bounds recall latency at scale. Unset: the "
        "store's (lexical_postings): 5000 on SQLite, whose FTS5 reads compact posting lists, 1000 on Postgres, "
        "where each posting is a table row read and unnested (about 8 microseconds of server CPU).",
    )
    flag_injections: bool = Field(True, description="Flag stored text that looks like injected instructions.")
    facts: Literal["auto", "parser", "llm", "off"] = Field(
        "auto",
        description="How consolidation extracts facts: 'parser' (offline, spaCy's dependency parse: "
        "memory.semantic.parser), 'llm' (structured output from the memory's LLM), 'off', or 'auto': the LLM "
        "when one is given that is not the bundled 135M model (too small for it), else the parser when spaCy's "
        "English pipeline is installed.",
    )
    segmentation: Literal["embedding", "surprise"] = Field(
        "embedding",
        description="How consolidation cuts episodes into events (memory.segmentation): 'embedding' (distance "
        "to the current event's centroid: free) or 'surprise' (EM-LLM: the local model's token surprise, refined "
        "by similarity; needs the bundled model; better on LoCoMo's session starts, F1 0.26 against 0.14, at one "
        "model call per episode on the consolidation worker).",
    )
    fact_speakers_ignored: tuple[str, ...] = Field(
        ("agent",),
        description="Speakers whose episodes state no facts (the agent's own replies: a small model's replies "
        "would otherwise become facts about the user).",
    )
    recall: RecallWeights = Field(default_factory=RecallWeights, description="Weights of the recall signals.")

    @property
    def lexical_postings(self) -> int:
        """The BM25 budget recall uses: ``lexical_budget``, or the store's default (see that field)."""
        if self.lexical_budget is not None:
            return self.lexical_budget
        return 1000 if self.store == "postgres" else 5000


__all__ = ["LOCAL_EMBEDDER", "EmbeddingSettings", "MemorySettings", "RecallWeights"]
