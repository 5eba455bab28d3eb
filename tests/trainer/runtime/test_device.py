"""One device resolver and the process-wide torch settings."""

import pytest
import torch

from trainer.runtime.device import configure_process, resolve_device


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"  # a named device is taken as named
    assert resolve_device("cuda:1") == torch.device("cuda", 1)


def test_configure_process_sets_threads_and_full_precision():
    threads, precision = torch.get_num_threads(), torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        configure_process(threads=1)
        assert torch.get_num_threads() == 1 and torch.get_float32_matmul_precision() == "highest"
    finally:
        torch.set_num_threads(threads)
        torch.set_float32_matmul_precision(precision)


def test_auto_is_the_cpu_where_no_gpu_driver_is_loaded_and_torchs_answer_elsewhere(monkeypatch):
    from trainer.runtime import device

    monkeypatch.setattr(device, "no_gpu_here", lambda: True)
    assert device.device_name("auto") == "cpu" and device.device_name("cpu") == "cpu"
    monkeypatch.setattr(device, "no_gpu_here", lambda: False)
    assert device.device_name("auto") == str(device.resolve_device("auto"))
