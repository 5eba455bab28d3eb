"""Seed 004's classical learners on the GTZAN CSV features: k-NN, random forest, XGBoost.

scikit-learn models are stored with skops (a format that refuses unknown types instead of
running them); XGBoost boosters in their own UBJSON format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from trainer.runtime.models.base import TableModel, families


@dataclass(frozen=True)
class KnnConfig:
    n_neighbors: int = 19
    weights: str = "uniform"
    drop_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForestConfig:
    n_estimators: int = 1000
    max_depth: int | None = 10
    seed: int = 0
    drop_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoostConfig:
    n_estimators: int = 100
    learning_rate: float = 0.3
    max_depth: int = 6
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    seed: int = 0
    drop_columns: tuple[str, ...] = ()


class SklearnModel(TableModel):
    """k-NN and random forests, saved with skops."""

    config_families: ClassVar[dict[type, str]] = {KnnConfig: "tabular.knn", ForestConfig: "tabular.rf"}
    model_file = "model.skops"

    def proba_scaled(self, x: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(x), len(self.labels)))
        proba[:, self.model.classes_] = self.model.predict_proba(x)
        return proba

    def save_model(self, folder: Path) -> list[str]:
        import skops.io

        skops.io.dump(self.model, folder / self.model_file)
        return [self.model_file]

    def load_model(self, folder: Path) -> None:
        from trainer.runtime.bundle import load_skops

        self.model = load_skops(folder / self.model_file, len(self.labels))


class BoostModel(TableModel):
    """Gradient-boosted trees (XGBoost), saved as a UBJSON booster."""

    config_families: ClassVar[dict[type, str]] = {BoostConfig: "tabular.xgboost"}
    model_file = "model.ubj"

    def proba_scaled(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)

    def save_model(self, folder: Path) -> list[str]:
        self.model.save_model(folder / self.model_file)
        return [self.model_file]

    def load_model(self, folder: Path) -> None:
        from xgboost import XGBClassifier

        self.model = XGBClassifier()
        self.model.load_model(folder / self.model_file)
        if self.model.n_classes_ != len(self.labels):
            raise ValueError(f"the booster predicts {self.model.n_classes_} classes, the manifest names "
                             f"{len(self.labels)} labels")


FAMILIES = families(SklearnModel, BoostModel)
