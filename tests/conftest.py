import pytest

from reference import hypothesis_profiles
from reference.convert import available_devices

PROFILE = hypothesis_profiles.load()
DEVICES = available_devices()
DTYPES = ["float64", "float32"]


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE}; devices: {', '.join(DEVICES)}"


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
