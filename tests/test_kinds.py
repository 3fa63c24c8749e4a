"""The one table of classifier kinds (apexbench.kinds): everything that reads it agrees with it, the
schema's lists of allowed values agree with the code's, and a new row is all a new kind needs."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from apexbench import baselines, detection_eval
from apexbench.classifiers import Classifier, load_classifier
from apexbench.classifiers import spec as generic_spec
from apexbench.classifiers.cnn import PRECISIONS
from apexbench.classifiers.deepface import NATIVE_DETECTORS
from apexbench.codehash import package_modules
from apexbench.config import load_schema, validate_config
from apexbench.datasets import FORMATS
from apexbench.errors import ConfigError
from apexbench.faces import DETECTORS
from apexbench.infer import input_columns, predict_frames
from apexbench.kinds import (COMMON_KEYS, CONVERTED_KINDS, GENERIC_KINDS, KINDS, NEEDS_ONSET, TRAINED,
                             TRAINED_KINDS, WORKFLOW_TRAINED_KINDS, Kind, adapter_class, adapter_options)
from apexbench.labels import CANONICAL, CONTEMPT_STRATEGIES, DATASET_LABEL_MAPS, EXTENDED, FER2013_ORDER, SCHEMES
from apexbench.perturb import PERTURBATIONS

from conftest import REPO

SCHEMA_FILE = REPO / "workflow" / "schemas" / "config.schema.yaml"
BASE = {"dataset": {"format": "image_folder", "root": "x"}}


def _classifier_schema(schema=None) -> dict:
    return (schema or load_schema())["properties"]["classifiers"]["additionalProperties"]["properties"]


# --- the table and its readers --------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_a_loadable_adapter_or_is_trained(kind):
    row = KINDS[kind]
    if row.stage == TRAINED:
        assert kind in baselines.TRAINED_KINDS
        baselines.make_model(kind, 20, seed=0)  # the features + train rules know how to fit it
        with pytest.raises(ConfigError, match="trained baseline"):
            adapter_class(kind)
        return
    cls = adapter_class(kind)
    assert issubclass(cls, Classifier) and cls.kind == kind
    assert cls.input_column.fget is Classifier.input_column.fget  # read from the table, never redeclared
    assert row.generic or cls.native_order, kind


def test_derived_views_come_from_the_table():
    assert TRAINED_KINDS == baselines.TRAINED_KINDS == ("flow", "landmarks", "siamese")
    assert NEEDS_ONSET == baselines.NEEDS_ONSET == {"flow": True, "landmarks": False, "siamese": True}
    assert CONVERTED_KINDS == {"libreface"} and WORKFLOW_TRAINED_KINDS == ("cnn",)
    assert GENERIC_KINDS == ("onnx", "tflite")
    assert [k for k, r in KINDS.items() if r.own_detector] == ["deepface_native"]
    assert input_columns(KINDS["deepface_native"]) == ["sample_id", "face_status", "apex_jpeg"]
    assert input_columns(KINDS["minixception"]) == ["sample_id", "face_status", "face_crop"]


def test_the_schema_kind_enum_is_the_table():
    assert _classifier_schema()["kind"]["enum"] == sorted(KINDS)
    raw = yaml.safe_load(SCHEMA_FILE.read_text())
    assert "enum" not in _classifier_schema(raw)["kind"]  # no second list in the file to drift


def test_the_schema_accepts_exactly_the_keys_the_table_names():
    keys = set(COMMON_KEYS) | {key for row in KINDS.values() for key in row.options}
    assert set(_classifier_schema()) == keys
    for row in KINDS.values():  # every default is a valid value of its key
        for key, default in row.defaults.items():
            assert key in row.options


@pytest.mark.parametrize("kind", sorted(k for k in KINDS if not KINDS[k].generic))
def test_config_defaults_come_from_the_table(kind):
    row = KINDS[kind]
    clf = validate_config({**BASE, "classifiers": {"c": {"kind": kind}}})["classifiers"]["c"]
    if row.trained_by_workflow:
        assert "model" not in clf
    else:
        assert clf["model"] == row.default_model
    for key, default in row.defaults.items():
        assert clf[key] == default
    others = {k for r in KINDS.values() for k in r.options} - set(row.options)
    assert not others & set(clf)


def test_a_key_of_another_kind_is_one_line_naming_the_kinds_that_take_it():
    cases = {"detector": ("opencv", "'detector' applies only to kind deepface_native"),
             "precision": ("int8", "'precision' applies only to kind cnn"),
             "providers": (["CPU"], "'providers' applies only to kind onnx"),
             "labels": (["happy", "sad"], "'labels' applies only to kinds onnx, tflite")}
    for key, (value, message) in cases.items():
        with pytest.raises(ConfigError, match=re.escape(f"classifiers.c: {message}")):
            validate_config({**BASE, "classifiers": {"c": {"kind": "minixception", key: value}}})


def test_adapter_options_pass_a_kinds_own_keys():
    cfg = validate_config({**BASE, "classifiers": {
        "d": {"kind": "deepface_native"}, "m": {"kind": "minixception"}, "c": {"kind": "cnn"},
        "o": {"kind": "onnx", "model": "ferplus", "input": {"size": 64, "color": "gray"},
              "labels": list(FER2013_ORDER)}}})["classifiers"]
    assert adapter_options("d", cfg["d"]) == {"detector": "opencv"}
    assert adapter_options("m", cfg["m"]) == {} and adapter_options("c", cfg["c"]) == {"precision": "fp32"}
    opts = adapter_options("o", cfg["o"])
    assert opts["name"] == "o" and set(opts) == {"name", "input", "labels", "output", "providers"}


def test_the_infer_scripts_code_fingerprint_reaches_every_adapter():
    """The table names adapters by string and imports them lazily; the `code` param still follows them,
    so editing an adapter reruns its inference."""
    reached = {p.relative_to(REPO / "src").as_posix() for p in package_modules(REPO / "workflow/scripts/infer.py",
                                                                                 REPO / "src")}
    for row in KINDS.values():
        if row.adapter:
            assert row.adapter.partition(":")[0].replace(".", "/") + ".py" in reached, row.name


def test_the_table_and_the_config_check_import_nothing_heavy():
    heavy = ("onnxruntime", "ai_edge_litert", "cv2", "deepface", "torch", "mediapipe", "PIL")
    code = ("import sys, apexbench.kinds, apexbench.classifiers.spec\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --- a new row is all a new kind needs --------------------------------------------------------------

class Brightness(Classifier):
    """A toy adapter for a kind added in the test: 'happy' grows with the crop's brightness."""

    kind = "brightness"
    native_order = FER2013_ORDER

    def preprocess(self, crops):
        return np.array([crop.mean() / 255.0 for crop in crops])

    def forward(self, batch):
        out = np.full((len(batch), 7), 0.1)
        out[:, 3] = batch
        return out / out.sum(axis=1, keepdims=True)


