"""Container image references: "registry/repository:tag@digest", with Docker Hub's implicit parts."""
import fnmatch
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
    for entry in registries:
        entry = entry.rstrip("/")
        if any(ch in entry for ch in "*?["):
            if fnmatch.fnmatchcase(image.path, entry):
                return True
        elif image.path == entry or image.path.startswith(entry + "/"):
            return True
    return False
