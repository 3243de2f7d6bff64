"""Fixtures of the DTech tests: the partner and its HTTPS storage on loopback, and a hub configured to
talk to them."""

import ssl

import pytest
import trustme
from pytest_httpserver import HTTPServer

from tests.support.dtech import dtech_settings
from tests.support.dtech_partner import STORAGE_HOST, DTechPartner


@pytest.fixture(scope="session")
def storage_ca() -> trustme.CA:
    """A certificate authority made for the test session; the hub trusts it through DTECH_UPLOAD_CA_FILE."""
    return trustme.CA()


@pytest.fixture(scope="session")
def storage_ca_file(storage_ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("storage-ca") / "ca.pem"
    storage_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def storage_server(storage_ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    storage_ca.issue_cert(STORAGE_HOST).configure_cert(context)
    server = HTTPServer(host=STORAGE_HOST, ssl_context=context)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def storage(storage_server):
    """DTech's recording storage (S3 in the field): a real HTTPS server on loopback."""
    yield storage_server
    storage_server.clear()


@pytest.fixture
def partner(httpserver, storage, storage_ca_file) -> DTechPartner:
    return DTechPartner(httpserver, storage, storage_ca_file)


@pytest.fixture
def recordings_dir(tmp_path):
    return tmp_path / "recordings"


@pytest.fixture
def app(make_app, partner, recordings_dir):
    """The hub talking to the local partner (every fixture built on `app` uses this one)."""
    return make_app(**dtech_settings(partner, recordings_dir))
