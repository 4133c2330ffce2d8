"""Dockerfiles: multi-stage builds, a non-root user, and base images pinned to a version."""
import re
from dataclasses import dataclass, field

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import read_text
from probes.engine.outcome import Finding, Outcome
from probes.engine.imagerefs import parse_image

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
ROOT_USERS = {"root", "0"}


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str  # upper case
    args: str


@dataclass
class Stage:
    line: int
    base: str  # as written after variable substitution
    name: str
    instructions: list[Instruction] = field(default_factory=list)


def instructions(artifact: Artifact) -> list[Instruction]:
    """Logical lines: comments dropped, backslash continuations (or the `escape` directive's) joined."""
    text = read_text(artifact, "a Dockerfile")
    escape = "\\"
    match = re.match(r"\s*#\s*escape\s*=\s*(\S)", text)
    if match:
        escape = match.group(1)
    result, buffer, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buffer and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buffer and line.lstrip().startswith("#"):
            continue  # comments inside a continued instruction are dropped, as Docker does
        if not buffer:
            start = number
        if line.endswith(escape):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, args = buffer.strip().partition(" ")
        result.append(Instruction(start, keyword.upper(), args.strip()))
        buffer = ""
    if buffer:
        keyword, _, args = buffer.strip().partition(" ")
        result.append(Instruction(start, keyword.upper(), args.strip()))
    if not result:
        raise ArtifactError("empty", f"{artifact.filename}: no instructions")
    return result


def read_stages(artifact: Artifact) -> list[Stage]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions(artifact):
        if ins.keyword == "ARG" and not stages:  # ARGs before the first FROM parameterise FROM lines
            name, _, default = ins.args.partition("=")
            args[name.strip()] = default.strip().strip('"')
        elif ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            if not words:
                raise ArtifactError("malformed", f"{artifact.filename}: line {ins.line}: FROM names no image")
            base = _VAR.sub(lambda m: args.get(m.group(1) or m.group(3), m.group(2) or ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            stages.append(Stage(ins.line, base, name))
        elif stages:
            stages[-1].instructions.append(ins)
        elif ins.keyword not in ("ARG",):
            raise ArtifactError("malformed", f"{artifact.filename}: line {ins.line}: {ins.keyword} before the first FROM")
    if not stages:
        raise ArtifactError("wrong-format", f"{artifact.filename}: no FROM instruction, so not a Dockerfile")
    return stages


def _finding(artifact: Artifact, line: int, field_: str, message: str) -> Finding:
    return Finding(f"{artifact.filename}:{line}", field_, message, source=artifact.filename, line=line)


@artifact_check(
    "artifact.dockerfile.multi-stage",
    "The image is built in stages",
    format="dockerfile",
    items=["container-images.multi-stage-builds-minimize-image-size"],
)
def multi_stage(artifact: Artifact, p) -> Outcome:
    """At least two FROM stages, and the final stage copies from an earlier one (COPY --from), so
    build tools stay out of the image that ships."""
    stages = read_stages(artifact)
    final = stages[-1]
    copies = [i for i in final.instructions if i.keyword in ("COPY", "ADD") and "--from=" in i.args]
    observed = {"stages": len(stages), "final_base": final.base}
    if len(stages) < 2:
        return Outcome("fail", "a single-stage build: build tools ship in the image",
                       [_finding(artifact, final.line, "FROM", "add a build stage (FROM ... AS build) and COPY --from=build only what runs")], observed=observed)
    if not copies and not any(s.name and final.base == s.name for s in stages[:-1]):
        return Outcome("fail", f"{len(stages)} stages, but the final one copies nothing from them",
                       [_finding(artifact, final.line, "COPY --from", "copy the built artifact from an earlier stage with COPY --from=<stage>")], observed=observed)
    return Outcome("pass", f"{len(stages)} stages; the final one ({final.base}) copies from an earlier stage", observed=observed)


@artifact_check(
    "artifact.dockerfile.non-root",
    "The image runs as a non-root user",
    format="dockerfile",
    items=[],
)
def non_root(artifact: Artifact, p) -> Outcome:
    """The final stage sets USER, and its last USER is neither root nor UID 0."""
    final = read_stages(artifact)[-1]
    users = [i for i in final.instructions if i.keyword == "USER"]
    if not users:
        return Outcome("fail", "the final stage sets no USER, so the container runs as root",
                       [_finding(artifact, final.line, "USER", "add USER <non-root uid> (e.g. USER 10001) to the final stage")])
    last = users[-1]
    user = last.args.split(":")[0].strip()
    if user in ROOT_USERS:
        return Outcome("fail", f"the final stage runs as {last.args}",
                       [_finding(artifact, last.line, "USER", f"USER {last.args} is root; end with a non-root USER")], observed={"user": last.args})
    return Outcome("pass", f"the final stage runs as {last.args}", observed={"user": last.args})


@artifact_check(
    "artifact.dockerfile.pinned-base",
    "Base images are pinned to a version",
    format="dockerfile",
    items=[],
)
def pinned_base(artifact: Artifact, p) -> Outcome:
    """Every FROM names a tag other than `latest` or a digest (or an earlier stage, or scratch)."""
    stages = read_stages(artifact)
    names = set()
    findings = []
    for stage in stages:
        if stage.base in names or stage.base == "scratch":
            pass
        elif "$" in stage.base:
            findings.append(_finding(artifact, stage.line, "FROM", f"base {stage.base!r} depends on a build argument without a default"))
        else:
            image = parse_image(stage.base)
            if not image.digest and image.tag in (None, "latest"):
                findings.append(_finding(artifact, stage.line, "FROM", f"base {stage.base!r} {'has no tag, so it is latest' if image.tag is None else 'uses latest'}; pin a version tag or a digest"))
        if stage.name:
            names.add(stage.name)
    if findings:
        return Outcome("fail", f"{len(findings)} of {len(stages)} base images are not pinned", findings)
    return Outcome("pass", f"all {len(stages)} base images are pinned")
