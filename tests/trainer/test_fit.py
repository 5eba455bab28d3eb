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


class _CountingLinear(nn.Linear):
    """A linear model that counts the batches it is trained on."""

    batches = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches += self.training
        return super().forward(x)


def test_a_zero_time_limit_stops_inside_the_first_epoch_keeping_its_weights():
    train, valid = _data(1)
    model = _CountingLinear(4, 2)
    result = fit(model, train, valid, _config(max_seconds=0.0))
    # 48 rows in batches of 16: the limit cuts the epoch after its first batch, then validates it.
    assert (result.epochs, result.stopped_by, result.best_epoch, model.batches) == (1, "time", 1, 1)
    x, y = valid.tensors
    assert float((model(x).argmax(1) == y).float().mean()) == result.history[0].valid_accuracy


def test_patience_wins_when_it_comes_before_the_time_limit():
    train, valid = _data(2)
    # lr 0: validation accuracy never improves after the first epoch, so patience 2 stops at epoch 3.
    result = fit(nn.Linear(4, 2), train, valid, _config(lr=0.0, patience=2, max_seconds=3600.0))
    assert (result.epochs, result.stopped_by, result.best_epoch) == (3, "patience", 1)


def test_a_limit_passing_at_the_end_of_the_last_epoch_counts_as_all_epochs_run():
    train, _ = _data(3)
    # One batch per epoch: the limit can only pass after it, when every epoch has run.
    result = fit(nn.Linear(4, 2), train, None, _config(epochs=1, batch_size=48, max_seconds=0.0))
    assert (result.epochs, result.stopped_by) == (1, "epochs")


def test_a_convolution_trained_channels_last_is_handed_back_in_the_default_layout():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0, 1, (32, 3, 8, 8)).astype(np.float32), rng.integers(0, 2, 32)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    before = model[0].weight.detach().clone()
    fit(model, tensor_dataset(x, y), tensor_dataset(x, y), _config(epochs=2))
    # safetensors stores contiguous tensors only; the layout change must not leak into saved weights.
    assert all(p.is_contiguous() for p in model.parameters())
    assert not torch.equal(model[0].weight, before)
