"""A rule that cannot be applied to a document says where it failed and why.

A failed cast names the value, the path and the type, also on an element with attributes (where the cast
applies to its '#text'); an error inside a rule names the rule set, the path and the error's type; a root
path that is not in the document names its first prefix the document lacks.
"""

from __future__ import annotations

import pytest

from handlers.transform.rules import RuleApplicationError, RuleSet, parse_rule_set
from handlers.transform.transform import transform_document


def test_a_failed_cast_of_text_beside_attributes_names_the_value_and_element_path() -> None:
    # GIVEN an element with an attribute whose text is not a number, and a float cast of that element
    xml = b'<r><n unit="kg">abc</n></r>'
    rules = parse_rule_set({"ruleId": "t", "cast": {"r/n": "float"}})
    # WHEN the document is transformed
    # THEN the cast fails as a cast, naming the text, the element's path and the type
    with pytest.raises(RuleApplicationError, match=r"^cannot cast 'abc' at 'r/n' to float: "):
        transform_document(xml, rules)


def test_an_error_inside_a_rule_names_the_rule_set_the_path_and_the_errors_type() -> None:
    # GIVEN a rule set that bypassed validation and casts the amount's text twice (the second cast meets
    # a float, not text)
    xml = b'<orders><order id="1"><amount currency="EUR">12.50</amount></order></orders>'
    rules = RuleSet(
        rule_id="double-cast",
        cast=(("orders/order/amount", "float"), ("orders/order/amount/#text", "float")),
    )
    # WHEN the document is transformed
    # THEN the failure names the rule set, where it failed and the kind of error it met there
    with pytest.raises(
        RuleApplicationError,
        match=r"^rule set 'double-cast' cannot be applied at 'orders/order/amount' \(TypeError: ",
    ):
        transform_document(xml, rules)


@pytest.mark.parametrize(
    ("xml", "missing"),
    [
        (b"<q><a><b><x/></b></a></q>", "r"),
        (b"<r><x/></r>", "r/a"),
        (b"<r><a><x/></a></r>", "r/a/b"),
        (b"<r><a><b><x/></b></a></r>", "r/a/b/c"),
    ],
    ids=["first-segment", "second-segment", "third-segment", "last-segment"],
)
def test_a_root_path_not_in_the_document_names_the_first_prefix_it_lacks(xml: bytes, missing: str) -> None:
    # GIVEN a four-segment root path and a document that lacks it from one segment on
    rules = parse_rule_set({"ruleId": "t", "root": "r/a/b/c"})
    # WHEN the document is transformed
    # THEN the error names the root path and the shortest part of it the document lacks
    with pytest.raises(
        RuleApplicationError,
        match=rf"^root path 'r/a/b/c' is not in the document \(no '{missing}'\)",
    ):
        transform_document(xml, rules)
