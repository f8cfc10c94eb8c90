"""Helpers shared by the ingestion tests: fixture paths and in-memory zip surgery."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MAX = 5 * 1024 * 1024

# Planted by make_fodt.py in the document fixtures' metadata, comment, footnote, header and deletion.
CANARIES = ("CANARY", "Quillon", "Vexhart")


def fixture(name: str) -> bytes:
    """The bytes of a committed fixture."""
    return (FIXTURES / name).read_bytes()


def rezip(
    data: bytes,
    *,
    replace: Mapping[str, bytes] | None = None,
    add: Mapping[str, bytes] | None = None,
    transform: Callable[[str, bytes], bytes] | None = None,
) -> bytes:
    """Copy a zip in memory, replacing, transforming or adding members (order kept, additions last)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if replace and info.filename in replace:
                content = replace[info.filename]
            if transform:
                content = transform(info.filename, content)
            compression = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(info.filename, content, compress_type=compression)
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()
