"""Reading SQL files: checksums, the no-transaction marker, statement boundaries, lines.

Transactional migrations are sent to PostgreSQL whole, in one simple-query `execute`,
so PostgreSQL's own parser decides where statements end. The splitter below is used
only where that cannot work: files that opt out of the transaction (PostgreSQL runs a
multi-statement query string as one implicit transaction, which CREATE INDEX
CONCURRENTLY refuses) and locating the failing statement of an error that carries no
position. It follows psql's lexer: quotes, E'' strings, quoted identifiers, dollar
quotes, nested block comments, parentheses and BEGIN ... END bodies of
CREATE FUNCTION/PROCEDURE (BEGIN ATOMIC). Splitting on every ';' would break all of
those (golang-migrate #590, #698).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# On a line of its own (anywhere in the file, conventionally the first line).
NO_TRANSACTION_MARKER = "-- provisioner:no-transaction"
_MARKER_RE = re.compile(r"^[ \t]*--[ \t]*provisioner:no-transaction[ \t]*$", re.MULTILINE)

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]")
_IDENT = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_PLPGSQL_LINE = re.compile(r"(?:inline_code_block|function [^\s]+) line (\d+)")


def normalize(text: str) -> str:
    """The text as executed and checksummed: no BOM, LF line ends.

    A checkout with CRLF line ends (git autocrlf) must not count as an edited file.
    """
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def read_sql(path: Path) -> str:
    return normalize(path.read_bytes().decode("utf-8"))


def checksum(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def has_no_transaction_marker(text: str) -> bool:
    return _MARKER_RE.search(text) is not None


def line_of(text: str, offset: int) -> int:
    """1-based line of a 0-based character offset."""
    return text.count("\n", 0, max(0, min(offset, len(text)))) + 1


def line_of_position(text: str, position: int) -> int:
    """1-based line of PostgreSQL's 1-based character `statement_position`."""
    return line_of(text, position - 1)


def line_text(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def plpgsql_line(context: str | None) -> int | None:
    """Line inside a DO/function body from an error CONTEXT, e.g. 'inline_code_block line 3'."""
    if not context:
        return None
    match = _PLPGSQL_LINE.search(context)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Statement:
    start: int  # offset in the file of the statement's first token
    end: int  # offset just past its ';' (or the end of the file)
    text: str  # file[start:end]
    first_word: str  # upper-cased first keyword ('' when it starts with a symbol)


def split_statements(text: str) -> list[Statement]:
    """Top-level statements of `text`, comments between them left out."""
    statements: list[Statement] = []
    i, n = 0, len(text)
    start: int | None = None
    paren = 0
    idents: list[str] = []  # first few keywords, for the CREATE FUNCTION heuristic
    begin_depth = 0

    def finish(end: int) -> None:
        nonlocal start, paren, idents, begin_depth
        if start is not None and text[start:end] != ";":  # empty statements are no-ops
            first = idents[0].upper() if idents else ""
            statements.append(Statement(start, end, text[start:end], first))
        start, paren, idents, begin_depth = None, 0, [], 0

    while i < n:
        ch = text[i]
        if ch in " \t\r\n\f":
            i += 1
            continue
        if text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if text.startswith("/*", i):
            i = _skip_block_comment(text, i)
            continue
        if start is None:
            start = i
        if ch == ";":
            if paren == 0 and begin_depth == 0:
                finish(i + 1)
            i += 1
            continue
        if ch == "(":
            paren += 1
        elif ch == ")":
            paren = max(0, paren - 1)
        if ch == "'":
            escapes = i > 0 and text[i - 1] in "eE" and not _is_ident_char(text, i - 2)
            i = _skip_quoted(text, i, "'", backslash=escapes)
            continue
        if ch == '"':
            i = _skip_quoted(text, i, '"', backslash=False)
            continue
        if ch == "$" and not _is_ident_char(text, i - 1):
            tag = _DOLLAR_TAG.match(text, i)
            if tag:
                close = text.find(tag.group(0), tag.end())
                i = n if close < 0 else close + len(tag.group(0))
                continue
        ident = _IDENT.match(text, i) if not _is_ident_char(text, i - 1) else None
        if ident:
            word = ident.group(0).lower()
            idents.append(word)
            if _in_routine_header(idents) and paren == 0:
                if word == "begin" or (word == "case" and begin_depth >= 1):
                    begin_depth += 1  # CASE also ends with END, inside a BEGIN body
                elif word == "end" and begin_depth > 0:
                    begin_depth -= 1
            i = ident.end()
            continue
        i += 1
    if start is not None:
        finish(start + len(text[start:].rstrip()))  # a last statement without ';'
    return statements


def _in_routine_header(idents: list[str]) -> bool:
    """CREATE [OR REPLACE] FUNCTION|PROCEDURE, as psql's lexer checks it."""
    head = idents[:4]
    if len(head) >= 2 and head[0] == "create":
        if head[1] in ("function", "procedure"):
            return True
        return head[1:3] == ["or", "replace"] and head[3:4] in (["function"], ["procedure"])
    return False


def _is_ident_char(text: str, i: int) -> bool:
    return i >= 0 and _IDENT_CHAR.match(text[i]) is not None


def _skip_block_comment(text: str, i: int) -> int:
    depth, i, n = 0, i, len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_quoted(text: str, i: int, quote: str, *, backslash: bool) -> int:
    """Past the closing quote; a doubled quote is an escaped one."""
    i, n = i + 1, len(text)
    while i < n:
        ch = text[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def error_line(
    text: str, statement_offset: int, position: int | None, context: str | None, statement_text: str
) -> int:
    """Best line in the file for an error raised by a statement starting at `statement_offset`.

    `position` is PostgreSQL's 1-based position in `statement_text`; without one, a
    PL/pgSQL 'line N' in the error context points inside the first dollar-quoted body.
    """
    if position:
        return line_of(text, statement_offset + position - 1)
    inner = plpgsql_line(context)
    if inner is not None:
        tag = _DOLLAR_TAG.search(statement_text)
        if tag:
            return line_of(text, statement_offset + tag.start()) + inner - 1
    return line_of(text, statement_offset)
