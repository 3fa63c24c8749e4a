import _apexbench_path  # noqa: F401  (src/ on sys.path)
import json

from apexbench.annotate import Annotator, annotate_image, annotate_video, is_image, make_annotate_detector
from apexbench.classifiers import load_classifier
from apexbench.errors import ModelUnavailableError
from apexbench.kinds import adapter_options
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    cfg, clf, faces = snakemake.params.annotate, snakemake.params.classifier, snakemake.params.faces
    model = json.loads(open(snakemake.input.model).read())
    if not model["available"]:
        raise ModelUnavailableError(f"annotate.classifier {cfg['classifier']!r}: {model['message']}")
    classifier = load_classifier(clf["kind"], model["path"], threads=snakemake.threads,
                                 **adapter_options(cfg["classifier"], clf))
    detector = make_annotate_detector(cfg)
    try:
        annotator = Annotator(detector, classifier, snakemake.params.scheme, clf["contempt"], cfg["threshold"],
                              faces["crop_size"], faces["margin"])
        if is_image(snakemake.input.media):
            annotate_image(snakemake.input.media, annotator, cfg["classifier"], snakemake.output.json,
                           snakemake.output.image, log=log)
        else:
            annotate_video(snakemake.input.media, annotator, cfg["classifier"], snakemake.output.json,
                           snakemake.output.video, every=cfg["every"], log=log)
    finally:
        detector.close()
