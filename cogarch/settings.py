"""The one settings root, ``cogarch.Settings``, with a nested section per part.

Sources, highest precedence first:

1. explicit arguments: ``Settings(llm={"model": ...})`` or ``Settings.load(llm={"model": ...})``;
2. environment variables: ``COGARCH_<SECTION>__<KEY>``, e.g. ``COGARCH_LLM__MODEL=openai/gpt-4o-mini``,
   ``COGARCH_DATA_DIR=/tmp/agent``;
3. a TOML file: the ``config_file`` argument of :meth:`Settings.load`, else ``$COGARCH_CONFIG``, else
   ``<data_dir>/config.toml`` when it exists (``cogarch config init`` writes one);
4. the defaults documented on each field.

Unknown keys and invalid values raise :class:`~cogarch.errors.ConfigError` naming the key and what is allowed.
Settings are frozen: read once at the edge and passed down.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from cogarch.datadir import DataDir
from cogarch.tools.settings import ToolsSettings
from memory.config import EmbeddingSettings, MemorySettings
from reasoning.config import LLMSettings, SearchSettings
from reasoning.errors import ConfigError


class SubstrateSettings(BaseModel):
    """The spiking substrate (``snn_substrate``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True, description="Run the spiking substrate (off: no associations, no proactivity)."
    )
    neurons: int = Field(
        20_000,
        ge=1_000,
        le=5_000_000,
        description="Total neurons over the 4 layers (EMBER: 220000, for a GPU).",
    )
    code_k: int = Field(32, ge=1, description="Active sensory neurons in an embedding's population code.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' takes CUDA when available.")
    seed: int = Field(0, description="Seed of the network's construction and noise.")
    plasticity: bool = Field(True, description="Learn (STDP); off is the control condition.")
    learning: Literal["stdp", "assembly"] = Field(
        "stdp",
        description="'stdp': each message presents the concept assemblies of what it mentions (memory.nlp) in "
        "sequence and pair STDP, gated to them, links concepts mentioned together; memories bind to their "
        "concepts. 'assembly': the earlier rate rule on whole-message assemblies with a link to the previous "
        "message (associations follow turn order; kept for comparison).",
    )
    dt_ms: float = Field(1.0, gt=0, le=5, description="Integration step in milliseconds.")
    autosave_s: float = Field(
        60.0,
        ge=0,
        description="Save a user's substrate after a turn once this many seconds passed since its last save "
        "(a crash loses at most this much of its learning; 0 saves after every turn).",
    )


class ProactiveSettings(BaseModel):
    """The idle loop: when the substrate may make the agent act unprompted, and the guardrails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Let substrate triggers lead to proactive actions.")
    sample_every_s: float = Field(
        600.0, gt=0, description="Simulated idle seconds between two bursts of spontaneous activity."
    )
    burst_ms: float = Field(200.0, gt=0, description="Simulated milliseconds of network activity per burst.")
    cooldown_s: float = Field(
        4 * 3600.0, ge=0, description="Minimum seconds between two proactive actions per user."
    )
    max_per_day: int = Field(3, ge=0, description="Maximum proactive actions per user per day.")
    quiet_hours: tuple[int, int] | None = Field(
        None,
        description="Local hours [start, end) with no proactive actions, e.g. [22, 7]; None: no quiet hours.",
    )
    opt_out: tuple[str, ...] = Field((), description="Users who never receive proactive actions.")


class PersistenceSettings(BaseModel):
    """Where conversation state (LangGraph checkpoints) lives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpointer: Literal["sqlite", "postgres", "memory"] = Field(
        "sqlite",
        description="'sqlite' in the data directory, 'postgres' (needs postgres_url), 'memory' (tests).",
    )
    postgres_url: SecretStr | None = Field(None, description="postgresql://user:pass@host:5432/db")


_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "cogarch_config_file", default=None
)


