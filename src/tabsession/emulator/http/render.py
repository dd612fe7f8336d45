"""One neutral tree, two renderings: Tableau's XML and the JSON image of it.

Handlers build `Node`s; `render()` turns the children of a `tsResponse` into bytes in the format
the client asked for. The XML carries Tableau's namespace and a schemaLocation naming the XSD of
the version in the request URL; the JSON follows Tableau's convention (attributes as strings,
collection members as arrays; see `tabsession._xml`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

__all__ = ["CHILD_ORDER", "Format", "Node", "Text", "error_body", "node_from_item", "render"]

Format = Literal["xml", "json"]
NAMESPACE = "http://tableau.com/api"
_SPECIAL = re.compile(r'[&<>"]')
# Characters XML 1.0 cannot carry even escaped (C0 controls other than tab/LF/CR, lone
# surrogates, U+FFFE/U+FFFF). Client input echoed back (a name, a path in an error detail) may
# hold them: they become U+FFFD so every body stays well-formed.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    if value.isascii() and value.isprintable():
        return value  # the common case, checked in C
    return _NOT_XML.sub("\ufffd", value)


class Text(str):
    """An item value rendered as a child element holding only text (`<notes>...</notes>`),
    where a plain `str` would be an attribute. In JSON it is a plain string member."""

    __slots__ = ()


CHILD_ORDER: dict[str, tuple[str, ...]] = {
    "workbook": (
        "connections", "connectionCredentials", "site", "project", "location", "owner", "tags",
        "views", "dataAccelerationConfig", "dataFreshnessPolicy",
    ),
    "view": (
        "workbook", "owner", "project", "tags", "usage", "dataAccelerationConfig", "location",
    ),
    "datasource": (
        "connectionCredentials", "site", "project", "location", "owner", "tags",
        "parentDataSourceUrls",
    ),
    "flow": ("site", "project", "owner", "tags", "parameters"),
    "project": ("owner", "contentsCounts"),
    "user": ("domain", "groups", "publishingLimits"),
    "group": ("domain", "import"),
    "site": ("usage", "settings", "siteSettings"),
    "job": (
        "statusNotes", "updateUploadedFileJob", "extractRefreshJob", "subscriptionJobType",
        "runFlowJobType", "extractCreationJob", "thumbnailsRefreshJob",
    ),
    "extractRefreshJob": ("notes", "datasource", "view", "virtualConnection", "workbook"),
    "extractRefresh": ("schedule", "datasource", "view", "workbook"),
    "schedule": ("frequencyDetails",),
}  # fmt: skip
"""The order Tableau's schema gives the child elements of each element (its `xs:sequence`).
Items may hold their children in any order; the XML follows this one."""

_RANK = {tag: {name: i for i, name in enumerate(names)} for tag, names in CHILD_ORDER.items()}


@dataclass
class Node:
    """An element: attributes, children, optional text. `collection=True` makes JSON render the
    children as arrays keyed by their tag (`workbooks` → `{"workbook": [...]}`)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text: str | None = None
    collection: bool = False
    item: Mapping[str, Any] | None = None
    """Set by `node_from_item`: the element is rendered straight from this dict, which is much
    cheaper than a node per attribute and child for each of a thousand listed items."""
    key: Hashable | None = None
    """Optional: equal keys promise equal renderings of `item`, which are then remembered."""


_MEMO_LIMIT = 100_000
_memo: dict[tuple[str, Hashable], Any] = {}
"""Renderings of keyed items, per format. A pure cache (it only saves time), emptied when full;
plain dict operations are atomic, so threads share it without a lock."""


def _remember(fmt: str, key: Hashable, value: Any) -> Any:
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[(fmt, key)] = value
    return value


def _attr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def node_from_item(
    tag: str,
    item: Mapping[str, Any],
    keep: Iterable[str] | None = None,
    *,
    key: Hashable | None = None,
) -> Node:
    """An item dict → element: scalars become attributes, dicts child elements, lists collections
    of singular children (`tags: [{"label": "x"}]` → `<tags><tag label="x"/></tags>`).

    `keep`, when given, limits the output to those keys. Keys starting with `_` are internal and
    never rendered; None values are left out. The dict is rendered when the reply is, so the
    caller hands over a copy it no longer changes. `key`, when given, must change whenever the
    rendering would (for content: the tag and the item's revision); renderings are then reused.
    """
    if keep is not None:
        wanted = set(keep)
        item = {k: v for k, v in item.items() if k in wanted}
        key = None if key is None else (key, tuple(sorted(wanted)))
    return Node(tag, item=item, key=key)


def _singular(plural: str) -> str:
    return plural[:-3] + "y" if plural.endswith("ies") else plural[:-1]


