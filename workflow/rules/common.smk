# The run plan (datasets x classifiers, read once at DAG-build time), the datasets' stable shards,
# and the input functions of the rules.
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

# The package lives in src/; scripts find it through workflow/scripts/_apexbench_path.py.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from apexbench.codehash import code_fingerprint
from apexbench.convert import check_samples, converted_is_stale, converted_status_path
from apexbench.datasets import read_dataset
from apexbench.datasets.base import shard_count, shard_of
from apexbench.datasets.coding_tables import FRAMES, frame_path
from apexbench.kinds import CONVERTED_KINDS, TRAINED_KINDS
from apexbench.demo import DEMO_FILES
from apexbench.errors import ApexbenchError
from apexbench.fsutil import media_stamp
from apexbench.models import fetch_config, run_registry, status_is_stale
from apexbench.plan import make_plan
from apexbench.train.data import folder_fingerprint
from apexbench.workflow import cancel_pending_timers, closing_lines, fail


try:
    PLAN = make_plan(
        config, workflow.config_settings.overwrite_config, workflow.basedir
    )
    REGISTRY = run_registry(PLAN.models)
    ROWS = {
        name: read_dataset(d.spec, base_dir=".") for name, d in PLAN.datasets.items()
    }
except ApexbenchError as err:
    fail(err)

CFG = PLAN.config
# name -> DatasetPlan (spec, faces, shards, scheme, evaluation), `shards: auto` resolved from the rows
DATASETS = {
    name: replace(plan, shards=shard_count(plan.shards, ROWS[name]))
    for name, plan in PLAN.datasets.items()
}
COMPOSITES = PLAN.composites  # name -> CompositePlan (sources, scheme, evaluation)
SETS = PLAN.sets  # every evaluation set: datasets, then composites
CLASSIFIERS = PLAN.classifiers
MODELS = PLAN.models
MODELS_DIR = MODELS["dir"]


def names_pattern(names):
    """A wildcard constraint matching exactly these names (or nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def code(script):
    """Fingerprint of the package code workflow/scripts/<script>.py reaches: every rule has it as a
    param, so editing a module reruns the jobs that run it (Snakemake itself sees only the script).
    A param function, so only the rules of the DAG's jobs parse their modules (once per script).
    """
    base = Path(workflow.basedir)

    def fingerprint(wildcards):
        return code_fingerprint(
            base / "workflow" / "scripts" / f"{script}.py", base / "src"
        )

    return fingerprint


# --- datasets, shards and media --------------------------------------------------------------------

SHARDS = {d: list(range(plan.shards)) for d, plan in DATASETS.items()}
SHARD_ROWS = {d: {k: [] for k in SHARDS[d]} for d in DATASETS}
for _d, _rows in ROWS.items():
    for _row in _rows:
        SHARD_ROWS[_d][shard_of(_row.sample_id, DATASETS[_d].shards)].append(
            _row.to_dict()
        )

DEMO = next((d for d in DATASETS.values() if d.demo), None)
DEMO_MEDIA = [f"{DEMO.spec['root']}/{name}" for name in DEMO_FILES] if DEMO else []


def _media_files(dataset, row):
    """The files a row reads: its video or image, or a frame sample's onset and APEX images."""
    root = DATASETS[dataset].spec["root"]
    if row["kind"] == FRAMES:
        frames = [row[k] for k in ("onset", "apex") if isinstance(row[k], int)]
        return [f"{root}/{frame_path(row['source'], f)}" for f in frames]
    return [f"{root}/{row['source']}"]


def _shard_files(dataset, shard):
    return sorted(
        {p for r in SHARD_ROWS[dataset][int(shard)] for p in _media_files(dataset, r)}
    )


def shard_media(wildcards):
    """The demo's media files of one shard: the demo_media rule makes them, so they are inputs. Other
    datasets' media are not inputs (Snakemake would stat and checksum every one of them again and
    again while scheduling): ``shard_media_stamp`` fingerprints them in a param instead.
    """
    if not DATASETS[wildcards.dataset].demo:
        return []
    return [
        p for p in _shard_files(wildcards.dataset, wildcards.shard) if p in DEMO_MEDIA
    ]


def shard_media_stamp(wildcards):
    """Size and modification time of every media file of one shard (one stat each, nothing opened):
    a replaced, edited or touched file reruns its shard."""
    if DATASETS[wildcards.dataset].demo:
        return ""
    key = (wildcards.dataset, int(wildcards.shard))
    # Params are evaluated again when a checkpoint updates the DAG: stat the files once.
    if key not in _MEDIA_STAMPS:
        _MEDIA_STAMPS[key] = media_stamp(_shard_files(*key))
    return _MEDIA_STAMPS[key]


