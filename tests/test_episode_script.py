"""Episode scripts: validation errors name the offending key; examples parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogarch.episodes.script import load_script, parse_script
from reasoning.errors import InvalidInputError, MissingResourceError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "episodes"


def test_valid_script_resolves_relative_game(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("environment:\n  textworld:\n    game: games/a.z8\nruns: 2\n")
    s = load_script(tmp_path / "s.yaml")
    assert s.runs == 2 and s.run_seeds() == [0, 1]
    assert s.environment.textworld is not None
    assert s.environment.textworld.game == (tmp_path / "games" / "a.z8").resolve()


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"environment": {"textworld": {"game": "a.z8"}}, "max_step": 3}, "unknown key 'max_step'"),
        ({"environment": {"textworld": {"game": "a.z8"}}, "max_steps": "many"}, "'max_steps'"),
        (
            {"environment": {"textworld": {"game": "a.z8", "generate": {"generator": "tw-cooking"}}}},
            "exactly one",
        ),
        (
            {"environment": {"textworld": {"generate": {"generator": "tw-chess"}}}},
            "environment.textworld.generate",
        ),
        ({"environment": {"conversation": {"turns": [{"usr": "hi"}]}}}, "environment.conversation.turns.0"),
        ({"environment": {"textworld": {"game": "a.z8"}}, "runs": 2, "seeds": [1]}, "'seeds' has 1"),
        ({"environment": {"textworld": {"game": "a.z8"}}, "ablation": "none"}, "'ablation'"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_scripts_name_the_key(data: object, needle: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_script(data)
    assert needle in str(err.value)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("environment: [unclosed\n")
    with pytest.raises(InvalidInputError, match="not valid YAML at line"):
        load_script(tmp_path / "bad.yaml")
    with pytest.raises(MissingResourceError):
        load_script(tmp_path / "nope.yaml")


def test_examples_parse() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    assert len(names) >= 3
    for p in EXAMPLES.glob("*.yaml"):
        load_script(p)
