"""handlers/batch/contract.py: the names a batch gets from its upload, and the split step's one setting.

The file id names the batch everywhere (chunk keys, the execution name, the batch-state and errors items):
a redelivered event, even one handled after a new release, must map to the same id, so its value for a
given (key, versionId) is pinned here.
"""

from __future__ import annotations

import re

import pytest

from handlers.batch.contract import (
    SplitSettings,
    execution_name,
    file_id,
    output_key,
    part_of,
    processed_key,
    processed_prefix,
)
from handlers.environment import SettingError


def test_an_object_version_always_gets_the_same_32_character_file_id() -> None:
    # GIVEN an upload of input/sales.csv whose version id is v1
    # WHEN its file id is taken THEN it is the first 32 hex digits of SHA-256("input/sales.csv\nv1")
    assert file_id("input/sales.csv", "v1") == "5cb464dfed99c815fc1bf6ed27b3dc7b"


def test_an_object_written_while_versioning_was_off_gets_the_id_of_version_null() -> None:
    # GIVEN an event without a version id, and one naming S3's version "null" of the same key
    # WHEN their file ids are taken THEN both are the first 32 hex digits of SHA-256("input/sales.csv\nnull")
    assert file_id("input/sales.csv", None) == "131b36bbd1ccc5b5cbeb69c87b41cd68"
    assert file_id("input/sales.csv", "null") == "131b36bbd1ccc5b5cbeb69c87b41cd68"


def test_the_execution_name_of_a_batch_is_its_file_id_behind_batch() -> None:
    # GIVEN the file id of an upload
    # WHEN its execution is named THEN the name is 38 characters, well within Step Functions' 80
    assert execution_name(file_id("input/sales.csv", "v1")) == "batch-5cb464dfed99c815fc1bf6ed27b3dc7b"


def test_a_processed_part_lies_under_its_own_batch_prefix_named_by_its_part() -> None:
    # GIVEN two batches' file ids
    first, second = "5cb464dfed99c815fc1bf6ed27b3dc7b", "131b36bbd1ccc5b5cbeb69c87b41cd68"
    # WHEN a processed part's key is taken
    key = processed_key(first, "part-00002")
    # THEN the merge, listing its batch's prefix, finds it there and reads its part back from it, and the
    # other batch's prefix does not hold it
    assert key == "processed/5cb464dfed99c815fc1bf6ed27b3dc7b/part-00002.csv"
    assert key.startswith(processed_prefix(first)) and not key.startswith(processed_prefix(second))
    assert part_of(key) == "part-00002"


def test_the_output_keeps_the_input_name_and_folders_under_output() -> None:
    # GIVEN an input file in a subfolder
    # WHEN its output key is taken THEN it is the same path under output/, so users find their result
    assert output_key("input/2024/q1/sales.csv") == "output/2024/q1/sales.csv"


@pytest.mark.parametrize("key", ["uploads/sales.csv", "output/sales.csv", "sales.csv"])
def test_a_key_outside_input_gets_no_output_key_and_the_error_names_it(key: str) -> None:
    # GIVEN a key that is not under input/ (a merge started by hand with a wrong key, say)
    # WHEN its output key is asked for THEN it is refused, naming the key and the prefix it should have,
    # instead of cutting seven characters off a name that never had them
    with pytest.raises(ValueError, match=re.escape(f"{key!r} is not under input/")):
        output_key(key)


@pytest.mark.parametrize("records_per_chunk", ["1", "2"], ids=["at", "over"])
def test_a_chunk_may_hold_as_few_as_one_record(records_per_chunk: str) -> None:
    # GIVEN RECORDS_PER_CHUNK of 1 (the least) or 2
    # WHEN the split function reads its settings THEN they are accepted as given
    settings = SplitSettings.from_environment({"RECORDS_PER_CHUNK": records_per_chunk})
    assert settings.records_per_chunk == int(records_per_chunk)


@pytest.mark.parametrize("records_per_chunk", ["0", "-1"], ids=["under", "negative"])
def test_fewer_than_one_record_per_chunk_is_refused_naming_the_variable(records_per_chunk: str) -> None:
    # GIVEN RECORDS_PER_CHUNK of 0 or less
    # WHEN the split function reads its settings THEN it refuses them, naming the variable and its least value
    with pytest.raises(SettingError, match=f"RECORDS_PER_CHUNK must be at least 1, got {records_per_chunk}"):
        SplitSettings.from_environment({"RECORDS_PER_CHUNK": records_per_chunk})
