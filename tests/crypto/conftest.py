"""Fixtures for the crypto package: temporary key files, keystores and a SoftHSM2 token.

The SoftHSM2 token is made once per run: python-pkcs11 keeps the library loaded and SoftHSM reads
SOFTHSM2_CONF only when the library initialises, so every PKCS#11 test shares one configuration and one
token. A missing SoftHSM2 makes those tests fail, not skip: CI installs it, and a silently skipped HSM test
is a hole in the suite.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto.keyring import KeyStore
from crypto.passwords import FAST_TEST_PARAMS, Passwords
from crypto.providers import FileKeyProvider, KdfParams, Pkcs11KeyProvider

SOFTHSM_LIBRARIES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/local/lib/softhsm/libsofthsm2.so"),
)
TOKEN_LABEL = "harbour-test"
USER_PIN = "1234"
SO_PIN = "5678"
# argon2 at its minimum cost: the derivation logic is tested, not the cost.
FAST_KDF = KdfParams(memory_kib=8, time_cost=1, parallelism=1)


@dataclass(frozen=True)
class SoftHsmToken:
    """An initialised SoftHSM2 token for this test run."""

    lib_path: str
    label: str
    pin: str


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    """A fresh SoftHSM2 token in a temporary directory, with SOFTHSM2_CONF pointing at it."""
    library = next((lib for lib in SOFTHSM_LIBRARIES if lib.exists()), None)
    util = shutil.which("softhsm2-util")
    if library is None or util is None:
        pytest.fail("SoftHSM2 is not installed (apt-get install softhsm2); PKCS#11 tests cannot run")
    base = tmp_path_factory.mktemp("softhsm")
    tokens = base / "tokens"
    tokens.mkdir()
    config = base / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))
        subprocess.run(
            [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
        )
        yield SoftHsmToken(str(library), TOKEN_LABEL, USER_PIN)


@pytest.fixture
def pkcs11_provider(softhsm_token: SoftHsmToken) -> Iterator[Pkcs11KeyProvider]:
    """A provider on the test token with the default root key label, closed after the test."""
    provider = Pkcs11KeyProvider.open(
        softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin, create=True
    )
    yield provider
    provider.close()


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    """Where a root key file would go (the folder exists, the file does not)."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    return keys / "root.key"


@pytest.fixture
def file_provider(key_path: Path) -> FileKeyProvider:
    """A file root-key provider with a fresh key."""
    return FileKeyProvider.create(key_path)


@pytest.fixture
def keystore_path(tmp_path: Path) -> Path:
    """Where a keystore would go."""
    return tmp_path / "keystore.json"


@pytest.fixture
def store(keystore_path: Path, file_provider: FileKeyProvider) -> KeyStore:
    """A new keystore under a file provider."""
    return KeyStore.create(keystore_path, file_provider)


@pytest.fixture(scope="session")
def fast_passwords() -> Passwords:
    """A password hasher with argon2 at minimum cost."""
    return Passwords(FAST_TEST_PARAMS)
