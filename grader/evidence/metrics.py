"""Accuracy and F1 (positive class = 1, as GLUE-MRPC reports it), computed by the grader."""

from __future__ import annotations

import numpy as np


def classification(labels, predictions) -> dict[str, float]:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    tp = int(((predictions == 1) & (labels == 1)).sum())
    fp = int(((predictions == 1) & (labels == 0)).sum())
    fn = int(((predictions == 0) & (labels == 1)).sum())
    return {
        "accuracy": float((predictions == labels).mean()),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "positive_rate": float((predictions == 1).mean()),
    }


def majority_baseline(labels) -> dict[str, float]:
    """What predicting the most frequent class everywhere scores."""
    labels = np.asarray(labels)
    majority = int(labels.mean() >= 0.5)
    return classification(labels, np.full_like(labels, majority))
