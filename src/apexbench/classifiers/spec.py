"""A user's own model as the generic kinds (``onnx``, ``tflite``) describe it in the config.

:class:`GenericSpec` reads and checks a classifier's ``input``, ``labels``, ``label_map``, ``output``
and ``providers`` without loading the model: the config check runs it while Snakemake builds its
DAG (pure Python, no numpy or OpenCV here), and the adapters (:mod:`.generic`) build their
preprocessing from it and compare it with the model's declared input and output when they load.

- ``input.size`` ``[h, w]`` (or one number for a square), ``color`` ``gray`` / ``rgb`` / ``bgr``
  (converted from the shared BGR crops), ``layout`` ``nchw`` / ``nhwc``, ``resize`` the OpenCV
  interpolation (``auto``: area when shrinking, bilinear otherwise, as the built-in adapters do),
  then ``x * scale`` and ``(x - mean) / std`` (``mean``, ``std``: one number or one per channel).
  ``scale`` may be a fraction such as ``1/255``: it is then computed as ``x * 1 / 255`` in float32,
  the same arithmetic as a built-in adapter's ``x / 255``.
- ``labels``: the model's outputs in its own order and names, mapped to the canonical emotions by
  ``label_map`` (a dataset label map's name or a mapping ``label: canonical``; by default the usual
  emotion names, :data:`apexbench.labels.CLASSIFIER_LABELS`), exactly as a dataset's labels are.
- ``output``: ``probabilities`` (used as they are) or ``logits`` (softmax applied).
- ``providers`` (onnx): onnxruntime execution providers in order of preference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..kinds import kind_of
from ..labels import CANONICAL, CLASSIFIER_LABELS, DATASET_LABEL_MAPS

COLORS = ("gray", "rgb", "bgr")
LAYOUTS = ("nchw", "nhwc")
RESIZE = ("auto", "nearest", "linear", "area", "cubic", "lanczos")
OUTPUTS = ("probabilities", "logits")
_NUMBER = r"\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
_FRACTION = re.compile(rf"^\s*({_NUMBER})\s*/\s*({_NUMBER})\s*$")


@dataclass(frozen=True)
class GenericSpec:
    classifier: str  # the classifier's name in the config (every message names it)
    kind: str
    size: tuple[int, int]  # (h, w)
    color: str
    layout: str
    scale: tuple[float, float]  # x * scale[0] / scale[1]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize: str
    labels: tuple[str, ...]  # the model's own label names, in its output order
    native_order: tuple[str, ...]  # the same labels as canonical emotions
    output: str
    providers: tuple[str, ...] = ()

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    def where(self, key: str | None = None) -> str:
        return f"classifiers.{self.classifier}" + (f".{key}" if key else "")

    @classmethod
    def from_config(cls, classifier: str, config: Mapping[str, Any]) -> GenericSpec:
        """Read and check a generic classifier's config entry (its kind's defaults filled in);
        ConfigError naming the key on the first problem."""
        kind = kind_of(config["kind"])
        where = f"classifiers.{classifier}"
        if not kind.generic:
            raise ConfigError(f"{where}: kind {kind.name} is not configured from the config")
        cfg = with_defaults(kind.name, config)
        inp = cfg.get("input")
        if not isinstance(inp, Mapping) or "size" not in inp or "color" not in inp:
            raise ConfigError(f"{where}: kind {kind.name} needs input.size ([h, w]) and input.color "
                              f"({' / '.join(COLORS)}) of the model's input; see config/README.md")
        size = _size(f"{where}.input.size", inp["size"])
        color = _choice(f"{where}.input.color", inp["color"], COLORS)
        channels = 1 if color == "gray" else 3
        labels = cfg.get("labels")
        if not isinstance(labels, (list, tuple)) or len(labels) < 2 or not all(isinstance(x, str) and x.strip()
                                                                              for x in labels):
            raise ConfigError(f"{where}: kind {kind.name} needs labels: the model's output labels in its order "
                              "(at least two names)")
        if len(set(labels)) != len(labels):
            raise ConfigError(f"{where}.labels: a label appears twice: {labels}")
        std = _per_channel(f"{where}.input.std", inp["std"], channels)
        if any(v == 0 for v in std):
            raise ConfigError(f"{where}.input.std: must not be 0")
        return cls(
            classifier=classifier,
            kind=kind.name,
            size=size,
            color=color,
            layout=_choice(f"{where}.input.layout", inp["layout"], LAYOUTS),
            scale=_scale(f"{where}.input.scale", inp["scale"]),
            mean=_per_channel(f"{where}.input.mean", inp["mean"], channels),
            std=std,
            resize=_choice(f"{where}.input.resize", inp["resize"], RESIZE),
            labels=tuple(labels),
            native_order=canonical_labels(where, labels, cfg.get("label_map")),
            output=_choice(f"{where}.output", cfg["output"], OUTPUTS),
            providers=tuple(_providers(f"{where}.providers", cfg.get("providers", ()))),
        )


def with_defaults(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the kind's option defaults from the table filled in (``input`` key by key)."""
    out = dict(config)
    for key, default in kind_of(kind).defaults.items():
        if isinstance(default, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**default, **out[key]}
        elif key not in out:
            out[key] = default.copy() if isinstance(default, (dict, list)) else default
    return out


