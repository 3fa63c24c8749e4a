# Annotation targets: the media named in config (annotate.media; the demo media by default) by name,
# and the classifier chosen for annotation (checked only when an annotation is requested).
import re

from apexbench.annotate import is_image

ANNOTATE = CFG["annotate"]
ANNOTATE_MEDIA = {}
for _path in ANNOTATE["media"] or DEMO_MEDIA:
    _name = Path(_path).stem
    if _name in ANNOTATE_MEDIA:
        fail(f"config: annotate.media has two files named {_name!r}; rename one")
    ANNOTATE_MEDIA[_name] = _path


def _names(image):
    names = [n for n, p in ANNOTATE_MEDIA.items() if is_image(p) == image]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def annotate_classifier(wildcards=None):
    name = ANNOTATE["classifier"]
    if name not in CLASSIFIERS:
        fail(
            f"config: annotate.classifier {name!r} is not one of classifiers ({', '.join(CLASSIFIERS)})"
        )
    if name in TRAINED:
        fail(
            f"config: annotate.classifier {name!r} is trained per LOSO fold and cannot annotate new media;"
            f" choose one of {', '.join(OFF_THE_SHELF)}"
        )
    return CLASSIFIERS[name]


def annotate_inputs(wildcards):
    annotate_classifier()
    return {
        "media": ANNOTATE_MEDIA[wildcards.name],
        "model": classifier_model(ANNOTATE["classifier"]),
    }
