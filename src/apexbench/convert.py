"""LibreFace's expression network rebuilt in plain PyTorch, loaded strictly, exported to ONNX.

LibreFace 0.2.0 (``libreface/Facial_Expression_Recognition/models/repvgg.py``) builds
``timm.create_model("repvgg_a0", pretrained=True)``, replaces its classifier ``head.fc``
(Linear 1280 -> 1000) by ``Sequential(head.fc, Linear(1000, 512))`` and adds
``Linear(512, 128) - ReLU - BatchNorm1d(128) - Dropout - Linear(128, 8) - Sigmoid``. Its checkpoint
``repvgg.pt`` is ``{"model": state_dict}`` loaded with ``strict=True``.

This module rebuilds exactly that network with timm 1.0.9's module names (``stem``, ``stages.i.j``,
``conv_kxk.conv``/``.bn``, ``conv_1x1``, ``identity``, ``head.fc``), so the published state dict
loads strictly, without timm: timm imports torchvision at import time, and PyPI's torchvision
wheels link CUDA libraries that a CPU build of torch does not have. ``tests/test_convert.py``
compares this network with timm's ``repvgg_a0`` when timm is importable.

torch and onnx (which torch's ONNX exporter imports) are the optional conversion extra
(``requirements-convert.txt``): they are imported inside functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .classifiers.libreface import INPUT_NAME, OUTPUT_NAME, preprocess_libreface
from .errors import ModelUnavailableError

# RepVGG-A0 (timm `repvgg_a0`): stem 48 channels (stride 2), four stages of depth 2, 4, 14, 1 and
# width 0.75*64, 0.75*128, 0.75*256, 2.5*512, each starting with a stride-2 block.
STEM_CHANNELS = 48
STAGE_DEPTHS = (2, 4, 14, 1)
STAGE_WIDTHS = (48, 96, 192, 1280)
NUM_LABELS = 8
TOLERANCE = 1e-4  # max abs difference allowed between torch and onnxruntime on real crops
OPSET = 17
TORCH_FIX = ("install the conversion extra (torch, onnx): `make venv-train`, or `pip install --extra-index-url "
             "https://download.pytorch.org/whl/cpu -r requirements-convert.txt` (see README, 'LibreFace conversion'), "
             "or run with --use-conda")


def converted_status_path(models_dir: str | os.PathLike, model: str) -> Path:
    """The conversion's status record of registry model ``model`` (written by rule convert)."""
    return Path(models_dir) / "converted" / f"{model}.json"


