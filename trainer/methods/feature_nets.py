"""Seed 004's neural networks on the GTZAN CSV features, as trained here by the shared loop
(configs and networks: ``trainer.runtime.models.feature_nets``)."""

from __future__ import annotations

from trainer.methods import MethodSpec, register
from trainer.methods.base import Hooks, TableMethod
from trainer.methods.tabular import CSV_PROTOCOL
from trainer.methods.torch_method import TorchTraining
from trainer.runtime.models.feature_nets import DenseConfig, FeatureNetModel, LstmConfig


class FeatureNetMethod(TorchTraining, TableMethod, FeatureNetModel):
    """A torch network over scaled CSV features, early-stopped on the validation rows."""

    uses_validation = True

    def fit_scaled(self, x, y, valid, hooks: Hooks) -> None:
        self.train_module(x, y, valid, hooks)


for _name, _config, _summary, _published in (
    ("feature-nn", DenseConfig(), "dense 512-256-128-64-16 with batch norm and dropout on CSV features", 75.5),
    ("feature-lstm", LstmConfig(), "LSTM 256 over the 58 CSV features as a sequence, dense 128-64", 54.0),
):
    register(MethodSpec(name=_name, family=FeatureNetMethod, config=_config, seed="004", summary=_summary,
                        pipeline="gtzan-csv", published=f"{_published:g}", published_accuracy=_published,
                        seed_protocol=CSV_PROTOCOL))
