"""What needs no torch: the trained CNN's config and the default run, which must neither train nor
import torch. (tests/test_train.py, which trains, skips where the training extra is missing.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from apexbench.config import validate_config
from apexbench.errors import ConfigError

from workflow_helpers import make_workdir, planned_jobs


def test_cnn_config_needs_no_registry_model():
    base = {"dataset": {"format": "image_folder", "root": "x"}}
    cfg = validate_config({**base, "classifiers": {"c": {"kind": "cnn"}}})
    assert cfg["classifiers"]["c"] == {"kind": "cnn", "precision": "fp32", "batch_size": 32, "contempt": "mask",
                                       "threads": 1}
    assert cfg["train"]["train_root"] == "../shared/data/fer2013/train" and cfg["train"]["epochs"] == 30
    with pytest.raises(ConfigError, match="remove 'model'"):
        validate_config({**base, "classifiers": {"c": {"kind": "cnn", "model": "ferplus"}}})
    with pytest.raises(ConfigError, match="'precision' applies only to kind cnn"):
        validate_config({**base, "classifiers": {"c": {"kind": "ferplus", "precision": "int8"}}})


def test_default_run_does_not_train(tmp_path):
    workdir = make_workdir(tmp_path)
    jobs = planned_jobs(workdir)
    # (the demo's classifiers' jobs follow their fetch_model checkpoints, which the dry run lists)
    assert jobs["fetch_model"] > 0 and jobs["extract"] > 0 and "train_cnn" not in jobs and "export_cnn" not in jobs
    # Asked for by name, the `cnn` target trains and exports (and needs nothing of the benchmark).
    assert planned_jobs(workdir, "cnn") == {"train_cnn": 1, "export_cnn": 1, "cnn": 1}
    # The workflow imports apexbench.train.data at parse time: it must not need torch.
    code = "import sys, apexbench.train.data, apexbench.classifiers; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(workdir / "src")})
