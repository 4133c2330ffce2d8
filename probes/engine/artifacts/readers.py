"""Reading artifact bytes safely: XML without DTDs or entities, JSON, and text, with clear errors."""
import json
import math
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET

from probes.engine.artifacts.base import Artifact, ArtifactError


def read_xml(artifact: Artifact, *, expect: tuple[str, ...]) -> ET.Element:
    """The root element, refusing entity declarations (so no "billion laughs" expansion), external
    entities and any root other than `expect`. A bare DOCTYPE naming the Cobertura DTD is allowed
    (istanbul writes one); nothing is ever fetched."""
    try:
        root = SafeET.fromstring(artifact.data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as exc:
        raise ArtifactError("hostile", f"{artifact.filename}: refused: the XML declares entities or external references "
                                       f"({type(exc).__name__}); test and coverage reports need neither") from None
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        where = f" at line {line}, column {column}" if line else ""
        raise ArtifactError("malformed", f"{artifact.filename}: not well-formed XML{where}") from None
    tag = local(root.tag)
    if tag not in expect:
        raise ArtifactError("wrong-format", f"{artifact.filename}: root element <{tag}> is not {' or '.join(f'<{e}>' for e in expect)}")
    return root


def local(tag: str) -> str:
    """"{namespace}name" -> "name"."""
    return tag.rsplit("}", 1)[-1]


def read_json(artifact: Artifact, what: str):
    try:
        return json.loads(artifact.data)
    except UnicodeDecodeError:
        raise ArtifactError("malformed", f"{artifact.filename}: not UTF-8 text, so not {what}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError("malformed", f"{artifact.filename}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def read_text(artifact: Artifact, what: str) -> str:
    try:
        text = artifact.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = artifact.data[: exc.start].count(b"\n") + 1
        raise ArtifactError("malformed", f"{artifact.filename}: line {line} is not UTF-8, so not {what}") from None
    if "\x00" in text and what != "a repository listing":
        raise ArtifactError("malformed", f"{artifact.filename}: holds NUL bytes, so not {what}")
    return text


def number(value, default=None) -> float | None:
    """A float from an XML attribute or JSON value; `default` when absent or not a number."""
    if value is None or isinstance(value, bool):
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) else default  # NaN and Infinity (1e999) are not numbers we can judge
