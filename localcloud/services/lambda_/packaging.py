"""Lambda deployment packages: the zip AWS would build from a Pulumi `code` archive.

A function's `code` arrives as a tree of Pulumi assets and archives (AssetArchive, FileArchive, FileAsset,
StringAsset); a nested archive becomes a directory named by its key, as the Pulumi engine packs it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pulumi

from localcloud.core.context import UnsupportedResourceError

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def _add_path(archive: zipfile.ZipFile, source: Path, prefix: str) -> None:
    """Add a file or a directory tree (or a .zip archive's entries) to the zip under `prefix`."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            # Bytecode caches are build leftovers of this machine, not code: AWS would ship them too,
            # but they only bloat the package and can go stale against the sources.
            if _SKIPPED_PARTS.intersection(relative.parts) or path.suffix == ".pyc" or not path.is_file():
                continue
            archive.write(path, f"{prefix}{relative.as_posix()}")
    elif source.suffix in {".zip", ".jar"}:
        with zipfile.ZipFile(source) as inner:
            for info in inner.infolist():
                if not info.is_dir():
                    archive.writestr(f"{prefix}{info.filename}", inner.read(info))
    elif source.is_file():
        archive.write(source, prefix.rstrip("/") or source.name)
    else:
        raise FileNotFoundError(f"archive source {source} does not exist")


def _add_archive(archive: zipfile.ZipFile, node: Any, prefix: str) -> None:
    """Pulumi archive tree -> zip entries. A nested archive becomes a directory named by its key."""
    if isinstance(node, pulumi.AssetArchive):
        for name, child in sorted(node.assets.items()):
            if isinstance(child, pulumi.Archive):
                _add_archive(archive, child, f"{prefix}{name}/")
            else:
                _add_archive(archive, child, f"{prefix}{name}")
    elif isinstance(node, pulumi.FileArchive):
        _add_path(archive, Path(node.path), prefix)
    elif isinstance(node, pulumi.FileAsset):
        archive.write(node.path, prefix or Path(node.path).name)
    elif isinstance(node, pulumi.StringAsset):
        archive.writestr(prefix, node.text)
    else:
        raise UnsupportedResourceError(f"cannot package {type(node).__name__} (remote assets need a network)")


def build_zip(code: Any) -> bytes:
    """The deployment package AWS would build from a Pulumi `code` archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_archive(archive, code, "")
    return buffer.getvalue()


def placeholder_layer_zip() -> bytes:
    """A layer with nothing in it: localcloud's workers import dependencies from the project's venv."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/.localcloud", "dependencies come from the project's environment locally\n")
    return buffer.getvalue()
