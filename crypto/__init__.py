"""Harbour's cryptography: small typed primitives that know nothing of the app.

Keys and parameters are always arguments; nothing here reads settings, the environment or the clock
(except `os.urandom`). Modules: `aead` (sealed, versioned ciphertexts), `providers` (root key: file,
passphrase, PKCS#11), `keyring` (zones, KEKs, DEKs, rotation), `blind_index`, `pseudonyms`, `passwords`,
`totp`, `signing`. Every decryption failure is the one opaque `CryptoError`.
"""

from crypto.aead import Header, aad_for, open_sealed, read_header, seal
from crypto.errors import CryptoError, KeyFilePermissionError, KeyUnavailableError
from crypto.keyring import KeyStatus, KeyStore, Zone, ZoneKeyStatus, new_dek, open_field, seal_field
from crypto.passwords import FAST_TEST_PARAMS, PasswordParams, Passwords, PasswordTooLongError
from crypto.providers import (
    FileKeyProvider,
    KdfParams,
    PassphraseKeyProvider,
    Pkcs11KeyProvider,
    RootKeyProvider,
    make_check,
    read_passphrase_file,
    verify_check,
)
from crypto.signing import SigningKey

__all__ = [
    "FAST_TEST_PARAMS",
    "CryptoError",
    "FileKeyProvider",
    "Header",
    "KdfParams",
    "KeyFilePermissionError",
    "KeyStatus",
    "KeyStore",
    "KeyUnavailableError",
    "PassphraseKeyProvider",
    "PasswordParams",
    "PasswordTooLongError",
    "Passwords",
    "Pkcs11KeyProvider",
    "RootKeyProvider",
    "SigningKey",
    "Zone",
    "ZoneKeyStatus",
    "aad_for",
    "make_check",
    "new_dek",
    "open_field",
    "open_sealed",
    "read_header",
    "read_passphrase_file",
    "seal",
    "seal_field",
    "verify_check",
]
