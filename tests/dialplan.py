"""A small reader of the shipped extensions.conf for tests: contexts, their
extensions (with Asterisk's pattern rules), includes, and the applications
and functions each priority uses.  Enough to ask "does `agents,13912345678`
exist?" the way pbx.c would answer it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DIALPLAN = Path(__file__).resolve().parent.parent / "asterisk" / "extensions.conf"


@dataclass
class Context:
    name: str
    extens: dict[str, list[str]] = field(default_factory=dict)  # exten -> app(data) lines, in order
    includes: list[str] = field(default_factory=list)


def load(path: Path = DIALPLAN) -> dict[str, Context]:
    contexts: dict[str, Context] = {}
    ctx: Context | None = None
    last = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if m := re.match(r"^\[([^\]]+)\]", line):
            ctx = contexts.setdefault(m.group(1), Context(m.group(1)))
            continue
        if ctx is None or ctx.name in ("general", "globals"):
            continue
        key, _, value = line.partition("=>")
        key = key.strip()
        value = value.strip()
        if key == "include":
            ctx.includes.append(value)
        elif key == "exten":
            exten, _prio, app = (p.strip() for p in value.split(",", 2))
            last = exten
            ctx.extens.setdefault(exten, []).append(app)
        elif key == "same":
            _prio, app = (p.strip() for p in value.split(",", 1))
            ctx.extens[last].append(app)
    return contexts


def _strip_comment(line: str) -> str:
    """Drop a ; comment (a \\; is a literal semicolon)."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        if line[i] == ";":
            break
        out.append(line[i])
        i += 1
    return "".join(out)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """An Asterisk extension pattern as a regex (pbx.c ext_cmp rules):
    X 0-9, Z 1-9, N 2-9, [..] a set with ranges, '.' one or more of
    anything, '!' zero or more; anything else is literal."""
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern) + r"\Z")
    out, i, p = [], 0, pattern[1:]
    while i < len(p):
        c = p[i]
        if c == "X":
            out.append("[0-9]")
        elif c == "Z":
            out.append("[1-9]")
        elif c == "N":
            out.append("[2-9]")
        elif c == "[":
            j = p.index("]", i)
            out.append("[" + p[i + 1 : j].replace("\\", "\\\\") + "]")
            i = j
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def find(contexts: dict[str, Context], context: str, exten: str, _seen: frozenset[str] = frozenset()) -> str | None:
    """The extension (pattern) of `context` that `exten` runs, following
    includes; None if Asterisk would answer "no such extension"."""
    ctx = contexts.get(context)
    if ctx is None or context in _seen:
        return None
    for pat in ctx.extens:
        if pattern_regex(pat).match(exten):
            return pat
    for inc in ctx.includes:
        if (hit := find(contexts, inc, exten, _seen | {context})) is not None:
            return hit
    return None


def applications(contexts: dict[str, Context]) -> set[str]:
    """Every application the dialplan runs, including those inside ExecIf(...?App(...))."""
    apps = set()
    for ctx in contexts.values():
        for lines in ctx.extens.values():
            for line in lines:
                if line.startswith("hint"):
                    continue
                apps.add(re.match(r"^([A-Za-z]+)", line).group(1))  # type: ignore[union-attr]
                apps.update(re.findall(r"\?\s*([A-Z][A-Za-z]+)\(", line))
    return apps


def functions(text: str) -> set[str]:
    """Every dialplan function called as ${FUNC(...)} or written as Set(FUNC(...)=...)."""
    found = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\(", text))
    found |= set(re.findall(r"Set\(([A-Z][A-Z0-9_]*)\([^)]*\)=", text))
    return found
