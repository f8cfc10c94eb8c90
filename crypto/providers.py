"""Root-key providers: the one key that never enters the database or its backups.

Threat: the database and its backups may be stolen. Everything in them is encrypted under data keys, those
under zone key-encryption keys (KEKs), and the KEKs are wrapped by the root key held here. Without the root
key a stolen keystore and database are noise. Each provider offers the same two operations, ``wrap`` and
``unwrap`` of a short secret with associated data, so the keyring does not care where the root key lives:

- `FileKeyProvider`: 32 random bytes in a file created with mode 0600 (O_EXCL, never overwritten), kept in
  a folder that backups exclude. Loading refuses a file that group or others can access, like ssh does.
- `PassphraseKeyProvider`: the root key is derived with argon2id from a passphrase typed at start-up and a
  16-byte random salt; nothing secret is on disk. A sealed check value (`make_check` / `verify_check`)
  tells a wrong passphrase apart from a damaged keystore.
- `Pkcs11KeyProvider`: an AES-256 key generated inside a PKCS#11 token (SoftHSM2 or a hardware HSM) with
  SENSITIVE=true and EXTRACTABLE=false; AES-GCM runs inside the token and the key never leaves it.

Wrapped format: the same layout as `crypto.aead` (magic, format version, key id, key version, nonce,
ciphertext, tag), so one parser and one set of tamper tests cover all providers. The key id names the
provider kind (a fixed UUIDv5 per kind, below), the key version is always 1: replacing the root key means
re-wrapping the keystore's KEKs under a new provider, not versioning inside one.

Every unwrap failure caused by the blob or its associated data is the opaque `CryptoError`; conditions an
operator must act on (missing file, unsafe permissions, token not found or removed, wrong PIN, session
logged out, wrong passphrase) are `KeyUnavailableError` with a message that names the problem and never
contains key material or the PIN.

PKCS#11 login state is shared by every session of a process, and closing a logged-in session logs them all
out; so one `Pkcs11KeyProvider` per token per process, shared by all threads (calls are serialised with a
lock, since sessions are not thread-safe). A second `open` on a token this process is logged in to is
refused rather than allowed to skip the PIN check.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pkcs11
from argon2.low_level import Type, hash_secret_raw
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import PKCS11Error

from crypto import aead
from crypto.errors import CryptoError, KeyFilePermissionError, KeyUnavailableError

__all__ = [
    "PROVIDER_NAMESPACE",
    "SALT_SIZE",
    "FileKeyProvider",
    "KdfParams",
    "PassphraseKeyProvider",
    "Pkcs11KeyProvider",
    "RootKeyProvider",
    "make_check",
    "new_salt",
    "read_passphrase_file",
    "verify_check",
]

# Fixed namespace for the key ids written into root-wrapped blobs: uuid5(NAMESPACE_URL, "harbour:root-key").
PROVIDER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "harbour:root-key")
_FILE_KEY_ID = uuid.uuid5(PROVIDER_NAMESPACE, "file")
_PASSPHRASE_KEY_ID = uuid.uuid5(PROVIDER_NAMESPACE, "passphrase")
_ROOT_KEY_VERSION = 1
_KEY_SIZE = 32
SALT_SIZE = 16
_CHECK_PLAINTEXT = b"harbour root key check v1"
_CHECK_AAD = b"harbour-root-check-v1"
_UNSAFE_BITS = stat.S_IRWXG | stat.S_IRWXO
# Token states that say nothing about the ciphertext: reported as KeyUnavailableError, not CryptoError.
_UNAVAILABLE: tuple[type[PKCS11Error], ...] = (
    pkcs11.UserNotLoggedIn,
    pkcs11.SessionClosed,
    pkcs11.SessionHandleInvalid,
    pkcs11.DeviceRemoved,
    pkcs11.DeviceError,
    pkcs11.DeviceMemory,
    pkcs11.HostMemory,
    pkcs11.TokenNotPresent,
    pkcs11.KeyHandleInvalid,
    pkcs11.ObjectHandleInvalid,
)


@runtime_checkable
class RootKeyProvider(Protocol):
    """Where the root key lives; wraps and unwraps short secrets (the zone KEKs)."""

    def wrap(self, secret: bytes, *, aad: bytes) -> bytes:
        """Encrypt and authenticate a secret under the root key, bound to aad."""
        ...

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        """Recover a wrapped secret; CryptoError on any failure."""
        ...

    def describe(self) -> str:
        """A short label for status output and logs, never key material."""
        ...


def make_check(provider: RootKeyProvider) -> bytes:
    """Seal a fixed check value so a later unlock can tell a wrong root key from a damaged keystore."""
    return provider.wrap(_CHECK_PLAINTEXT, aad=_CHECK_AAD)


def verify_check(provider: RootKeyProvider, blob: bytes) -> None:
    """Raise KeyUnavailableError("wrong passphrase") unless the provider opens a `make_check` value."""
    try:
        opened = provider.unwrap(blob, aad=_CHECK_AAD)
    except CryptoError:
        raise KeyUnavailableError("wrong passphrase") from None
    if opened != _CHECK_PLAINTEXT:
        raise KeyUnavailableError("wrong passphrase")


def _open_private_file(path: Path, kind: str) -> tuple[int, os.stat_result]:
    """Open a secret file without following symlinks and refuse it unless only the owner can access it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyUnavailableError(f"{kind} not found: {path}") from None
    except OSError as exc:
        raise KeyUnavailableError(f"cannot open {kind} {path}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise KeyUnavailableError(f"{kind} is not a regular file: {path}")
    if info.st_mode & _UNSAFE_BITS:
        os.close(fd)
        raise KeyFilePermissionError(
            f"{kind} {path} has mode {stat.S_IMODE(info.st_mode):04o}; run chmod 600 on it"
        )
    return fd, info


def _read_all(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _SoftwareProvider:
    """Shared AES-GCM wrap/unwrap for providers that hold the root key in process memory."""

    _key_id: uuid.UUID

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_SIZE:
            raise ValueError("root key must be 32 bytes")
        self._key = key

    def wrap(self, secret: bytes, *, aad: bytes) -> bytes:
        """Encrypt and authenticate a secret under the root key, bound to aad."""
        return aead.seal(self._key, secret, aad=aad, key_id=self._key_id, key_version=_ROOT_KEY_VERSION)

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        """Recover a wrapped secret; CryptoError on any failure, including another provider's blob."""
        if aead.read_header(blob).key_id != self._key_id:
            raise CryptoError()
        return aead.open_sealed(self._key, blob, aad=aad)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class FileKeyProvider(_SoftwareProvider):
    """Root key read from a 32-byte file that only its owner may access."""

    _key_id = _FILE_KEY_ID

    def __init__(self, key: bytes, path: Path) -> None:
        super().__init__(key)
        self._path = path

    @classmethod
    def create(cls, path: Path) -> FileKeyProvider:
        """Write a new random root key to path (mode 0600); FileExistsError if anything is there."""
        path = Path(path)
        key = os.urandom(_KEY_SIZE)
        # Write to a private temporary name, then hard-link it into place: link() is atomic and, unlike
        # rename(), refuses an existing target, so a crash never leaves a half-written key file and an
        # existing root key is never replaced.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)  # the umask can only remove bits, but be explicit
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(path.parent)
        return cls(key, path)

    @classmethod
    def load(cls, path: Path) -> FileKeyProvider:
        """Read the root key; KeyFilePermissionError if others may access it, KeyUnavailableError if bad."""
        path = Path(path)
        fd, _ = _open_private_file(path, "key file")
        try:
            key = _read_all(fd, _KEY_SIZE)
        finally:
            os.close(fd)
        if len(key) != _KEY_SIZE:
            raise KeyUnavailableError(f"key file {path} is not 32 bytes long")
        return cls(key, path)

    def describe(self) -> str:
        """Return "file"."""
        return "file"


@dataclass(frozen=True, slots=True)
class KdfParams:
    """argon2id cost parameters for deriving the root key from a passphrase."""

    memory_kib: int = 65536
    time_cost: int = 3
    parallelism: int = 4


def new_salt() -> bytes:
    """Return a fresh random 16-byte salt for `PassphraseKeyProvider.derive`."""
    return os.urandom(SALT_SIZE)


class PassphraseKeyProvider(_SoftwareProvider):
    """Root key derived with argon2id from a passphrase and a stored salt; nothing secret on disk."""

    _key_id = _PASSPHRASE_KEY_ID

    @classmethod
    def derive(cls, passphrase: str, *, salt: bytes, params: KdfParams) -> PassphraseKeyProvider:
        """Derive the root key from passphrase (NFC-normalised) and a 16-byte salt."""
        if not passphrase:
            raise ValueError("passphrase must not be empty")
        if len(salt) != SALT_SIZE:
            raise ValueError("salt must be 16 bytes")
        # NFC so the same passphrase typed on systems that compose accents differently derives one key.
        secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        key = hash_secret_raw(
            secret=secret,
            salt=salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=_KEY_SIZE,
            type=Type.ID,
        )
        return cls(key)

    def describe(self) -> str:
        """Return "passphrase"."""
        return "passphrase"


def read_passphrase_file(path: Path) -> str:
    """Read a passphrase from a file only its owner can access, dropping one trailing newline."""
    path = Path(path)
    fd, _ = _open_private_file(path, "passphrase file")
    try:
        raw = _read_all(fd, 64 * 1024)
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyUnavailableError(f"passphrase file {path} is not UTF-8") from None
    # Only one newline: editors add it, but trailing spaces may be part of the passphrase.
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise KeyUnavailableError(f"passphrase file {path} is empty")
    return text


class Pkcs11KeyProvider:
    """Root key held in a PKCS#11 token; AES-256-GCM runs inside the token."""

    def __init__(self, session: pkcs11.Session, key: Any, token_label: str, key_label: str) -> None:
        """Wrap an open session and its root key; use `open` rather than calling this."""
        self._session = session
        # Any: python-pkcs11 composes key classes (SecretKey + EncryptMixin + ...) at run time, so no
        # static type carries both encrypt() and decrypt().
        self._key = key
        self._token_label = token_label
        self._key_id = uuid.uuid5(PROVIDER_NAMESPACE, f"pkcs11:{key_label}")
        # PKCS#11 sessions are not safe for concurrent use from several threads; one call at a time.
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        lib_path: str,
        token_label: str,
        pin: str,
        key_label: str = "harbour-root",
        create: bool = False,
    ) -> Pkcs11KeyProvider:
        """Log in to the token and find (or, with create=True, generate) the non-extractable root key."""
        try:
            lib = pkcs11.lib(lib_path)
        except (OSError, RuntimeError, PKCS11Error) as exc:
            message = f"cannot load PKCS#11 library {lib_path}: {type(exc).__name__}"
            raise KeyUnavailableError(message) from None
        try:
            token = lib.get_token(token_label=token_label)
        except PKCS11Error as exc:
            message = f"PKCS#11 token {token_label!r} not found: {type(exc).__name__}"
            raise KeyUnavailableError(message) from None
        try:
            session = token.open(rw=create, user_pin=pin)
        except pkcs11.UserAlreadyLoggedIn:
            # PKCS#11 login state is per process, and closing any logged-in session logs all of them out,
            # so two providers on one token would break each other. We also must not skip the PIN check
            # by piggy-backing on another session's login. One provider per token per process.
            message = f"PKCS#11 token {token_label!r} is already in use by another provider in this process"
            raise KeyUnavailableError(message) from None
        except PKCS11Error as exc:
            # The PIN itself must never appear in the message.
            message = f"PKCS#11 login to {token_label!r} failed: {type(exc).__name__}"
            raise KeyUnavailableError(message) from None
        try:
            key = cls._find_or_create(session, key_label, create)
        except BaseException:
            session.close()
            raise
        return cls(session, key, token_label, key_label)

    @staticmethod
    def _find_or_create(session: pkcs11.Session, key_label: str, create: bool) -> Any:
        try:
            key = session.get_key(object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=key_label)
        except pkcs11.NoSuchKey:
            if not create:
                raise KeyUnavailableError(f"PKCS#11 key {key_label!r} not found in token") from None
            try:
                return session.generate_key(
                    KeyType.AES,
                    256,
                    label=key_label,
                    store=True,
                    capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                    template={
                        Attribute.TOKEN: True,
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.ENCRYPT: True,
                        Attribute.DECRYPT: True,
                        Attribute.WRAP: False,
                        Attribute.UNWRAP: False,
                    },
                )
            except PKCS11Error as exc:
                raise KeyUnavailableError(f"cannot generate PKCS#11 key: {type(exc).__name__}") from None
        except pkcs11.MultipleObjectsReturned:
            raise KeyUnavailableError(f"several PKCS#11 keys are labelled {key_label!r}") from None
        except PKCS11Error as exc:
            raise KeyUnavailableError(f"cannot search PKCS#11 token: {type(exc).__name__}") from None
        # A root key someone imported as extractable could leave the token; refuse to build on it.
        try:
            extractable = bool(key[Attribute.EXTRACTABLE])
            sensitive = bool(key[Attribute.SENSITIVE])
        except PKCS11Error as exc:
            raise KeyUnavailableError(f"cannot read PKCS#11 key attributes: {type(exc).__name__}") from None
        if extractable or not sensitive:
            raise KeyUnavailableError(f"PKCS#11 key {key_label!r} is extractable or not sensitive")
        return key

    def _require_open(self) -> None:
        if self._closed:
            raise KeyUnavailableError("PKCS#11 provider is closed")

    def _encrypt(self, nonce: bytes, plaintext: bytes, gcm_aad: bytes) -> bytes:
        with self._lock:
            self._require_open()
            result: bytes = self._key.encrypt(
                plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=pkcs11.GCMParams(nonce, gcm_aad)
            )
        return result

    def _decrypt(self, nonce: bytes, body: bytes, gcm_aad: bytes) -> bytes:
        with self._lock:
            self._require_open()
            try:
                result: bytes = self._key.decrypt(
                    body, mechanism=Mechanism.AES_GCM, mechanism_param=pkcs11.GCMParams(nonce, gcm_aad)
                )
            except _UNAVAILABLE as exc:
                # The token or session is gone: an operator problem, not a forgery, and the ciphertext
                # cannot cause it, so saying so leaks nothing about the blob.
                message = f"PKCS#11 token unavailable: {type(exc).__name__}"
                raise KeyUnavailableError(message) from None
            except PKCS11Error:
                # SoftHSM reports a bad tag as a bare GeneralError; every other token error is opaque.
                raise CryptoError() from None
        return result

    def wrap(self, secret: bytes, *, aad: bytes) -> bytes:
        """Encrypt and authenticate a secret inside the token, bound to aad."""
        try:
            return aead.seal_with(
                self._encrypt, secret, aad=aad, key_id=self._key_id, key_version=_ROOT_KEY_VERSION
            )
        except PKCS11Error as exc:
            raise KeyUnavailableError(f"PKCS#11 encryption failed: {type(exc).__name__}") from None

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        """Recover a wrapped secret inside the token; CryptoError on any failure."""
        if aead.read_header(blob).key_id != self._key_id:
            raise CryptoError()
        return aead.open_with(self._decrypt, blob, aad=aad)

    def describe(self) -> str:
        """Return "pkcs11:<token label>"."""
        return f"pkcs11:{self._token_label}"

    def close(self) -> None:
        """Close the token session; later calls raise KeyUnavailableError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                with contextlib.suppress(PKCS11Error):
                    self._session.close()

    def __enter__(self) -> Pkcs11KeyProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Pkcs11KeyProvider {self._token_label!r}>"


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry so a new or renamed file survives a crash."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
