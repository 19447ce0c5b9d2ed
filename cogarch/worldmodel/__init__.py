"""The world model (AriGraph-style): a triplet graph kept in the agent's memory as bi-temporal facts,
rule-based perception of text-adventure conventions, action memory, and its accuracy against a game's true
facts."""

from cogarch.worldmodel.accuracy import Accuracy, world_model_accuracy
from cogarch.worldmodel.facts import MemoryFacts
from cogarch.worldmodel.graph import Triplet, TripletGraph
from cogarch.worldmodel.perception import Perception, perceive
from cogarch.worldmodel.world import Extractor, WorldModel

__all__ = [
    "Accuracy",
    "Extractor",
    "MemoryFacts",
    "Perception",
    "Triplet",
    "TripletGraph",
    "WorldModel",
    "perceive",
    "world_model_accuracy",
]
