"""The run plan: the datasets, composites and classifiers a config names, every setting resolved.

A benchmark is a matrix of evaluation sets x classifiers. An evaluation set is a dataset (its own
rows, validated, extracted and inferred under ``results/<dataset>/``) or a composite: a MEGC-style
pool of named datasets (``composite:``), built from their validated tables and predictions, never
from copies of their frames.

Config rules made here, at DAG-build time (nothing is opened but the config itself):

- A user's ``--configfile`` / ``--config`` that names ``dataset`` or ``datasets`` replaces the
  default config's datasets; one that names ``classifiers`` replaces its classifiers, and likewise
  ``composite``: they are never merged key by key, so the demo's dataset and classifiers do not
  leak into a user's run (Snakemake itself merges nested mappings).
- ``dataset:`` (one mapping) is a one-dataset run named by its ``name``; ``datasets:`` maps names to
  datasets. Per dataset, ``faces``, ``shards``, ``label_scheme`` and ``evaluation`` may be given;
  the top-level value is the default (``faces`` and ``evaluation`` are merged key by key).
- Paths a user writes are relative to the working directory. Files that ship with the workflow are
  found relative to the workflow: the model registry and the models directory by default
  (``models.registry`` / ``models.dir`` null), the demo dataset's table and the demo's face boxes
  (``detection.boxes`` null).
- ``evaluation.protocol: cross_dataset`` with ``evaluation.train: <dataset>`` trains every baseline
  on that other dataset and tests on this one (on this dataset's label scheme).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import validate_config
from .errors import ConfigError

OVERRIDABLE = ("faces", "shards", "label_scheme", "evaluation")
# Keys a user config replaces as a whole (each group together).
REPLACED = (("dataset", "datasets"), ("classifiers",), ("composite",))
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
SUBSET_SEPARATOR = ":"  # "megc2019:casme2": one source dataset's share of a composite's predictions
WORKFLOW_MODELS = Path("resources") / "models"
DEMO_BOXES = Path("config") / "demo" / "face_boxes.csv"


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset of the run. ``spec`` is its ``dataset`` section (format, root, table, ...)."""

    name: str
    spec: dict
    faces: dict
    shards: int | str  # a number, or "auto" (resolved from the rows: datasets.base.shard_count)
    scheme: str
    evaluation: dict

    @property
    def demo(self) -> bool:
        return bool(self.spec.get("demo"))

    @property
    def cross_train(self) -> str | None:
        """The dataset its baselines train on under ``cross_dataset``, else None."""
        return self.evaluation.get("train") if self.evaluation["protocol"] == "cross_dataset" else None


@dataclass(frozen=True)
class CompositePlan:
    """A pool of datasets evaluated as one set: labels under ``scheme``, subjects prefixed by source."""

    name: str
    sources: tuple[str, ...]
    scheme: str
    evaluation: dict


@dataclass
class RunPlan:
    config: dict  # the validated config (defaults filled)
    datasets: dict[str, DatasetPlan]
    composites: dict[str, CompositePlan] = field(default_factory=dict)
    models: dict = field(default_factory=dict)  # models section with dir and registry resolved

    @property
    def classifiers(self) -> dict[str, dict]:
        return self.config["classifiers"]

    @property
    def sets(self) -> list[str]:
        """Every evaluation set: the datasets, then the composites (config order)."""
        return list(self.datasets) + list(self.composites)

    def scheme(self, name: str) -> str:
        plan = self.datasets.get(name) or self.composites[name]
        return plan.scheme

    def evaluation(self, name: str) -> dict:
        plan = self.datasets.get(name) or self.composites[name]
        return plan.evaluation


def user_replaces(config: Mapping[str, Any], user: Mapping[str, Any]) -> dict:
    """``config`` (Snakemake's merge of the default file and the user's) with the keys the user's
    config names taken from the user's config alone (see the module docstring)."""
    out = dict(config)
    for group in REPLACED:
        if any(key in user for key in group):
            for key in group:
                out.pop(key, None)
                if key in user:
                    out[key] = copy.deepcopy(user[key])
    return out


def _deep_merge(base: dict, override: Mapping) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def merge_configs(default: Mapping, user: Mapping) -> dict:
    """What Snakemake makes of a default config and a user's ``--configfile``: nested mappings merged
    key by key (``make_plan`` then takes the user's datasets and classifiers whole)."""
    return _deep_merge(dict(default), user)


def _raw_datasets(config: Mapping[str, Any]) -> dict[str, dict]:
    if "datasets" in config:
        out = {}
        for name, spec in config["datasets"].items():
            if isinstance(spec, Mapping) and spec.get("name", name) != name:
                raise ConfigError(f"config: datasets.{name}.name is {spec['name']!r}; the key names the dataset, "
                                  "drop 'name'")
            out[str(name)] = dict(spec)
        return out
    spec = dict(config["dataset"])
    return {str(spec.get("name", "dataset")): spec}


