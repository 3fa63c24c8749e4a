import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.baselines import FEATURE_SCHEMA, compute_features
from apexbench.tables import read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    kind = snakemake.params.kind
    weights, meta = None, {"kind": kind}
    model = json.loads(open(snakemake.input.model[0]).read()) if snakemake.input.model else None
    frames = read_parquet(snakemake.input.frames, columns=["sample_id", "face_status", "face_crop", "onset_crop"])
    if model is not None and not model["available"]:
        meta["unavailable"] = model["message"]
        print(f"unavailable: {model['message']}", file=log)
        frames = frames.assign(face_status="error:unavailable")
    elif model is not None:
        weights = model["path"]
    features = compute_features(frames, kind, weights, log=log)
    write_parquet(features, snakemake.output[0], meta=meta, schema=FEATURE_SCHEMA)
