import _apexbench_path  # noqa: F401  (src/ on sys.path)
import pandas as pd

from apexbench.baselines import TRAIN_PREDICTION_SCHEMA, not_applicable, train_predictions
from apexbench.datasets.base import shard_of
from apexbench.labels import SCHEMES
from apexbench.tables import read_meta, read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    kind, scheme, ev = snakemake.params.kind, snakemake.params.scheme, snakemake.params.evaluation
    samples = read_parquet(snakemake.input.samples)
    features = pd.concat([read_parquet(p) for p in snakemake.input.features], ignore_index=True)
    predictions = train_predictions(samples, features, kind, scheme, ev["protocol"], ev["folds"], ev["seed"], log=log)
    meta = {"classifier": snakemake.wildcards.classifier, "kind": kind, "scheme": scheme, "trained": True,
            "protocol": ev["protocol"], "folds": ev["folds"], "seed": ev["seed"],
            "native_order": list(SCHEMES[scheme])}
    unavailable = [read_meta(p).get("unavailable") for p in snakemake.input.features]
    reason = next((u for u in unavailable if u), None) or not_applicable(kind, features, snakemake.params.dataset)
    if reason:
        meta["unavailable"] = reason
        print(reason, file=log)
    shards = predictions["sample_id"].map(lambda s: shard_of(s, snakemake.params.n_shards))
    for path in snakemake.output:
        k = int(path.rsplit("shard-", 1)[1].split(".")[0])
        write_parquet(predictions[shards == k].reset_index(drop=True), path, meta=meta,
                      schema=TRAIN_PREDICTION_SCHEMA)