# -- the serve section ----------------------------------------------------------------------------------------
# API keys are stored hashed (``sha256:<hex>`` of the key, see ``cogarch.serve.auth.hash_key``): the settings file
# never holds a usable secret. Keys are random 256-bit tokens (``cogarch serve --new-key`` prints one with its
# hash), so a plain SHA-256 is enough (no salt or slow hash is needed for high-entropy secrets, as with GitHub or
# Stripe tokens). Each key is bound to the users (memory namespaces) it may act for; ``"*"`` means any user.


class ApiKeySettings(BaseModel):
    """One API key: its name (shown in metrics and logs), its hash, and the users it may act for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        ..., min_length=1, max_length=64, description="Label of the key (never the key itself)."
    )
    hash: str = Field(..., description="'sha256:<64 hex digits>' of the key (see `cogarch serve --new-key`).")
    users: tuple[str, ...] = Field(
        ..., min_length=1, description="Users this key may act for; the first is its default; '*' = any user."
    )
    rate_per_minute: float | None = Field(
        None, gt=0, description="Requests per minute for this key (None: serve.rate_per_minute)."
    )

    @field_validator("hash")
    @classmethod
    def _check_hash(cls, value: str) -> str:
        algo, _, digest = value.partition(":")
        if algo != "sha256" or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("must be 'sha256:' followed by 64 lowercase hex digits (never the plain key)")
        return value


class ServeSettings(BaseModel):
    """The OpenAI-compatible agent server (``cogarch serve``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0: every interface).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port).")
    workers: int = Field(
        1, ge=1, le=64, description="uvicorn worker processes (>1 needs memory_mode='shared')."
    )
    model_name: str = Field("cogarch", min_length=1, description="The model id clients see in /v1/models.")
    api_keys: tuple[ApiKeySettings, ...] = Field(
        (), description="The accepted API keys (hashed), bound to users."
    )
    allow_anonymous: bool = Field(
        False, description="Accept requests without a key (local development only: any user, no isolation)."
    )
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted request body (413 beyond).")
    max_message_chars: int = Field(32_000, ge=1, description="Longest accepted user message (413 beyond).")
    request_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Wall time allowed for one turn (504 beyond; the turn still completes and is kept).",
    )
    rate_per_minute: float = Field(600.0, gt=0, description="Default requests per minute per API key.")
    rate_burst: int = Field(60, ge=1, description="Requests a key may send at once before the rate applies.")
    max_concurrent_turns: int = Field(
        64, ge=1, description="Turns run at once in this process (more wait; each holds one worker thread)."
    )
    memory_mode: Literal["exclusive", "shared"] = Field(
        "exclusive",
        description="'exclusive': this process owns the data directory's memory (one writer). 'shared': several "
        "processes on one host share the data directory's records (SQLite WAL) with vectors in the Chroma server "
        "(needs memory.chroma_url) and checkpoints in Postgres.",
    )
    idle_tick_s: float = Field(
        0.0,
        ge=0,
        description="Every this many real seconds, let users with an open proactive stream idle (0: off).",
    )
    sse_heartbeat_s: float = Field(
        15.0, gt=0, description="Seconds between keep-alive comments on SSE streams."
    )


