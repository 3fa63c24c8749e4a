"""Configuration: JSON-schema validation with defaults, reported as one line per problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError

# Classifier kinds whose weights the workflow trains itself before inference (no registry entry).
WORKFLOW_TRAINED_KINDS = ("cnn",)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
# Registry key of each classifier kind's weight file when the config gives no ``model``.
# Default registry model per kind: deepface_native shares DeepFace's weights; the siamese baseline
# embeds with the mini-Xception; flow and landmarks need no weights.
DEFAULT_MODEL = {"deepface_native": "deepface", "siamese": "minixception", "flow": None, "landmarks": None}
# Extra config keys that only some kinds understand.
KIND_OPTIONS = {"detector": ("deepface_native",)}


def _with_defaults(validator_class):
    """A validator that also fills ``default`` values into the instance (objects get them first)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message}; check the key's spelling against config/README.md"
    if error.validator == "oneOf" and not error.absolute_path:
        return "give either 'dataset' (one dataset) or 'datasets' (name -> dataset), not both or neither"
    if error.validator == "oneOf":
        return f"{where}: {error.instance!r} is neither a known name nor a valid mapping"
    return f"{where}: {error.message}"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def validate_config(config: dict[str, Any], source: str = "config", schema: dict | None = None) -> dict:
    """Return a validated copy of ``config`` with defaults filled; ConfigError (one line) if invalid."""
    schema = schema or load_schema()
    instance = copy.deepcopy(config)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = _describe(errors[0])
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {first}{more}")
    for name, clf in instance["classifiers"].items():
        if not name.replace("_", "").isalnum():
            raise ConfigError(f"{source}: classifier name {name!r} may only contain letters, digits and _")
        if clf["kind"] in WORKFLOW_TRAINED_KINDS:
            # Trained by the workflow (train_cnn.smk), not fetched from the registry.
            if "model" in clf:
                raise ConfigError(f"{source}: classifiers.{name}: kind {clf['kind']} is trained by the workflow; "
                                  "remove 'model' (set 'precision': fp32 or int8)")
            clf.setdefault("precision", "fp32")
        else:
            if "precision" in clf:
                raise ConfigError(f"{source}: classifiers.{name}: 'precision' applies only to kind cnn")
            clf.setdefault("model", DEFAULT_MODEL.get(clf["kind"], clf["kind"]))
        for key, kinds in KIND_OPTIONS.items():
            if key in clf and clf["kind"] not in kinds:
                raise ConfigError(f"{source}: classifiers.{name}.{key} only applies to kind(s) {', '.join(kinds)}")
    return instance
