"""TOTP secrets at rest: sealed under the user's own DEK in the TOTP zone, bound to their row and column."""

from __future__ import annotations

from app.auth.models import User
from app.context import Context
from app.encryption import EncryptedText, FieldCipher
from app.keys import service as keys_service
from crypto.keyring import Zone


def _cipher(ctx: Context, user: User, *, create: bool) -> FieldCipher:
    dek = keys_service.dek_for(
        ctx.session, ctx.runtime.keys, zone=Zone.TOTP, owner_type="user", owner_id=user.id, create=create
    )
    return FieldCipher(dek)


def store(ctx: Context, user: User, secret: str) -> None:
    """Seal and store a new TOTP secret for the user (replay counter reset)."""
    _cipher(ctx, user, create=True).write(user, "totp_secret", EncryptedText(secret))
    user.totp_last_counter = None


def load(ctx: Context, user: User) -> str:
    """Open the user's TOTP secret (DataIntegrityError if it was tampered with or moved)."""
    secret = _cipher(ctx, user, create=False).read(user, "totp_secret")
    if secret is None:
        raise ValueError("no TOTP secret enrolled")
    return secret.reveal()
