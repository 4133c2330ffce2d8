"""Laying the report's pages out: Typst (the `typst` package) compiles reports/typst/report.typ.

Typst runs in a child process (this file run as a script), one per PDF: its compiler memoizes what it
laid out, and keeps each compilation's cache for the next ten, about 85 MiB for a large release, which
a long-lived worker would otherwise carry. The child imports nothing of the project, reads its job
(the page text and the canonical JSON to attach) from standard input and writes the PDF to standard
output. Typst reads files only under its root, the folder that holds the template alone, and fonts only
from FONT_DIRS and those the package ships: no system font lookup, no package download, no network.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent / "typst"
TEMPLATE = TEMPLATE_DIR / "report.typ"
# Fixed font folders (Debian's fonts-dejavu-core and fonts-symbola); a missing one is skipped, and
# the fonts the typst package ships are the last resort.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/ancient-scripts")
TIMEOUT = 120  # seconds; the largest release we know of lays out in about two


class LayoutError(RuntimeError):
    """Typst could not lay the report out."""


def layout(page: dict, attachment: bytes) -> bytes:
    """The PDF of `page` (reports.pdf.page_data), with `attachment` embedded as report.json. Starts a
    process and takes a second or two for a large release."""
    job = json.dumps({
        "template": str(TEMPLATE), "root": str(TEMPLATE_DIR),
        "fonts": [path for path in FONT_DIRS if Path(path).is_dir()],
        "inputs": {"page": json.dumps({**cut_runs(page), "document": page["document"]}, ensure_ascii=False),
                   "content": attachment.decode()},
    }, ensure_ascii=False).encode()
    try:
        child = subprocess.run([sys.executable, "-I", __file__], input=job, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise LayoutError(f"Typst did not lay the report out within {TIMEOUT} seconds.") from None
    if child.returncode != 0:
        reason = child.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {child.returncode}"]
        raise LayoutError(f"Typst could not lay the report out: {reason[-1]}")
    return child.stdout


_LONG_RUN = re.compile(r"\S{21,}")
_WHOLE = re.compile(r"[0-9a-f]{64}|[A-Za-z0-9+/]{43}=")  # a hash, a public key: laid out whole, in a box
_PIECE = re.compile(r"[^/.\-_?&=:,;]{1,16}[/.\-_?&=:,;]*|[/.\-_?&=:,;]+")


def cut_runs(value):
    """Paper does not scroll, and Typst breaks lines only between words: a text holding a run of more
    than 20 characters without a space (a URL, a key, an action) becomes `{"cut": [text, [pieces of
    the run], text, ...]}`, the run cut after its punctuation and every 16 characters. The template
    lays each piece out as a box, and a line may break between two boxes; no character is added, so
    the text reads back (and copies) as it was written. A hash alone is left whole (the template never
    breaks one), and so is every other value."""
    if isinstance(value, dict):
        return {key: cut_runs(item) for key, item in value.items()}
    if isinstance(value, list):
        return [cut_runs(item) for item in value]
    if not isinstance(value, str) or not _LONG_RUN.search(value) or _WHOLE.fullmatch(value):
        return value
    parts, at = [], 0
    for run in _LONG_RUN.finditer(value):
        parts += [value[at:run.start()], _PIECE.findall(run.group())]
        at = run.end()
    return {"cut": parts + [value[at:]]}


def main() -> int:
    """The child: one job from standard input, its PDF to standard output."""
    import typst

    job = json.load(sys.stdin.buffer)
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=job["fonts"])
    try:
        data = typst.compile(job["template"], root=job["root"], font_paths=fonts, sys_inputs=job["inputs"])
    except typst.TypstError as error:
        print(" ".join(str(error.message).split()), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
