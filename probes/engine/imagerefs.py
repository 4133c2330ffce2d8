"""Container image references: "registry/repository:tag@digest", with Docker Hub's implicit parts."""
import fnmatch
import functools
import re
from dataclasses import dataclass

_SEMVER = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.+-]+)?$")


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def path(self) -> str:
        """"registry/repository", the form registries lists are written in."""
        return f"{self.registry}/{self.repository}"

    @property
    def semver_tag(self) -> bool:
        return bool(self.tag and _SEMVER.match(self.tag))


def parse_image(text: str) -> ImageRef:
    # The same few images recur in every pod spec a dozen probes read: each is parsed once.
    return _parse_image(text) if type(text) is str else _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse_image(text: str) -> ImageRef:
    return _parse(text)


def _parse(text: str) -> ImageRef:
    rest, _, digest = text.strip().partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        # Docker Hub: "nginx" is docker.io/library/nginx, "acme/api" is docker.io/acme/api.
        registry, repository = "docker.io", rest if "/" in rest else f"library/{rest}"
    return ImageRef(registry, repository, tag or None, digest or None)


def in_registries(image: ImageRef, registries: list[str]) -> bool:
    """Does the image live under one of these prefixes ("quay.io", "docker.io/library") or glob
    patterns ("*.azurecr.io/*")?"""
    pattern = _registries_pattern(tuple(registries))
    return pattern is not None and pattern.match(image.path) is not None


@functools.lru_cache(maxsize=64)
def _registries_pattern(registries: tuple[str, ...]) -> re.Pattern | None:
    """One regex for a registries list: a glob as fnmatch reads it, a prefix up to a "/" or the end."""
    alternatives = []
    for entry in registries:
        entry = entry.rstrip("/")
        if any(ch in entry for ch in "*?["):
            alternatives.append(fnmatch.translate(entry))
        else:
            alternatives.append(re.escape(entry) + r"(?:/|\Z)")
    return re.compile("|".join(f"(?:{a})" for a in alternatives)) if alternatives else None
