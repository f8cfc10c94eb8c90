"""`harbour init` and unlocking with each root-key provider: file, passphrase and PKCS#11 (SoftHSM2).

The PKCS#11 tests run `harbour` in child processes: python-pkcs11 loads the library once per process and
SoftHSM reads SOFTHSM2_CONF only then, so a token of our own must be seen by a fresh process (this also
keeps our token away from the one tests/crypto uses). A missing SoftHSM2 fails these tests: CI installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.errors import ServiceUnavailableError
from app.runtime import Runtime
from app.settings import Settings
from tests.cli_support import Harbour
from tests.crypto.conftest import SOFTHSM_LIBRARIES
from tests.databases import DatabaseFactory
from tests.keys.helpers import harbour_process, private_file

PASSPHRASE = "correct horse battery staple, but longer"
TOKEN_LABEL = "harbour-keys-test"
USER_PIN = "246810"
SO_PIN = "13579"


def test_file_provider_refuses_a_key_file_others_can_read(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    root_key = harbour.data_dir / "keys" / "root.key"
    assert harbour("keys", "status").code == 0
    for mode in (0o640, 0o604, 0o644):
        root_key.chmod(mode)
        result = harbour("keys", "status")
        assert result.code == 1
        assert "chmod 600" in result.err
        assert len(result.err.strip().splitlines()) == 1
        runtime = Runtime.open(Settings())
        try:
            assert runtime.keystore is None
            assert "chmod 600" in (runtime.sealed_reason or "")
            with pytest.raises(ServiceUnavailableError):
                runtime.keys  # noqa: B018 - the property is what refuses
        finally:
            runtime.close()
    root_key.chmod(0o600)
    assert harbour("keys", "status").code == 0


@pytest.fixture
def passphrase_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HARBOUR_KEY_PROVIDER=passphrase with the passphrase in a private file."""
    path = private_file(tmp_path / "passphrase", PASSPHRASE + "\n")
    monkeypatch.setenv("HARBOUR_KEY_PROVIDER", "passphrase")
    monkeypatch.setenv("HARBOUR_PASSPHRASE_FILE", str(path))
    return path


def test_passphrase_provider_initialises_and_unlocks_from_a_file(
    harbour: Harbour, passphrase_file: Path
) -> None:
    result = harbour("init")
    assert result.code == 0, result.err
    assert "key provider: passphrase" in result.out
    keys_dir = harbour.data_dir / "keys"
    assert not (keys_dir / "root.key").exists()
    assert PASSPHRASE not in (keys_dir / "passphrase.json").read_text()
    assert harbour("keys", "status").code == 0
    assert harbour("keys", "rotate", "--zone", "identity").code == 0


def test_wrong_passphrase_leaves_harbour_sealed_with_a_clear_message(
    harbour: Harbour, passphrase_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert harbour("init").code == 0
    wrong = private_file(tmp_path / "wrong", "not the passphrase")
    monkeypatch.setenv("HARBOUR_PASSPHRASE_FILE", str(wrong))
    result = harbour("keys", "status")
    assert result.code == 1
    assert "wrong passphrase" in result.err
    assert "not the passphrase" not in result.err + result.out
    runtime = Runtime.open(Settings())
    try:
        assert runtime.keystore is None
        assert runtime.sealed_reason == "wrong passphrase"
    finally:
        runtime.close()


def test_passphrase_file_others_can_read_is_refused(
    harbour: Harbour, passphrase_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert harbour("init").code == 0
    passphrase_file.chmod(0o644)
    result = harbour("keys", "status")
    assert result.code == 1
    assert "chmod 600" in result.err


def test_passphrase_is_never_taken_from_the_command_line(
    harbour: Harbour, passphrase_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (["init"], ["keys", "status"], ["keys", "rotate"], ["keys", "erase-person"]):
        assert "passphrase" not in harbour(*args, "--help").out.lower()
    monkeypatch.delenv("HARBOUR_PASSPHRASE_FILE")
    monkeypatch.setattr("app.keys.provider.os.isatty", lambda fd: False)
    result = harbour("init")
    assert result.code == 1
    assert "HARBOUR_PASSPHRASE_FILE" in result.err


@dataclass(frozen=True)
class Token:
    """A SoftHSM2 token of this module's own, seen by child processes through SOFTHSM2_CONF."""

    library: Path
    config: Path


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Token:
    """A fresh SoftHSM2 token in a temporary directory (this process never loads the library)."""
    library = next((lib for lib in SOFTHSM_LIBRARIES if lib.exists()), None)
    util = shutil.which("softhsm2-util")
    if library is None or util is None:
        pytest.fail("SoftHSM2 is not installed (apt-get install softhsm2); PKCS#11 tests cannot run")
    base = tmp_path_factory.mktemp("softhsm-keys")
    (base / "tokens").mkdir()
    config = base / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(config)},
    )
    return Token(library, config)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    process = harbour_process(args, env)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def test_pkcs11_provider_initialises_unlocks_and_rotates_in_softhsm(
    harbour: Harbour, token: Token, tmp_path: Path, databases: DatabaseFactory
) -> None:
    pin_file = private_file(tmp_path / "pin", USER_PIN)
    env = {
        **os.environ,
        "SOFTHSM2_CONF": str(token.config),
        "HARBOUR_KEY_PROVIDER": "pkcs11",
        "HARBOUR_PKCS11_LIBRARY": str(token.library),
        "HARBOUR_PKCS11_TOKEN_LABEL": TOKEN_LABEL,
        "HARBOUR_PKCS11_PIN_FILE": str(pin_file),
    }
    created = _run(["init"], env)
    assert created.returncode == 0, created.stderr
    assert "key provider: pkcs11" in created.stdout
    keys_dir = harbour.data_dir / "keys"
    assert not (keys_dir / "root.key").exists()  # the root key lives in the token only
    assert json.loads((keys_dir / "keystore.json").read_text())["provider"] == f"pkcs11:{TOKEN_LABEL}"
    status = _run(["keys", "status"], env)
    assert status.returncode == 0, status.stderr
    assert "identity" in status.stdout
    rotated = _run(["keys", "rotate", "--zone", "identity"], env)
    assert rotated.returncode == 0, rotated.stderr
    assert "primary version 2" in rotated.stdout

    wrong_pin = private_file(tmp_path / "wrong-pin", "999999")
    refused = _run(["keys", "status"], {**env, "HARBOUR_PKCS11_PIN_FILE": str(wrong_pin)})
    assert refused.returncode == 1
    assert "login" in refused.stderr
    assert "999999" not in refused.stderr + refused.stdout
    # The last line is the one-line error. (Before it, app.runtime's "keys sealed" warning reaches stderr
    # through logging's last-resort handler, as the CLI configures no logging.)
    assert refused.stderr.strip().splitlines()[-1].startswith("error: keys are sealed: PKCS#11 login")
