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
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from cogarch.serve.settings import ServeSettings
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
        candidate = data_dir / "config.toml"
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

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc, type(self)) from None
        except SettingsError as exc:  # an environment variable that is not valid JSON for a section or list
            raise ConfigError(
                f"{exc}: give a section's keys as COGARCH_<SECTION>__<KEY>, lists and sections as JSON",
                hint="settings come from arguments, COGARCH_* environment variables and the TOML config file",
            ) from None

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
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> Settings:
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
    "PersistenceSettings",
    "ProactiveSettings",
    "Settings",
    "SubstrateSettings",
    "default_data_dir",
]
