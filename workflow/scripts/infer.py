import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.classifiers import load_classifier
from apexbench.infer import failed_columns, input_columns, predict_columns, predictions_table
from apexbench.kinds import KINDS, adapter_options
from apexbench.tables import read_table, write_table
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    name, clf = snakemake.wildcards.classifier, snakemake.params.classifier
    model = json.loads(open(snakemake.input.model).read())
    columns = input_columns(KINDS[clf["kind"]])
    frames = read_table(snakemake.input.frames, columns=columns).to_pydict()
    ids, status, images = (frames[c] for c in columns)
    meta = {"classifier": name, "kind": clf["kind"], "model": model.get("sha256"),
            "scheme": snakemake.params.scheme, "contempt": clf["contempt"]}
    if model["available"]:
        classifier = load_classifier(clf["kind"], model["path"], threads=snakemake.threads,
                                     **adapter_options(name, clf))
        meta["native_order"] = list(classifier.native_order)
        meta.update(classifier.run_info())
        predictions = predict_columns(ids, status, images, classifier, snakemake.params.scheme, clf["contempt"],
                                      clf["batch_size"], log=log)
    else:
        meta["unavailable"] = model["message"]
        print(f"unavailable: {model['message']}", file=log)
        predictions = failed_columns(ids, "error:unavailable")
    write_table(predictions_table(predictions), snakemake.output[0], meta=meta)
