import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.classifiers import CLASSIFIERS, load_classifier
from apexbench.infer import PREDICTION_SCHEMA, failed_predictions, input_columns, predict_frames
from apexbench.tables import read_parquet, write_parquet
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    clf = snakemake.params.classifier
    model = json.loads(open(snakemake.input.model).read())
    frames = read_parquet(snakemake.input.frames, columns=input_columns(CLASSIFIERS[clf["kind"]]))
    meta = {"classifier": snakemake.wildcards.classifier, "kind": clf["kind"], "model": model.get("sha256"),
            "scheme": snakemake.params.scheme, "contempt": clf["contempt"]}
    if model["available"]:
        options = {key: clf[key] for key in ("detector",) if key in clf}
        classifier = load_classifier(clf["kind"], model["path"], threads=snakemake.threads, **options)
        meta["native_order"] = list(classifier.native_order)
        predictions = predict_frames(frames, classifier, snakemake.params.scheme, clf["contempt"],
                                     clf["batch_size"], log=log)
    else:
        meta["unavailable"] = model["message"]
        print(f"unavailable: {model['message']}", file=log)
        predictions = failed_predictions(frames, "error:unavailable")
    write_parquet(predictions, snakemake.output[0], meta=meta, schema=PREDICTION_SCHEMA)