def _shards(value) -> int | str:
    return value if value == "auto" else int(value)


def make_plan(config: Mapping[str, Any], user_config: Mapping[str, Any] | None = None,
              workflow_dir: str | Path = ".", source: str = "config") -> RunPlan:
    """The plan of a run from Snakemake's ``config`` and the user's part of it (``--configfile`` and
    ``--config``, which replace rather than extend the default's datasets and classifiers)."""
    raw = user_replaces(config, user_config or {})
    if ("dataset" in raw) == ("datasets" in raw):
        raise ConfigError(f"{source}: give either 'dataset' (one dataset) or 'datasets' (name -> dataset), "
                          f"not {'both' if 'dataset' in raw else 'neither'}")
    validated = validate_config(raw, source=source)
    workflow_dir = Path(workflow_dir)
    datasets = {}
    raw_sets = _raw_datasets(raw)
    checked = validated["datasets"] if "datasets" in validated else {next(iter(raw_sets)): validated["dataset"]}
    for name, spec in raw_sets.items():
        where = f"datasets.{name}" if "datasets" in raw else "dataset"
        if not NAME.match(name) or SUBSET_SEPARATOR in name:
            raise ConfigError(f"{source}: dataset name {name!r} may only contain letters, digits, '_', '.' and '-'")
        full = {k: v for k, v in checked[name].items() if k not in OVERRIDABLE}
        full["name"] = name
        if full["format"] != "image_folder" and "table" not in full:
            raise ConfigError(f"{source}: {where}.table is required for format {full['format']}; set it to the "
                              "annotation file")
        if full.get("demo") and not Path(full["table"]).is_absolute():
            # The demo's table ships with the workflow; its media are built in the working directory.
            full["table"] = str(workflow_dir / full["table"])
        datasets[name] = DatasetPlan(
            name=name,
            spec=full,
            faces=_deep_merge(validated["faces"], spec.get("faces", {})),
            shards=_shards(spec.get("shards", validated["shards"])),
            scheme=spec.get("label_scheme", validated["label_scheme"]),
            evaluation=_deep_merge(validated["evaluation"], spec.get("evaluation", {})),
        )
    if sum(d.demo for d in datasets.values()) > 1:
        raise ConfigError(f"{source}: only one dataset can be the demo (demo: true)")
    for name, plan in datasets.items():
        train = plan.cross_train
        if plan.evaluation["protocol"] == "cross_dataset":
            if not train:
                raise ConfigError(f"{source}: dataset {name}: evaluation.protocol cross_dataset needs "
                                  "evaluation.train: <the dataset to train on>")
            if train == name:
                raise ConfigError(f"{source}: dataset {name}: evaluation.train is the dataset itself; "
                                  f"give {name} its own evaluation (e.g. evaluation: {{protocol: loso}})")
            if train not in datasets:
                raise ConfigError(f"{source}: dataset {name}: evaluation.train {train!r} is not one of the run's "
                                  f"datasets ({', '.join(datasets)})")
    composites = {}
    for name, spec in (raw.get("composite") or {}).items():
        checked_spec = validated["composite"][name]
        if name in datasets or SUBSET_SEPARATOR in name:
            raise ConfigError(f"{source}: composite {name!r} needs a name of its own (not a dataset's, no "
                              f"'{SUBSET_SEPARATOR}')")
        missing = [d for d in checked_spec["datasets"] if d not in datasets]
        if missing:
            raise ConfigError(f"{source}: composite.{name}.datasets names {missing}, not datasets of this run "
                              f"({', '.join(datasets)})")
        evaluation = _deep_merge(validated["evaluation"], spec.get("evaluation", {}))
        if evaluation["protocol"] == "cross_dataset":
            raise ConfigError(f"{source}: composite.{name}: evaluation.protocol cross_dataset does not apply to a "
                              "pool; use loso or group_kfold")
        composites[name] = CompositePlan(name, tuple(checked_spec["datasets"]), checked_spec["label_scheme"],
                                         evaluation)
    models = dict(validated["models"])
    models["dir"] = str(Path(models["dir"] or workflow_dir / WORKFLOW_MODELS))
    models["registry"] = str(Path(models["registry"] or workflow_dir / WORKFLOW_MODELS / "registry.yaml"))
    validated["models"] = models
    if validated.get("detection", {}).get("boxes") is None and "detection" in validated:
        validated["detection"]["boxes"] = str(workflow_dir / DEMO_BOXES)  # ships with the workflow
    return RunPlan(config=validated, datasets=datasets, composites=composites, models=models)
