import _apexbench_path  # noqa: F401  (src/ on sys.path)
import pandas as pd

from apexbench.baselines import TRAIN_PREDICTION_SCHEMA, not_applicable, pooled_inputs, train_predictions
from apexbench.labels import SCHEMES
from apexbench.tables import read_meta, read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    kind, scheme, ev = snakemake.params.kind, snakemake.params.scheme, snakemake.params.evaluation
    sources = [(read_parquet(s["samples"]), pd.concat([read_parquet(p) for p in s["features"]], ignore_index=True),
                s["prefix"], s["role"]) for s in snakemake.params.sources]
    samples, features = pooled_inputs(sources)
    predictions = train_predictions(samples, features, kind, scheme, ev["protocol"], ev["folds"], ev["seed"], log=log)
    meta = {"classifier": snakemake.wildcards.classifier, "kind": kind, "scheme": scheme, "trained": True,
            "protocol": ev["protocol"], "folds": ev["folds"], "seed": ev["seed"], "native_order": list(SCHEMES[scheme]),
            "train_on": [s["dataset"] for s in snakemake.params.sources if s["role"] != "test"]}
    unavailable = [read_meta(p).get("unavailable") for s in snakemake.params.sources for p in s["features"]]
    tested = features[features["sample_id"].isin(predictions["sample_id"])]
    reason = next((u for u in unavailable if u), None) or not_applicable(kind, tested, snakemake.wildcards.evalset)
    if reason:
        meta["unavailable"] = reason
        print(reason, file=log)
    write_parquet(predictions, snakemake.output[0], meta=meta, schema=TRAIN_PREDICTION_SCHEMA)