def test_a_new_row_is_all_a_new_kind_needs(monkeypatch, tmp_path):
    monkeypatch.setitem(KINDS, "brightness", Kind("brightness", adapter="test_kinds:Brightness",
                                                  default_model="minixception", summary="a test kind"))
    cfg = validate_config({**BASE, "classifiers": {"b": {"kind": "brightness", "batch_size": 2}}})
    clf = cfg["classifiers"]["b"]
    assert clf["model"] == "minixception"
    classifier = load_classifier(clf["kind"], tmp_path / "unused", **adapter_options("b", clf))
    import cv2

    crops = [np.full((8, 8, 3), v, np.uint8) for v in (0, 255, 200)]
    frames = pd.DataFrame({"sample_id": ["a", "b", "c"], "face_status": ["ok"] * 3,
                           "face_crop": [cv2.imencode(".png", c)[1].tobytes() for c in crops]})
    out = predict_frames(frames, classifier, "canonical7", "mask", clf["batch_size"])
    assert out["pred_canonical"].tolist() == ["neutral", "happiness", "happiness"]


# --- every list of allowed values in the schema agrees with the code's ------------------------------

def _enums(node, path=""):
    """(dotted path, enum) of every enum in the schema: property names as they are, ``*`` for a
    mapping's values, ``[]`` for a list's items, ``$defs.<name>`` for a definition."""
    if isinstance(node, list):
        for sub in node:
            yield from _enums(sub, path)
        return
    if not isinstance(node, dict):
        return
    if "enum" in node:
        yield path, node["enum"]
    join = lambda *parts: ".".join(p for p in (path, *parts) if p)  # noqa: E731
    for key, sub in node.items():
        if key in ("properties", "$defs", "definitions", "patternProperties"):
            for name, child in sub.items():
                yield from _enums(child, join("$defs", name) if key in ("$defs", "definitions") else join(name))
        elif key == "additionalProperties":
            yield from _enums(sub, join("*"))
        elif key == "items":
            yield from _enums(sub, f"{path}[]")
        elif key in ("oneOf", "anyOf", "allOf", "then", "else", "if"):
            yield from _enums(sub, path)


