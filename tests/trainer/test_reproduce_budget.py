"""The CPU budget's time limit: what each method gets, what the table says, and that runs saved
under another budget are redone."""

import json

from tests.support import gtzan_dir
from trainer.cli import main
from trainer.methods import get
from trainer.reproduce import (
    CPU_EPOCHS,
    CPU_IMAGE_POOL,
    CPU_PATIENCE,
    CPU_SECONDS,
    Settings,
    input_adaptation,
    method_overrides,
)
from trainer.runtime.audio import WindowSpec


def test_the_cpu_budget_limits_every_training_of_a_network_and_leaves_other_methods_alone():
    cpu = Settings(device="cpu", budget="cpu")
    assert method_overrides(get("cnn-image-vote"), cpu) == {
        "cnn.train.device": "cpu", "cnn.train.epochs": CPU_EPOCHS, "cnn.train.patience": CPU_PATIENCE,
        "cnn.train.max_seconds": CPU_SECONDS, "cnn.pool": CPU_IMAGE_POOL}
    assert "train.max_seconds" not in method_overrides(get("feature-nn"), Settings(budget="full"))
    assert not any(key.endswith("max_seconds") for key in method_overrides(get("xgboost"), cpu))


def test_the_cpu_budget_shrinks_kaggle_figures_only_and_the_table_says_so():
    cpu = Settings(device="cpu", budget="cpu")
    assert method_overrides(get("custom-cnn"), cpu)["pool"] == CPU_IMAGE_POOL
    assert "pool" not in method_overrides(get("cnn-mel128"), cpu)          # 128x128 mel images: no upsampling
    assert "pool" not in method_overrides(get("custom-cnn"), Settings(budget="full"))
    shapes: dict = {}
    text = input_adaptation(get("custom-cnn"), WindowSpec(3.0, 3.0), shapes, method_overrides(get("custom-cnn"), cpu))
    assert text.endswith("input 288×432×3 drawn from 3 s (seed: from 30 s); "
                         "averaged over 2×2 pixels to 144×216×3 before the network (budget)")
    assert "averaged" not in input_adaptation(get("custom-cnn"), WindowSpec(3.0, 3.0), shapes, {})
    # on the seeds' own 30-s clips the shrink is still stated
    assert input_adaptation(get("cnn-image"), WindowSpec(), shapes, method_overrides(get("cnn-image"), cpu)) == (
        "averaged over 2×2 pixels to 109×168×3 before the network (budget)")


def test_a_time_cut_run_is_marked_and_a_run_under_another_limit_is_redone(tmp_path, capsys):
    args = ["reproduce", "--data", str(gtzan_dir() / "features_30_sec.csv"), "--methods", "feature-nn", "knn",
            "--splits", "filtered", "--seeds", "1", "--budget", "cpu", "--out", str(tmp_path),
            "--set", "train.epochs=3", "--set", "train.max_seconds=0"]
    assert main(args) == 0
    report_path = tmp_path / "runs/feature-nn/filtered-seed0/report.json"
    report = json.loads(report_path.read_text())
    assert report["config"]["train"]["max_seconds"] == 0 and report["stopped_by"] == "time"
    assert len(report["history"]) == 1
    rows = {row["method"]: row for row in json.loads((tmp_path / "table.json").read_text())}
    assert rows["feature-nn"]["max_seconds"] == CPU_SECONDS and rows["feature-nn"]["time_cut"] == 1
    assert rows["knn"]["epochs"] is None and rows["knn"]["time_cut"] == 0
    table = (tmp_path / "table.md").read_text()
    assert f"time limit of {CPU_SECONDS:g} s per training" in table
    feature_nn_line = next(line for line in table.splitlines() if line.startswith("| feature-nn |"))
    assert "(time-cut 1/1) | 1.0 |" in feature_nn_line
    knn_line = next(line for line in table.splitlines() if line.startswith("| knn |"))
    assert "time-cut" not in knn_line
    # a run saved before the limit existed: its settings differ, so it is trained again
    report["config"]["train"].pop("max_seconds")
    report_path.write_text(json.dumps(report))
    knn_stamp = (tmp_path / "runs/knn/filtered-seed0/report.json").stat().st_mtime_ns
    assert main(args) == 0
    assert json.loads(report_path.read_text())["config"]["train"]["max_seconds"] == 0
    assert (tmp_path / "runs/knn/filtered-seed0/report.json").stat().st_mtime_ns == knn_stamp
