"""The training loop: AdamW + one-cycle LR, label smoothing, MixUp, augmentation, best-by-validation.

Everything random comes from ``seed`` (numpy for shuffling/augmentation/MixUp, torch for init and
dropout) and torch runs with deterministic algorithms on a fixed number of threads, so two runs
with the same options on the same machine give the same history and the same weights.
Validation data (never test data) picks the checkpoint: the epoch with the best accuracy.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from ..fsutil import atomic_path
from .data import NATIVE_ORDER, ImageSet, augment, to_model_input
from .model import LightCNN, n_parameters

HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "seconds")


@dataclass(frozen=True)
class TrainOptions:
    """The seed's knobs. ``mixup`` is the Beta(alpha, alpha) parameter; 0 turns MixUp off."""

    width: float = 0.75
    label_smoothing: float = 0.1
    mixup: float = 0.2
    augment: bool = True
    epochs: int = 30
    batch_size: int = 128
    lr: float = 0.003
    weight_decay: float = 0.05
    dropout: float = 0.3
    seed: int = 0
    threads: int = 1

    @classmethod
    def from_config(cls, cfg: dict) -> TrainOptions:
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})


@dataclass
class TrainResult:
    best_epoch: int
    val_acc: float
    val_macro_f1: float
    wall_seconds: float
    history: list[dict] = field(default_factory=list)


