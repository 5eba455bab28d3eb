"""The shared training loop's stopping rules: all epochs, early stopping, the time limit."""

import numpy as np
import torch
from torch import nn

from trainer.fit import fit, tensor_dataset
from trainer.runtime.models.base import TrainConfig


def _data(seed: int) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    """Two separable classes: a linear model learns them, so validation accuracy can rise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 64)
    x = rng.normal(0, 1, (64, 4)).astype(np.float32) + 2.0 * y[:, None]
    return tensor_dataset(x[:48], y[:48]), tensor_dataset(x[48:], y[48:])


def _config(**changes) -> TrainConfig:
    return TrainConfig(**{"epochs": 6, "batch_size": 16, "device": "cpu", "patience": None, **changes})


def test_all_epochs_run_without_a_limit_or_patience():
    train, valid = _data(0)
    result = fit(nn.Linear(4, 2), train, valid, _config())
    assert (result.epochs, result.stopped_by) == (6, "epochs")


def test_a_zero_time_limit_stops_after_exactly_one_epoch_keeping_its_weights():
    train, valid = _data(1)
    model = nn.Linear(4, 2)
    result = fit(model, train, valid, _config(max_seconds=0.0))
    assert (result.epochs, result.stopped_by, result.best_epoch) == (1, "time", 1)
    x, y = valid.tensors
    assert float((model(x).argmax(1) == y).float().mean()) == result.history[0].valid_accuracy


def test_patience_wins_when_it_comes_before_the_time_limit():
    train, valid = _data(2)
    # lr 0: validation accuracy never improves after the first epoch, so patience 2 stops at epoch 3.
    result = fit(nn.Linear(4, 2), train, valid, _config(lr=0.0, patience=2, max_seconds=3600.0))
    assert (result.epochs, result.stopped_by, result.best_epoch) == (3, "patience", 1)


def test_a_limit_on_the_last_epoch_counts_as_all_epochs_run():
    train, _ = _data(3)
    result = fit(nn.Linear(4, 2), train, None, _config(epochs=1, max_seconds=0.0))
    assert (result.epochs, result.stopped_by) == (1, "epochs")
