"""The run plan: which datasets and classifiers a config names, per-dataset settings, composites and
cross-dataset evaluation, and paths that ship with the workflow."""

from __future__ import annotations

import copy

import pytest
import yaml

from apexbench.errors import ConfigError
from apexbench.datasets.base import RawRow, auto_shards, shard_count
from apexbench.plan import make_plan, user_replaces
from conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def merged(user: dict) -> dict:
    """What Snakemake hands the workflow: the default file with the user's config merged into it
    key by key (nested mappings merged)."""
    def merge(base, extra):
        out = copy.deepcopy(base)
        for key, value in extra.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out
    return merge(DEFAULT, user)


def plan_of(user: dict, workflow_dir=REPO):
    return make_plan(merged(user), user, workflow_dir)


TWO = {
    "datasets": {
        "ckplus": {"format": "image_folder", "root": "../shared/data/ckplus48", "labels": "ckplus",
                   "subject_pattern": r"^S(\d+)_", "faces": {"detector": "none", "crop_size": 48, "margin": 0.0}},
        "fer_pub": {"format": "image_folder", "root": "../shared/data/fer2013/publictest", "labels": "fer2013",
                    "faces": {"detector": "none", "crop_size": 48, "margin": 0.0}, "shards": 2,
                    "label_scheme": "megc3"},
    },
    "classifiers": {"minixception": {"kind": "minixception"}, "landmarks": {"kind": "landmarks"}},
}


def test_the_default_config_is_the_demo_with_every_classifier():
    plan = make_plan(copy.deepcopy(DEFAULT), {}, REPO)
    assert list(plan.datasets) == ["demo"] and plan.sets == ["demo"]
    assert list(plan.classifiers) == ["ferplus", "minixception", "deepface", "deepface_native", "libreface"]
    demo = plan.datasets["demo"]
    # The demo's table ships with the workflow; its media are built in the working directory.
    assert demo.spec["table"] == str(REPO / "config/demo/annotations.csv")
    assert demo.spec["root"] == "resources/demo/media" and demo.shards == 4


def test_a_user_config_replaces_the_default_datasets_and_classifiers():
    plan = plan_of(TWO)
    assert list(plan.datasets) == ["ckplus", "fer_pub"]
    assert list(plan.classifiers) == ["minixception", "landmarks"]  # nothing of the demo's five leaks in
    assert not any(d.demo for d in plan.datasets.values())


def test_a_user_config_naming_only_classifiers_keeps_the_demo():
    plan = plan_of({"classifiers": {"minixception": {"kind": "minixception"}}})
    assert list(plan.datasets) == ["demo"] and list(plan.classifiers) == ["minixception"]


def test_per_dataset_settings_default_to_the_top_level_ones():
    plan = plan_of({**TWO, "shards": 3, "faces": {"min_score": 0.7}, "evaluation": {"folds": 4}})
    ck, fer = plan.datasets["ckplus"], plan.datasets["fer_pub"]
    assert (ck.shards, fer.shards) == (3, 2)
    assert (ck.scheme, fer.scheme) == ("canonical7", "megc3")
    # faces merge key by key: the dataset's keys over the top-level (and its defaults)
    assert ck.faces == {"detector": "none", "crop_size": 48, "margin": 0.0, "min_score": 0.7, "model_selection": 0,
                        "jpeg_quality": 95}
    assert ck.evaluation == {"protocol": "loso", "folds": 4, "seed": 0}
    assert "faces" not in ck.spec and ck.spec["name"] == "ckplus"


def test_one_dataset_mapping_is_a_one_dataset_run_named_by_its_name():
    plan = plan_of({"dataset": {"name": "fer", "format": "image_folder", "root": "x", "labels": "fer2013"}})
    assert list(plan.datasets) == ["fer"] and plan.datasets["fer"].shards == "auto"


def test_auto_shards_follow_the_work_not_the_machine():
    def rows(n, kind="image"):
        return [RawRow(f"s{i}", "x", f"{i}.png", kind, 0, 0, 0, "happy", i + 1) for i in range(n)]

    # 2 ** round(log2(units / 1000) / 2): the count doubles when the work quadruples
    assert [auto_shards(rows(n)) for n in (1, 981, 1999, 2001, 3589, 7999, 8001, 28709, 100000)] == \
        [1, 1, 1, 2, 2, 2, 4, 4, 8]
    assert auto_shards(rows(10924, "video")) == 32 and auto_shards(rows(255, "frames")) == 1
    assert shard_count("auto", rows(28709)) == 4 and shard_count(3, rows(28709)) == 3


