"""CoAT: Monte-Carlo tree search over chains of associated thoughts (and LATS-style environment search).

See ``README.md`` in this folder for the interfaces and implementations.
"""

from reasoning.search.associations import Association, Associator, GenerativeAssociator, LexicalAssociator
from reasoning.search.coat import CoATSearch, EventSink, StopFlag
from reasoning.search.environment import ActionProposer, CopyableEnv, ResultEnvAdapter, ScoredActionProposer
from reasoning.search.evaluators import (
    Evaluation,
    Evaluator,
    LLMJudge,
    OptionScoringJudge,
    StepJudge,
    TranscriptEvaluator,
)
from reasoning.search.result import SearchEvent, SearchResult, StopReason
from reasoning.search.tree import Node, Tree

__all__ = [
    "ActionProposer",
    "Association",
    "Associator",
    "CoATSearch",
    "CopyableEnv",
    "Evaluation",
    "Evaluator",
    "EventSink",
    "GenerativeAssociator",
    "LLMJudge",
    "LexicalAssociator",
    "Node",
    "OptionScoringJudge",
    "ResultEnvAdapter",
    "ScoredActionProposer",
    "SearchEvent",
    "SearchResult",
    "StepJudge",
    "StopFlag",
    "StopReason",
    "TranscriptEvaluator",
    "Tree",
]
