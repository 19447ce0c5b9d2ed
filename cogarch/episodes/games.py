"""Game files: a path, or ``tw-make`` generator settings built once and cached by their hash.

``build_game(GeneratorSpec(...), cache_dir)`` runs TextWorld's bundled ``tw-make`` (Inform 7 inside the wheel,
offline) and keeps ``<cache_dir>/<generator>-<hash>.z8`` (+ ``.json``); the same settings reuse the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cogarch.environments.textworld_env import check_game_file
from reasoning.errors import InvalidInputError, MissingResourceError

Generator = Literal["tw-simple", "tw-cooking", "tw-treasure_hunter", "tw-coin_collector"]


class GeneratorSpec(BaseModel):
    """``tw-make`` settings. ``options`` are the generator's own flags (``{"recipe": 1, "cut": true}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generator: Generator = Field(description="tw-make subcommand.")
    seed: int = Field(0, description="Generation seed.")
    options: dict[str, int | bool | str] = Field(default_factory=dict, description="Generator flags.")

    def args(self) -> list[str]:
        out = [self.generator, "--seed", str(self.seed)]
        for key, value in sorted(self.options.items()):
            flag = "--" + key.replace("_", "-") if self.generator != "tw-simple" else "--" + key
            if value is True:
                out.append(flag)
            elif value is False:
                continue
            else:
                out += [flag, str(value)]
        return out

    def key(self) -> str:
        digest = hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.generator}-{digest}"


def _tw_make() -> str:
    exe = Path(sys.executable).with_name("tw-make")
    if exe.is_file():
        return os.fspath(exe)
    found = shutil.which("tw-make")
    if found is None:
        raise MissingResourceError("tw-make is not installed", hint="pip install 'cogarch[textworld]'")
    return found


def build_game(spec: GeneratorSpec, cache_dir: str | Path) -> Path:
    """The game for ``spec``, built with ``tw-make`` unless cached.

    Raises:
        MissingResourceError: tw-make is not installed.
        InvalidInputError: tw-make rejected the settings (its message is included).
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{spec.key()}.z8"
    if out.is_file() and out.with_suffix(".json").is_file():
        return out
    cmd = [_tw_make(), *spec.args(), "--output", os.fspath(out), "-f", "--silent"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or not out.is_file():
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InvalidInputError(
            f"tw-make failed for {spec.args()}: {last[0]}", hint="check the generator options"
        )
    return check_game_file(out)


__all__ = ["GeneratorSpec", "build_game"]
