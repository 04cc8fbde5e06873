"""Scripted replies: rules loaded from a YAML or JSON file, matched on the prompt.

File shape (a bare list of rules is accepted too):

    rules:
      - contains: "weather"          # case-insensitive substring
        reply: "It is sunny in Paris."
      - regex: "translate (\\w+)"     # Python regex, searched; \\1 etc. expand in reply
        reply: "Translated: \\1"
    default: "I have no script for that."   # optional; else the fixed reply is used
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Rule:
    reply: str
    contains: str | None = None
    pattern: re.Pattern[str] | None = None

    def match(self, prompt: str) -> str | None:
        if self.pattern is not None:
            found = self.pattern.search(prompt)
            return found.expand(self.reply) if found else None
        if self.contains is not None and self.contains in prompt.lower():
            return self.reply
        return None


@dataclass(frozen=True)
class Script:
    rules: tuple[Rule, ...]
    default: str | None = None

    def reply_for(self, prompt: str) -> str | None:
        for rule in self.rules:
            reply = rule.match(prompt)
            if reply is not None:
                return reply
        return self.default


def parse(data: Any, source: str = "script") -> Script:
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise ValueError(f"{source}: expected a mapping with a 'rules' list")
    rules: list[Rule] = []
    for i, raw in enumerate(data.get("rules", [])):
        if not isinstance(raw, dict) or not isinstance(raw.get("reply"), str):
            raise ValueError(f"{source}: rule {i} needs a string 'reply'")
        if isinstance(raw.get("regex"), str):
            try:
                pattern = re.compile(raw["regex"], re.IGNORECASE | re.DOTALL)
            except re.error as exc:
                raise ValueError(f"{source}: rule {i} has a bad regex: {exc}") from exc
            rules.append(Rule(reply=raw["reply"], pattern=pattern))
        elif isinstance(raw.get("contains"), str):
            rules.append(Rule(reply=raw["reply"], contains=raw["contains"].lower()))
        else:
            raise ValueError(f"{source}: rule {i} needs 'contains' or 'regex'")
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise ValueError(f"{source}: 'default' must be a string")
    return Script(rules=tuple(rules), default=default)


def load(path: str) -> Script:
    """The script file, or ValueError saying what is wrong with it (one line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read script file {path}: {exc}") from exc
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    else:
        import yaml  # only needed for YAML scripts

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    return parse(data, source=path)
