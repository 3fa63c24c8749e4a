"""LibreFace checkpoint -> ONNX, for real with torch, on randomly initialised checkpoints saved in
LibreFace's format ({"model": state_dict}, loaded strictly)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from apexbench import convert
from apexbench.classifiers import load_classifier
from apexbench.errors import ModelUnavailableError

torch = pytest.importorskip("torch", reason="the conversion extra (requirements-convert.txt) is not installed")


def _crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8) for _ in range(n)]


def _random_net(seed: int):
    """LibreFace's network with random weights *and* random batch-norm statistics, so that a wrong
    eval/train mode or a dropped normalisation changes the outputs."""
    net = convert.build_libreface_net(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.weight.copy_(1 + torch.randn(n, generator=gen) * 0.1)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
        # keep the final logits in the sigmoid's sensitive range
        net.classifier[4].weight.mul_(0.01)
    return net.eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    net = _random_net(seed=3)
    path = convert.save_libreface_checkpoint(net, tmp_path_factory.mktemp("lf") / "repvgg.pt")
    return net, path


def test_libreface_network_matches_its_published_layout():
    net = convert.build_libreface_net(seed=0)
    keys = net.state_dict().keys()
    # timm repvgg_a0 names + LibreFace's appended Linear(1000, 512) and MLP head.
    for key in ("encoder.stem.conv_kxk.conv.weight", "encoder.stem.conv_1x1.bn.running_var",
                "encoder.stages.0.1.identity.running_mean", "encoder.stages.2.13.conv_kxk.bn.weight",
                "encoder.head.fc.0.weight", "encoder.head.fc.1.weight", "classifier.2.running_mean",
                "classifier.4.weight"):
        assert key in keys, key
    assert "encoder.stem.identity.weight" not in keys and "encoder.stages.0.0.identity.weight" not in keys
    assert net.state_dict()["encoder.head.fc.0.weight"].shape == (1000, 1280)
    assert net.state_dict()["classifier.4.weight"].shape == (8, 128)
    assert len(keys) == 362
    out = net(torch.zeros(2, 3, 224, 224))
    assert out.shape == (2, 8) and bool(((out > 0) & (out < 1)).all())


@pytest.mark.skipif(importlib.util.find_spec("timm") is None, reason="timm not installed (see apexbench.convert)")
def test_network_equals_timm_repvgg_a0():
    import timm

    repvgg = timm.create_model("repvgg_a0", pretrained=False)
    fc = repvgg.get_classifier()
    repvgg.head.fc = torch.nn.Sequential(fc, torch.nn.Linear(fc.out_features, 512))
    ours = _random_net(seed=1)
    state = {k[len("encoder."):]: v for k, v in ours.state_dict().items() if k.startswith("encoder.")}
    repvgg.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        np.testing.assert_allclose(repvgg.eval()(x).numpy(), ours.encoder(x).numpy(), rtol=1e-5, atol=1e-4)


def test_conversion_agrees_with_torch_and_the_adapter_runs_it(checkpoint, tmp_path):
    net, path = checkpoint
    crops = _crops(5, seed=9)
    onnx_path = tmp_path / "converted" / "libreface.onnx"
    figures = convert.convert_libreface(path, onnx_path, crops)
    assert figures["max_abs_diff"] < 1e-4 and figures["n_crops"] == 5 and onnx_path.is_file()

    clf = load_classifier("libreface", onnx_path)
    scores, _ = clf.predict(crops)
    with torch.no_grad():
        expected = net(torch.from_numpy(clf.preprocess(crops))).numpy().astype(np.float64)
    assert expected.std() > 1e-3  # the check is not comparing constants
    np.testing.assert_allclose(scores, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(clf.predict(crops[:1])[0], scores[:1], atol=1e-6)  # dynamic batch


def test_checkpoint_is_loaded_strictly(checkpoint, tmp_path):
    net, _ = checkpoint
    state = net.state_dict()
    state.pop("classifier.4.bias")
    torch.save({"model": state}, tmp_path / "partial.pt")
    with pytest.raises(ModelUnavailableError, match="classifier.4.bias") as err:
        convert.convert_libreface(tmp_path / "partial.pt", tmp_path / "out.onnx", _crops(2))
    assert "\n" not in err.value.one_line() and not (tmp_path / "out.onnx").exists()

    torch.save(net.state_dict(), tmp_path / "bare.pt")  # a bare state dict is not LibreFace's format
    with pytest.raises(ModelUnavailableError, match="no 'model' key"):
        convert.convert_libreface(tmp_path / "bare.pt", tmp_path / "out.onnx", _crops(2))


def test_disagreement_fails_and_writes_nothing(checkpoint, tmp_path, monkeypatch):
    _, path = checkpoint
    monkeypatch.setattr(convert, "TOLERANCE", 0.0)
    with pytest.raises(ModelUnavailableError, match="disagrees"):
        convert.convert_libreface(path, tmp_path / "out.onnx", _crops(2))
    assert list(tmp_path.iterdir()) == []


def test_converted_record_and_staleness(checkpoint, tmp_path, monkeypatch):
    _, path = checkpoint
    onnx_path = tmp_path / "libreface.onnx"
    missing = {"available": False, "message": "put libreface/repvgg.pt at ...", "sha256": None}
    record = convert.converted_record("libreface", missing, [], onnx_path)
    assert record["available"] is False and record["message"] == missing["message"]
    assert record["reason"] == "no_checkpoint"

    status = {"available": True, "path": str(path), "sha256": "x", "license": "research"}
    monkeypatch.setattr(convert, "torch_available", lambda: False)
    record = convert.converted_record("libreface", status, [], onnx_path)
    assert record["reason"] == "no_torch" and "requirements-convert.txt" in record["message"]
    record_path = tmp_path / "libreface.json"
    record_path.write_text(json.dumps(record))
    assert not convert.converted_is_stale(record_path)
    monkeypatch.setattr(convert, "torch_available", lambda: True)
    assert convert.converted_is_stale(record_path)  # torch installed since: convert again

    with pytest.raises(ModelUnavailableError, match="no face crops"):
        convert.converted_record("libreface", status, [], onnx_path)
