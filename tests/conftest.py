import pytest
import torch

from reference import hypothesis_profiles, process_state
from reference.convert import available_devices

PROFILE = hypothesis_profiles.load()


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """One pytest-xdist worker per core unless -n is given; without xdist the suite runs serially
    (an ``-n auto`` in addopts would make pytest refuse to start when xdist is missing or disabled)."""
    worker = hasattr(config, "workerinput")  # a worker must not start workers of its own
    if not worker and config.pluginmanager.hasplugin("xdist") and getattr(config.option, "numprocesses", 0) is None:
        config.option.numprocesses = "auto"


DEVICES = available_devices()
DTYPES = ["float64", "float32"]
# the tests' tensors are tiny: a second intra-op thread only adds contention (a batch norm
# call took 80 ms with 2 threads on a loaded 2-core machine, 20 us with 1)
torch.set_num_threads(1)


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE}; devices: {', '.join(DEVICES)}; torch threads: {torch.get_num_threads()}"


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True, scope="module")
def process_state_unchanged(request):
    """Each test module leaves the process-wide settings that change results (threads, precision
    flags, error state, modes, hypothesis' profile) as it found them: which modules share a
    pytest-xdist worker differs between machines, so a leak would make verdicts machine-dependent."""
    before = process_state.snapshot()
    yield
    changed = process_state.changes(before, process_state.snapshot())
    if changed:
        pytest.fail(f"{request.module.__name__} changed process-wide state: " + "; ".join(changed), pytrace=False)