# Each schema enum (a pattern that ends its path; datasets may be `dataset`, `datasets.*` or a
# definition) -> (relation, the code's list, where it is). "same": the same set of values; "subset":
# the schema allows part of the code's list (the comment says why); "literal": no list in the code.
D = r"dataset\w*(\.\*)?"
CODE_LISTS = {
    rf"{D}\.format": ("same", FORMATS, "apexbench.datasets.FORMATS"),
    rf"{D}\.labels": ("same", DATASET_LABEL_MAPS, "labels.DATASET_LABEL_MAPS"),
    rf"{D}\.labels\.\*": ("same", CANONICAL + EXTENDED, "labels.CANONICAL + EXTENDED"),
    r"(^|\.)label_scheme": ("same", SCHEMES, "labels.SCHEMES"),
    r"(^|\.)faces\.detector": ("same", DETECTORS, "faces.DETECTORS"),
    r"classifiers\.\*\.kind": ("same", KINDS, "kinds.KINDS"),
    r"classifiers\.\*\.detector": ("same", NATIVE_DETECTORS, "classifiers.deepface.NATIVE_DETECTORS"),
    r"classifiers\.\*\.precision": ("same", PRECISIONS, "classifiers.cnn.PRECISIONS"),
    r"classifiers\.\*\.contempt": ("same", CONTEMPT_STRATEGIES, "labels.CONTEMPT_STRATEGIES"),
    r"classifiers\.\*\.input\.color": ("same", generic_spec.COLORS, "classifiers.spec.COLORS"),
    r"classifiers\.\*\.input\.layout": ("same", generic_spec.LAYOUTS, "classifiers.spec.LAYOUTS"),
    r"classifiers\.\*\.input\.resize": ("same", generic_spec.RESIZE, "classifiers.spec.RESIZE"),
    r"classifiers\.\*\.output": ("same", generic_spec.OUTPUTS, "classifiers.spec.OUTPUTS"),
    r"classifiers\.\*\.label_map": ("same", DATASET_LABEL_MAPS, "labels.DATASET_LABEL_MAPS"),
    # a classifier predicts emotions only (no repression, others, ...)
    r"classifiers\.\*\.label_map\.\*": ("same", CANONICAL, "labels.CANONICAL"),
    r"(^|\.)evaluation\.protocol": ("same", baselines.PROTOCOLS, "baselines.PROTOCOLS"),
    r"(^|\.)perturbations\[\]": ("same", PERTURBATIONS, "perturb.PERTURBATIONS"),
    r"detection\.detectors\[\]": ("same", detection_eval.DETECTORS, "detection_eval.DETECTORS"),
    # annotating needs a real detector: `none` (pre-cropped media) is left out
    r"annotate\.detector": ("subset", set(DETECTORS) - {"none"}, "faces.DETECTORS without none"),
    # the CNN learns FER2013's 7 classes: label maps of folder-per-class sets whose names map onto them
    r"train\.labels": ("subset", DATASET_LABEL_MAPS, "labels.DATASET_LABEL_MAPS"),
    # plain numbers with no list in the code: 0/1-based frames, MediaPipe's two models (+ both merged)
    rf"{D}\.frame_base": ("literal", [0, 1], ""),
    r"(^|\.)faces\.model_selection": ("literal", [0, 1], ""),
    r"annotate\.model_selection": ("literal", [0, 1, "both"], ""),
}


def test_every_enum_in_the_schema_agrees_with_the_codes_list():
    found = list(_enums(load_schema()))
    assert len(found) >= 20
    problems = []
    for path, enum in found:
        matches = [p for p in CODE_LISTS if re.search(f"(?:{p})$", path)]
        if len(matches) != 1:
            problems.append(f"{path}: {len(matches)} entries of CODE_LISTS match; add one saying which code list it copies")
            continue
        relation, code, where = CODE_LISTS[matches[0]]
        if len(set(enum)) != len(enum):
            problems.append(f"{path}: duplicate values")
        if relation == "same" and set(enum) != set(code):
            problems.append(f"{path}: {sorted(map(str, enum))} != {where} {sorted(map(str, code))}")
        elif relation == "subset" and not set(enum) <= set(code):
            problems.append(f"{path}: {sorted(set(enum) - set(code))} not in {where}")
        elif relation == "literal" and list(enum) != list(code):
            problems.append(f"{path}: {enum} != {code}")
    assert not problems, "\n".join(problems)


def test_the_default_config_still_validates_to_the_same_classifiers():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg = validate_config(copy.deepcopy(config))
    assert {n: c["model"] for n, c in cfg["classifiers"].items()} == {
        "ferplus": "ferplus", "minixception": "minixception", "deepface": "deepface",
        "deepface_native": "deepface", "libreface": "libreface"}
    assert "entries" not in cfg["models"]  # nothing inline: the fetch jobs' params are unchanged
