"""Exact workflows: each definition is the reviewed one of tests/golden/workflows/<workflow>.json.

The other workflow tests check what a definition means; this one checks that nothing in it changed
unseen (a retry interval, a Catch target, which ARN a task calls) until its golden file is regenerated
with scripts/workflow_golden.py and the diff is reviewed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scripts.workflow_golden import BUILDERS, check, definition, golden_path, main, placeholders, report


@pytest.mark.parametrize("workflow", sorted(BUILDERS))
def test_each_definition_is_its_reviewed_golden_file(workflow: str) -> None:
    # GIVEN a workflow builder run with a placeholder for each ARN, table and region it needs
    # WHEN its definition is compared with the reviewed golden file
    found = check(workflow)
    # THEN they are the same, line for line
    assert found == [], report(workflow, found)


def test_placeholders_name_each_required_argument_and_leave_defaults() -> None:
    # GIVEN the batch builder, whose max_concurrency has a default
    # WHEN its placeholders are made
    found = placeholders(BUILDERS["batch_processing"])
    # THEN each required argument is named and the default one is absent
    assert found == {
        "split_arn": "${split_arn}",
        "merge_arn": "${merge_arn}",
        "email_arn": "${email_arn}",
        "validate_arn": "${validate_arn}",
        "enrich_arn": "${enrich_arn}",
        "write_arn": "${write_arn}",
        "batch_state_table": "${batch_state_table}",
    }


def test_a_changed_retry_interval_is_reported_as_a_diff(tmp_path: Path) -> None:
    # GIVEN a golden file of the events workflow whose first retry waits 3 s instead of 2
    # (a copy: a definition shares its retry blocks with workflows.states)
    reviewed = copy.deepcopy(definition("active_active_events"))
    reviewed["States"]["Process event"]["Retry"][0]["IntervalSeconds"] = 3
    golden_path("active_active_events", tmp_path).write_text(json.dumps(reviewed, indent=2) + "\n")
    # WHEN the builder is checked against it
    found = check("active_active_events", tmp_path)
    # THEN the diff shows the file's value removed and the builder's added
    assert '-          "IntervalSeconds": 3,' in found
    assert '+          "IntervalSeconds": 2,' in found


def test_check_exits_1_when_a_golden_file_is_missing(tmp_path: Path) -> None:
    # GIVEN an empty golden directory
    # WHEN the script checks it
    # THEN it reports the difference with exit status 1, and writing then makes the check pass
    assert main(["--check", "--golden-dir", str(tmp_path)]) == 1
    assert main(["--golden-dir", str(tmp_path)]) == 0
    assert main(["--check", "--golden-dir", str(tmp_path)]) == 0
