"""The export registry: which kinds of export exist, in which formats, and the one audited way to run them.

A module that can export something registers it at import:

    registry.register("codings", "csv", export_codings_csv, media_type="text/csv", description="...")

The CLI (`harbour export KIND --project NAME --format F --out FILE`) and the download routes look exporters
up here. Registering modules are imported lazily, on the first look-up (`PROVIDERS` below), so that a domain
module may import this registry without the registry importing that domain at import time (no cycles).
To add exporters, register them at import of your module and add the module's dotted name to `PROVIDERS`.

Exporters return the finished file as bytes and do not audit: `run` does, once per export
(`export.<kind>`, the project as object, the format as reason), in the caller's transaction, so an export
that fails leaves no entry and an entry is never missing for an export that was handed out.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.context import Context
from app.errors import InvalidInputError

Exporter = Callable[[Context, uuid.UUID], bytes]
"""Builds one export of a project: `fn(ctx, project_id) -> file bytes`. Raises AppError on bad input."""

PROVIDERS: tuple[str, ...] = ("app.exports.codings", "app.coding.refi", "app.incidents.exports")
"""Modules that register exporters at import; imported on the first look-up."""

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class ExportFormat:
    """One registered exporter: a kind (what) in a format (how)."""

    kind: str
    fmt: str
    fn: Exporter
    media_type: str
    description: str

    @property
    def filename_suffix(self) -> str:
        """The file name extension of this format, such as `.csv`."""
        return f".{self.fmt}"


_exporters: dict[tuple[str, str], ExportFormat] = {}
_loaded = False


class UnknownExportError(InvalidInputError):
    """No exporter is registered for this kind or format."""


def register(kind: str, fmt: str, fn: Exporter, *, media_type: str, description: str) -> None:
    """Register `fn` as the exporter of `kind` as `fmt` (registering a pair twice is a bug)."""
    if not _NAME.match(kind) or not _NAME.match(fmt):
        raise ValueError(f"bad export kind or format name: {kind!r} {fmt!r}")
    key = (kind, fmt)
    existing = _exporters.get(key)
    if existing is not None and existing.fn is not fn:
        raise ValueError(f"an exporter for {kind} as {fmt} is already registered")
    _exporters[key] = ExportFormat(kind, fmt, fn, media_type, description)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    for module in PROVIDERS:
        importlib.import_module(module)
    _loaded = True


def kinds() -> list[str]:
    """The registered export kinds, sorted."""
    _ensure_loaded()
    return sorted({kind for kind, _fmt in _exporters})


def formats(kind: str) -> list[str]:
    """The formats registered for `kind`, sorted (empty for an unknown kind)."""
    _ensure_loaded()
    return sorted(fmt for k, fmt in _exporters if k == kind)


def all_formats() -> list[ExportFormat]:
    """Every registered exporter, sorted by kind and format."""
    _ensure_loaded()
    return [_exporters[key] for key in sorted(_exporters)]


def get(kind: str, fmt: str) -> ExportFormat:
    """The exporter of `kind` as `fmt`; UnknownExportError (naming what is available) if there is none."""
    _ensure_loaded()
    found = _exporters.get((kind, fmt))
    if found is not None:
        return found
    available = formats(kind)
    if not available:
        raise UnknownExportError(f"unknown export kind {kind!r} (available: {', '.join(kinds()) or 'none'})")
    raise UnknownExportError(f"{kind} cannot be exported as {fmt!r} (available: {', '.join(available)})")


def run(ctx: Context, *, kind: str, fmt: str, project_id: uuid.UUID) -> tuple[ExportFormat, bytes]:
    """Build one export of a project and audit it (`export.<kind>`) in the caller's transaction."""
    exporter = get(kind, fmt)
    data = exporter.fn(ctx, project_id)
    ctx.audit(
        f"export.{kind}", object_type="project", object_id=project_id, project_id=project_id, reason=fmt
    )
    return exporter, data
