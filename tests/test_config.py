"""The config is checked against workflow/schemas/config.schema.yaml: defaults filled in, and every
wrong key or type is one line naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from apexbench.config import validate_config
from apexbench.errors import ConfigError
from conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _error(changes) -> str:
    config = copy.deepcopy(DEFAULT)
    changes(config)
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_the_default_config_is_valid_and_gets_its_defaults():
    config = validate_config(copy.deepcopy(DEFAULT))
    assert config["shards"] == "auto" and config["dataset"]["shards"] == 4
    assert config["label_scheme"] == "canonical7"
    assert config["perturbations"] == ["none"]  # a default from the schema, absent from the file


def test_a_misspelled_top_level_key_is_named():
    message = _error(lambda c: c.update(shard=3))
    assert "'shard' was unexpected" in message and "spelling" in message


def test_a_misspelled_nested_key_is_named_with_its_path():
    message = _error(lambda c: c["faces"].update(detectr="haar"))
    assert "faces" in message and "'detectr' was unexpected" in message


def test_a_wrong_type_is_named_with_its_path():
    message = _error(lambda c: c.update(shards="many"))
    assert message.startswith("config: shards: 'many' does not match '^auto$'")
    message = _error(lambda c: c.update(shards=2.5))
    assert message.startswith("config: shards: 2.5 is not of type 'integer', 'string'")


def test_an_unknown_choice_is_named():
    message = _error(lambda c: c["faces"].update(detector="dlib"))
    assert "faces.detector" in message and "dlib" in message


def test_a_cached_schema_check_gives_the_same_config_without_jsonschema(tmp_path, monkeypatch):
    """The schema check of a valid config is cached (apexbench.cache): the second time, in a new
    process as every Snakemake command is, jsonschema is not imported and the result is the same, key
    order included; a changed config is checked again."""
    import json
    import subprocess
    import sys

    import apexbench.config as config_module

    monkeypatch.setenv("APEXBENCH_CACHE", str(tmp_path))
    first = validate_config(copy.deepcopy(DEFAULT))
    assert (tmp_path / "config.json").is_file()
    code = ("import copy, json, sys, yaml\nfrom apexbench.config import validate_config\n"
            f"config = yaml.safe_load(open({str(REPO / 'config' / 'config.yaml')!r}))\n"
            "print(json.dumps(validate_config(config)))\nprint('jsonschema' in sys.modules)\n")
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "APEXBENCH_CACHE": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    second, imported = proc.stdout.splitlines()
    assert second == json.dumps(first) and imported == "False"
    # a cache miss (another config) checks it: the schema is loaded again
    loads = []
    real = config_module.load_schema
    monkeypatch.setattr(config_module, "load_schema", lambda *a: loads.append(1) or real(*a))
    validate_config(copy.deepcopy(DEFAULT))
    assert loads == []
    assert validate_config({**copy.deepcopy(DEFAULT), "shards": 3})["shards"] == 3 and loads == [1]
    with pytest.raises(ConfigError):
        validate_config({**copy.deepcopy(DEFAULT), "shards": "many"})
