"""Configuration: JSON-schema validation with defaults, reported as one line per problem.

The schema check of a valid config is kept in ``apexbench.cache`` under the hash of the config, the
schema file, the kinds, this module's code and jsonschema's version: every Snakemake command (a no-op
rerun too) validates the config, and importing jsonschema alone costs 0.15-0.35 s of CPU.
"""

from __future__ import annotations

import copy
import glob
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .cache import JsonCache, digest

from .classifiers.spec import GenericSpec, with_defaults
from .errors import ConfigError
from .kinds import COMMON_KEYS, KINDS, kinds_accepting
from .models import INLINE_PREFIX, entry_from_config, inline_model_entry

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def _with_defaults(validator_class):
    """A validator that also fills ``default`` values into the instance (objects get them first)."""
    import jsonschema

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    import jsonschema

    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message}; check the key's spelling against config/README.md"
    if error.validator == "oneOf" and not error.absolute_path:
        return "give either 'dataset' (one dataset) or 'datasets' (name -> dataset), not both or neither"
    if error.validator == "oneOf" and error.context:
        # Name the problem inside the alternative of the value's own type (a mapping with one bad
        # value, a list too short), not that the value is not of the other alternatives' types.
        branches: dict = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        near = [errs for errs in branches.values()
                if not any(e.validator == "type" and not e.relative_path for e in errs)]
        return _describe(min(near, key=len)[0] if near else jsonschema.exceptions.best_match(error.context))
    if error.validator == "oneOf":
        return f"{where}: {error.instance!r} is neither a known name nor a valid mapping"
    return f"{where}: {error.message}"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The config schema, with the classifier ``kind`` enum filled in from the kinds table
    (:data:`apexbench.kinds.KINDS`): a kind is declared in one place."""
    with open(path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    kind = schema["properties"]["classifiers"]["additionalProperties"]["properties"]["kind"]
    kind["enum"] = sorted(KINDS)
    return schema


def _json_safe(value: Any) -> bool:
    """Whether ``value`` comes back from JSON equal, with the same types (no tuples, dates or
    non-string keys)."""
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):
        return False


def _jsonschema_version() -> str:
    spec = importlib.util.find_spec("jsonschema")
    site = Path(spec.origin).parents[1] if spec and spec.origin else None
    return ",".join(sorted(os.path.basename(p) for p in glob.glob(str(site / "jsonschema-*.dist-info")))) if site \
        else "none"


def _cache_key(config: dict[str, Any], schema: dict | None) -> str | None:
    """The cache key of a schema check, or None when the config does not survive JSON unchanged (its
    key order is kept: the order of datasets and classifiers is the order of the run)."""
    if not _json_safe(config):
        return None
    schema_text = json.dumps(schema) if schema is not None else \
        SCHEMA_PATH.read_text(encoding="utf-8") + json.dumps(sorted(KINDS))
    return digest("config-1", Path(__file__).read_text(encoding="utf-8"), _jsonschema_version(), schema_text,
                  json.dumps(config))


def validate_config(config: dict[str, Any], source: str = "config", schema: dict | None = None) -> dict:
    """Return a validated copy of ``config`` with defaults filled; ConfigError (one line) if invalid."""
    key = _cache_key(config, schema)
    cache = JsonCache("config") if key else None
    cached = cache.get(key) if cache else None
    if cached is not None:
        instance = cached
    else:
        import jsonschema

        schema = schema or load_schema()
        instance = copy.deepcopy(config)
        validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            first = _describe(errors[0])
            more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
            raise ConfigError(f"{source}: {first}{more}")
        if cache and _json_safe(instance):
            cache.put(key, instance)
            cache.save()
            instance = copy.deepcopy(instance)
    for key, data in instance["models"].get("entries", {}).items():
        # classifier-<name> keys hold inline models: present only in a config validated before
        owner = instance["classifiers"].get(key[len(INLINE_PREFIX):], {}) if key.startswith(INLINE_PREFIX) else None
        if owner is not None and owner.get("model") != key:
            raise ConfigError(f"{source}: models.entries.{key}: keys starting with {INLINE_PREFIX!r} are kept "
                              "for the classifiers' inline models; choose another key")
        entry_from_config(key, data, source, inline=owner is not None)
    for name, clf in instance["classifiers"].items():
        _check_classifier(source, name, clf, instance["models"])
    return instance


def _check_classifier(source: str, name: str, clf: dict, models: dict) -> None:
    """One classifier entry against its kind's row in the kinds table (apexbench.kinds): the keys it
    accepts, its defaults, its model; a generic kind's description is read and normalised, and an
    inline model becomes a registry entry under ``models.entries`` (key ``classifier-<name>``)."""
    if not name.replace("_", "").isalnum():
        raise ConfigError(f"{source}: classifier name {name!r} may only contain letters, digits and _")
    kind = KINDS[clf["kind"]]
    for key in clf:
        if key not in COMMON_KEYS and key not in kind.options:
            kinds = kinds_accepting(key)
            which = f"kind {kinds[0]}" if len(kinds) == 1 else f"kinds {', '.join(kinds)}"
            raise ConfigError(f"{source}: classifiers.{name}: '{key}' applies only to {which}")
    if kind.trained_by_workflow:
        # Trained by the workflow (train_cnn.smk), not fetched from the registry.
        if "model" in clf:
            raise ConfigError(f"{source}: classifiers.{name}: kind {kind.name} is trained by the workflow; "
                              "remove 'model' (set 'precision': fp32 or int8)")
    elif kind.generic and clf.get("model") is None:
        raise ConfigError(f"{source}: classifiers.{name}: kind {kind.name} needs 'model': a key of the model "
                          "registry, {path: <file>} or {url: <url>, sha256: <hex>}")
    else:
        clf.setdefault("model", kind.default_model)
    if isinstance(clf.get("model"), dict):
        key, entry = inline_model_entry(name, clf["model"])
        models.setdefault("entries", {})[key] = entry
        clf["model"] = key
    if kind.generic:
        try:
            spec = GenericSpec.from_config(name, clf)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err.one_line()}") from None
        filled = with_defaults(kind.name, clf)
        filled["input"]["size"] = list(spec.size)
        clf.update(filled)
    else:
        for key, default in kind.defaults.items():
            clf.setdefault(key, copy.deepcopy(default))
