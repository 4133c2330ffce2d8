"""Manifest bundles: uploaded YAML files or archives, checked and normalised into one tar.gz.

Uploads arrive as several .yaml/.yml files, or a .zip / .tar.gz / .tgz of a folder. Archives are read
member by member, never extracted by the archive library and never executed: a member with an
absolute path, a `..` part, a link, or a device is refused; only regular .yaml/.yml files are kept;
the number of files and the unpacked size are capped (counted while reading, so a zip bomb stops at
the cap, not after filling the disk). What is kept is packed again by us into one tar.gz, which the
worker unpacks the same careful way into a private temporary folder.
"""
import io
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings

YAML_SUFFIXES = (".yaml", ".yml")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
_CHUNK = 64 * 1024


class BundleError(ValueError):
    """An upload that is not a usable manifest bundle; the message says why and names the file."""


@dataclass
class Bundle:
    """Checked manifest files: safe relative POSIX path -> bytes."""

    files: dict[str, bytes] = field(default_factory=dict)
    max_files: int = 0
    max_bytes: int = 0

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())

    def add(self, name: str, data: bytes) -> None:
        path = safe_path(name)
        if path in self.files:
            raise BundleError(f"{path}: the bundle holds two files with this name.")
        if len(self.files) + 1 > self.max_files:
            raise BundleError(f"The bundle holds more than {self.max_files} manifest files.")
        if self.size + len(data) > self.max_bytes:
            raise BundleError(f"The bundle unpacks to more than {self.max_bytes // (1024 * 1024)} MB.")
        self.files[path] = data

    def remaining(self) -> int:
        return self.max_bytes - self.size

    def to_targz(self) -> bytes:
        """The files packed as a tar.gz of plain regular files (what a ProbeRun stores)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, data in sorted(self.files.items()):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def write_to(self, folder: Path) -> Path:
        """Write the files under `folder` (which must exist); returns `folder`."""
        root = folder.resolve()
        for name, data in self.files.items():
            target = (root / name).resolve()
            if not target.is_relative_to(root):  # safe_path already refuses this; belt and braces
                raise BundleError(f"{name}: escapes the bundle folder.")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return folder


def new_bundle() -> Bundle:
    return Bundle(max_files=settings.READINESS_BUNDLE_MAX_FILES, max_bytes=settings.READINESS_BUNDLE_MAX_BYTES)


def safe_path(name: str) -> str:
    """A relative POSIX path with no `..`, no absolute root and no drive; BundleError otherwise."""
    raw = name.replace("\\", "/")
    if not raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "\x00" in raw:
        raise BundleError(f"{name}: absolute paths are not allowed in a bundle.")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise BundleError(f"{name}: paths with '..' are not allowed in a bundle.")
    if not parts:
        raise BundleError(f"{name!r} is not a file name.")
    return "/".join(parts)


def read_uploads(uploads: Iterable) -> Bundle:
    """Build a Bundle from uploaded files (Django UploadedFile or anything with .name and .read())."""
    bundle = new_bundle()
    count = 0
    for upload in uploads:
        count += 1
        # Browsers send a base name; never trust a folder part.
        _read_one(bundle, Path(upload.name or "").name, upload)
    if not count:
        raise BundleError("Choose at least one manifest file or archive.")
    if not bundle.files:
        raise BundleError("The upload holds no .yaml or .yml files.")
    return bundle


def read_paths(paths: Iterable[str | Path]) -> Bundle:
    """A Bundle from local files and folders (the CLI's --manifests), with the same checks and caps."""
    bundle = new_bundle()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()):
                bundle.add(f"{path.name or 'bundle'}/{file.relative_to(path).as_posix()}", file.read_bytes())
        elif path.is_file():
            with path.open("rb") as handle:
                _read_one(bundle, path.name, handle)
        else:
            raise BundleError(f"{path}: no such file or folder")
    if not bundle.files:
        raise BundleError("No .yaml or .yml files were found.")
    return bundle


def open_targz(data: bytes) -> Bundle:
    """Read back a tar.gz made by `Bundle.to_targz` (or any tar.gz), with every check applied."""
    bundle = new_bundle()
    _read_tar(io.BytesIO(data), bundle, "stored bundle")
    return bundle


def _read_one(bundle: Bundle, name: str, handle) -> None:
    lower = name.lower()
    if lower.endswith(YAML_SUFFIXES):
        bundle.add(name, _read_capped(handle, bundle.remaining(), name))
    elif lower.endswith(".zip"):
        _read_zip(handle, bundle, name)
    elif lower.endswith((".tar.gz", ".tgz")):
        _read_tar(handle, bundle, name)
    else:
        raise BundleError(f"{name}: upload .yaml or .yml files, or a .zip or .tar.gz of a folder.")


def _too_many_members(bundle: Bundle, seen: int, name: str) -> None:
    # Members that are not manifests are skipped, but still counted: an archive of a million
    # empty entries is refused instead of walked.
    if seen > bundle.max_files * 10:
        raise BundleError(f"{name}: the archive holds too many entries.")


def _read_capped(handle, limit: int, name: str) -> bytes:
    data = bytearray()
    while chunk := handle.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise BundleError(f"{name}: the bundle unpacks to more than the allowed size.")
    return bytes(data)


def _read_zip(upload, bundle: Bundle, name: str) -> None:
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{name}: not a readable zip file ({exc}).") from None
    with archive:
        for seen, info in enumerate(archive.infolist(), start=1):
            _too_many_members(bundle, seen, name)
            member = safe_path(info.filename)  # refuses absolute and '..' before anything is read
            mode = info.external_attr >> 16
            if mode and (mode & 0o170000) == 0o120000:
                raise BundleError(f"{name}: {member} is a symbolic link; links are not allowed.")
            if info.is_dir() or not member.lower().endswith(YAML_SUFFIXES):
                continue
            if info.file_size > bundle.remaining():
                raise BundleError(f"{name}: the bundle unpacks to more than the allowed size.")
            try:
                with archive.open(info) as handle:
                    bundle.add(member, _read_capped(handle, bundle.remaining(), name))
            except (zipfile.BadZipFile, RuntimeError, OSError) as exc:  # RuntimeError: encrypted
                raise BundleError(f"{name}: {member} cannot be read ({exc}).") from None


def _read_tar(upload, bundle: Bundle, name: str) -> None:
    try:
        archive = tarfile.open(fileobj=upload, mode="r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"{name}: not a readable .tar.gz file ({exc}).") from None
    with archive:
        try:
            for seen, info in enumerate(archive, start=1):
                _too_many_members(bundle, seen, name)
                member = safe_path(info.name)
                if info.isdir():
                    continue
                if not info.isfile():  # symlinks, hard links, devices, fifos
                    raise BundleError(f"{name}: {member} is not a regular file; links and devices are not allowed.")
                if not member.lower().endswith(YAML_SUFFIXES):
                    continue
                if info.size > bundle.remaining():
                    raise BundleError(f"{name}: the bundle unpacks to more than the allowed size.")
                handle = archive.extractfile(info)
                bundle.add(member, _read_capped(handle, bundle.remaining(), name))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BundleError(f"{name}: the archive is damaged ({exc}).") from None
