"""Fixtures of the DTech tests: the partner on loopback and a hub configured to talk to it."""

import pytest

from tests.dtech.partner import Partner, dtech_settings


@pytest.fixture
def partner(httpserver) -> Partner:
    return Partner(httpserver)


@pytest.fixture
def recordings_dir(tmp_path):
    return tmp_path / "recordings"


@pytest.fixture
def app(make_app, partner, recordings_dir):
    """The hub talking to the local partner (every fixture built on `app` uses this one)."""
    return make_app(**dtech_settings(partner, recordings_dir))
