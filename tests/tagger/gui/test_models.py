"""The model picker: every model carries its test figure on the same basis (accuracy, test songs,
split, what it learnt from), the shipped one read from its bundle.json, and a figure that cannot
stand beside the others says so."""

from __future__ import annotations

import json

from tagger.gui.bundles import bundle_info
from tests.support import gtzan_dir
from trainer.runtime.resources import SHIPPED_BUNDLES

XGBOOST = SHIPPED_BUNDLES["gtzan10-xgboost"]


def test_the_shipped_models_figure_comes_from_its_manifest():
    meta = json.loads((XGBOOST / "bundle.json").read_text())
    held_out = meta["metrics"]["filtered_test"]
    figure = bundle_info(XGBOOST).figure()
    assert (figure.accuracy, figure.n_test, figure.split) == (held_out["accuracy"], held_out["n_test"], "filtered")
    assert figure.trained_on == meta["training_data"]
    assert bundle_info(XGBOOST).comparability() is None


def _random_split_bundle(models_dir):
    """k-NN on every CSV column (``length`` included), measured on a random split."""
    from trainer import bundle
    from trainer.data.feature_table import load_csv
    from trainer.methods import create
    from trainer.methods.base import Arrays
    from trainer.runtime.features import make

    table, _ = load_csv(gtzan_dir() / "features_30_sec.csv").usable()
    method = create("knn", table.labels)
    method.fit(Arrays(table.x, table.y(table.labels), table.songs), None)
    return bundle.export(models_dir / "knn-20261130-000000" / "bundle", method, make("gtzan-csv"),
                         metrics={"accuracy": 0.81, "n_test": 200, "split": {"name": "random-80-20"}},
                         training_data="GTZAN CSV: 800 training songs of split random-80-20")


def test_the_picker_shows_every_figure_and_flags_the_ones_not_comparable(qtbot, window):
    folder = _random_split_bundle(window.settings.models_dir)
    page = window.settings_page
    page.refresh_models()
    titles = [page.model_choice.itemText(i) for i in range(page.model_choice.count())]
    shipped = bundle_info(XGBOOST).figure()
    assert titles[0].startswith("Shipped model: musicnn-msd: 29 genres, multi-label (")  # the default
    assert titles[1].startswith("Shipped: logreg-musicnn: ")
    assert titles[2].startswith(f"Shipped: xgboost-tuned: {shipped.accuracy:.1%} on {shipped.n_test} test "
                                "songs, filtered split (")
    assert titles[3].startswith("knn: 81.0% on 200 test songs, random-80-20 split (not comparable) (")
    assert titles[4].startswith("knn: 64.0% on 200 test songs, unrecorded split (not comparable)")  # the test's model
    page.set_model(folder)
    text = page.model_text.text()
    assert "Trained on: GTZAN CSV: 800 training songs of split random-80-20" in text
    assert "Not comparable: measured on the random-80-20 split" in text
    assert "trained with the clips' 'length' column" in text
