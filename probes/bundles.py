"""Manifest bundles: uploaded YAML files or archives, checked and normalised into one tar.gz.

Uploads arrive as several .yaml/.yml files, or a .zip / .tar.gz / .tgz of a folder. Archives are read
member by member, never extracted by the archive library and never executed: a member with an
absolute path, a `..` part, a link, or a device is refused; only regular .yaml/.yml files are kept;
the number of files and the unpacked size are capped (counted while reading, so a zip bomb stops at
the cap, not after filling the disk). Members that are not manifests are skipped without being read
where the format allows (zip); a tar.gz must be read through to reach the next member, so every
member's declared size counts against READINESS_BUNDLE_MAX_ARCHIVE_MB and an archive over it is
refused from its headers, before the member is decompressed. Member names are checked (length, depth,
a name used both as a file and as a folder) while listing.

Nothing here parses YAML: the request only lists, sizes and copies bytes, and answers at once. What
is kept is packed again by us into one tar.gz, which the worker reads back the same careful way and
parses in memory (`Bundle.texts()`), never writing a member to disk.
"""
import io
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings

from probes.engine.manifests import ManifestError, ManifestSnapshot, folder_manifests, load_texts
from readiness import safe_yaml

YAML_SUFFIXES = (".yaml", ".yml")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
MAX_NAME_PART_BYTES = 255  # what file systems allow for one name
MAX_PATH_PARTS = 32  # folders deep; helm template output is a handful
MAX_PATH_CHARS = 1024
_CHUNK = 64 * 1024


class BundleError(ValueError):
    """An upload that is not a usable manifest bundle; the message says why and names the file."""


@dataclass
class Bundle:
    """Checked manifest files: safe relative POSIX path -> bytes."""

    files: dict[str, bytes] = field(default_factory=dict)
    max_files: int = 0
    max_bytes: int = 0
    max_archive_bytes: int = 0
    folders: set[str] = field(default_factory=set, repr=False)
    size: int = field(default=0, init=False)  # bytes held, kept as files are added

    def add(self, name: str, data: bytes) -> None:
        path = safe_path(name)
        if path in self.files:
            raise BundleError(f"{path}: the bundle holds two files with this name.")
        if path in self.folders:
            raise BundleError(f"{path}: the bundle holds a file and a folder with this name.")
        parents = [path.rsplit("/", n)[0] for n in range(1, path.count("/") + 1)]
        for parent in parents:
            if parent in self.files:
                raise BundleError(f"{path}: {parent} is a file in the bundle, so it cannot be a folder too.")
        if len(self.files) + 1 > self.max_files:
            raise BundleError(f"The bundle holds more than {self.max_files} manifest files.")
        if self.size + len(data) > self.max_bytes:
            raise BundleError(f"The bundle unpacks to more than {self.max_bytes // (1024 * 1024)} MB.")
        self.files[path] = data
        self.size += len(data)
        self.folders.update(parents)

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

    def texts(self) -> list[tuple[str, bytes]]:
        """(name, content) of every file in name order: what manifests.load_texts reads."""
        return sorted(self.files.items())


def new_bundle() -> Bundle:
    return Bundle(max_files=settings.READINESS_BUNDLE_MAX_FILES, max_bytes=settings.READINESS_BUNDLE_MAX_BYTES,
                  max_archive_bytes=settings.READINESS_BUNDLE_MAX_ARCHIVE_BYTES)


def yaml_limits() -> safe_yaml.Limits:
    """The YAML budget of the settings (READINESS_YAML_MAX_DEPTH, READINESS_YAML_MAX_ALIAS_NODES)."""
    return safe_yaml.Limits(max_depth=settings.READINESS_YAML_MAX_DEPTH,
                            max_alias_nodes=settings.READINESS_YAML_MAX_ALIAS_NODES)


def load_bundle(bundle: Bundle, *, source: str = "bundle") -> ManifestSnapshot:
    """Parse the bundle's manifests in memory within the configured budgets; raises ManifestError
    naming the member and line. CPU-bound (seconds for a large bundle): the worker's job, not a request's."""
    return load_texts(bundle.texts(), source=source, limits=yaml_limits(),
                      max_objects=settings.READINESS_BUNDLE_MAX_OBJECTS)


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
    path = "/".join(parts)
    shown = path if len(path) <= 120 else f"{path[:60]}…{path[-40:]}"
    if len(parts) > MAX_PATH_PARTS:
        raise BundleError(f"{shown}: nested more than {MAX_PATH_PARTS} folders deep.")
    if len(path) > MAX_PATH_CHARS:
        raise BundleError(f"{shown}: the path is longer than {MAX_PATH_CHARS} characters.")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_PART_BYTES for part in parts):
        raise BundleError(f"{shown}: a file or folder name is longer than {MAX_NAME_PART_BYTES} bytes.")
    return path


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
            try:
                files = folder_manifests(path)
            except ManifestError as exc:
                raise BundleError(str(exc)) from None
            folder = path.resolve().name or "bundle"
            for file in files:
                with file.open("rb") as handle:
                    data = _read_capped(handle, bundle.remaining(), str(file))
                bundle.add(f"{folder}/{file.relative_to(path).as_posix()}", data)
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
    declared = 0
    with archive:
        try:
            for seen, info in enumerate(archive, start=1):
                _too_many_members(bundle, seen, name)
                member = safe_path(info.name)
                if info.isdir():
                    continue
                if not info.isfile():  # symlinks, hard links, devices, fifos
                    raise BundleError(f"{name}: {member} is not a regular file; links and devices are not allowed.")
                # Reaching the next member decompresses this one, manifest or not: refuse from the header.
                declared += info.size
                if declared > bundle.max_archive_bytes:
                    raise BundleError(f"{name}: {member} ({_size(info.size)}) takes the archive over "
                                      f"{_size(bundle.max_archive_bytes)} unpacked; a .tar.gz is read through "
                                      f"to its end, so leave files that are not manifests out of it.")
                if not member.lower().endswith(YAML_SUFFIXES):
                    continue
                if info.size > bundle.remaining():
                    raise BundleError(f"{name}: the bundle unpacks to more than the allowed size.")
                handle = archive.extractfile(info)
                bundle.add(member, _read_capped(handle, bundle.remaining(), name))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BundleError(f"{name}: the archive is damaged ({exc}).") from None


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
