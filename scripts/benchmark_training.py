"""Time one training step of registered networks: milliseconds per example (forward, backward and
optimiser step, channels-last as the shared loop trains) and seconds per epoch of N examples.

This is how the README sizes the CPU budget: what a 90-s training buys each network on the GTZAN
excerpts (359 training songs a split), and why the networks on pretrained encoders do not fit it
without their weights. Each network's input is its pipeline's output for a window of
``--seconds`` of noise, so the shapes are those the reproduction feeds; methods on pretrained
weights are built from random initialisation (the cost is the same).

Usage: python scripts/benchmark_training.py [--methods cnn-image cnn-mel128 ...] [--seconds 3]
       [--threads 1] [--batch 8] [--examples 359]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from trainer.methods import create, get
from trainer.reproduce import Settings, method_overrides, pipeline_shape
from trainer.runtime.models.image_nets import ImageModel

DEFAULT = ("cnn-image", "custom-cnn", "cnn-mel128", "crnn-mel128", "cnn2d", "alexnet", "resnet18", "vgg16",
           "inception-transfer", "wav2vec2-finetune")


def step_seconds(name: str, seconds: float, batch: int) -> tuple[tuple[int, ...], float]:
    """The input shape and the best of three timed training steps, per example, with the CPU
    budget's settings (its 2x2 pooling of Kaggle figures included)."""
    spec = get(name)
    overrides = method_overrides(spec, Settings(device="cpu", budget="cpu", allow_random_init=True))
    method = create(name, [f"genre{i}" for i in range(10)], **overrides)
    shape = pipeline_shape(spec.pipeline, spec.pipeline_params, seconds)
    # image models put channels first; other pipelines' arrays are what the networks read
    x = torch.randn(batch, *shape)
    if isinstance(method, ImageModel):
        x = torch.as_tensor(method.inputs(x.numpy()))
    module = method.new_module(tuple(x.shape[1:])).to(memory_format=torch.channels_last).train()
    if x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    optimiser = torch.optim.Adam([p for p in module.parameters() if p.requires_grad])
    times = []
    for _ in range(3):
        started = time.perf_counter()
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module(x), y).backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    return shape, min(times) / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT))
    parser.add_argument("--seconds", type=float, default=3.0, help="window length fed to the pipelines (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core per job)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--examples", type=int, default=359, help="examples per epoch (default 359)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{args.seconds:g}-s windows, batch {args.batch}")
    for name in args.methods:
        shape, per_example = step_seconds(name, args.seconds, args.batch)
        print(f"{name:22s} input {'x'.join(map(str, shape)):14s} {per_example * 1000:7.0f} ms/example "
              f"{per_example * args.examples:7.0f} s/epoch of {args.examples}")


if __name__ == "__main__":
    main()
