"""Hide secrets in anything we print: values of secret-looking keys, passwords in URLs."""

from __future__ import annotations

import re
from typing import Any

MASK = "********"
# A key is secret when it contains one of these words (`pass` covers password, passwd).
_SECRET_WORDS = r"pass|secret|token|api[_-]?key|private[_-]?key|credential"
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE)
# The password runs to the '@' that is followed by the host, so an unescaped '@' or '/'
# inside the password is masked too rather than leaked.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\s?#]+)(?=@[^@/\s?#]*(?:[/?#\s]|$))",
    re.IGNORECASE,
)


# `password=...`, `token=...` and the like in free text: key=value DSNs (libpq's too),
# query strings, command output. Only secret keys match, so an ordinary `a=1,b` never
# swallows the pair after it. Quoted values run to their closing quote; unquoted ones to
# whitespace or `&` (a query string's separator; a password's own `&` is %26 there),
# and so does a quote left open (`password="ab` in an error about that very line):
# `,` and `;` may be part of a password, so `password=ab,cd` masks all of `ab,cd`.
_KEY_VALUE = re.compile(
    rf"""\b(?P<key>(?:[A-Za-z_][A-Za-z0-9_.-]*?)?(?:{_SECRET_WORDS})[A-Za-z0-9_.-]*)"""
    r"""(?P<eq>\s*=\s*)"""
    r"""(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&]+)""",
    re.IGNORECASE,
)


# `--requirepass x`, `--password=x`, `-auth-token x` in a command given as one string.
_FLAG_VALUE = re.compile(
    r"""(?P<flag>(?<!\S)--?[A-Za-z][A-Za-z0-9_.-]*)(?P<sep>=|\s+)"""
    r"""(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"-][^\s'"]*)"""
)
_FLAG_ONLY = re.compile(r"--?[A-Za-z][A-Za-z0-9_.-]*")


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def mask_text(text: str) -> str:
    """Passwords inside URLs, and values of secret-looking keys given as key=value or as
    command-line flags, in free text (error messages, DSNs, probe output). The one masking
    policy: everything printed goes through here or `mask_value`."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    text = _FLAG_VALUE.sub(
        lambda m: (
            m.group("flag") + m.group("sep") + MASK
            if is_secret_key(m.group("flag")) and m.group("value") != MASK
            else m.group(0)
        ),
        text,
    )
    return _KEY_VALUE.sub(
        lambda m: m.group(0) if m.group("value") == MASK else m.group("key") + m.group("eq") + MASK,
        text,
    )


def mask_value(key: str, value: Any, show: bool = False) -> Any:
    if show or value is None:
        return value
    if is_secret_key(key) and value != "":
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return _mask_argv(key, value)
    return value


def _mask_argv(key: str, items: list[Any]) -> list[Any]:
    """A list such as a command: the item after a secret flag (`--requirepass`) is masked."""
    masked: list[Any] = []
    after_secret_flag = False
    for item in items:
        if after_secret_flag and item is not None and item != "":
            masked.append(MASK)
        else:
            masked.append(mask_value(key, item))
        after_secret_flag = (
            isinstance(item, str) and bool(_FLAG_ONLY.fullmatch(item)) and is_secret_key(item)
        )
    return masked
