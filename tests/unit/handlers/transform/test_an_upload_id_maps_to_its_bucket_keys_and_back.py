"""handlers/transform/contract.py: the object keys an upload id names in the two buckets, and back.

The upload API, the staged-upload validator, the buffer, the worker and the status API each build or read
these keys, and the bucket notifications filter on their prefixes and suffix: the layout is pinned here.
"""

from __future__ import annotations

import pytest

from handlers.transform.contract import (
    input_key,
    output_key,
    quarantine_key,
    staged_key,
    staged_upload_id_of,
    upload_id_of,
)

UPLOAD_ID = "0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90"


def test_an_uploads_keys_are_its_id_under_each_prefix_with_xml_in_and_json_out() -> None:
    # GIVEN an upload id
    # WHEN its keys are taken
    # THEN the document is uploads/<id>.xml, a large one is posted to incoming/<id>.xml, a refused large one
    # is kept as quarantine/<id>.xml, and the result is results/<id>.json
    assert input_key(UPLOAD_ID) == "uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml"
    assert staged_key(UPLOAD_ID) == "incoming/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml"
    assert quarantine_key(UPLOAD_ID) == "quarantine/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml"
    assert output_key(UPLOAD_ID) == "results/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.json"


def test_an_input_key_gives_back_its_upload_id() -> None:
    # GIVEN the input key of an upload
    # WHEN the buffer reads the upload id from it
    # THEN it is the id the key was made of
    assert upload_id_of("uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml") == UPLOAD_ID


def test_a_staged_key_gives_back_its_upload_id() -> None:
    # GIVEN the staged key a presigned POST fixed for a large upload
    # WHEN the staged-upload validator reads the upload id from it
    # THEN it is the id the key was made of
    assert staged_upload_id_of("incoming/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml") == UPLOAD_ID


@pytest.mark.parametrize(
    "key",
    [
        "incoming/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml",
        "uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml.tmp",
        "uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.json",
        "uploads/0B7E6F52-4C1D-4E8A-9F3B-2D5C6A7E8F90.xml",
        "uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f9.xml",
        "uploads/orders.xml",
        "archive/uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml",
        "",
    ],
    ids=["staged", "trailing", "json", "uppercase", "short-id", "a-name", "nested", "empty"],
)
def test_any_other_key_is_not_an_input_key(key: str) -> None:
    # GIVEN a key that is not uploads/<lowercase 36-character id>.xml, whole
    # WHEN the buffer reads an upload id from it
    # THEN there is none
    assert upload_id_of(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "uploads/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml",
        "quarantine/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml",
        "incoming/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml.bak",
        "incoming/orders-v1/0b7e6f52-4c1d-4e8a-9f3b-2d5c6a7e8f90.xml",
        "incoming/orders.xml",
        "",
    ],
    ids=["input", "quarantine", "trailing", "in-a-rule-folder", "dropped-file", "empty"],
)
def test_any_other_key_is_not_a_staged_key(key: str) -> None:
    # GIVEN a key that is not incoming/<36-character id>.xml, whole (e.g. a file dropped into incoming/)
    # WHEN the staged-upload validator reads an upload id from it
    # THEN there is none: the file is not a large upload
    assert staged_upload_id_of(key) is None
