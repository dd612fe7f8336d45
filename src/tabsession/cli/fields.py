"""`-f key=value` and `-F key=value` fields, as `gh api` reads them.

- `-f` (raw): the value is a string, as given.
- `-F` (typed): `true`, `false`, `null` and numbers become JSON values; `@file` is the file's
  contents (`@-`: stdin); anything else is a string.
- Keys nest with brackets: `-f 'project[name]=Sales'` → `{"project": {"name": "Sales"}}`;
  `key[]=v` appends to a list.

For GET (and DELETE) requests the fields become query parameters; otherwise the JSON body.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["FieldError", "build", "parse_field", "typed_value"]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class FieldError(ValueError):
    """A field that cannot be read (bad syntax, unreadable @file)."""


def typed_value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+([eE][-+]?\d+)?", text):
        return float(text)
    if text.startswith("@"):
        name = text[1:]
        try:
            raw = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise FieldError(f"cannot read {name}: {exc.strerror or exc}") from None
        return raw
    return text


def parse_field(text: str, *, typed: bool) -> tuple[list[str], Any]:
    """`a[b][]=v` → (["a", "b", ""], v)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise FieldError(f"{text!r}: a field is key=value")
    match = _KEY.match(key)
    if match is None:
        raise FieldError(f"{key!r}: keys are name or name[sub][...]")
    path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
    return path, typed_value(value) if typed else value


def _insert(target: dict[str, Any], path: list[str], value: Any) -> None:
    node: Any = target
    for index, part in enumerate(path):
        last = index == len(path) - 1
        following = None if last else path[index + 1]
        if part == "":
            if not isinstance(node, list):
                raise FieldError(f"{'.'.join(path)}: [] must follow a list key")
            if last:
                node.append(value)
                return
            node.append([] if following == "" else {})
            node = node[-1]
            continue
        if not isinstance(node, dict):
            raise FieldError(f"{'.'.join(path)}: mixes a list and an object")
        if last:
            node[part] = value
            return
        node = node.setdefault(part, [] if following == "" else {})


def build(raw: list[str], typed: list[str]) -> dict[str, Any]:
    """All fields as one nested object, in the order given (-f first, then -F)."""
    data: dict[str, Any] = {}
    for text in raw:
        _insert(data, *parse_field(text, typed=False))
    for text in typed:
        _insert(data, *parse_field(text, typed=True))
    return data


def as_query(data: dict[str, Any]) -> dict[str, str]:
    """Fields as query parameters: nested values are not allowed there."""
    params: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            raise FieldError(f"{key}: a query parameter cannot be nested")
        params[key] = json.dumps(value) if not isinstance(value, str) else value
    return params
