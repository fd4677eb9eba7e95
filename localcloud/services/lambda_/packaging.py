"""Lambda deployment packages: the zip AWS would build from a Pulumi `code` archive.

A function's `code` arrives as a tree of Pulumi assets and archives (AssetArchive, FileArchive, FileAsset,
StringAsset); a nested archive becomes a directory named by its key, as the Pulumi engine packs it.

Many functions often ship one package (a stack's handlers plus bundled dependencies): the zip is built
once per content, recognised by a fingerprint of the tree (every file's path, size and mtime), as the
Pulumi engine reuses an archive whose hash it has seen.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pulumi

from localcloud.core.context import UnsupportedResourceError

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_BUILT_ZIPS_KEPT = 8  # packages are megabytes each: keep the few a deployment reuses
_built_zips: OrderedDict[str, bytes] = OrderedDict()
_built_zips_lock = threading.Lock()


def _packaged_files(source: Path) -> list[tuple[str, os.DirEntry[str]]]:
    """A directory's files as a package holds them: (path relative to `source`, entry), in path order.

    Bytecode caches are build leftovers of this machine, not code: AWS would ship them too, but they only
    bloat the package and can go stale against the sources. Links to directories are not followed.
    One scandir walk (not Path.rglob): every function of a stack fingerprints the same megabytes of
    bundled dependencies, and the entries' types come with the listing.
    """
    found: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []

    def walk(directory: str, parts: tuple[str, ...]) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name in _SKIPPED_PARTS:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path, (*parts, entry.name))
                elif entry.is_file() and not entry.name.endswith(".pyc"):
                    found.append(((*parts, entry.name), entry))

    walk(str(source), ())
    # Sorted by parts, as Path objects sort: "a/b" before "a-c".
    found.sort(key=lambda item: item[0])
    return [("/".join(parts), entry) for parts, entry in found]


def _add_path(archive: zipfile.ZipFile, source: Path, prefix: str) -> None:
    """Add a file or a directory tree (or a .zip archive's entries) to the zip under `prefix`."""
    if source.is_dir():
        for relative, entry in _packaged_files(source):
            archive.write(entry.path, f"{prefix}{relative}")
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


def _fingerprint(node: Any, digest: Any) -> None:
    """Feed what identifies an archive tree's content (paths, sizes, mtimes; text) into a hash."""
    if isinstance(node, pulumi.AssetArchive):
        for name, child in sorted(node.assets.items()):
            digest.update(f"<{name}>".encode())
            _fingerprint(child, digest)
    elif isinstance(node, pulumi.FileArchive | pulumi.FileAsset):
        source = Path(node.path)
        if not source.exists():
            raise FileNotFoundError(f"archive source {source} does not exist")
        if source.is_dir():
            for relative, entry in _packaged_files(source):
                stat = entry.stat()
                digest.update(f"{source}/{relative}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        else:
            stat = source.stat()
            digest.update(f"{source}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    elif isinstance(node, pulumi.StringAsset):
        digest.update(node.text.encode())
    else:
        raise UnsupportedResourceError(f"cannot package {type(node).__name__} (remote assets need a network)")


def build_zip(code: Any) -> bytes:
    """The deployment package AWS would build from a Pulumi `code` archive (built once per content)."""
    digest = hashlib.sha256()
    _fingerprint(code, digest)
    key = digest.hexdigest()
    with _built_zips_lock:
        if key in _built_zips:
            _built_zips.move_to_end(key)
            return _built_zips[key]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_archive(archive, code, "")
    zipped = buffer.getvalue()
    with _built_zips_lock:
        _built_zips[key] = zipped
        while len(_built_zips) > _BUILT_ZIPS_KEPT:
            _built_zips.popitem(last=False)
    return zipped
