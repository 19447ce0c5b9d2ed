"""Environments the agent acts in: the protocol, TextWorld games, scripted conversations."""

from cogarch.environments.base import HIDDEN_KEYS, CopyableEnvironment, Environment, StepResult
from cogarch.environments.conversation import ConversationEnv, Turn
from cogarch.environments.textworld_env import TextWorldEnv, check_game_file

__all__ = [
    "HIDDEN_KEYS",
    "ConversationEnv",
    "CopyableEnvironment",
    "Environment",
    "StepResult",
    "TextWorldEnv",
    "Turn",
    "check_game_file",
]
