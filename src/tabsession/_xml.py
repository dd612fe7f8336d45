"""Hardened XML parsing and the Tableau XML ↔ JSON convention, in one place.

Tableau answers in XML or JSON. Its JSON is a mechanical image of its XML, and tabsession uses
that image everywhere (the client returns it, the emulator parses request bodies into it):

- attributes become string-valued properties: `<pagination pageNumber="1"/>` →
  `{"pagination": {"pageNumber": "1"}}`;
- child elements become properties named by their tag; members of a collection (a tag repeated,
  or a child of its plural: `workbooks/workbook`, `backgroundJobs/backgroundJob`) become arrays;
- element text becomes the value itself when the element has no attributes or children
  (`<restApiVersion>3.23</restApiVersion>` → `"restApiVersion": "3.23"`), otherwise `"value"`.

Parsing refuses DTDs, entity declarations and external references (billion laughs, XXE): see
`parse()`.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = [
    "MAX_DEPTH",
    "TABLEAU_NAMESPACES",
    "XmlError",
    "element_to_dict",
    "local_name",
    "parse",
    "xml_to_dict",
]

TABLEAU_NAMESPACES = ("http://tableau.com/api", "http://tableausoftware.com/api")
MAX_DEPTH = 200
"""Deeper documents are refused: Tableau's own nest a dozen levels at most."""


class XmlError(ValueError):
    """The bytes are not safe, well-formed XML."""


def parse(data: bytes | str) -> Element:
    """Parse untrusted XML: no DTD, no entities, no external references."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)  # type: ignore[no-any-return]
    except DefusedXmlException as exc:
        raise XmlError(f"refused unsafe XML ({type(exc).__name__})") from None
    except Exception as exc:  # ParseError and friends; defusedxml re-raises expat's errors
        raise XmlError(f"malformed XML: {exc}") from None


def local_name(tag: str) -> str:
    """`{http://tableau.com/api}workbook` → `workbook`."""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _is_collection(parent: str, child: str) -> bool:
    return (
        parent == child + "s"
        or parent == child + "es"
        or (child.endswith("y") and parent == child[:-1] + "ies")
    )


def element_to_dict(element: Element, depth: int = 0) -> Any:
    """Convert one element (not including its own tag) by the convention above; `XmlError`
    when elements nest deeper than `MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        raise XmlError(f"refused XML nested deeper than {MAX_DEPTH} elements")
    attrs = {local_name(k): v for k, v in element.attrib.items() if not k.startswith("{")}
    children = list(element)
    text = (element.text or "").strip()
    if not attrs and not children:
        # `<tags/>` is an empty object in Tableau's JSON; `<name>x</name>` is the string "x".
        return text if text else {}
    out: dict[str, Any] = dict(attrs)
    if text:
        out["value"] = text
    tag = local_name(element.tag)
    groups: dict[str, list[Any]] = {}
    for child in children:
        groups.setdefault(local_name(child.tag), []).append(element_to_dict(child, depth + 1))
    for name, values in groups.items():
        if len(values) > 1 or _is_collection(tag, name):
            out[name] = values
        else:
            out[name] = values[0]
    return out


def xml_to_dict(data: bytes | str) -> dict[str, Any]:
    """Parse a `tsResponse`/`tsRequest` document into the JSON shape Tableau would have sent.

    The root element is unwrapped: `<tsResponse><credentials .../></tsResponse>` →
    `{"credentials": {...}}`.
    """
    root = parse(data)
    converted = element_to_dict(root)
    return converted if isinstance(converted, dict) else {}
