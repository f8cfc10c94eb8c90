"""TOTP secrets at rest: sealed under the user's own DEK in the TOTP zone, bound to their row and column."""

from __future__ import annotations

from app.auth.models import User
from app.context import Context
from app.keys import service as keys_service
from crypto.aead import aad_for
from crypto.keyring import Zone, open_field, seal_field

_AAD_TABLE = "user_account"
_AAD_COLUMN = "totp_secret"


def store(ctx: Context, user: User, secret: str) -> None:
    """Seal and store a new TOTP secret for the user (replay counter reset)."""
    dek_id, dek = keys_service.dek_for(
        ctx.session, ctx.runtime.keys, zone=Zone.TOTP, owner_type="user", owner_id=user.id, create=True
    )
    user.totp_secret = seal_field(
        dek, secret.encode(), aad=aad_for(_AAD_TABLE, _AAD_COLUMN, user.id), dek_id=dek_id
    )
    user.totp_last_counter = None


def load(ctx: Context, user: User) -> str:
    """Open the user's TOTP secret (CryptoError if it was tampered with or moved)."""
    if user.totp_secret is None:
        raise ValueError("no TOTP secret enrolled")
    _dek_id, dek = keys_service.dek_for(
        ctx.session, ctx.runtime.keys, zone=Zone.TOTP, owner_type="user", owner_id=user.id, create=False
    )
    return open_field(dek, user.totp_secret, aad=aad_for(_AAD_TABLE, _AAD_COLUMN, user.id)).decode()
