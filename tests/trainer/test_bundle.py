import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest

from trainer import bundle
from trainer.data.feature_table import load_csv
from trainer.features import make
from trainer.methods import create
from trainer.methods.base import Arrays
from tests.support import gtzan_dir


@pytest.fixture(scope="module")
def table():
    return load_csv(gtzan_dir() / "features_30_sec.csv")


def trained(name: str, table, **overrides):
    labels = table.labels
    method = create(name, labels, **overrides)
    part = table.select(table.songs[::4])
    method.fit(Arrays(part.x, part.y(labels), part.songs), None)
    return method


@pytest.mark.parametrize("name, overrides", [
    ("xgboost", {"n_estimators": 20}),
    ("rf", {"n_estimators": 20}),
    ("knn", {}),
    ("feature-nn", {"train.epochs": 3}),
])
def test_bundle_round_trip_gives_identical_probabilities(tmp_path, table, name, overrides):
    method = trained(name, table, **overrides)
    folder = bundle.export(tmp_path / "b", method, make("gtzan-csv"), metrics={"accuracy": 0.5},
                           training_data="a quarter of the CSV")
    loaded = bundle.load(folder)
    probe = table.x[1::4][:50]
    np.testing.assert_allclose(loaded.method.predict_proba(probe), method.predict_proba(probe), rtol=1e-6, atol=1e-7)
    meta = json.loads((folder / "bundle.json").read_text())
    assert meta["method"] == name and meta["labels"] == table.labels and meta["sample_rate"] == 22050
    assert meta["pipeline"] == {"name": "gtzan-csv", "params": {"engine": "librosa"}}
    assert loaded.id == meta["id"]


def test_zipped_bundle_loads(tmp_path, table):
    folder = bundle.export(tmp_path / "b", trained("knn", table), make("gtzan-csv"), metrics={}, training_data="x")
    archive = shutil.make_archive(str(tmp_path / "b"), "zip", folder)
    assert bundle.load(archive).labels == table.labels


class Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path, table):
    folder = bundle.export(tmp_path / "b", trained("feature-nn", table, **{"train.epochs": 1}), make("gtzan-csv"),
                           metrics={}, training_data="x")
    marker = tmp_path / "pwned"
    (folder / "model.pt").write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(bundle.BundleError, match="could run code"):
        bundle.load(folder)
    # the same payload disguised under a weights name fails the checksum, never unpickled either
    (folder / "model.pt").unlink()
    (folder / "model.safetensors").write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(bundle.BundleError):
        bundle.load(folder)
    assert not marker.exists()


def test_skops_refuses_types_outside_the_allow_list(tmp_path):
    import skops.io

    path = tmp_path / "model.skops"
    skops.io.dump({"f": shutil.rmtree}, path)
    with pytest.raises(bundle.BundleError, match="not allowed"):
        bundle.load_skops(path)


def test_zip_entries_outside_the_bundle_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escape.json", "{}")
        z.writestr("bundle.json", "{}")
    with pytest.raises(bundle.BundleError, match="outside"):
        bundle.load(archive)
    assert not (tmp_path / "escape.json").exists()


def test_changed_weights_and_bad_manifests_are_refused(tmp_path, table):
    folder = bundle.export(tmp_path / "b", trained("xgboost", table, n_estimators=5), make("gtzan-csv"),
                           metrics={}, training_data="x")
    with (folder / "model.ubj").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(bundle.BundleError, match="checksum"):
        bundle.load(folder)
    (folder / "bundle.json").write_text("{not json")
    with pytest.raises(bundle.BundleError, match="not valid JSON"):
        bundle.load(folder)
    with pytest.raises(bundle.BundleError, match="not found"):
        bundle.load(tmp_path / "missing")


def test_export_refuses_to_overwrite(tmp_path, table):
    method = trained("knn", table)
    bundle.export(tmp_path / "b", method, make("gtzan-csv"), metrics={}, training_data="x")
    with pytest.raises(bundle.BundleError, match="not empty"):
        bundle.export(tmp_path / "b", method, make("gtzan-csv"), metrics={}, training_data="x")
