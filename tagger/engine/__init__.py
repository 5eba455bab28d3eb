"""The classification engine: a model bundle loaded once, fed windows of decoded tracks."""

from tagger.engine.classifier import Classifier, TrackFailure, TrackResult

__all__ = ["Classifier", "TrackFailure", "TrackResult"]
