"""Markdown checklists in and out, with no database: parse() builds a Checklist, render() writes one.

The rules (kept loss-free for sections, items, keys, guidance and code blocks):
- the first `#` heading names the checklist; deeper headings become nested sections;
- every checkbox (`- [ ]`, `* [x]`, `1. [ ]`, at any depth) is an item; an indented checkbox is the
  child of the item above it with a smaller indent;
- a numbered entry without a checkbox is an item only under a heading with "Checklist" in its title;
- plain sub-bullets, continuation lines and fenced code blocks under an item are its guidance;
- mojibake such as `âœ…` is repaired (ftfy), inline Markdown is kept as written;
- a key is `<section-slug>.<item-slug>` unless the line ends in `<!-- key: ... -->`, which render() writes
  so that keys survive later edits of an item's text.
"""
import re
import textwrap
from dataclasses import dataclass, field

from django.utils.text import slugify

ITEM_SLUG_MAX = 60
GENERAL_SECTION = "General"
MAX_ITEMS = 5_000  # items per checklist (READINESS_CHECKLIST_MAX_ITEMS in the app)
MAX_DEPTH = 8  # levels of items nested under items (READINESS_CHECKLIST_MAX_DEPTH in the app)

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_CHECKBOX = re.compile(r"^(?P<marker>[-*+]|\d{1,9}[.)])\s+\[(?P<mark>[ xX])\]\s+(?P<text>.*)$")
_EMPTY_CHECKBOX = re.compile(r"^(?:[-*+]|\d{1,9}[.)])\s+\[[ xX]\]\s*$")
_NUMBERED = re.compile(r"^(?P<number>\d{1,9})[.)]\s+(?P<text>.*)$")
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_RULE = re.compile(r"^(?:-{3,}|\*{3,}|_{3,})$")
_KEY_COMMENT = re.compile(r"\s*<!--\s*key:\s*(?P<key>[^>]*?)\s*-->\s*$")
_VALID_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
_MARKUP = re.compile(r"[*_`~]|<!--.*?-->|!?\[([^\]]*)\]\([^)]*\)")


