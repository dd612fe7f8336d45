"""One neutral tree, two renderings: Tableau's XML and the JSON image of it.

Handlers build `Node`s; `render()` turns the children of a `tsResponse` into bytes in the format
the client asked for. The XML carries Tableau's namespace and a schemaLocation naming the XSD of
the version in the request URL; the JSON follows Tableau's convention (attributes as strings,
collection members as arrays; see `tabsession._xml`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Format", "Node", "error_body", "node_from_item", "render"]

Format = Literal["xml", "json"]
NAMESPACE = "http://tableau.com/api"


@dataclass
class Node:
    """An element: attributes, children, optional text. `collection=True` makes JSON render the
    children as arrays keyed by their tag (`workbooks` → `{"workbook": [...]}`)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text: str | None = None
    collection: bool = False


def _attr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def node_from_item(tag: str, item: Mapping[str, Any], keep: Iterable[str] | None = None) -> Node:
    """An item dict → element: scalars become attributes, dicts child elements, lists collections
    of singular children (`tags: [{"label": "x"}]` → `<tags><tag label="x"/></tags>`).

    `keep`, when given, limits the output to those keys (the `fields` query parameter).
    Keys starting with `_` are internal and never rendered; None values are left out.
    """
    wanted = None if keep is None else set(keep)
    node = Node(tag)
    for key, value in item.items():
        if key.startswith("_") or value is None or (wanted is not None and key not in wanted):
            continue
        if isinstance(value, Mapping):
            node.children.append(node_from_item(key, value))
        elif isinstance(value, list):
            singular = key[:-3] + "y" if key.endswith("ies") else key[:-1]
            node.children.append(
                Node(key, children=[node_from_item(singular, v) for v in value], collection=True)
            )
        else:
            node.attrs[key] = _attr(value)
    return node


# -- XML -----------------------------------------------------------------------------------------


def _xml(node: Node, out: list[str]) -> None:
    out.append("<" + node.tag)
    for key, value in node.attrs.items():
        out.append(f" {key}={quoteattr(value)}")
    if not node.children and node.text is None:
        out.append("/>")
        return
    out.append(">")
    if node.text is not None:
        out.append(escape(node.text))
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


def _json(node: Node) -> Any:
    if not node.attrs and not node.children:
        return node.text if node.text is not None else {}
    out: dict[str, Any] = dict(node.attrs)
    if node.text is not None:
        out["value"] = node.text
    for child in node.children:
        value = _json(child)
        if node.collection:
            out.setdefault(child.tag, []).append(value)
        else:
            out[child.tag] = value
    return out


def render_json(children: list[Node]) -> bytes:
    return json.dumps(
        {child.tag: _json(child) for child in children}, separators=(",", ":")
    ).encode()


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