def set_determinism(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def predict_logits(model: nn.Module, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Logits (N, 7) for uint8 gray images, in eval mode."""
    model.eval()
    out = []
    with torch.inference_mode():
        for b in range(0, len(images), batch_size):
            out.append(model(torch.from_numpy(to_model_input(images[b : b + batch_size]))).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(NATIVE_ORDER)), np.float32)


def evaluate(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Cross-entropy, accuracy and macro F1 (scikit-learn, explicit labels, zero_division=0)."""
    loss = float(nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    pred = logits.argmax(axis=1)
    return {
        "loss": loss,
        "acc": float(accuracy_score(labels, pred)),
        "macro_f1": float(f1_score(labels, pred, labels=list(range(len(NATIVE_ORDER))), average="macro",
                                   zero_division=0)),
    }


def train(train_set: ImageSet, val_set: ImageSet, options: TrainOptions, checkpoint: str | Path,
          log: TextIO = sys.stderr) -> TrainResult:
    """Train, writing the best-by-validation-accuracy checkpoint to ``checkpoint`` (atomically)."""
    set_determinism(options.seed, options.threads)
    rng = np.random.default_rng(options.seed)
    model = LightCNN(options.width, len(NATIVE_ORDER), options.dropout)
    print(f"[train] LightCNN width {options.width}: {n_parameters(model)} parameters; "
          f"{len(train_set.labels)} train / {len(val_set.labels)} validation images; {options}", file=log)
    steps_per_epoch = max(1, -(-len(train_set.labels) // options.batch_size))
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=options.lr, epochs=options.epochs,
                                                    steps_per_epoch=steps_per_epoch, pct_start=0.2)
    criterion = nn.CrossEntropyLoss(label_smoothing=options.label_smoothing)
    labels_all = torch.from_numpy(train_set.labels)
    history: list[dict] = []
    best = (-1.0, 0, 0.0)  # val_acc, epoch, macro F1
    start = time.perf_counter()
    for epoch in range(1, options.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = rng.permutation(len(train_set.labels))
        lr = scheduler.get_last_lr()[0]
        loss_sum, correct, seen = 0.0, 0, 0
        for b in range(0, len(order), options.batch_size):
            idx = order[b : b + options.batch_size]
            images = train_set.images[idx]
            if options.augment:
                images = augment(images, rng)
            x = torch.from_numpy(to_model_input(images))
            y = labels_all[idx]
            if options.mixup > 0:
                lam = float(rng.beta(options.mixup, options.mixup))
                perm = torch.from_numpy(rng.permutation(len(idx)))
                x = lam * x + (1.0 - lam) * x[perm]
                logits = model(x)
                loss = lam * criterion(logits, y) + (1.0 - lam) * criterion(logits, y[perm])
            else:
                logits = model(x)
                loss = criterion(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.detach().argmax(1) == y).sum())  # under MixUp: against the dominant-order labels
            seen += len(idx)
            step = b // options.batch_size + 1
            if step % 50 == 0:
                print(f"[train] epoch {epoch}: step {step}/{steps_per_epoch}, loss {loss_sum / seen:.4f}, "
                      f"{time.perf_counter() - t0:.0f} s", file=log, flush=True)
        val = evaluate(predict_logits(model, val_set.images), val_set.labels)
        row = {"epoch": epoch, "lr": lr, "train_loss": loss_sum / seen, "train_acc": correct / seen,
               "val_loss": val["loss"], "val_acc": val["acc"], "val_macro_f1": val["macro_f1"],
               "seconds": time.perf_counter() - t0}
        history.append(row)
        if val["acc"] > best[0]:
            best = (val["acc"], epoch, val["macro_f1"])
            save_checkpoint(model, options, epoch, val, checkpoint)
        print(f"[train] epoch {epoch}/{options.epochs}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}; "
              f"val loss {val['loss']:.4f} acc {val['acc']:.4f} macro F1 {val['macro_f1']:.4f}; "
              f"{row['seconds']:.1f} s{' (best)' if best[1] == epoch else ''}", file=log, flush=True)
    return TrainResult(best_epoch=best[1], val_acc=best[0], val_macro_f1=best[2],
                       wall_seconds=time.perf_counter() - start, history=history)


def save_checkpoint(model: nn.Module, options: TrainOptions, epoch: int, val: dict, path: str | Path) -> None:
    state = {"state_dict": model.state_dict(), "options": asdict(options), "epoch": epoch,
             "native_order": list(NATIVE_ORDER), "val": val}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> tuple[LightCNN, dict]:
    """The trained model (eval mode) and the checkpoint's metadata."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    options = state["options"]
    model = LightCNN(options["width"], len(state["native_order"]), options["dropout"])
    model.load_state_dict(state["state_dict"])
    model.eval()
    return model, state


def write_history(history: list[dict], path: str | Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in history:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def plot_history(history: list[dict], best_epoch: int, path: str | Path, title: str = "") -> None:
    """Loss and accuracy per epoch (train and validation), the chosen epoch marked.

    Train figures are as optimised (augmented, label-smoothed, mixed), so they sit below validation.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="train (as optimised)")
    ax_loss.plot(epochs, [r["val_loss"] for r in history], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.plot(epochs, [r["train_acc"] for r in history], "o-", label="train (MixUp: vs 1st label)")
    ax_acc.plot(epochs, [r["val_acc"] for r in history], "o-", label="validation accuracy")
    ax_acc.plot(epochs, [r["val_macro_f1"] for r in history], "s--", label="validation macro F1")
    ax_acc.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
    ax_acc.set(xlabel="epoch", ylabel="score", title="accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        if len(epochs) < 15:
            ax.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def run_training(train_root: str, val_root: str, labels, options: TrainOptions, outputs: dict,
                 log: TextIO = sys.stderr) -> dict:
    """The train rule: load both folders, train, write checkpoint, history CSV, curve PNG, summary JSON."""
    from .data import load_image_folder

    t0 = time.perf_counter()
    train_set = load_image_folder(train_root, labels, key="train.train_root")
    val_set = load_image_folder(val_root, labels, key="train.val_root")
    print(f"[train] loaded {len(train_set.labels)} + {len(val_set.labels)} images in "
          f"{time.perf_counter() - t0:.1f} s", file=log)
    result = train(train_set, val_set, options, outputs["checkpoint"], log=log)
    write_history(result.history, outputs["history"])
    plot_history(result.history, result.best_epoch, outputs["curve"],
                 title=f"LightCNN width {options.width}, label smoothing {options.label_smoothing}, "
                       f"MixUp {options.mixup or 'off'}, augmentation {'on' if options.augment else 'off'}")
    summary = {
        "options": asdict(options),
        "train_root": str(train_root), "val_root": str(val_root),
        "n_train": len(train_set.labels), "n_val": len(val_set.labels),
        "train_class_counts": train_set.class_counts(), "val_class_counts": val_set.class_counts(),
        "parameters": n_parameters(LightCNN(options.width)),
        "best_epoch": result.best_epoch, "val_acc": result.val_acc, "val_macro_f1": result.val_macro_f1,
        "train_seconds": result.wall_seconds, "total_seconds": time.perf_counter() - t0,
        "torch": torch.__version__, "native_order": list(NATIVE_ORDER),
    }
    with atomic_path(outputs["summary"]) as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary
