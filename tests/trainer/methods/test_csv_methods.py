"""Seed 004's feature methods: architectures as published, and learning on the real CSV."""

import numpy as np
import pytest
import torch

from tests.support import gtzan_dir
from trainer.data.feature_table import load_csv
from trainer.data.splits import filtered_split
from trainer.methods import create, get, specs
from trainer.run import run_method

LABELS = [f"g{i}" for i in range(10)]


@pytest.fixture(scope="module")
def table():
    return load_csv(gtzan_dir() / "features_30_sec.csv")


@pytest.fixture(scope="module")
def filtered(table):
    return filtered_split(gtzan_dir() / "splits", available=[s for s in table.songs if s != "jazz.00054"])


def keras_parameter_count(model: torch.nn.Module) -> int:
    """Parameters as Keras counts them: batch-norm running statistics included, one LSTM bias per gate."""
    count = sum(p.numel() for p in model.parameters())
    count += sum(m.running_mean.numel() + m.running_var.numel()
                 for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))
    count -= sum(m.bias_hh_l0.numel() for m in model.modules() if isinstance(m, torch.nn.LSTM))
    return count


def test_dense_network_has_the_seeds_207802_parameters():
    method = create("feature-nn", LABELS)
    assert keras_parameter_count(method.build()) == 207_802


def test_lstm_network_has_the_seeds_305994_parameters():
    method = create("feature-lstm", LABELS)
    assert keras_parameter_count(method.build()) == 305_994


def test_dropping_length_leaves_57_inputs():
    method = create("feature-nn", LABELS, drop_columns=("length",))
    assert len(method.keep) == 57 and method.build().net[0].in_features == 57
    with pytest.raises(KeyError):
        create("feature-nn", LABELS, drop_columns=("loudness",))


def test_every_csv_method_is_registered_with_the_seed_figure():
    published = {n: s.published_accuracy for n, s in specs().items() if s.pipeline == "gtzan-csv"}
    assert published == {"knn": 64.5, "rf": 75.5, "xgboost": 77.5, "xgboost-tuned": 79.0,
                         "feature-nn": 75.5, "feature-lstm": 54.0}
    assert get("xgboost-tuned").config.n_estimators == 1000


@pytest.mark.parametrize("name, overrides, floor", [
    ("knn", {}, 0.30),
    ("rf", {"n_estimators": 200}, 0.45),
    ("xgboost", {}, 0.50),
    ("feature-nn", {"train.epochs": 60}, 0.40),
    ("feature-lstm", {"train.epochs": 4}, 0.15),
])
def test_methods_learn_on_the_filtered_split(table, filtered, name, overrides, floor):
    result = run_method(name, table, filtered, seed=0, overrides=overrides)
    assert result.metrics["n_test"] == 290
    # chance is 10%; floors sit well under what each method reaches, well over chance
    assert result.metrics["accuracy"] > floor
    matrix = np.asarray(result.metrics["confusion_matrix"])
    assert matrix.sum() == 290 and np.trace(matrix) / 290 == pytest.approx(result.metrics["accuracy"])


def test_neural_methods_are_seeded(table, filtered):
    a, b = (run_method("feature-nn", table, filtered, seed=7, overrides={"train.epochs": 3}) for _ in range(2))
    assert a.metrics["accuracy"] == b.metrics["accuracy"]
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
