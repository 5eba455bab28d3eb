"""Seed 004's classical learners on the GTZAN CSV features: k-NN, random forest, XGBoost.

scikit-learn models are stored with skops (a format that refuses unknown types instead of
running them); XGBoost boosters in their own UBJSON format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.methods import MethodSpec, register
from trainer.methods.base import Hooks, TableMethod

CSV_PROTOCOL = "80/20 random split of the 1000 CSV rows"


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


class SklearnMethod(TableMethod):
    """k-NN and random forests, saved with skops."""

    model_file = "model.skops"

    def _estimator(self):
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.neighbors import KNeighborsClassifier

        c = self.config
        if isinstance(c, KnnConfig):
            return KNeighborsClassifier(n_neighbors=c.n_neighbors, weights=c.weights)
        return RandomForestClassifier(n_estimators=c.n_estimators, max_depth=c.max_depth,
                                      random_state=c.seed, n_jobs=-1)

    def fit_scaled(self, x, y, valid, hooks: Hooks) -> None:
        self.model = self._estimator().fit(x, y)

    def proba_scaled(self, x: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(x), len(self.labels)))
        proba[:, self.model.classes_] = self.model.predict_proba(x)
        return proba

    def save_model(self, folder: Path) -> list[str]:
        import skops.io

        skops.io.dump(self.model, folder / self.model_file)
        return [self.model_file]

    def load_model(self, folder: Path) -> None:
        from trainer.bundle import load_skops

        self.model = load_skops(folder / self.model_file, len(self.labels))


class BoostMethod(TableMethod):
    """Gradient-boosted trees (XGBoost), saved as a UBJSON booster."""

    model_file = "model.ubj"

    def fit_scaled(self, x, y, valid, hooks: Hooks) -> None:
        from xgboost import XGBClassifier

        c = self.config
        self.model = XGBClassifier(n_estimators=c.n_estimators, learning_rate=c.learning_rate,
                                   max_depth=c.max_depth, subsample=c.subsample,
                                   colsample_bytree=c.colsample_bytree, random_state=c.seed,
                                   objective="multi:softprob", num_class=len(self.labels),
                                   tree_method="hist", n_jobs=0)
        self.model.fit(x, y)

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


def _csv_spec(name: str, family: type[TableMethod], config, summary: str, published: float) -> MethodSpec:
    return register(MethodSpec(
        name=name, family=family, config=config, seed="004", summary=summary,
        pipeline="gtzan-csv", published=f"{published:g}", published_accuracy=published,
        seed_protocol=CSV_PROTOCOL))


_csv_spec("knn", SklearnMethod, KnnConfig(), "k-nearest neighbours (k=19) on standard-scaled CSV features", 64.5)
_csv_spec("rf", SklearnMethod, ForestConfig(), "random forest, 1000 trees of depth 10, on CSV features", 75.5)
_csv_spec("xgboost", BoostMethod, BoostConfig(), "XGBoost with library defaults on CSV features", 77.5)
_csv_spec("xgboost-tuned", BoostMethod, BoostConfig(n_estimators=1000, learning_rate=0.05),
          "XGBoost, 1000 trees at learning rate 0.05, on CSV features", 79.0)