def test_models_default_to_the_workflow_and_user_paths_stay_relative(tmp_path):
    plan = plan_of(TWO, workflow_dir=tmp_path)
    assert plan.models["registry"] == str(tmp_path / "resources/models/registry.yaml")
    assert plan.models["dir"] == str(tmp_path / "resources/models")
    plan = plan_of({**TWO, "models": {"dir": "my/models"}}, workflow_dir=tmp_path)
    assert plan.models["dir"] == "my/models"
    assert plan.datasets["ckplus"].spec["root"] == "../shared/data/ckplus48"  # relative to the working directory


def test_composite_and_cross_dataset_plans():
    user = {**TWO, "composite": {"pool": {"datasets": ["ckplus", "fer_pub"]}},
            "datasets": {**TWO["datasets"], "fer_pub": {**TWO["datasets"]["fer_pub"],
                                                        "evaluation": {"protocol": "cross_dataset", "train": "ckplus"}}}}
    plan = plan_of(user)
    assert plan.sets == ["ckplus", "fer_pub", "pool"]
    assert plan.composites["pool"].sources == ("ckplus", "fer_pub") and plan.scheme("pool") == "megc3"
    assert plan.datasets["fer_pub"].cross_train == "ckplus" and plan.datasets["ckplus"].cross_train is None


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(dataset=DEFAULT["dataset"]), "either 'dataset' (one dataset) or 'datasets'"),
    (lambda c: c["datasets"]["ckplus"].update(shards=0), "datasets.ckplus.shards"),
    (lambda c: c["datasets"]["ckplus"]["faces"].update(detectr="haar"), "'detectr' was unexpected"),
    (lambda c: c["datasets"].update({"bad name": c["datasets"]["ckplus"]}), "does not match"),
    (lambda c: c["datasets"]["ckplus"].update(format="cmed_csv"), "datasets.ckplus.table is required"),
    (lambda c: c.update(composite={"pool": {"datasets": ["ckplus", "casme2"]}}), "names ['casme2'], not datasets"),
    (lambda c: c.update(composite={"ckplus": {"datasets": ["ckplus", "fer_pub"]}}), "needs a name of its own"),
    (lambda c: c["datasets"]["ckplus"].update(evaluation={"protocol": "cross_dataset"}), "needs evaluation.train"),
    (lambda c: c["datasets"]["ckplus"].update(evaluation={"protocol": "cross_dataset", "train": "ckplus"}),
     "evaluation.train is the dataset itself"),
    (lambda c: c["datasets"]["ckplus"].update(evaluation={"protocol": "cross_dataset", "train": "affectnet"}),
     "'affectnet' is not one of the run's datasets"),
    (lambda c: c["datasets"]["ckplus"].update(name="other"), "the key names the dataset"),
])
def test_config_mistakes_are_one_line_naming_the_key(change, message):
    user = copy.deepcopy(TWO)
    change(user)
    with pytest.raises(ConfigError) as info:
        plan_of(user)
    text = info.value.one_line()
    assert message in text and "\n" not in str(info.value), text


def test_user_replaces_takes_the_named_groups_whole():
    config = {"dataset": {"name": "demo"}, "classifiers": {"a": 1, "b": 2}, "shards": 4}
    assert user_replaces(config, {"datasets": {"x": {}}}) == {"datasets": {"x": {}}, "classifiers": {"a": 1, "b": 2},
                                                              "shards": 4}
    assert user_replaces(config, {"classifiers": {"c": 3}, "shards": 8}) == {
        "dataset": {"name": "demo"}, "classifiers": {"c": 3}, "shards": 4}  # shards merged by Snakemake already


@pytest.mark.parametrize("path", sorted((REPO / "config" / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_plans_without_the_demo(path):
    plan = plan_of(yaml.safe_load(path.read_text()))
    assert plan.datasets and not any(d.demo for d in plan.datasets.values())
    if path.name == "matrix.yaml":
        assert plan.sets == ["ckplus", "fer_pub"] and list(plan.classifiers) == ["minixception", "landmarks"]
    if path.name == "megc2019.yaml":
        assert plan.sets == ["smic", "casme2", "samm", "megc2019"] and plan.scheme("megc2019") == "megc3"