class ChecklistError(ValueError):
    """The file cannot become a checklist; `line` says where, when one line is to blame."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class Item:
    key: str
    text: str
    line: int
    kind: str = "checkbox"  # or "numbered"
    checked: bool = False
    number: int | None = None
    guidance: str = ""
    parent_key: str = ""
    children: list["Item"] = field(default_factory=list)
    explicit_key: bool = False


@dataclass
class Section:
    key: str
    title: str
    level: int
    intro: str = ""
    items: list[Item] = field(default_factory=list)  # top-level items; children hang below them
    sections: list["Section"] = field(default_factory=list)


@dataclass
class Checklist:
    title: str
    intro: str = ""
    sections: list[Section] = field(default_factory=list)

    def walk_sections(self):
        """Every section, depth first, in document order, with its parent (None at the top)."""
        stack = [(section, None) for section in reversed(self.sections)]
        while stack:
            section, parent = stack.pop()
            yield section, parent
            stack.extend((child, section) for child in reversed(section.sections))

    def walk_items(self):
        """Every item in document order, with its section."""
        for section, _ in self.walk_sections():
            stack = list(reversed(section.items))
            while stack:
                item = stack.pop()
                yield item, section
                stack.extend(reversed(item.children))


def decode(data: bytes) -> str:
    """Bytes to text, refusing anything that is not UTF-8 text."""
    if b"\x00" in data:
        raise ChecklistError("this is not a text file (it contains NUL bytes)", _line_of(data, data.index(b"\x00")))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChecklistError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); save it as UTF-8",
            _line_of(data, exc.start),
        ) from None
    return text


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _plain(text: str) -> str:
    # Markup dropped, and "/" read as a word break so that "Pub/Sub" keys as "pub-sub".
    return _MARKUP.sub(lambda m: m.group(1) or "", text).replace("/", " ")


def item_slug(text: str) -> str:
    plain = _plain(text)
    words = [w for w in slugify(plain).split("-") if w]
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > ITEM_SLUG_MAX:
            break
        slug = candidate
    return slug or (words[0][:ITEM_SLUG_MAX] if words else "item")


def section_slug(title: str) -> str:
    title = re.sub(r"^\d+(\.\d+)*[.)]?\s+", "", title)
    return slugify(_plain(title)) or "section"


class _Parser:
    def __init__(self, text: str, default_title: str, max_items: int = MAX_ITEMS, max_depth: int = MAX_DEPTH):
        self.lines = text.splitlines()
        self.max_items, self.max_depth = max_items, max_depth
        self.checklist = Checklist(title="")
        self.default_title = default_title
        self.section: Section | None = None
        self.open_sections: list[Section] = []
        self.open_items: list[tuple[int, Item, list[str]]] = []  # (indent, item, raw guidance lines)
        self.guidance: dict[int, list[str]] = {}
        self.intro_lines: dict[int, list[str]] = {}
        self.item_count = 0

    def parse(self) -> Checklist:
        import ftfy  # here: 40 ms to import, which processes that never parse a checklist do not pay

        fence = None  # (marker, start line, owner item or None, lines)
        for number, raw in enumerate(self.lines, start=1):
            line = ftfy.fix_encoding(raw.expandtabs(4).rstrip())
            if fence is not None:
                fence[3].append(line)
                if line.strip().startswith(fence[0]) and line.strip().strip(fence[0][0]) == "":
                    self._close_fence(fence)
                    fence = None
                continue
            stripped = line.strip()
            indent = len(line) - len(line.lstrip(" "))
            if not stripped:
                self._blank()
                continue
            fence_match = _FENCE.match(stripped)
            if fence_match:
                owner = self._owner(indent)
                fence = (fence_match.group(1), number, owner, [line])
                continue
            self._line(line, stripped, indent, number)
        if fence is not None:
            raise ChecklistError("a fenced code block opened here is never closed", fence[1])
        self._finish()
        return self.checklist

    def _line(self, line: str, stripped: str, indent: int, number: int) -> None:
        heading = _HEADING.match(stripped) if indent < 4 else None
        if heading:
            self._heading(len(heading.group(1)), heading.group(2), number)
        elif _RULE.match(stripped):
            self.open_items.clear()
        elif _EMPTY_CHECKBOX.match(stripped):
            raise ChecklistError("a checkbox without any text", number)
        elif (match := _CHECKBOX.match(stripped)) is not None:
            marker = match.group("marker")
            numbered = marker[0].isdigit()
            self._item(match.group("text"), indent, number, checked=match.group("mark") != " ",
                       numbered=int(marker[:-1]) if numbered else None)
        elif (match := _NUMBERED.match(stripped)) is not None and self._in_checklist_heading():
            self._item(match.group("text"), indent, number, checked=False, numbered=int(match.group("number")))
        elif self.open_items and indent > self.open_items[0][0]:
            # Indented under an open item: guidance of the deepest item it is indented under.
            self._pop_items(indent)
            self.open_items[-1][2].append(line)
        else:
            self.open_items.clear()
            self._intro().append(line)

    def _heading(self, level: int, title: str, number: int) -> None:
        self.open_items.clear()
        if level == 1 and not self.checklist.title and not self.checklist.sections:
            self.checklist.title = title
            return
        level = max(level, 2)
        while self.open_sections and self.open_sections[-1].level >= level:
            self.open_sections.pop()
        section = Section(key="", title=title, level=level)
        if self.open_sections:
            self.open_sections[-1].sections.append(section)
        else:
            self.checklist.sections.append(section)
        self.open_sections.append(section)
        self.section = section

    def _in_checklist_heading(self) -> bool:
        title = self.section.title if self.section else self.checklist.title
        return "checklist" in title.lower()

    def _item(self, text: str, indent: int, number: int, *, checked: bool, numbered: int | None) -> None:
        self._pop_items(indent)
        explicit = _KEY_COMMENT.search(text)
        key = ""
        if explicit:
            key = explicit.group("key")
            text = text[: explicit.start()].rstrip()
            if not _VALID_KEY.match(key):
                raise ChecklistError(f"the key {key!r} is not valid (lowercase letters, digits, '.', '_', '-')", number)
        if not text.strip():
            raise ChecklistError("an item without any text", number)
        item = Item(key=key, text=text.strip(), line=number, checked=checked, explicit_key=bool(explicit),
                    kind="numbered" if numbered is not None else "checkbox", number=numbered)
        if self.item_count >= self.max_items:
            raise ChecklistError(f"the checklist holds more than {self.max_items:,} items; split it into "
                                 f"several templates", number)
        if len(self.open_items) > self.max_depth:
            raise ChecklistError(f"items are nested more than {self.max_depth} levels under one another", number)
        if self.open_items:
            parent = self.open_items[-1][1]
            parent.children.append(item)
        else:
            self._current_section().items.append(item)
        self.open_items.append((indent, item, []))
        self.guidance[id(item)] = self.open_items[-1][2]
        self.item_count += 1

    def _pop_items(self, indent: int) -> None:
        while self.open_items and self.open_items[-1][0] >= indent:
            self.open_items.pop()

    def _owner(self, indent: int) -> Item | None:
        # A code block belongs to the item above it (the nearest one it is indented under, or the last).
        while len(self.open_items) > 1 and self.open_items[-1][0] >= indent:
            self.open_items.pop()
        return self.open_items[-1][1] if self.open_items else None

    def _close_fence(self, fence) -> None:
        _, _, owner, lines = fence
        if owner is not None:
            self.guidance[id(owner)].extend(lines)
        else:
            self._intro().extend(lines)

    def _blank(self) -> None:
        for _, _, lines in self.open_items[-1:]:
            if lines:
                lines.append("")

    def _intro(self) -> list[str]:
        target = self.section if self.section else self.checklist
        return self.intro_lines.setdefault(id(target), [])

    def _current_section(self) -> Section:
        if self.section is None:
            self.section = Section(key="", title=GENERAL_SECTION, level=2)
            self.checklist.sections.append(self.section)
            self.open_sections.append(self.section)
        return self.section

    def _finish(self) -> None:
        if self.item_count == 0:
            raise ChecklistError(
                "the file holds no checklist item: write items as '- [ ] text' "
                "(or numbered entries under a heading with 'Checklist' in its title)"
            )
        checklist = self.checklist
        checklist.title = checklist.title.strip() or self.default_title
        checklist.intro = _block(self.intro_lines.get(id(checklist), []))
        for section, _ in checklist.walk_sections():
            section.intro = _block(self.intro_lines.get(id(section), []))
        for item, _ in checklist.walk_items():
            item.guidance = _block(self.guidance.get(id(item), []))
        assign_keys(checklist)


def _block(lines: list[str]) -> str:
    return textwrap.dedent("\n".join(lines)).strip("\n")


def assign_keys(checklist: Checklist) -> None:
    """Give every section and item a key unique in the checklist; explicit item keys win."""
    taken_sections: set[str] = set()
    for section, parent in checklist.walk_sections():
        base = section_slug(section.title)
        section.key = _unique(f"{parent.key}.{base}" if parent else base, taken_sections)
    explicit: dict[str, int] = {}
    for item, _ in checklist.walk_items():
        if item.explicit_key:
            if item.key in explicit:
                raise ChecklistError(f"the key {item.key!r} is used twice (first on line {explicit[item.key]})", item.line)
            explicit[item.key] = item.line
    taken_items = set(explicit)
    for item, section in checklist.walk_items():
        if not item.explicit_key:
            item.key = _unique(f"{section_slug(section.title)}.{item_slug(item.text)}", taken_items)
        for child in item.children:
            child.parent_key = item.key


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}-{n}", n + 1
    taken.add(candidate)
    return candidate


def parse(text: str, *, default_title: str = "Checklist", max_items: int = MAX_ITEMS,
          max_depth: int = MAX_DEPTH) -> Checklist:
    """Parse Markdown text; raises ChecklistError naming the line when the text is not a checklist
    (or holds more than `max_items` items, or nests items more than `max_depth` levels deep)."""
    if not text.strip():
        raise ChecklistError("the file is empty")
    return _Parser(text, default_title, max_items, max_depth).parse()


def render(checklist: Checklist, *, ticks: dict[str, bool] | None = None, notes: dict[str, str] | None = None) -> str:
    """Markdown for a checklist: one line per item, each ending in its key, which parse() reads back.

    `ticks` overrides each item's checked mark (a release's statuses); `notes` adds a line of details
    under an item (the release export's status, owner and evidence).
    """
    out = [f"# {checklist.title}", ""]
    if checklist.intro:
        out += [checklist.intro, ""]
    for section, _ in checklist.walk_sections():
        out += ["#" * section.level + " " + section.title, ""]
        if section.intro:
            out += [section.intro, ""]
        numbered_ok = "checklist" in section.title.lower()
        # Depth first with a stack, not recursion: a stored version may nest deeper than Python recurses.
        stack = [(item, 0) for item in reversed(section.items)]
        while stack:
            item, depth = stack.pop()
            _render_item(out, item, depth, numbered_ok, ticks or {}, notes or {})
            stack.extend((child, depth + 1) for child in reversed(item.children))
        if section.items:
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _render_item(out, item: Item, depth: int, numbered_ok: bool, ticks, notes) -> None:
    pad = "  " * depth
    checked = ticks.get(item.key, item.checked)
    box = "[x]" if checked else "[ ]"
    if item.kind == "numbered":
        marker = f"{item.number or 1}."
        head = f"{marker} {item.text}" if numbered_ok and not checked else f"{marker} {box} {item.text}"
    else:
        marker = "-"
        head = f"{marker} {box} {item.text}"
    out.append(f"{pad}{head} <!-- key: {item.key} -->")
    inner = pad + " " * (len(marker) + 1)
    for block in (notes.get(item.key, ""), item.guidance):
        for line in block.splitlines():
            out.append(f"{inner}{line}" if line else "")
