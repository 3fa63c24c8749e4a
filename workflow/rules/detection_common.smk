# Inputs of the detection rule in detection.smk, checked only when results/detection.csv is
# requested: the hand-drawn boxes, the images they name, and the folders of single-face crops.
from apexbench.detection_eval import read_boxes
from apexbench.train.data import folder_fingerprint

DETECTION = CFG["detection"]


def detection_inputs(wildcards):
    """The boxes file and the images it names; one line when an input cannot be had."""
    try:
        names = sorted(read_boxes(DETECTION["boxes"]))
    except (ApexbenchError, OSError) as err:
        fail(f"config: detection.boxes: {err}")
    media = [f"{DETECTION['media_root']}/{name}" for name in names]
    for path in media:
        if path not in DEMO_MEDIA and not Path(path).is_file():
            fail(
                f"config: detection: {path} not found; build the demo media (dataset.demo: true) "
                "or set detection.media_root to where the files of detection.boxes are"
            )
    for i, spec in enumerate(DETECTION["image_sets"]):
        if not Path(spec["root"]).is_dir():
            fail(
                f"config: detection.image_sets[{i}].root {spec['root']} is not a folder; "
                "point it at a folder of face crops or remove the set"
            )
    return {"boxes": DETECTION["boxes"], "media": media}


def detection_data(wildcards):
    # Evaluated only when the job is in the DAG: an edited, added or removed crop reruns it.
    return {s["name"]: folder_fingerprint(s["root"]) for s in DETECTION["image_sets"]}
