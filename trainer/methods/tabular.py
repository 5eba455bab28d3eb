"""Seed 004's classical learners on the GTZAN CSV features: k-NN, random forest, XGBoost, as
trained here (their configs, load, predict and save are ``trainer.runtime.models.tabular``)."""

from __future__ import annotations

from trainer.methods import MethodSpec, register
from trainer.methods.base import Hooks, TableMethod
from trainer.runtime.models.tabular import (
    BoostConfig,
    BoostModel,
    ForestConfig,
    KnnConfig,
    SklearnModel,
)

CSV_PROTOCOL = "80/20 random split of the 1000 CSV rows"


class SklearnMethod(TableMethod, SklearnModel):
    """k-NN and random forests, fitted by scikit-learn."""

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


class BoostMethod(TableMethod, BoostModel):
    """Gradient-boosted trees fitted by XGBoost."""

    def fit_scaled(self, x, y, valid, hooks: Hooks) -> None:
        from xgboost import XGBClassifier

        c = self.config
        self.model = XGBClassifier(n_estimators=c.n_estimators, learning_rate=c.learning_rate,
                                   max_depth=c.max_depth, subsample=c.subsample,
                                   colsample_bytree=c.colsample_bytree, random_state=c.seed,
                                   objective="multi:softprob", num_class=len(self.labels),
                                   tree_method="hist", n_jobs=0)
        self.model.fit(x, y)


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
