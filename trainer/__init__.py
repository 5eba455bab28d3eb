"""Trainer: reproduces the seed reports' genre classifiers and exports model bundles."""

__version__ = "0.1.0"
