"""The trained CNN: model, deterministic training, export checks, classifier, and a real Snakemake run
(generated image folders, 2 epochs) through training, export, inference and aggregation."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from apexbench.config import validate_config
from apexbench.errors import ConfigError
from apexbench.labels import FER2013_ORDER
from apexbench.tables import read_meta, read_parquet

from train_helpers import write_pattern_folder
from workflow_helpers import edit_config, make_workdir, planned_jobs, snakemake

torch = pytest.importorskip("torch", reason="the training extra (requirements-train.txt) is not installed")

from apexbench.train.data import folder_fingerprint, load_image_folder  # noqa: E402
from apexbench.train.loop import TrainOptions, load_checkpoint, train  # noqa: E402
from apexbench.train.model import LightCNN, n_parameters, scaled_channels  # noqa: E402

TINY = {"width": 0.25, "epochs": 2, "batch_size": 32, "lr": 0.01, "threads": 2}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("patterns")
    return write_pattern_folder(root / "train", 40, seed=1), write_pattern_folder(root / "val", 15, seed=2)


def _weights_digest(path) -> str:
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    digest = hashlib.sha256()
    for name, tensor in state.items():
        digest.update(name.encode() + tensor.numpy().tobytes())
    return digest.hexdigest()


def test_width_multiplier_scales_the_network():
    assert scaled_channels(1.0) == (32, 64, 128, 256)
    assert scaled_channels(0.75) == (24, 48, 96, 192)
    full, slim = n_parameters(LightCNN(1.0)), n_parameters(LightCNN(0.75))
    assert 2.2e6 < 2 * full < 2.5e6  # about 2.3 MB as FP16, as in the seed
    assert slim < 0.6 * full
    assert LightCNN(0.5)(torch.zeros(3, 1, 48, 48)).shape == (3, len(FER2013_ORDER))


def test_image_folder_loads_in_fer2013_order(folders):
    data = load_image_folder(folders[0])
    assert data.images.shape == (7 * 40, 48, 48) and data.images.dtype == np.uint8
    assert data.class_counts() == {name: 40 for name in FER2013_ORDER}
    assert data.sources[data.labels.tolist().index(3)].startswith("happy/")


def test_missing_training_folder_is_one_line(tmp_path):
    from apexbench.errors import DatasetError

    with pytest.raises(DatasetError, match=r"^train.train_root: .* is not a directory"):
        load_image_folder(tmp_path / "nope", key="train.train_root")


def test_fingerprint_follows_content_not_timestamps(folders, tmp_path):
    import shutil

    copy = shutil.copytree(folders[1], tmp_path / "val")
    before = folder_fingerprint(copy)
    image = copy / "sad" / "sad_000.png"
    image.touch()
    assert folder_fingerprint(copy) == before
    image.write_bytes(image.read_bytes() + b"\0")
    assert folder_fingerprint(copy) != before


def test_training_is_deterministic_with_a_fixed_seed(folders, tmp_path):
    train_set, val_set = load_image_folder(folders[0]), load_image_folder(folders[1])
    options = TrainOptions(**{**TINY, "mixup": 0.2})
    runs = [train(train_set, val_set, options, tmp_path / f"{name}.pt") for name in ("a", "b")]
    other = train(train_set, val_set, TrainOptions(**{**TINY, "mixup": 0.2, "seed": 1}), tmp_path / "c.pt")
    strip = [[{k: v for k, v in row.items() if k != "seconds"} for row in r.history] for r in runs]
    assert strip[0] == strip[1]
    assert _weights_digest(tmp_path / "a.pt") == _weights_digest(tmp_path / "b.pt")
    assert _weights_digest(tmp_path / "c.pt") != _weights_digest(tmp_path / "a.pt")
    # The checkpoint is the best epoch by validation accuracy.
    best = max(runs[0].history, key=lambda r: r["val_acc"])
    model, state = load_checkpoint(tmp_path / "a.pt")
    assert state["epoch"] == best["epoch"] == runs[0].best_epoch
    assert state["val"]["acc"] == best["val_acc"]


def test_every_option_switched_off_or_changed_still_trains(folders, tmp_path):
    """No MixUp, no augmentation, no label smoothing: other code paths, still deterministic, and each
    switch changes the weights it learns."""
    train_set, val_set = load_image_folder(folders[0]), load_image_folder(folders[1])
    plain = {**TINY, "epochs": 1, "mixup": 0.0, "augment": False, "label_smoothing": 0.0}
    digests = {}
    for name, changes in {"plain": {}, "plain_again": {}, "smoothing": {"label_smoothing": 0.2},
                          "augment": {"augment": True}, "mixup": {"mixup": 0.2}}.items():
        result = train(train_set, val_set, TrainOptions(**{**plain, **changes}), tmp_path / f"{name}.pt")
        assert len(result.history) == 1 and np.isfinite(result.history[0]["train_loss"])
        digests[name] = _weights_digest(tmp_path / f"{name}.pt")
    assert digests["plain"] == digests["plain_again"]
    assert len({digests[k] for k in ("plain", "smoothing", "augment", "mixup")}) == 4


def test_onnx_without_the_label_order_is_refused(tmp_path):
    from apexbench.classifiers import load_classifier
    from apexbench.errors import ModelUnavailableError
    from apexbench.train.export import export_fp32

    export_fp32(LightCNN(0.25).eval(), tmp_path / "ok.onnx", {"native_order": json.dumps(list(FER2013_ORDER))})
    clf = load_classifier("cnn", tmp_path / "ok.onnx")
    scores, ms = clf.predict([np.zeros((64, 64, 3), np.uint8), np.full((48, 48, 3), 200, np.uint8)])
    assert scores.shape == (2, 7) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-5) and ms > 0
    export_fp32(LightCNN(0.25).eval(), tmp_path / "bad.onnx", {"native_order": json.dumps(sorted(FER2013_ORDER))})
    with pytest.raises(ModelUnavailableError, match="label order"):
        load_classifier("cnn", tmp_path / "bad.onnx")


@pytest.mark.slow
def test_training_export_and_benchmark_through_snakemake(folders, tmp_path):
    train_root, val_root = folders
    workdir = make_workdir(tmp_path, {
        "dataset": {"name": "patterns", "format": "image_folder", "root": str(val_root), "labels": "fer2013",
                    "demo": False, "shards": 2},
        "faces": {"detector": "none", "crop_size": 48, "margin": 0.0},
        "classifiers": {"cnn_fp32": {"kind": "cnn", "precision": "fp32"},
                        "cnn_int8": {"kind": "cnn", "precision": "int8", "batch_size": 1}},
        "train": {"train_root": str(train_root), "val_root": str(val_root),
                  **{k: v for k, v in TINY.items() if k != "threads"}},
    })
    snakemake(workdir, "--cores", "2")
    out = workdir / "results/train/cnn"

    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1, 2]
    assert list(history.columns) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
                                     "val_macro_f1", "seconds"]
    summary = json.loads((out / "train.json").read_text())
    assert summary["best_epoch"] == int(history.loc[history["val_acc"].idxmax(), "epoch"])
    assert summary["n_train"] == 280 and summary["n_val"] == 105 and summary["options"]["threads"] == 2
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    export = json.loads((out / "export.json").read_text())
    assert export["fp32"]["agreement"] == 1.0 and export["fp32"]["max_abs_diff"] <= 1e-4
    assert export["int8"]["agreement"] >= 0.9
    assert export["fp32"]["size_bytes"] == (out / "model_fp32.onnx").stat().st_size
    assert export["int8"]["size_bytes"] < 0.5 * export["fp32"]["size_bytes"]
    status = json.loads((out / "status/int8.json").read_text())
    assert status["available"] and status["path"] == "results/train/cnn/model_int8.onnx"

    # Benchmarked like the others: same prediction files, metrics and provenance.
    preds = pd.concat([read_parquet(workdir / f"results/patterns/predictions/cnn_fp32/shard-{k}.parquet") for k in (0, 1)])
    assert (preds["status"] == "ok").all() and (preds["latency_ms"] > 0).all()
    assert read_meta(workdir / "results/patterns/predictions/cnn_fp32/shard-0.parquet")["native_order"] == list(FER2013_ORDER)
    metrics = pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])
    headline = metrics[metrics["class"].isna()].set_index(["classifier", "metric"])["value"]
    # The benchmark set is the validation folder: the workflow's crops give the export's accuracy
    # (cnn_int8 runs one face per batch, as the export check does: dynamic INT8 depends on the batch).
    assert headline[("cnn_fp32", "accuracy")] == pytest.approx(export["fp32"]["acc"])
    assert headline[("cnn_int8", "accuracy")] == pytest.approx(export["int8"]["acc"])
    provenance = json.loads((workdir / "results/provenance.json").read_text())
    assert provenance["models"]["cnn_int8"]["sha256"] == export["int8"]["sha256"]

    # Cached: nothing reruns; a training option reruns training, export and the CNN branches only.
    assert planned_jobs(workdir) == {}
    edit_config(workdir, {"train": {"epochs": 3}})
    assert planned_jobs(workdir) == {"train_cnn": 1, "export_cnn": 1, "infer": 4, "aggregate": 1,
                                     "leaderboard": 1, "all": 1}
    edit_config(workdir, {"train": {"epochs": 2}})
    assert planned_jobs(workdir) == {}
    # A deleted export is rebuilt from the cached checkpoint (rule all requests the trained files).
    (out / "model_int8.onnx").unlink()
    jobs = planned_jobs(workdir)
    assert jobs["export_cnn"] == 1 and "train_cnn" not in jobs
    # An edited training image reruns training (its content is part of the job's parameters).
    image = train_root / "fear" / "fear_000.png"
    original = image.read_bytes()
    try:
        image.write_bytes(original + b"\0")
        assert planned_jobs(workdir)["train_cnn"] == 1
    finally:
        image.write_bytes(original)
