# Configuration, the dataset's rows (read once, at DAG-build time) and their stable shards.
import sys
from pathlib import Path

# The package lives in src/; scripts find it through workflow/scripts/_apexbench_path.py.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from apexbench.codehash import code_fingerprint
from apexbench.config import validate_config
from apexbench.convert import check_samples, converted_is_stale
from apexbench.datasets import read_dataset
from apexbench.datasets.base import shard_of
from apexbench.datasets.coding_tables import FRAMES, frame_path
from apexbench.kinds import CONVERTED_KINDS, TRAINED_KINDS
from apexbench.demo import DEMO_FILES
from apexbench.errors import ApexbenchError
from apexbench.models import fetch_config, run_registry, status_is_stale
from apexbench.train.data import folder_fingerprint
from apexbench.workflow import fail


try:
    CFG = validate_config(config, source="config")
    ROWS = read_dataset(CFG["dataset"], base_dir=".")
    REGISTRY = run_registry(CFG["models"])
except ApexbenchError as err:
    fail(err)

DATASET = CFG["dataset"]


def code(script):
    """Fingerprint of the package code workflow/scripts/<script>.py reaches: every rule has it as a
    param, so editing a module reruns the jobs that run it (Snakemake itself sees only the script).
    """
    base = Path(workflow.basedir)
    return code_fingerprint(
        base / "workflow" / "scripts" / f"{script}.py", base / "src"
    )


N_SHARDS = CFG["shards"]
SHARDS = list(range(N_SHARDS))
CLASSIFIERS = CFG["classifiers"]
MODELS_DIR = CFG["models"]["dir"]
MODEL_KEYS = sorted({c["model"] for c in CLASSIFIERS.values() if c.get("model")})
# Fold-trained baselines run in `features` + `train`; every other classifier (the trained CNN
# included) in `infer`.
TRAINED = [n for n, c in CLASSIFIERS.items() if c["kind"] in TRAINED_KINDS]
OFF_THE_SHELF = [n for n in CLASSIFIERS if n not in TRAINED]
TRAINED_PATTERN = "|".join(TRAINED) or "(?!)"
OFF_THE_SHELF_PATTERN = "|".join(OFF_THE_SHELF) or "(?!)"
for _name, _clf in CLASSIFIERS.items():
    if _clf.get("model") and _clf["model"] not in REGISTRY:
        fail(
            f"config: classifiers.{_name}.model {_clf['model']!r} is not in {CFG['models']['registry']}"
        )

SHARD_ROWS = {k: [] for k in SHARDS}
for _row in ROWS:
    SHARD_ROWS[shard_of(_row.sample_id, N_SHARDS)].append(_row.to_dict())

DEMO_MEDIA = (
    [f"{DATASET['root']}/{name}" for name in DEMO_FILES] if DATASET["demo"] else []
)


def _media_files(row):
    """The files a row reads: its video or image, or a frame sample's onset and APEX images."""
    if row["kind"] == FRAMES:
        frames = [row[k] for k in ("onset", "apex") if isinstance(row[k], int)]
        return [f"{DATASET['root']}/{frame_path(row['source'], f)}" for f in frames]
    return [f"{DATASET['root']}/{row['source']}"]


def shard_media(wildcards):
    """Media files of one shard that exist or that demo_media builds; a changed file reruns its shard."""
    paths = sorted(
        {p for r in SHARD_ROWS[int(wildcards.shard)] for p in _media_files(r)}
    )
    return [p for p in paths if p in DEMO_MEDIA or Path(p).is_file()]


# Samples whose media check the LibreFace conversion (the same choice the convert job makes).
CHECK_SAMPLES = check_samples(ROWS)


def check_media():
    paths = sorted({p for r in CHECK_SAMPLES for p in _media_files(r)})
    return [p for p in paths if p in DEMO_MEDIA or Path(p).is_file()]


def model_status(model):
    return f"{MODELS_DIR}/status/{model}.json"


# Kinds whose registry file is converted before use (checkpoint -> ONNX by the convert rule), from
# the kinds table (apexbench.kinds) like TRAINED_KINDS.
CONVERTED_KEYS = sorted(
    {c["model"] for c in CLASSIFIERS.values() if c["kind"] in CONVERTED_KINDS}
)


def converted_status(model):
    return f"{MODELS_DIR}/converted/{model}.json"


TRAIN = CFG["train"]
TRAIN_DIR = "results/train/cnn"
PRECISIONS = ["fp32", "int8"]
TRAIN_OPTIONS = {
    k: TRAIN[k]
    for k in (
        "width",
        "label_smoothing",
        "mixup",
        "augment",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "dropout",
        "seed",
    )
}


def train_data_fingerprint(wildcards):
    # Evaluated only when the training job is in the DAG: an edited, added or removed image reruns it.
    return {
        "train": folder_fingerprint(TRAIN["train_root"]),
        "val": folder_fingerprint(TRAIN["val_root"]),
    }


def trained_status(precision):
    """Status record of one export of the trained CNN (same fields as fetch_model's)."""
    return f"{TRAIN_DIR}/status/{precision}.json"


def classifier_model(name):
    """The status record infer reads for a classifier: its registry model's, its conversion's, or
    the trained CNN export's."""
    clf = CLASSIFIERS[name]
    if "precision" in clf:
        return trained_status(clf["precision"])
    if clf["kind"] in CONVERTED_KINDS:
        return converted_status(clf["model"])
    return model_status(clf["model"])


def trained_outputs():
    """Everything train_cnn.smk makes, requested by rule all when a classifier of kind cnn is listed."""
    if not any("precision" in c for c in CLASSIFIERS.values()):
        return []
    names = ["model.pt", "history.csv", "curve.png", "train.json", "export.json"]
    names += [f"model_{p}.onnx" for p in PRECISIONS]
    return [f"{TRAIN_DIR}/{n}" for n in names] + [trained_status(p) for p in PRECISIONS]


def all_model_status():
    """Every model status record of the run's classifiers (for aggregate's provenance)."""
    trained = sorted({c["precision"] for c in CLASSIFIERS.values() if "precision" in c})
    converted = [converted_status(m) for m in CONVERTED_KEYS]
    return (
        [model_status(m) for m in MODEL_KEYS]
        + converted
        + [trained_status(p) for p in trained]
    )
