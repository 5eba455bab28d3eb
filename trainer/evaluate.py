"""Test metrics computed one way for every method: accuracy, macro-F1, per-genre table, confusion."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Metrics of predictions ``proba.argmax(1)`` against ``y_true`` (integer labels)."""
    y_pred = np.asarray(proba).argmax(axis=1)
    index = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=index, zero_division=0)
    return {
        "n_test": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=index, average="macro", zero_division=0)),
        "per_genre": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=index).tolist(),
        "labels": list(labels),
    }


def spread(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation, min and max of a list of accuracies."""
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max()), "n": int(len(a))}
