import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.classifiers import load_classifier
from apexbench.infer import PREDICTION_SCHEMA, failed_predictions, input_columns, predict_frames
from apexbench.kinds import KINDS, adapter_options
from apexbench.tables import read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    name, clf = snakemake.wildcards.classifier, snakemake.params.classifier
    model = json.loads(open(snakemake.input.model).read())
    frames = read_parquet(snakemake.input.frames, columns=input_columns(KINDS[clf["kind"]]))
    meta = {"classifier": name, "kind": clf["kind"], "model": model.get("sha256"),
            "scheme": snakemake.params.scheme, "contempt": clf["contempt"]}
    if model["available"]:
        classifier = load_classifier(clf["kind"], model["path"], threads=snakemake.threads,
                                     **adapter_options(name, clf))
        meta["native_order"] = list(classifier.native_order)
        meta.update(classifier.run_info())
        predictions = predict_frames(frames, classifier, snakemake.params.scheme, clf["contempt"],
                                     clf["batch_size"], log=log)
    else:
        meta["unavailable"] = model["message"]
        print(f"unavailable: {model['message']}", file=log)
        predictions = failed_predictions(frames, "error:unavailable")
    write_parquet(predictions, snakemake.output[0], meta=meta, schema=PREDICTION_SCHEMA)
