import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """The trainer tests' networks are tiny: one intra-op thread is faster than two on a 2-core
    machine (with two, a small GRU step waits on thread barriers and runs tens of times slower
    when the cores are busy), and leaves the second core to other work. The method test folders
    use it for every test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