def canonical_labels(where: str, labels, label_map=None) -> tuple[str, ...]:
    """The canonical emotion of each of a model's labels, through ``label_map`` as a dataset's
    labels go (case-insensitive); ConfigError naming the classifier and the label it cannot map."""
    if label_map is None:
        mapping, source = CLASSIFIER_LABELS, "the usual emotion names"
    elif isinstance(label_map, str):
        if label_map not in DATASET_LABEL_MAPS:
            raise ConfigError(f"{where}.label_map: unknown label map {label_map!r}; choose one of "
                              f"{', '.join(sorted(DATASET_LABEL_MAPS))} or give a mapping label: emotion")
        mapping, source = DATASET_LABEL_MAPS[label_map], f"label map {label_map}"
    elif isinstance(label_map, Mapping):
        mapping = {str(k).strip().lower(): v for k, v in label_map.items()}
        source = f"{where}.label_map"
    else:
        raise ConfigError(f"{where}.label_map: give a label map's name or a mapping label: emotion")
    out = []
    for label in labels:
        canonical = mapping.get(str(label).strip().lower())
        if canonical is None:
            raise ConfigError(f"{where}.labels: label {label!r} is not in {source}; map it in {where}.label_map "
                              f"to one of {', '.join(CANONICAL)}")
        if canonical not in CANONICAL:
            raise ConfigError(f"{where}.label_map: label {label!r} maps to {canonical!r}, which is not an emotion "
                              f"a classifier predicts; map it to one of {', '.join(CANONICAL)}")
        out.append(canonical)
    return tuple(out)


def _choice(where: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return value


def _size(where: str, value) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ConfigError(f"{where}: give [height, width] in pixels (or one number for a square), got {value!r}")
    return int(value[0]), int(value[1])


def _scale(where: str, value) -> tuple[float, float]:
    if isinstance(value, str):
        match = _FRACTION.match(value)
        if not match or float(match.group(2)) == 0:
            raise ConfigError(f"{where}: {value!r} is neither a number nor a fraction such as 1/255")
        return float(match.group(1)), float(match.group(2))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: must be a positive number or a fraction such as 1/255, got {value!r}")
    return float(value), 1.0


def _per_channel(where: str, value, channels: int) -> tuple[float, ...]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}: give a number or one number per channel, got {value!r}")
    if len(values) not in (1, channels):
        raise ConfigError(f"{where}: {len(values)} values for {channels} channel(s); give one, or one per channel")
    return tuple(float(v) for v in values)


def _providers(where: str, value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: give a list of onnxruntime execution providers, e.g. [CUDA, CPU]")
    return [v.strip() for v in value]
