"""handlers/transform/contract.py: a file dropped into incoming/ (not through either API).

Its upload id is derived from the object's version so that every delivery of its event agrees; its rule
is the folder under incoming/; its JSON goes to results/ + its key with .xml replaced by .json.
"""

from __future__ import annotations

import pytest

from handlers.transform.contract import dropped_output_key, dropped_rule_folder, dropped_upload_id

BUCKET = "regionflow-transform-input"
KEY = "incoming/orders-v1/orders.xml"
VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"


def test_a_version_of_a_dropped_file_always_gets_the_same_upload_id() -> None:
    # GIVEN one version of a file dropped into the input bucket
    # WHEN its upload id is taken
    # THEN it is uuid5 of the namespace 5b0f7c9e-3a51-4c1e-9a55-6f1d2f1e0d01 and "<bucket>\n<key>\n<version>",
    # computed once with Python's uuid module:
    #   uuid.uuid5(uuid.UUID("5b0f7c9e-3a51-4c1e-9a55-6f1d2f1e0d01"),
    #              "regionflow-transform-input\nincoming/orders-v1/orders.xml\n"
    #              "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    assert dropped_upload_id(BUCKET, KEY, VERSION) == "376d72be-3b39-56e3-be93-103398a52e15"


def test_a_dropped_file_without_a_version_gets_the_id_of_an_empty_version() -> None:
    # GIVEN a dropped file whose event named neither a version id nor a sequencer
    # WHEN its upload id is taken
    # THEN it is uuid5 of the same namespace and "<bucket>\n<key>\n" (the version written as nothing),
    # computed once with Python's uuid module:
    #   uuid.uuid5(uuid.UUID("5b0f7c9e-3a51-4c1e-9a55-6f1d2f1e0d01"),
    #              "regionflow-transform-input\nincoming/orders-v1/orders.xml\n")
    assert dropped_upload_id(BUCKET, KEY, None) == "2e2349b7-9be8-587e-b79c-374b410583cf"
    assert dropped_upload_id(BUCKET, KEY, "") == "2e2349b7-9be8-587e-b79c-374b410583cf"


@pytest.mark.parametrize(
    ("key", "rule_id"),
    [
        ("incoming/orders-v1/orders.xml", "orders-v1"),
        ("incoming/orders-v1/2024/06/orders.xml", "orders-v1"),
    ],
    ids=["one-folder", "nested-folders"],
)
def test_a_dropped_files_rule_is_the_first_folder_under_incoming(key: str, rule_id: str) -> None:
    # GIVEN a file dropped into a folder under incoming/
    # WHEN its rule is read from its key
    # THEN it is the folder right under incoming/, however deep the file lies
    assert dropped_rule_folder(key) == rule_id


@pytest.mark.parametrize(
    "key",
    ["incoming/orders.xml", "incoming/orders-v1/", "incoming//orders.xml", "incoming/"],
    ids=["no-folder", "folder-only", "empty-folder", "prefix-only"],
)
def test_a_dropped_file_outside_a_named_folder_has_no_rule_folder(key: str) -> None:
    # GIVEN a key without a non-empty folder and a non-empty name under it
    # WHEN its rule is read from its key
    # THEN there is none (the rule must come from the object's rule-id metadata)
    assert dropped_rule_folder(key) is None


@pytest.mark.parametrize(
    ("key", "output"),
    [
        ("incoming/orders-v1/orders.xml", "results/incoming/orders-v1/orders.json"),
        ("incoming/orders.xml", "results/incoming/orders.json"),
        ("incoming/orders-v1/data.xml.xml", "results/incoming/orders-v1/data.xml.json"),
        ("incoming/orders-v1/orders.txt", "results/incoming/orders-v1/orders.txt.json"),
    ],
    ids=["in-a-folder", "at-the-top", "one-suffix-only", "no-xml-suffix"],
)
def test_a_dropped_files_json_goes_to_its_key_under_results_with_xml_replaced_by_json(
    key: str, output: str
) -> None:
    # GIVEN a dropped file's key
    # WHEN its output key is taken
    # THEN it is the same key under results/, its one trailing .xml (if any) replaced by .json
    assert dropped_output_key(key) == output