def default_data_dir() -> Path:
    """The per-user data directory (e.g. ``~/.local/share/cogarch`` on Linux)."""
    return Path(platformdirs.user_data_dir("cogarch", appauthor=False))


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for paths the OS cannot even look up (a NUL byte, too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file named by ``Settings.load``, ``$COGARCH_CONFIG`` or ``<data_dir>/config.toml``."""

    def __init__(self, settings_cls: type[BaseSettings], data_dir: Path | None) -> None:
        super().__init__(settings_cls)
        self._data_dir = data_dir

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def _path(self) -> Path | None:
        explicit = _config_file.get() or (
            Path(os.environ["COGARCH_CONFIG"]) if "COGARCH_CONFIG" in os.environ else None
        )
        if explicit is not None:
            if not _is_file(explicit):
                raise ConfigError(
                    f"config file {explicit} does not exist", hint="create it with `cogarch config init`"
                )
            return explicit
        data_dir = self._data_dir or Path(os.environ.get("COGARCH_DATA_DIR", default_data_dir()))
        candidate = DataDir(data_dir).config
        return candidate if _is_file(candidate) else None

    def __call__(self) -> dict[str, Any]:
        path = self._path()
        if path is None:
            return {}
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(
                f"config file {path} is not valid TOML: {exc}", hint="fix or delete the file"
            ) from exc


class Settings(BaseSettings):
    """Every setting of cogarch. See the module docstring for the sources and their precedence."""

    model_config = SettingsConfigDict(
        env_prefix="COGARCH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Holds everything the agent persists."
    )
    user: str = Field("default", min_length=1, description="Default user (memory namespace) of the chat.")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    substrate: SubstrateSettings = Field(default_factory=SubstrateSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    proactive: ProactiveSettings = Field(default_factory=ProactiveSettings)
    persistence: PersistenceSettings = Field(default_factory=PersistenceSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    tools: ToolsSettings = Field(default_factory=ToolsSettings)

    SECTIONS: ClassVar[tuple[str, ...]] = (
        "llm",
        "embedding",
        "memory",
        "substrate",
        "search",
        "proactive",
        "persistence",
        "tools",
    )

    def __init__(self, /, **values: Any) -> None:  # positional-only self: a section named 'self' is a bad key
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc, type(self)) from None
        except SettingsError as exc:  # an environment variable that is not valid JSON for a section or list
            raise ConfigError(
                f"{exc}: give a section's keys as COGARCH_<SECTION>__<KEY>, lists and sections as JSON",
                hint="settings come from arguments, COGARCH_* environment variables and the TOML config file",
            ) from None

    @property
    def paths(self) -> DataDir:
        """The files of the data directory, named."""
        return DataDir(Path(self.data_dir))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_dir = (
            init_settings.init_kwargs.get("data_dir") if hasattr(init_settings, "init_kwargs") else None
        )
        init_path = Path(init_dir) if isinstance(init_dir, str | os.PathLike) and init_dir else None
        return (init_settings, env_settings, _TomlSource(settings_cls, init_path))

    @classmethod
    def load(cls, /, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """Settings from all sources, ``overrides`` winning, then env, then ``config_file`` (TOML)."""
        token = _config_file.set(Path(config_file) if config_file is not None else None)
        try:
            return cls(**overrides)
        finally:
            _config_file.reset(token)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values replaced: ``s.with_overrides(llm={"model": "scripted/echo"})``.

        Nested sections are merged key by key; the result is validated like any other settings.
        """
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return type(self).model_validate(_reveal(data))

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets shown as ``'**********'``."""
        return self.model_dump(mode="json")


def _reveal(data: Any) -> Any:
    if isinstance(data, SecretStr):
        return data.get_secret_value()
    if isinstance(data, dict):
        return {k: _reveal(v) for k, v in data.items()}
    return data


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at the parent of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = fields[part].annotation
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def config_error(exc: ValidationError, model: type[BaseModel]) -> ConfigError:
    """One readable :class:`ConfigError` for every problem in ``exc``."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "<root>"
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed(model, loc))
            problems.append(f"unknown setting '{key}' (allowed here: {allowed})")
        else:
            value = err.get("input")
            shown = "***" if "key" in key or "token" in key or "url" in key else repr(value)
            problems.append(f"invalid value for '{key}': {shown}: {err['msg']}")
    env_hint = "settings come from arguments, COGARCH_* environment variables and the TOML config file"
    return ConfigError("; ".join(problems), hint=env_hint)


__all__ = [
    "ApiKeySettings",
    "PersistenceSettings",
    "ProactiveSettings",
    "ServeSettings",
    "Settings",
    "SubstrateSettings",
    "default_data_dir",
]