_MEDIA_STAMPS = {}


def samples_path(evalset):
    return f"results/{evalset}/validated/samples.parquet"


def frames_path(dataset, shard, perturbation="none"):
    if perturbation == "none":
        return f"results/{dataset}/frames/shard-{shard}.parquet"
    return f"results/{dataset}/perturbed/{perturbation}/frames/shard-{shard}.parquet"


# --- classifiers and their weights -----------------------------------------------------------------

# Fold-trained baselines run in `features` + `train`; every other classifier (the trained CNN
# included) in `infer`.
TRAINED = [n for n, c in CLASSIFIERS.items() if c["kind"] in TRAINED_KINDS]
OFF_THE_SHELF = [n for n in CLASSIFIERS if n not in TRAINED]
MODEL_KEYS = sorted({c["model"] for c in CLASSIFIERS.values() if c.get("model")})
for _name, _clf in CLASSIFIERS.items():
    if _clf.get("model") and _clf["model"] not in REGISTRY:
        fail(
            f"config: classifiers.{_name}.model {_clf['model']!r} is not in {MODELS['registry']}"
        )
# Kinds whose registry file is converted before use (checkpoint -> ONNX by the convert rule), from
# the kinds table (apexbench.kinds) like TRAINED_KINDS.
CONVERTED_KEYS = sorted(
    {c["model"] for c in CLASSIFIERS.values() if c["kind"] in CONVERTED_KINDS}
)


def model_status(model):
    return f"{MODELS_DIR}/status/{model}.json"


def converted_status(model):
    return str(converted_status_path(MODELS_DIR, model))


def status_records(name):
    """The status records that say whether classifier ``name`` can run, in the order they are made:
    its weight file's, then its conversion's (the trained CNN: its export's)."""
    clf = CLASSIFIERS[name]
    if "precision" in clf:
        return [trained_status(clf["precision"])]
    if not clf.get("model"):
        return []
    records = [model_status(clf["model"])]
    if clf["kind"] in CONVERTED_KINDS:
        records.append(converted_status(clf["model"]))
    return records


def classifier_model(name):
    """The status record infer reads for a classifier (the last of ``status_records``)."""
    return status_records(name)[-1]


def _checkpoint_record(name, path):
    """A status record made by a checkpoint rule, read once that job has run. A record that does not
    exist yet reads as not available (pending): the rules that ask for it also depend on it as a
    file, so Snakemake schedules its job and evaluates this again when it has run. (Asking the
    checkpoint for a missing record instead makes `snakemake <file>` miss a new classifier: with
    its target present, Snakemake plans nothing.)"""
    if path.startswith(f"{MODELS_DIR}/converted/"):
        producer = checkpoints.convert
    elif path.startswith(f"{MODELS_DIR}/status/"):
        producer = checkpoints.fetch_model
    else:  # the trained CNN's export: training is asked for explicitly, it must run
        return {"available": True}
    if not Path(path).is_file():
        return {"available": False, "pending": True}
    producer.get(model=Path(path).stem)
    return json.loads(Path(path).read_text())


def ready_records(name):
    """The status records of classifier ``name`` up to the first that says unavailable (so an
    unavailable weight file is one fetch job: nothing is converted, extracted or inferred for it).
    """
    records = []
    for path in status_records(name):
        records.append(path)
        if not _checkpoint_record(name, path)["available"]:
            break
    return records


def classifier_ready(name):
    records = ready_records(name)
    return not records or _checkpoint_record(name, records[-1])["available"]


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


def trained_outputs():
    """Everything train_cnn.smk makes, requested by rule all when a classifier of kind cnn is listed."""
    if not any("precision" in c for c in CLASSIFIERS.values()):
        return []
    names = ["model.pt", "history.csv", "curve.png", "train.json", "export.json"]
    names += [f"model_{p}.onnx" for p in PRECISIONS]
    return [f"{TRAIN_DIR}/{n}" for n in names] + [trained_status(p) for p in PRECISIONS]


def all_model_status():
    """Every status record of the run's classifiers as far as they are made (for provenance and the
    unavailable lines of the summary)."""
    return sorted({p for name in CLASSIFIERS for p in ready_records(name)})


# --- evaluation sets: what each set's baselines train on and its predictions ------------------------


def set_datasets(evalset):
    """The datasets whose samples an evaluation set holds."""
    return list(COMPOSITES[evalset].sources) if evalset in COMPOSITES else [evalset]