def torch_available() -> bool:
    """Whether the conversion extra is installed: torch, and onnx, without which its exporter fails."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx"))


def build_libreface_net(seed: int | None = None):
    """LibreFace's RepVGG expression network (eval mode), randomly initialised (no pretrained download)."""
    import torch
    from torch import nn

    class ConvBn(nn.Module):
        """timm ConvNormAct without activation: ``conv`` (no bias) then ``bn``."""

        def __init__(self, cin, cout, k, stride):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=((stride - 1) + (k - 1)) // 2, bias=False)
            self.bn = nn.BatchNorm2d(cout)

        def forward(self, x):
            return self.bn(self.conv(x))

    class RepVggBlock(nn.Module):
        """timm RepVggBlock (train-time form): relu(conv_1x1(x) + conv_kxk(x) [+ identity_bn(x)])."""

        def __init__(self, cin, cout, stride):
            super().__init__()
            self.identity = nn.BatchNorm2d(cout) if cin == cout and stride == 1 else None
            self.conv_kxk = ConvBn(cin, cout, 3, stride)
            self.conv_1x1 = ConvBn(cin, cout, 1, stride)
            self.act = nn.ReLU()

        def forward(self, x):
            out = self.conv_1x1(x) + self.conv_kxk(x)
            if self.identity is not None:
                out = out + self.identity(x)
            return self.act(out)

    class Head(nn.Module):
        """timm ClassifierHead (avg pool, flatten, fc) with LibreFace's extra Linear(1000, 512)."""

        def __init__(self, cin):
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(cin, 1000), nn.Linear(1000, 512))

        def forward(self, x):
            return self.fc(x.mean(dim=(2, 3)))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = RepVggBlock(3, STEM_CHANNELS, 2)
            stages, cin = [], STEM_CHANNELS
            for depth, width in zip(STAGE_DEPTHS, STAGE_WIDTHS):
                blocks = []
                for i in range(depth):
                    blocks.append(RepVggBlock(cin, width, 2 if i == 0 else 1))
                    cin = width
                stages.append(nn.Sequential(*blocks))
            self.stages = nn.Sequential(*stages)
            self.head = Head(cin)

        def forward(self, x):
            return self.head(self.stages(self.stem(x)))

    class LibreFaceFER(nn.Module):
        """``encoder`` + ``classifier`` as in LibreFace's RepVGG; returns the 8 sigmoid scores."""

        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.classifier = nn.Sequential(
                nn.Linear(512, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Dropout(p=0.1),
                nn.Linear(128, NUM_LABELS), nn.Sigmoid(),
            )

        def forward(self, images):
            return self.classifier(self.encoder(images).reshape(images.shape[0], -1))

    if seed is not None:
        torch.manual_seed(seed)
    return LibreFaceFER().eval()


def save_libreface_checkpoint(net, path: str | os.PathLike) -> Path:
    """Save ``net`` the way LibreFace's checkpoint is stored: ``{"model": state_dict}``."""
    import torch

    torch.save({"model": net.state_dict()}, path)
    return Path(path)


def load_libreface_checkpoint(path: str | os.PathLike):
    """The network with ``path``'s weights, loaded as LibreFace does (key ``model``, strict)."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one user-facing line
        raise ModelUnavailableError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ModelUnavailableError(f"{path}: not a LibreFace checkpoint (no 'model' key)")
    net = build_libreface_net()
    try:
        net.load_state_dict(checkpoint["model"], strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise ModelUnavailableError(f"{path}: does not match LibreFace's RepVGG network: {first}") from exc
    return net.eval()


def export_onnx(net, path: str | os.PathLike) -> Path:
    """Export with a dynamic batch: ``image`` (N, 3, 224, 224) -> ``scores`` (N, 8).

    Uses torch's TorchScript exporter (``dynamo=False``): the torch.export-based default needs
    ``onnxscript``, and this plain CNN exports identically with either (checked numerically below).
    """
    import warnings

    import torch

    dummy = torch.zeros(2, 3, 224, 224)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, (dummy,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}}, opset_version=OPSET,
                          dynamo=False)
    return Path(path)


def max_abs_diff(net, onnx_path: str | os.PathLike, crops: Sequence[np.ndarray]) -> float:
    """Largest |torch - onnxruntime| over the sigmoid outputs for ``crops`` (BGR uint8)."""
    import onnxruntime as ort
    import torch

    batch = preprocess_libreface(crops)
    with torch.no_grad():
        expected = net(torch.from_numpy(batch)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
    return float(np.max(np.abs(expected - got)))


def convert_libreface(checkpoint: str | os.PathLike, onnx_path: str | os.PathLike,
                      crops: Sequence[np.ndarray]) -> dict:
    """Checkpoint -> verified ONNX at ``onnx_path`` (written atomically); returns the check's figures.

    Raises ModelUnavailableError when the checkpoint does not load strictly, when there are no crops
    to check on, or when torch and onnxruntime disagree by ``TOLERANCE`` or more (nothing is written).
    """
    from .fsutil import atomic_path, sha256_of

    if not crops:
        raise ModelUnavailableError("no face crops to check the LibreFace conversion on (no face found in any sample)")
    net = load_libreface_checkpoint(checkpoint)
    onnx_path = Path(onnx_path)
    with atomic_path(onnx_path) as tmp:
        tmp_onnx = tmp.with_suffix(".onnx")
        try:
            export_onnx(net, tmp_onnx)
            diff = max_abs_diff(net, tmp_onnx, crops)
            if not diff < TOLERANCE:
                raise ModelUnavailableError(
                    f"LibreFace ONNX export disagrees with torch: max abs diff {diff:.3g} >= {TOLERANCE:g} "
                    f"on {len(crops)} crops")
            os.replace(tmp_onnx, tmp)
        finally:
            tmp_onnx.unlink(missing_ok=True)
    import torch

    return {"max_abs_diff": diff, "n_crops": len(crops), "tolerance": TOLERANCE, "torch": torch.__version__,
            "opset": OPSET, "sha256": sha256_of(onnx_path)}


# --- the workflow's `convert` rule ----------------------------------------------------------------

CHECK_SAMPLE_LIMIT = 32


def check_samples(rows) -> list[dict]:
    """The samples whose media check a conversion: the first rows (by id) with usable onset and APEX
    indices. Chosen from the dataset inside the job rather than passed as a rule param, so editing
    some other detail of a row (a label, an offset) does not reconvert the model."""
    def get(row, key):
        return row[key] if isinstance(row, dict) else getattr(row, key)

    usable = []
    for row in sorted(rows, key=lambda r: get(r, "sample_id")):  # only the chosen rows become dicts
        if all(isinstance(get(row, k), int) and get(row, k) >= 0 for k in ("onset", "apex")):
            usable.append(row if isinstance(row, dict) else row.to_dict())
            if len(usable) == CHECK_SAMPLE_LIMIT:
                break
    return usable


def sample_crops(samples: Sequence[dict], root: str | os.PathLike, faces_cfg: dict | None,
                 limit: int) -> list[np.ndarray]:
    """Up to ``limit`` face crops (BGR) of the dataset's own media, made exactly as ``extract`` makes
    them (same detector, margin and size). Reading the media rather than the frame shards keeps the
    conversion independent of the per-shard jobs (which a cluster profile may group)."""
    import pandas as pd

    from .extract import decode_image, extract_samples

    crops: list[np.ndarray] = []
    for start in range(0, len(samples), limit):
        frames = extract_samples(pd.DataFrame(list(samples[start : start + limit])), root, faces_cfg,
                                 log=open(os.devnull, "w"))
        for status, data in zip(frames["face_status"], frames["face_crop"]):
            if status == "ok" and data is not None and (image := decode_image(data)) is not None:
                crops.append(image)
            if len(crops) >= limit:
                return crops
    return crops


def converted_record(key: str, checkpoint_status: dict, samples: Sequence[dict], onnx_path: str | os.PathLike,
                     max_crops: int = 16, threads: int | None = None, root: str | os.PathLike = ".",
                     faces_cfg: dict | None = None) -> dict:
    """Convert the resolved checkpoint to ONNX and describe the outcome like a model status record.

    Unavailable (a normal outcome, with a one-line fix in ``message``): the checkpoint is not
    available, or torch is not installed (``reason: no_torch``, so the workflow retries once torch
    is there). A checkpoint that does not load strictly, or an export that disagrees with torch, is
    an error (ModelUnavailableError): the benchmark never runs a wrongly converted network.
    """
    record = {"key": f"{key}_onnx", "file": Path(onnx_path).name, "available": False, "path": None, "sha256": None, "message": None, "reason": None,
              "checkpoint_sha256": checkpoint_status.get("sha256"), "license": checkpoint_status.get("license")}
    if not checkpoint_status.get("available"):
        record.update(message=checkpoint_status.get("message"), reason="no_checkpoint")
        return record
    if not torch_available():
        record.update(message=f"{key}: converting {checkpoint_status['path']} to ONNX needs torch: {TORCH_FIX}",
                      reason="no_torch")
        return record
    if threads:
        import torch

        torch.set_num_threads(threads)
    crops = sample_crops(samples, root, faces_cfg, max_crops)
    figures = convert_libreface(checkpoint_status["path"], onnx_path, crops)
    stat = Path(onnx_path).stat()
    record.update(available=True, path=str(onnx_path), size=stat.st_size, mtime_ns=stat.st_mtime_ns, **figures)
    return record


def converted_is_stale(record_path: str | os.PathLike) -> bool:
    """Whether a conversion record no longer holds (cheap): torch has been installed since a
    ``no_torch`` record, or the ONNX it describes is gone or was replaced."""
    import json

    record_path = Path(record_path)
    if not record_path.is_file():
        return False
    record = json.loads(record_path.read_text())
    if not record.get("available"):
        return record.get("reason") == "no_torch" and torch_available()
    onnx = Path(record["path"])
    if not onnx.is_file():
        return True
    stat = onnx.stat()
    return (stat.st_size, stat.st_mtime_ns) != (record.get("size"), record.get("mtime_ns"))
