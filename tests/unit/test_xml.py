"""The Tableau XML → JSON convention of `tabsession._xml` and its hardened parser."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import pytest

from tabsession._xml import XmlError, element_to_dict, local_name, parse, xml_to_dict

NS = "http://tableau.com/api"


def ts(inner: str, ns: str = NS) -> bytes:
    return f'<tsResponse xmlns="{ns}">{inner}</tsResponse>'.encode()


def test_attributes_become_string_properties() -> None:
    data = xml_to_dict(ts('<pagination pageNumber="2" pageSize="100" totalAvailable="250"/>'))
    assert data == {"pagination": {"pageNumber": "2", "pageSize": "100", "totalAvailable": "250"}}


def test_the_root_is_unwrapped_and_namespaces_dropped() -> None:
    data = xml_to_dict(
        ts('<credentials token="t"><site id="s" contentUrl="mkt"/><user id="u"/></credentials>')
    )
    assert data == {
        "credentials": {"token": "t", "site": {"id": "s", "contentUrl": "mkt"}, "user": {"id": "u"}}
    }


def test_namespaced_attributes_are_left_out() -> None:
    body = (
        f'<tsResponse xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{NS} https://x/ts-api_3_23.xsd"><site id="s"/></tsResponse>'
    )
    assert xml_to_dict(body) == {"site": {"id": "s"}}


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("workbooks", "workbook"),
        ("backgroundJobs", "backgroundJob"),
        ("statuses", "status"),
        ("properties", "property"),
        ("tags", "tag"),
    ],
)
def test_members_of_a_plural_parent_are_a_list_even_when_alone(parent: str, child: str) -> None:
    one = xml_to_dict(ts(f'<{parent}><{child} id="a"/></{parent}>'))
    assert one == {parent: {child: [{"id": "a"}]}}
    two = xml_to_dict(ts(f'<{parent}><{child} id="a"/><{child} id="b"/></{parent}>'))
    assert two == {parent: {child: [{"id": "a"}, {"id": "b"}]}}


def test_a_repeated_tag_is_a_list_whatever_its_parent() -> None:
    data = xml_to_dict(ts('<group><member id="1"/><member id="2"/></group>'))
    assert data == {"group": {"member": [{"id": "1"}, {"id": "2"}]}}


def test_a_single_child_of_a_non_plural_parent_is_an_object() -> None:
    data = xml_to_dict(
        ts('<workbook id="w"><project id="p" name="Sales"/><owner id="o"/></workbook>')
    )
    assert data == {
        "workbook": {"id": "w", "project": {"id": "p", "name": "Sales"}, "owner": {"id": "o"}}
    }


def test_text_only_elements_become_their_text() -> None:
    data = xml_to_dict(
        ts(
            '<serverInfo><productVersion build="20242.24">2024.2.0</productVersion>'
            "<restApiVersion> 3.23 </restApiVersion></serverInfo>"
        )
    )
    assert data == {
        "serverInfo": {
            "productVersion": {"build": "20242.24", "value": "2024.2.0"},
            "restApiVersion": "3.23",
        }
    }


def test_empty_elements_are_empty_objects() -> None:
    assert xml_to_dict(ts("<workbooks/>")) == {"workbooks": {}}
    assert xml_to_dict(ts("<workbook id='w'><tags/></workbook>")) == {
        "workbook": {"id": "w", "tags": {}}
    }
    assert xml_to_dict(ts("<name>   </name>")) == {"name": {}}


def test_a_full_list_answer() -> None:
    body = ts(
        '<pagination pageNumber="1" pageSize="2" totalAvailable="3"/>'
        "<workbooks>"
        '<workbook id="w1" name="A"><project id="p"/><tags><tag label="x"/></tags></workbook>'
        '<workbook id="w2" name="B"><project id="p"/><tags/></workbook>'
        "</workbooks>"
    )
    assert xml_to_dict(body) == {
        "pagination": {"pageNumber": "1", "pageSize": "2", "totalAvailable": "3"},
        "workbooks": {
            "workbook": [
                {
                    "id": "w1",
                    "name": "A",
                    "project": {"id": "p"},
                    "tags": {"tag": [{"label": "x"}]},
                },
                {"id": "w2", "name": "B", "project": {"id": "p"}, "tags": {}},
            ]
        },
    }


def test_a_root_with_only_text_is_an_empty_document() -> None:
    assert xml_to_dict("<tsResponse>just text</tsResponse>") == {}
    assert xml_to_dict("<tsResponse/>") == {}


def test_element_to_dict_converts_one_element_without_its_tag() -> None:
    element = Element("project", {"id": "p"})
    assert element_to_dict(element) == {"id": "p"}
    element.text = "hello"
    assert element_to_dict(element) == {"id": "p", "value": "hello"}


def test_local_name() -> None:
    assert local_name("{http://tableau.com/api}workbook") == "workbook"
    assert local_name("workbook") == "workbook"


def test_str_and_bytes_are_both_accepted() -> None:
    assert xml_to_dict('<tsResponse><site id="s"/></tsResponse>') == {"site": {"id": "s"}}
    assert xml_to_dict(b'<tsResponse><site id="s"/></tsResponse>') == {"site": {"id": "s"}}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<tsResponse>",
        b"<a></b>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_malformed_or_unsafe_xml_raises_xml_error(body: bytes) -> None:
    with pytest.raises(XmlError):
        parse(body)
    with pytest.raises(XmlError):
        xml_to_dict(body)


def test_xml_error_is_a_value_error() -> None:
    assert issubclass(XmlError, ValueError)
