"""The generic kinds: any ONNX (onnxruntime) or TFLite (LiteRT) emotion classifier, described in the
config rather than coded (:mod:`.spec` reads the description).

Preprocessing from the config: the shared BGR crop converted to ``color``, resized to ``size`` with
the ``resize`` interpolation, ``x * scale``, ``(x - mean) / std``, laid out as ``layout`` (a model
whose input has no channel axis, (N, H, W), gets gray images as they are). An integer model input
(uint8 / int8) receives the normalised values quantised with the model's own input quantisation
(TFLite), or rounded and clipped when the model declares none. Output: ``probabilities`` as they
are, ``logits`` through a softmax.

When the adapter loads it compares the model's declared input (rank, channels, height, width) and
output width with the config, and stops with one line naming the classifier and the mismatch,
before any batch runs. A dynamic batch dimension runs whole batches; a model fixed at batch 1 runs
one crop at a time (a TFLite model is first asked to resize its input to the batch, as the built-in
mini-Xception adapter does).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import metadata

import cv2
import numpy as np

from ..errors import ConfigError, ModelUnavailableError
from .base import Classifier, softmax
from .spec import GenericSpec

INTERPOLATION = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA,
                 "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
COLOR_CODES = {  # (crop is gray, target colour) -> cvtColor code; None = as it is
    (False, "gray"): cv2.COLOR_BGR2GRAY, (False, "rgb"): cv2.COLOR_BGR2RGB, (False, "bgr"): None,
    (True, "gray"): None, (True, "rgb"): cv2.COLOR_GRAY2RGB, (True, "bgr"): cv2.COLOR_GRAY2BGR,
}
ONNX_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
              "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def interpolation(src_shape: tuple[int, ...], size: tuple[int, int], method: str) -> int:
    """OpenCV interpolation flag; ``auto`` is the built-in adapters' rule (``base.gray_resize``): area
    averaging when the crop is larger than the target, bilinear otherwise."""
    if method == "auto":
        return cv2.INTER_AREA if src_shape[0] > size[0] or src_shape[1] > size[1] else cv2.INTER_LINEAR
    return INTERPOLATION[method]


def prepare(crops: Sequence[np.ndarray], spec: GenericSpec) -> np.ndarray:
    """BGR (or gray) uint8 crops -> float32 (N, H, W, C) after colour, resize, scale and mean/std."""
    h, w = spec.size
    out = np.empty((len(crops), h, w, spec.channels), dtype=np.float32)
    for i, crop in enumerate(crops):
        code = COLOR_CODES[(crop.ndim == 2, spec.color)]
        image = crop if code is None else cv2.cvtColor(crop, code)
        image = cv2.resize(image, (w, h), interpolation=interpolation(image.shape, spec.size, spec.resize))
        out[i] = image.reshape(h, w, spec.channels)
    num, den = spec.scale
    if num != 1.0:
        out *= np.float32(num)
    if den != 1.0:
        out /= np.float32(den)
    if any(spec.mean):
        out -= np.asarray(spec.mean, dtype=np.float32)
    if any(s != 1.0 for s in spec.std):
        out /= np.asarray(spec.std, dtype=np.float32)
    return out


def quantise(x: np.ndarray, dtype, quantization: tuple[float, int] = (0.0, 0)) -> np.ndarray:
    """The model's input dtype: floats cast; integers quantised with the model's (scale, zero point),
    ``round(x / scale + zero_point)``, or just rounded when it declares none; clipped to the range."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return x.astype(dtype, copy=False)
    scale, zero_point = quantization
    if scale:
        x = x / np.float32(scale) + np.float32(zero_point)
    info = np.iinfo(dtype)
    return np.clip(np.rint(x), info.min, info.max).astype(dtype)


def _dims(shape) -> list[int | None]:
    """A declared shape with dynamic dimensions (names, None, -1, 0) as None."""
    return [d if isinstance(d, (int, np.integer)) and d > 0 else None for d in shape]


def _show(dims: list[int | None]) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in dims) + ")"


def _describe(dims: list[int | None]) -> str:
    if len(dims) == 4:
        if dims[1] in (1, 3, 4) and dims[3] not in (1, 3, 4):
            return f"NCHW, {dims[1]} channel(s)"
        if dims[3] in (1, 3, 4):
            return f"NHWC, {dims[3]} channel(s)"
    if len(dims) == 3:
        return "N, H, W: one channel, no channel axis"
    return f"rank {len(dims)}"