def train_sources(evalset):
    """(dataset, sample-id prefix, role) of every table a trained baseline of ``evalset`` reads:
    role `both` takes part in the folds, `train` is fit on only, `test` is predicted only.
    """
    if evalset in COMPOSITES:
        return [(d, f"{d}/", "both") for d in COMPOSITES[evalset].sources]
    train = DATASETS[evalset].cross_train
    if train:
        return [(train, f"{train}/", "train"), (evalset, "", "test")]
    return [(evalset, "", "both")]


def trained_predictions(evalset, classifier):
    return f"results/{evalset}/predictions/{classifier}/out_of_fold.parquet"


def set_perturbations(evalset):
    """Robustness probes are run per dataset (a composite pools the unperturbed predictions)."""
    return ["none"] + (PERTURBED if evalset in DATASETS else [])


def prediction_layout(evalset):
    """classifier -> perturbation -> [(prefix, [prediction files])]: where aggregate finds each
    classifier's predictions for an evaluation set (composites: the sources' own shards, their
    sample ids prefixed by the source)."""
    layout = {}
    for clf in CLASSIFIERS:
        if clf in TRAINED:
            layout[clf] = {"none": [["", [trained_predictions(evalset, clf)]]]}
            continue
        layout[clf] = {}
        for p in set_perturbations(evalset):
            layout[clf][p] = [
                [
                    f"{d}/" if evalset in COMPOSITES else "",
                    [
                        (
                            f"results/{d}/predictions/{clf}/shard-{k}.parquet"
                            if p == "none"
                            else f"results/{d}/perturbed/{p}/predictions/{clf}/shard-{k}.parquet"
                        )
                        for k in SHARDS[d]
                    ],
                ]
                for d in set_datasets(evalset)
            ]
    return layout


def aggregate_inputs(wildcards):
    """The set's samples (and a dataset's rejected rows), the prediction files of every classifier
    that can run, and the status record of every classifier (its fix when it cannot)."""
    evalset = wildcards.evalset
    layout = prediction_layout(evalset)
    predictions = [
        path
        for clf in CLASSIFIERS
        if classifier_ready(clf)
        for groups in layout[clf].values()
        for _, paths in groups
        for path in paths
    ]
    inputs = {
        "samples": samples_path(evalset),
        "predictions": predictions,
        "models": all_model_status(),
    }
    if evalset in DATASETS:  # the report page lists what validation removed
        inputs["rejected"] = f"results/{evalset}/validated/rejected.csv"
    # The error gallery and the sample browser (set_frames) read the frame shards' stored crops.
    inputs["frames"] = [path for _, paths in set_frames(evalset) for path in paths]
    return inputs


def set_frames(evalset):
    """The frame shards that the report's error gallery and sample browser of a set read
    (apexbench.gallery), as [(sample-id prefix, files)] groups like prediction_layout (a composite
    reads its sources' shards)."""
    prefix = lambda d: f"{d}/" if evalset in COMPOSITES else ""
    return [
        [prefix(d), [frames_path(d, k) for k in SHARDS[d]]]
        for d in set_datasets(evalset)
    ]


def run_summary_lines():
    """The run's last lines: where the report is, and every classifier that could not run with its fix."""
    return closing_lines("results/leaderboard.csv", "results/report/index.html")


def set_info(evalset):
    plan = DATASETS.get(evalset) or COMPOSITES[evalset]
    return {
        "name": evalset,
        "kind": "dataset" if evalset in DATASETS else "composite",
        "scheme": plan.scheme,
        "sources": set_datasets(evalset),
        "cross_train": DATASETS[evalset].cross_train if evalset in DATASETS else None,
    }


def train_inputs(wildcards):
    sources = train_sources(wildcards.evalset)
    return {
        "samples": [samples_path(d) for d, _, _ in sources],
        "features": [
            f"results/{d}/features/{wildcards.classifier}/shard-{k}.parquet"
            for d, _, _ in sources
            for k in SHARDS[d]
        ],
    }


# The samples whose media check the LibreFace conversion: the first usable rows of the run's first
# dataset (the same choice the convert job makes).
CHECK_DATASET = next(iter(DATASETS.values()))
CHECK_SAMPLES = check_samples(ROWS[CHECK_DATASET.name])


def check_media():
    paths = sorted(
        {p for r in CHECK_SAMPLES for p in _media_files(CHECK_DATASET.name, r)}
    )
    return [p for p in paths if p in DEMO_MEDIA or Path(p).is_file()]
