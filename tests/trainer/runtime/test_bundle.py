import hashlib
import json
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.support import gtzan_dir
from trainer.bundle import export
from trainer.data.feature_table import load_csv
from trainer.methods import create
from trainer.methods.base import Arrays
from trainer.runtime import bundle
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import make


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
    folder = export(tmp_path / "b", method, make("gtzan-csv"), metrics={"accuracy": 0.5},
                           training_data="a quarter of the CSV")
    loaded = bundle.load(folder)
    probe = table.x[1::4][:50]
    np.testing.assert_allclose(loaded.model.predict_proba(probe), method.predict_proba(probe), rtol=1e-6, atol=1e-7)
    meta = json.loads((folder / "bundle.json").read_text())
    assert meta["method"] == name and meta["labels"] == table.labels and meta["sample_rate"] == 22050
    assert meta["pipeline"] == {"name": "gtzan-csv", "params": {"engine": "librosa"}}
    assert loaded.id == meta["id"] and meta["family"] == method.family == loaded.model.family
    assert loaded.manifest == bundle.Manifest.from_json(meta) and loaded.manifest.to_json() == meta


def test_zipped_bundle_loads(tmp_path, table):
    folder = export(tmp_path / "b", trained("knn", table), make("gtzan-csv"), metrics={}, training_data="x")
    archive = shutil.make_archive(str(tmp_path / "b"), "zip", folder)
    assert bundle.load(archive).labels == table.labels


class Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path, table):
    folder = export(tmp_path / "b", trained("feature-nn", table, **{"train.epochs": 1}), make("gtzan-csv"),
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
        bundle.load_skops(path, 10)


def test_zip_entries_outside_the_bundle_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escape.json", "{}")
        z.writestr("bundle.json", "{}")
    with pytest.raises(bundle.BundleError, match="outside"):
        bundle.load(archive)
    assert not (tmp_path / "escape.json").exists()


def test_changed_weights_and_bad_manifests_are_refused(tmp_path, table):
    folder = export(tmp_path / "b", trained("xgboost", table, n_estimators=5), make("gtzan-csv"),
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
    export(tmp_path / "b", method, make("gtzan-csv"), metrics={}, training_data="x")
    with pytest.raises(bundle.BundleError, match="not empty"):
        export(tmp_path / "b", method, make("gtzan-csv"), metrics={}, training_data="x")


def _json_node(value) -> dict:
    return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True, "__id__": id(value)}


def _skops_calling(module: str, function: str, code: str, path) -> None:
    """A skops file whose reduce node calls ``module.function(code, {})`` when loaded."""
    empty = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {},
             "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []},
             "__id__": 2}
    schema = {"__class__": function, "__module__": module, "__loader__": "ConstructorFromReduceNode",
              "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                          "content": [_json_node(code), empty]},
              "__id__": 1, "protocol": 2, "_skops_version": "0.10"}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))


