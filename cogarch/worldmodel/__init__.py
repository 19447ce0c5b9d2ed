"""The world model (AriGraph-style): a triplet graph with episodic vertices, rule-based perception of
text-adventure conventions, action memory, and its accuracy against a game's true facts."""

from cogarch.worldmodel.accuracy import Accuracy, world_model_accuracy
from cogarch.worldmodel.graph import EpisodeVertex, Triplet, TripletGraph
from cogarch.worldmodel.perception import Perception, perceive
from cogarch.worldmodel.world import Extractor, WorldModel

__all__ = [
    "Accuracy",
    "EpisodeVertex",
    "Extractor",
    "Perception",
    "Triplet",
    "TripletGraph",
    "WorldModel",
    "perceive",
    "world_model_accuracy",
]
