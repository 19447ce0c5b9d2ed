"""Episode scripts in YAML, validated by pydantic; errors name the offending key.

Example (a TextWorld game by path)::

    name: cooking-easy
    environment:
      textworld:
        game: games/cook_l1.z8            # relative to the script's folder
    max_steps: 150
    runs: 3
    seeds: [0, 1, 2]                      # one per run (default 0..runs-1)
    ablation: full                        # full | no-memory | full-history | rag | random
    agent:                                # agent settings overrides (sections of cogarch.Settings)
      llm: {model: local/smollm2-135m-instruct}
    expect:
      min_score: 0.5                      # normalised score every run must reach

Generator settings instead of a path::

    environment:
      textworld:
        generate: {generator: tw-cooking, seed: 501, options: {recipe: 1, take: 1, go: 1, cut: true}}

A scripted conversation::

    environment:
      conversation:
        turns:
          - user: "My sister Ana lives in Porto."
          - user: "Where does my sister live?"
            must_recall: ["Porto"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cogarch.episodes.games import GeneratorSpec
from reasoning.errors import InvalidInputError, MissingResourceError

AblationName = Literal["full", "no-memory", "full-history", "rag", "random"]


class TextWorldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    game: Path | None = Field(None, description="Path of a .z8/.ulx game (relative to the script).")
    generate: GeneratorSpec | None = Field(None, description="tw-make settings; built and cached.")

    @model_validator(mode="after")
    def _one(self) -> TextWorldSpec:
        if (self.game is None) == (self.generate is None):
            raise ValueError("give exactly one of 'game' or 'generate'")
        return self


class TurnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1, description="What the user says.")
    must_recall: list[str] = Field(
        default_factory=list, description="Texts the agent must recall on this turn."
    )
    reply_contains: list[str] = Field(default_factory=list, description="Texts the reply must contain.")


class ConversationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    turns: list[TurnSpec] = Field(min_length=1)


class EnvironmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    textworld: TextWorldSpec | None = None
    conversation: ConversationSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> EnvironmentSpec:
        if (self.textworld is None) == (self.conversation is None):
            raise ValueError("give exactly one of 'textworld' or 'conversation'")
        return self


class Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: float | None = Field(None, ge=0, le=1, description="Normalised score each run must reach.")
    must_win: bool = Field(False, description="Every run must win.")


class EpisodeScript(BaseModel):
    """One episode script (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("episode", min_length=1)
    environment: EnvironmentSpec
    max_steps: int = Field(150, ge=1, le=100_000)
    runs: int = Field(1, ge=1, le=1000)
    seeds: list[int] | None = None
    ablation: AblationName = "full"
    user: str = Field("episode", min_length=1, description="Memory namespace (suffixed with the run number).")
    agent: dict[str, Any] = Field(default_factory=dict, description="Agent settings overrides.")
    expect: Expectations = Field(default_factory=Expectations)

    @model_validator(mode="after")
    def _seeds(self) -> EpisodeScript:
        if self.seeds is not None and len(self.seeds) != self.runs:
            raise ValueError(f"'seeds' has {len(self.seeds)} entries but 'runs' is {self.runs}")
        return self

    def run_seeds(self) -> list[int]:
        return list(self.seeds) if self.seeds is not None else list(range(self.runs))


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def parse_script(data: Any, *, source: str = "<script>", base_dir: Path | None = None) -> EpisodeScript:
    """Validate ``data`` (parsed YAML) into an :class:`EpisodeScript`; relative game paths resolved to ``base_dir``.

    Raises:
        InvalidInputError: one message naming every offending key.
    """
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{source}: an episode script must be a mapping of keys, got {type(data).__name__}"
        )
    try:
        script = EpisodeScript.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _where(tuple(p for p in err["loc"] if not str(p).startswith("function-")))
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown key '{key}'")
            else:
                problems.append(f"'{key}': {err['msg']}")
        raise InvalidInputError(f"{source}: " + "; ".join(problems), hint="see examples/episodes/") from None
    tw = script.environment.textworld
    if tw is not None and tw.game is not None and base_dir is not None and not tw.game.is_absolute():
        new_tw = tw.model_copy(update={"game": (base_dir / tw.game).resolve()})
        script = script.model_copy(
            update={"environment": script.environment.model_copy(update={"textworld": new_tw})}
        )
    return script


def load_script(path: str | Path) -> EpisodeScript:
    """Read and validate a YAML episode script.

    Raises:
        MissingResourceError: the file does not exist.
        InvalidInputError: not YAML, or not a valid script (the message names the key).
    """
    p = Path(path)
    if not p.is_file():
        raise MissingResourceError(f"episode script {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{p}: not UTF-8 text (byte {exc.start})", hint="save the script as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInputError(f"{p}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_script(data, source=str(p), base_dir=p.parent)


__all__ = [
    "AblationName",
    "ConversationSpec",
    "EnvironmentSpec",
    "EpisodeScript",
    "Expectations",
    "TextWorldSpec",
    "TurnSpec",
    "load_script",
    "parse_script",
]
