"""Open the root-key provider and the key store that the settings name.

The root key never enters the database: the `file` provider keeps it in DATA_DIR/keys/root.key (mode 0600,
excluded from backups), `passphrase` derives it with argon2id from a passphrase read from a prompt or
HARBOUR_PASSPHRASE_FILE, and `pkcs11` keeps it inside a hardware token. The key store (zone KEKs wrapped by
the root key) lives in DATA_DIR/keys/keystore.json, also outside the database and its backups.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path

from app.settings import Settings
from crypto.errors import KeyUnavailableError
from crypto.keyring import KeyStore
from crypto.providers import (
    FileKeyProvider,
    KdfParams,
    PassphraseKeyProvider,
    Pkcs11KeyProvider,
    RootKeyProvider,
    make_check,
    new_salt,
    read_passphrase_file,
    verify_check,
)

ROOT_KEY_FILE = "root.key"
KEYSTORE_FILE = "keystore.json"
PASSPHRASE_FILE = "passphrase.json"  # noqa: S105 - a file name, not a secret

_pkcs11_lock = threading.Lock()
# (library, token label, key label) -> (SHA-256 of the PIN that logged in, the open provider)
_pkcs11_providers: dict[tuple[str, str, str], tuple[bytes, Pkcs11KeyProvider]] = {}


def keystore_path(settings: Settings) -> Path:
    """Where the key store lives."""
    return settings.keys_dir / KEYSTORE_FILE


def _passphrase(settings: Settings, *, confirm: bool) -> str:
    if settings.passphrase_file is not None:
        return read_passphrase_file(settings.passphrase_file)
    if not os.isatty(0):
        raise KeyUnavailableError("no passphrase: set HARBOUR_PASSPHRASE_FILE or run on a terminal")
    passphrase = getpass.getpass("Harbour passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != passphrase:
        raise KeyUnavailableError("the passphrases do not match")
    return passphrase


def _pkcs11(settings: Settings, *, create: bool) -> Pkcs11KeyProvider:
    if settings.pkcs11_pin_file is None:
        raise KeyUnavailableError("HARBOUR_PKCS11_PIN_FILE must name a file holding the token PIN")
    pin = read_passphrase_file(settings.pkcs11_pin_file)
    pin_digest = hashlib.sha256(pin.encode("utf-8")).digest()
    ident = (settings.pkcs11_library, settings.pkcs11_token_label, settings.pkcs11_key_label)
    with _pkcs11_lock:
        cached = _pkcs11_providers.get(ident)
        if cached is not None:
            if not hmac.compare_digest(cached[0], pin_digest):
                raise KeyUnavailableError(
                    f"PKCS#11 login to {settings.pkcs11_token_label!r} failed: wrong PIN"
                )
            return cached[1]
        provider = Pkcs11KeyProvider.open(
            settings.pkcs11_library,
            settings.pkcs11_token_label,
            pin,
            key_label=settings.pkcs11_key_label,
            create=create,
        )
        _pkcs11_providers[ident] = (pin_digest, provider)
        return provider


def create_provider(settings: Settings) -> RootKeyProvider:
    """Make a new root key for `harbour init` (file, passphrase salt, or a key inside the token)."""
    keys_dir = settings.keys_dir
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if settings.key_provider == "file":
        return FileKeyProvider.create(keys_dir / ROOT_KEY_FILE)
    if settings.key_provider == "passphrase":
        salt = new_salt()
        params = KdfParams()
        provider = PassphraseKeyProvider.derive(_passphrase(settings, confirm=True), salt=salt, params=params)
        record = {
            "salt": salt.hex(),
            "memory_kib": params.memory_kib,
            "time_cost": params.time_cost,
            "parallelism": params.parallelism,
            "check": make_check(provider).hex(),
        }
        _write_private(keys_dir / PASSPHRASE_FILE, json.dumps(record))
        return provider
    return _pkcs11(settings, create=True)


def open_provider(settings: Settings) -> RootKeyProvider:
    """Open the existing root key; KeyUnavailableError when it cannot be reached or is unsafe."""
    keys_dir = settings.keys_dir
    if settings.key_provider == "file":
        path = keys_dir / ROOT_KEY_FILE
        if not path.exists():
            raise KeyUnavailableError(f"no root key file at {path}: run `harbour init` first")
        return FileKeyProvider.load(path)
    if settings.key_provider == "passphrase":
        path = keys_dir / PASSPHRASE_FILE
        if not path.exists():
            raise KeyUnavailableError(f"no passphrase record at {path}: run `harbour init` first")
        try:
            record = json.loads(path.read_text())
            params = KdfParams(
                memory_kib=int(record["memory_kib"]),
                time_cost=int(record["time_cost"]),
                parallelism=int(record["parallelism"]),
            )
            salt, check = bytes.fromhex(record["salt"]), bytes.fromhex(record["check"])
        except (ValueError, KeyError, TypeError):
            raise KeyUnavailableError(f"the passphrase record at {path} is damaged") from None
        provider = PassphraseKeyProvider.derive(
            _passphrase(settings, confirm=False), salt=salt, params=params
        )
        verify_check(provider, check)
        return provider
    return _pkcs11(settings, create=False)


def create_keystore(settings: Settings) -> KeyStore:
    """Create the root key and a key store with version 1 of every zone KEK."""
    provider = create_provider(settings)
    return KeyStore.create(keystore_path(settings), provider)


def open_keystore(settings: Settings) -> KeyStore:
    """Unlock the key store with the configured root key."""
    provider = open_provider(settings)
    path = keystore_path(settings)
    if not path.exists():
        raise KeyUnavailableError(f"no key store at {path}: run `harbour init` first")
    return KeyStore.load(path, provider)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