def test_a_skops_reduce_node_calling_a_numpy_function_never_runs(tmp_path, table):
    import skops.io

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.skops"
    _skops_calling("numpy.testing._private.utils", "runstring", f"open({str(marker)!r}, 'w').close()", evil)
    # the crafted file is a real attack: skops itself would run it if told to trust the type
    assert skops.io.get_untrusted_types(file=evil) == ["numpy.testing._private.utils.runstring"]
    with pytest.raises(bundle.BundleError, match="not allowed.*runstring"):
        bundle.load_skops(evil, 10)
    # inside a bundle, with the checksum recomputed as an attacker would
    folder = export(tmp_path / "b", trained("rf", table, n_estimators=3), make("gtzan-csv"),
                           metrics={}, training_data="x")
    shutil.copy(evil, folder / "model.skops")
    meta = json.loads((folder / "bundle.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(b"".join((folder / n).read_bytes() for n in sorted(meta["weights"]))).hexdigest()
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(bundle.BundleError, match="not allowed"):
        bundle.load(folder)
    del meta["weights_sha256"]
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(bundle.BundleError, match="not allowed"):
        bundle.load(folder)
    assert not marker.exists()


@pytest.mark.parametrize("name, overrides", [("xgboost", {"n_estimators": 3}), ("rf", {"n_estimators": 3}),
                                             ("feature-nn", {"train.epochs": 1})])
def test_a_pickle_in_every_weights_slot_is_refused_and_never_runs(tmp_path, table, name, overrides):
    folder = export(tmp_path / "b", trained(name, table, **overrides), make("gtzan-csv"),
                           metrics={}, training_data="x")
    marker = tmp_path / "pwned"
    meta = json.loads((folder / "bundle.json").read_text())
    for slot in meta["weights"]:
        original = (folder / slot).read_bytes()
        (folder / slot).write_bytes(pickle.dumps(Payload(str(marker))))
        meta["weights_sha256"] = hashlib.sha256(b"".join((folder / n).read_bytes() for n in sorted(meta["weights"]))).hexdigest()
        (folder / "bundle.json").write_text(json.dumps(meta))
        with pytest.raises(bundle.BundleError, match="damaged|not a readable"):
            bundle.load(folder)
        (folder / slot).write_bytes(original)
    assert not marker.exists()


TAMPERED = {
    "fewer labels than the model predicts": (lambda m: m.update(labels=m["labels"][:-1]), "do not fit"),
    "labels not a list": (lambda m: m.update(labels="rock"), "labels must be"),
    "repeated labels": (lambda m: m.update(labels=[m["labels"][0]] * len(m["labels"])), "distinct"),
    "sample rate as text": (lambda m: m.update(sample_rate="22050"), "sample_rate must be"),
    "sample rate not the pipeline's": (lambda m: m.update(sample_rate=16000), "wrong rate"),
    "negative window": (lambda m: m["window"].update(length_s=-30), "window.length_s"),
    "window without its tail rule": (lambda m: m["window"].pop("tail"), "window must be an object with exactly"),
    "unknown tail rule": (lambda m: m["window"].update(tail="loop"), "unknown tail rule"),
    "window cap as text": (lambda m: m["window"].update(max_windows="all"), "window.max_windows"),
    "unknown pipeline": (lambda m: m.update(pipeline={"name": "eval", "params": {}}), "does not have"),
    "junk pipeline parameter": (lambda m: m["pipeline"]["params"].update(engine=[1, 2]), "not of the kind"),
    "unknown pipeline parameter": (lambda m: m["pipeline"]["params"].update(path="/etc"), "no parameter"),
    "rejected pipeline value": (lambda m: m["pipeline"]["params"].update(engine="gpu-magic"), "refuses"),
    "junk setting": (lambda m: m["config"].update(n_estimators="many"), "not of the kind"),
    "unknown setting": (lambda m: m["config"].update(exec="x"), "does not know"),
    "unknown model family": (lambda m: m.update(family="os.system"), "does not have"),
    "family of another model": (lambda m: m.update(family="tabular.knn"), "does not know"),
    "no model family": (lambda m: m.pop("family"), "lacks family"),
    "no weights list": (lambda m: m.update(weights="model.ubj"), "weights must be"),
    "newer format": (lambda m: m.update(format_version=99), "not supported"),
    "format 1": (lambda m: m.update(format_version=1), "genre-trainer upgrade-bundle PATH"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_manifest_gives_one_clear_error(tmp_path, table, case):
    folder = export(tmp_path / "b", trained("xgboost", table, n_estimators=3), make("gtzan-csv"),
                           metrics={}, training_data="x")
    meta = json.loads((folder / "bundle.json").read_text())
    change, message = TAMPERED[case]
    change(meta)
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(bundle.BundleError, match=message) as caught:
        bundle.load(folder)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


@pytest.mark.parametrize("text, message", [("[" * 100_000 + "]" * 100_000, "nests too deeply"),
                                           (" " * (5 << 20) + "{}", "a manifest is a few kilobytes")])
def test_a_manifest_built_to_exhaust_the_parser_is_refused(tmp_path, text, message):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "bundle.json").write_text(text)
    with pytest.raises(bundle.BundleError, match=message):
        bundle.load(folder)


def test_a_zip_that_would_unpack_beyond_any_bundle_is_refused_before_unpacking(tmp_path, monkeypatch):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bundle.json", "{}")
        z.writestr("model.safetensors", b"\0" * (8 << 20))  # 8 MiB of zeros packs to a few KiB
    monkeypatch.setattr(bundle, "MAX_UNZIPPED_BYTES", 4 << 20)
    unpacked_before = set(Path(tempfile.gettempdir()).glob("genre-bundle-*"))
    with pytest.raises(bundle.BundleError, match="would unpack to"):
        bundle.load(archive)
    assert archive.stat().st_size < 1 << 20
    assert set(Path(tempfile.gettempdir()).glob("genre-bundle-*")) == unpacked_before


def test_a_vocabulary_is_checked_at_export_and_read_back(tmp_path, table):
    method = trained("knn", table)
    genres = {label: label.title() for label in table.labels if label != "disco"}
    vocabulary = {"threshold": 0.3, "genres": genres, "descriptors": {"disco": "danceable"}}
    folder = export(tmp_path / "b", method, make("gtzan-csv"), metrics={}, training_data="x",
                           vocabulary=vocabulary)
    assert bundle.load(folder).manifest.vocabulary == vocabulary
    with pytest.raises(bundle.BundleError, match="every label once"):
        export(tmp_path / "c", method, make("gtzan-csv"), metrics={}, training_data="x",
                      vocabulary={"threshold": 0.3, "genres": genres, "descriptors": {}})
    assert not (tmp_path / "c").exists()


def test_the_full_window_specification_is_recorded_and_read_back(tmp_path, table):
    window = WindowSpec(length_s=10.0, hop_s=5.0, tail="drop", min_tail_s=3.0, max_windows=7)
    folder = export(tmp_path / "b", trained("knn", table), make("gtzan-csv"), metrics={}, training_data="x",
                    window=window.to_dict())
    assert json.loads((folder / "bundle.json").read_text())["window"] == window.to_dict()
    assert bundle.load(folder).manifest.window == window
    assert bundle.read_manifest(shutil.make_archive(str(tmp_path / "b"), "zip", folder)).window == window
