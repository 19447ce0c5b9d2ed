"""Episodes: game-playing policies, episode scripts (YAML), the runner and its traces.

- ``policy``: ``ActionPolicy`` protocol, ``GameContext``, ``WorldModelPolicy`` (+ ablations), ``RandomPolicy``.
- ``plan``: instruction steps kept across an episode.
- ``agent_adapter``: ``EpisodeAgent`` protocol, ``PolicyAgent`` (the policy without the full Agent).
- ``runner``: ``run_episode`` with JSONL traces, ``replay_commands``.
- ``script`` / ``games`` / ``session``: YAML scripts, tw-make games cached, ``run_script``.
"""

from cogarch.episodes.agent_adapter import EpisodeActResult, EpisodeAgent, PolicyAgent
from cogarch.episodes.policy import ABLATIONS, ActionPolicy, GameContext, RandomPolicy, WorldModelPolicy
from cogarch.episodes.runner import EpisodeResult, read_trace, replay_commands, run_episode
from cogarch.episodes.script import EpisodeScript, load_script, parse_script
from cogarch.episodes.session import ScriptResult, make_policy, play_game, run_script

__all__ = [
    "ABLATIONS",
    "ActionPolicy",
    "EpisodeActResult",
    "EpisodeAgent",
    "EpisodeResult",
    "EpisodeScript",
    "GameContext",
    "PolicyAgent",
    "RandomPolicy",
    "ScriptResult",
    "WorldModelPolicy",
    "load_script",
    "make_policy",
    "parse_script",
    "play_game",
    "read_trace",
    "replay_commands",
    "run_episode",
    "run_script",
]