class GenericClassifier(Classifier):
    """Shared by the ONNX and TFLite adapters; subclasses open the runtime and run it."""

    runtime = ""

    def __init__(self, weights, threads: int = 1, name: str | None = None, **options):
        super().__init__(weights, threads, **options)
        self.spec = GenericSpec.from_config(name or self.kind, {"kind": self.kind, **options})
        self.native_order = self.spec.native_order
        self.labels = self.spec.labels
        if not self.weights.is_file():
            raise ModelUnavailableError(f"{self.spec.where()}: model file {self.weights} not found")
        self._checked_sum = False

    # --- checks against the model's declared input and output -------------------------------------

    def _check_input(self, dims: list[int | None]) -> None:
        """The non-batch dimensions the config implies must match the model's (dynamic ones match)."""
        spec, (h, w) = self.spec, self.spec.size
        expected = {4: (spec.channels, h, w) if spec.layout == "nchw" else (h, w, spec.channels)}
        if spec.color == "gray":
            expected[3] = (h, w)
        want = expected.get(len(dims))
        if want is None or any(d is not None and d != e for d, e in zip(dims[1:], want)):
            raise ConfigError(
                f"{spec.where()}: the model's input is {_show(dims)} ({_describe(dims)}) but the config says "
                f"size [{h}, {w}], color {spec.color}, layout {spec.layout}; fix {spec.where('input')}")
        self._rank = len(dims)
        self._fixed_batch = dims[0] is not None
        if dims[0] not in (None, 1):
            raise ConfigError(f"{spec.where()}: the model's batch dimension is fixed at {dims[0]}; "
                              "export it with a dynamic batch dimension or batch 1")

    def _check_output(self, dims: list[int | None]) -> None:
        rest = dims[1:]
        if rest and all(d is not None for d in rest):
            width = int(np.prod(rest))
            if width != len(self.labels):
                raise ConfigError(
                    f"{self.spec.where()}: the model's output {_show(dims)} has {width} classes but "
                    f"{self.spec.where('labels')} lists {len(self.labels)}; list the model's labels in its output order")

    # --- preprocessing and outputs ---------------------------------------------------------------

    def preprocess(self, crops):
        x = prepare(crops, self.spec)
        if self._rank == 3:
            x = x[..., 0]
        elif self.spec.layout == "nchw":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return self._to_input(x)

    def _to_input(self, x: np.ndarray) -> np.ndarray:
        return x

    def _scores(self, out: np.ndarray, n: int) -> np.ndarray:
        out = np.asarray(out).reshape(n, -1)
        if out.shape[1] != len(self.labels):
            raise ConfigError(f"{self.spec.where()}: the model returned {out.shape[1]} scores per face but "
                              f"{self.spec.where('labels')} lists {len(self.labels)}")
        if self.spec.output == "logits":
            return softmax(out.astype(np.float64))
        if not self._checked_sum and n:
            self._checked_sum = True
            total = float(out[0].sum())
            if abs(total - 1.0) > 0.01:
                print(f"{self.spec.where()}: the first face's outputs sum to {total:.3g}, not 1; if the model "
                      f"returns logits set {self.spec.where('output')}: logits", file=sys.stderr)
        return out

    def run_info(self) -> dict:
        return {"labels": list(self.labels), "runtime": self.runtime}


