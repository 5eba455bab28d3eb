"""The one training loop shared by every neural method.

Optimiser (Adam, AdamW or SGD with momentum, as each seed used), optional cosine schedule,
early stopping on validation accuracy with the best weights restored, mixed precision on CUDA,
a progress callback per epoch, cooperative cancellation, seeded determinism, and an optional
wall-clock limit (a run cut by it depends on the machine's speed, so ``FitResult`` says so).
Convolution weights train in channels-last layout, which oneDNN and cuDNN run about twice as fast
as the default layout for 2-D convolutions; they are handed back in the default layout.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from trainer.runtime.device import resolve_device
from trainer.runtime.errors import Cancelled
from trainer.runtime.models.base import TrainConfig


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    train_loss: float
    valid_loss: float | None
    valid_accuracy: float | None
    seconds: float


StopReason = Literal["epochs", "patience", "time"]


@dataclass
class FitResult:
    """The best epoch (whose weights the model keeps), every epoch's log, and why training ended:
    all epochs run, early stopping, or ``TrainConfig.max_seconds`` passed."""

    best_epoch: int
    history: list[EpochLog] = field(default_factory=list)
    stopped_by: StopReason = "epochs"

    @property
    def epochs(self) -> int:
        """Epochs actually run."""
        return len(self.history)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def tensor_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long))


def _optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _on(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch on ``device``; image batches (4-D) in the channels-last layout the weights train in."""
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def _evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device) -> tuple[float, float]:
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = _on(xb, device), yb.to(device)
            logits = model(xb)
            loss_sum += float(loss_fn(logits, yb)) * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
            total += len(yb)
    return loss_sum / max(total, 1), correct / max(total, 1)


def fit(
    model: nn.Module,
    train: Dataset,
    valid: Dataset | None,
    cfg: TrainConfig,
    *,
    loss_fn: nn.Module | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
    before_epoch: Callable[[int, nn.Module, torch.optim.Optimizer], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> FitResult:
    """Train ``model`` in place; with ``valid``, keep the weights of the best validation epoch.

    ``model(x)`` must return logits. ``before_epoch`` lets a method change what is trainable
    (e.g. unfreeze an encoder after N epochs). ``cancel`` is polled between batches. With
    ``cfg.max_seconds``, training ends at the first batch after that much time has passed (the
    epoch it cuts is validated and logged like a whole one), so a budget bounds the time of a
    network whose single epoch is longer than the budget.
    """
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device, memory_format=torch.channels_last)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(train, batch_size=cfg.batch_size, shuffle=True, generator=generator,
                              drop_last=len(train) > cfg.batch_size)
    valid_loader = DataLoader(valid, batch_size=max(cfg.batch_size, 64)) if valid is not None and len(valid) else None
    optimizer = _optimizer([p for p in model.parameters() if p.requires_grad], cfg)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
                 if cfg.schedule == "cosine" else None)
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    result = FitResult(best_epoch=0)
    best_acc, best_state, since_best = -1.0, None, 0
    deadline = None if cfg.max_seconds is None else time.perf_counter() + cfg.max_seconds
    for epoch in range(1, cfg.epochs + 1):
        if before_epoch is not None:
            before_epoch(epoch, model, optimizer)
        model.train()
        started, loss_sum, seen, cut = time.perf_counter(), 0.0, 0, False
        for xb, yb in train_loader:
            if cancel is not None and cancel():
                raise Cancelled("training cancelled")
            if deadline is not None and seen and time.perf_counter() >= deadline:
                cut = True
                break
            xb, yb = _on(xb, device), yb.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=use_amp):
                loss = loss_fn(model(xb), yb)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += float(loss.detach()) * len(yb)
            seen += len(yb)
        if scheduler is not None:
            scheduler.step()
        valid_loss = valid_acc = None
        if valid_loader is not None:
            valid_loss, valid_acc = _evaluate(model, valid_loader, loss_fn, device)
        log = EpochLog(epoch, loss_sum / max(seen, 1), valid_loss, valid_acc, time.perf_counter() - started)
        result.history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if valid_acc is None:
            result.best_epoch = epoch
        elif valid_acc > best_acc:
            best_acc, best_state, since_best = valid_acc, copy.deepcopy(model.state_dict()), 0
            result.best_epoch = epoch
        else:
            since_best += 1
        if cut or (deadline is not None and epoch < cfg.epochs and time.perf_counter() >= deadline):
            result.stopped_by = "time"
            break
        if cfg.patience is not None and since_best >= cfg.patience:
            result.stopped_by = "patience"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.to(memory_format=torch.contiguous_format)
    model.eval()
    return result