def _split(
    item: Mapping[str, Any], tag: str = ""
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(attributes, child elements) of an item without internal keys and Nones: attributes in
    the item's order, children in the schema's order for `tag` (see `CHILD_ORDER`)."""
    attrs: list[tuple[str, Any]] = []
    nested: list[tuple[str, Any]] = []
    for key, value in item.items():
        if value is None or key[:1] == "_":
            continue
        kind = type(value)
        if (
            kind is dict
            or kind is list
            or kind is Text
            or (kind is not str and isinstance(value, Mapping))
        ):
            nested.append((key, value))
        else:
            attrs.append((key, value))
    rank = _RANK.get(tag)
    if rank is not None and len(nested) > 1:
        last = len(rank)
        nested.sort(key=lambda pair: rank.get(pair[0], last))
    return attrs, nested


# -- XML -----------------------------------------------------------------------------------------


def _quote(value: Any) -> str:
    """An attribute value, quoted and escaped (fast path for plain ASCII, the usual case)."""
    text = value if type(value) is str else _attr(value)
    if text.isascii() and text.isprintable() and _SPECIAL.search(text) is None:
        return f'"{text}"'
    return quoteattr(_xml_text(text))


def _xml_item(tag: str, item: Mapping[str, Any], out: list[str]) -> None:
    attrs, nested = _split(item, tag)
    out.append("<" + tag + "".join([f" {key}={_quote(value)}" for key, value in attrs]))
    if not nested:
        out.append("/>")
        return
    out.append(">")
    for key, value in nested:
        if type(value) is Text:
            out.append(f"<{key}>{escape(_xml_text(value))}</{key}>" if value else f"<{key}/>")
        elif isinstance(value, list):
            if not value:
                out.append(f"<{key}/>")
                continue
            out.append(f"<{key}>")
            singular = _singular(key)
            for member in value:
                _xml_item(singular, member, out)
            out.append(f"</{key}>")
        else:
            _xml_item(key, value, out)
    out.append(f"</{tag}>")


def _xml(node: Node, out: list[str]) -> None:
    if node.item is not None:
        if node.key is None:
            _xml_item(node.tag, node.item, out)
            return
        fragment = _memo.get(("xml", node.key))
        if fragment is None:
            parts: list[str] = []
            _xml_item(node.tag, node.item, parts)
            fragment = _remember("xml", node.key, "".join(parts))
        out.append(fragment)
        return
    out.append("<" + node.tag)
    for key, value in node.attrs.items():
        out.append(f" {key}={_quote(value)}")
    if not node.children and node.text is None:
        out.append("/>")
        return
    out.append(">")
    if node.text is not None:
        out.append(escape(_xml_text(node.text)))
    for child in node.children:
        _xml(child, out)
    out.append(f"</{node.tag}>")


def schema_location(version: str) -> str:
    return (
        f"{NAMESPACE} https://help.tableau.com/samples/en-us/rest_api/"
        f"ts-api_{version.replace('.', '_')}.xsd"
    )


def render_xml(children: list[Node], version: str) -> bytes:
    out = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<tsResponse xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{schema_location(version)}">',
    ]
    for child in children:
        _xml(child, out)
    out.append("</tsResponse>")
    return "".join(out).encode()


# -- JSON ----------------------------------------------------------------------------------------


def _json_item(item: Mapping[str, Any]) -> dict[str, Any]:
    attrs, nested = _split(item)
    out: dict[str, Any] = {key: _attr(value) for key, value in attrs}
    for key, value in nested:
        if type(value) is Text:
            out[key] = str(value) if value else {}  # an empty element is {} in Tableau's JSON
        elif isinstance(value, list):
            out[key] = {_singular(key): [_json_item(v) for v in value]} if value else {}
        else:
            out[key] = _json_item(value)
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _json_text(node: Node) -> str:
    """One element as JSON text (remembered renderings are reused as text)."""
    if node.item is not None:
        if node.key is None:
            return _dumps(_json_item(node.item))
        text = _memo.get(("json", node.key))
        if text is None:
            text = _remember("json", node.key, _dumps(_json_item(node.item)))
        return str(text)
    if not node.attrs and not node.children:
        return _dumps(node.text if node.text is not None else {})
    members = {key: _dumps(value) for key, value in node.attrs.items()}
    if node.text is not None:
        members["value"] = _dumps(node.text)
    if node.collection:
        arrays: dict[str, list[str]] = {}
        for child in node.children:
            arrays.setdefault(child.tag, []).append(_json_text(child))
        members.update({tag: "[" + ",".join(texts) + "]" for tag, texts in arrays.items()})
    else:
        members.update({child.tag: _json_text(child) for child in node.children})
    return _object(members)


def _object(members: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{_dumps(key)}:{text}" for key, text in members.items()) + "}"


def render_json(children: list[Node]) -> bytes:
    return _object({child.tag: _json_text(child) for child in children}).encode()


def render(children: list[Node], fmt: Format, version: str) -> bytes:
    """The body of a `tsResponse` holding `children`, as XML or JSON."""
    return render_json(children) if fmt == "json" else render_xml(children, version)


def error_body(code: str, summary: str, detail: str, fmt: Format, version: str) -> bytes:
    if fmt == "json":
        return json.dumps({"error": {"summary": summary, "detail": detail, "code": code}}).encode()
    error = Node(
        "error",
        {"code": code},
        [Node("summary", text=summary), Node("detail", text=detail)],
    )
    return render_xml([error], version)