class OnnxClassifier(GenericClassifier):
    """``kind: onnx``: a configured ONNX classifier on onnxruntime (the first input and output)."""

    kind = "onnx"

    def __init__(self, weights, threads: int = 1, name: str | None = None, **options):
        super().__init__(weights, threads, name, **options)
        import onnxruntime as ort

        self.runtime = f"onnxruntime {ort.__version__}"
        providers = self._providers(ort)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(self.weights), opts, providers=providers)
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelUnavailableError(f"{self.spec.where()}: onnxruntime cannot load {self.weights}: "
                                        f"{' '.join(str(err).split())[:300]}") from err
        self.provider = self._session.get_providers()[0]
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1:
            raise ConfigError(f"{self.spec.where()}: the model has {len(inputs)} inputs "
                              f"({', '.join(i.name for i in inputs)}); a classifier takes one image tensor")
        self._input = inputs[0].name
        self._output = outputs[0].name
        if inputs[0].type not in ONNX_TYPES:
            raise ConfigError(f"{self.spec.where()}: the model's input is {inputs[0].type}; supported: "
                              f"{', '.join(ONNX_TYPES)}")
        self._dtype = ONNX_TYPES[inputs[0].type]
        self._check_input(_dims(inputs[0].shape))
        self._check_output(_dims(outputs[0].shape))
        print(f"{self.spec.where()}: onnxruntime runs {self.weights.name} on {self.provider}", file=sys.stderr)

    def _providers(self, ort) -> list[str]:
        """The configured providers onnxruntime knows, in order, without those absent here (one warning
        line each); ConfigError for a name onnxruntime does not know."""
        known, available = ort.get_all_providers(), ort.get_available_providers()
        chosen = []
        for name in self.spec.providers:
            full = next((p for p in known if p.lower() in (name.lower(), f"{name.lower()}executionprovider")), None)
            if full is None:
                short = ", ".join(p.removesuffix("ExecutionProvider") for p in known)
                raise ConfigError(f"{self.spec.where('providers')}: onnxruntime has no provider {name!r}; "
                                  f"its providers: {short}")
            if full not in available:
                print(f"{self.spec.where('providers')}: {full} is not available in this onnxruntime "
                      f"(available: {', '.join(available)}); skipped", file=sys.stderr)
            elif full not in chosen:
                chosen.append(full)
        return chosen or ["CPUExecutionProvider"]

    def _to_input(self, x):
        return quantise(x, self._dtype)

    def forward(self, batch):
        if self._fixed_batch and batch.shape[0] > 1:
            out = np.concatenate([self._session.run([self._output], {self._input: batch[i : i + 1]})[0]
                                  for i in range(batch.shape[0])])
        else:
            out = self._session.run([self._output], {self._input: batch})[0]
        return self._scores(out, batch.shape[0])

    def run_info(self) -> dict:
        return {**super().run_info(), "provider": self.provider, "providers": self._session.get_providers()}


class TfliteClassifier(GenericClassifier):
    """``kind: tflite``: a configured TFLite classifier on LiteRT (``ai_edge_litert``)."""

    kind = "tflite"

    def __init__(self, weights, threads: int = 1, name: str | None = None, **options):
        super().__init__(weights, threads, name, **options)
        from ai_edge_litert.interpreter import Interpreter

        try:
            version = metadata.version("ai-edge-litert")
        except metadata.PackageNotFoundError:
            version = "?"
        self.runtime = f"LiteRT {version}"
        try:
            self._interpreter = Interpreter(model_path=str(self.weights), num_threads=threads)
        except (ValueError, RuntimeError) as err:
            raise ModelUnavailableError(f"{self.spec.where()}: LiteRT cannot load {self.weights}: "
                                        f"{' '.join(str(err).split())[:300]}") from err
        inp = self._interpreter.get_input_details()
        out = self._interpreter.get_output_details()
        if len(inp) != 1:
            raise ConfigError(f"{self.spec.where()}: the model has {len(inp)} inputs; a classifier takes one image tensor")
        self._in, self._out = inp[0], out[0]
        self._check_input(_dims(self._in.get("shape_signature", self._in["shape"])))
        self._check_output(_dims(self._out.get("shape_signature", self._out["shape"])))
        self._batch = 0
        self._resizable = True

    def _to_input(self, x):
        return quantise(x, self._in["dtype"], self._in["quantization"])

    def _resize(self, shape: list[int]) -> bool:
        try:
            self._interpreter.resize_tensor_input(self._in["index"], shape)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError):
            return False
        self._batch = shape[0]
        return True

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self._batch and not self._resize(list(batch.shape)):
            raise RuntimeError(f"{self.spec.where()}: LiteRT cannot run a batch of shape {batch.shape}")
        self._interpreter.set_tensor(self._in["index"], batch)
        self._interpreter.invoke()
        out = np.array(self._interpreter.get_tensor(self._out["index"]))
        scale, zero_point = self._out["quantization"]
        if out.dtype.kind in "iu" and scale:
            out = (out.astype(np.float32) - zero_point) * np.float32(scale)
        return out

    def forward(self, batch):
        n = batch.shape[0]
        if self._resizable and n != self._batch and not self._resize(list(batch.shape)):
            self._resizable = False  # the model runs one crop at a time
        if self._resizable:
            return self._scores(self._invoke(batch), n)
        return self._scores(np.concatenate([self._invoke(batch[i : i + 1]) for i in range(n)]), n)
