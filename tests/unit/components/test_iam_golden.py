"""Exact IAM: every role's grants are the reviewed ones of tests/golden/iam/<stack>.json, no more, no less.

The other IAM tests check that the grants a step needs are there; these check that nothing else is, so a
widened resource or an extra action fails until its golden file is regenerated (scripts/iam_golden.py)
and the change is reviewed in the diff.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts.iam_golden import (
    COMMAND,
    GOLDEN_DIR,
    Placeholders,
    check,
    differences,
    golden_path,
    iam_of,
    main,
    report,
)

from .conftest import BuiltStack, RecordedResource


def test_every_role_grants_exactly_the_statements_its_reviewed_golden_file_lists(stack: BuiltStack) -> None:
    # GIVEN a stack's program built under the recording mocks
    # WHEN its roles, their policies and the functions' permissions are normalised
    found = check(stack.name, iam_of(stack))
    # THEN they are the golden file's, statement for statement
    assert found == [], report(stack.name, found, golden_path(stack.name))


SPLIT_POLICY = "role batch-split-file-role, inline policy batch-split-file-policy"
READ_INPUT = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["${batch-data.arn}/input/*"]}
WRITE_CHUNKS = {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["${batch-data.arn}/chunks/*"]}


def reviewed() -> dict[str, Any]:
    """A golden structure of one role, as iam_of writes it."""
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": ["lambda.amazonaws.com"]},
        "Action": ["sts:AssumeRole"],
    }
    return {
        "roles": {
            "batch-split-file-role": {
                "trust": [trust],
                "inline_policies": {"batch-split-file-policy": [READ_INPUT, WRITE_CHUNKS]},
                "managed_policies": [],
            }
        },
        "managed_policies": {},
        "lambda_permissions": {},
    }


def with_split_statements(change: Callable[[list[dict[str, Any]]], None]) -> dict[str, Any]:
    golden = copy.deepcopy(reviewed())
    change(golden["roles"]["batch-split-file-role"]["inline_policies"]["batch-split-file-policy"])
    return golden


def add_delete_to_chunk_writes(statements: list[dict[str, Any]]) -> None:
    statements[1]["Action"] = ["s3:DeleteObject", "s3:PutObject"]


def widen_chunk_writes_to_the_bucket(statements: list[dict[str, Any]]) -> None:
    statements[1]["Resource"] = ["${batch-data.arn}/*"]


def drop_the_input_read(statements: list[dict[str, Any]]) -> None:
    del statements[0]


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        pytest.param(
            add_delete_to_chunk_writes,
            [f"{SPLIT_POLICY}: changed statement {json.dumps(WRITE_CHUNKS)}", "    + Action s3:DeleteObject"],
            id="extra-action",
        ),
        pytest.param(
            widen_chunk_writes_to_the_bucket,
            [
                f"{SPLIT_POLICY}: changed statement {json.dumps(WRITE_CHUNKS)}",
                "    + Resource ${batch-data.arn}/*",
                "    - Resource ${batch-data.arn}/chunks/*",
            ],
            id="broader-resource",
        ),
        pytest.param(
            drop_the_input_read,
            [f"{SPLIT_POLICY}: - statement {json.dumps(READ_INPUT)}"],
            id="missing-statement",
        ),
    ],
)
def test_a_grant_that_differs_from_the_golden_file_is_reported_by_role_and_statement(
    change: Callable[[list[dict[str, Any]]], None], reported: list[str]
) -> None:
    # GIVEN a reviewed role that may read input/ and write chunks/ of its bucket
    # WHEN the program's grant differs from it in one way
    found = differences(reviewed(), with_split_statements(change))
    # THEN exactly that difference is reported, under the role and policy it is in
    assert found == reported
    # AND the same grants, compared again, differ in nothing
    assert differences(reviewed(), reviewed()) == []


def test_a_stack_resource_reads_as_its_logical_name_and_output_wherever_it_is_named() -> None:
    # GIVEN a global table with a replica in us-west-2, a function whose name extends the table's, and a
    # stage name given once per region
    table = RecordedResource(
        "aws:dynamodb/table:Table",
        "status-table",
        {"name": "transform-status-1a2b"},
        {
            "name": "transform-status-1a2b",
            "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/transform-status-1a2b",
        },
    )
    function = RecordedResource(
        "aws:lambda/function:Function",
        "status-function",
        {"name": "transform-status-1a2b-reader"},
        {"name": "transform-status-1a2b-reader"},
    )
    stages = [
        RecordedResource(
            "aws:apigatewayv2/stage:Stage",
            f"feed-{region}-stage",
            {"name": "live", "region": region},
            {"name": "live", "region": region},
        )
        for region in ("us-east-1", "us-west-2")
    ]
    name = Placeholders(BuiltStack("test", {}, {}, [table, function, *stages], []))
    # WHEN the identifiers appear in grants
    # THEN each reads as the resource it names: its ARN, a path under it, its name in a replica's ARN
    assert (
        name("arn:aws:dynamodb:us-east-1:123456789012:table/transform-status-1a2b/index/*")
        == "${status-table.arn}/index/*"
    )
    assert (
        name("arn:aws:dynamodb:us-west-2:123456789012:table/transform-status-1a2b")
        == "arn:aws:dynamodb:us-west-2:123456789012:table/${status-table.name}"
    )
    # AND a longer name is not mistaken for the shorter one it begins with, whether or not it is a resource
    assert name("transform-status-1a2b-reader") == "${status-function.name}"
    assert name("transform-status-1a2b-archive") == "transform-status-1a2b-archive"
    # AND a name given in both regions means the one of the ARN's region
    assert (
        name("arn:aws:execute-api:us-west-2:123456789012:feed/live/$connect")
        == "arn:aws:execute-api:us-west-2:123456789012:feed/${feed-us-west-2-stage.name}/$connect"
    )


def test_an_iam_resource_the_golden_file_cannot_show_is_refused() -> None:
    # GIVEN a stack that creates an IAM user, whose grants the golden files have no place for
    user = RecordedResource("aws:iam/user:User", "operator", {}, {})
    # WHEN its IAM is normalised
    # THEN it is refused, naming the type and where to teach it
    with pytest.raises(
        ValueError, match=r"\['aws:iam/user:User'\], which scripts/iam_golden.py does not read"
    ):
        iam_of(BuiltStack("test", {}, {}, [user], []))


def test_check_reports_each_difference_and_how_to_regenerate_and_regenerating_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN golden files in which the primary batch split step may not write manifests/, and no local file
    shutil.copy(GOLDEN_DIR / "primary.json", tmp_path / "primary.json")
    golden = json.loads((tmp_path / "primary.json").read_text())
    split = golden["roles"]["batch-us-east-1-split-file-role"]["inline_policies"][
        "batch-us-east-1-split-file-policy"
    ]
    [writes] = [statement for statement in split if statement["Action"] == ["s3:PutObject"]]
    writes["Resource"].remove("${batch-data-primary-bucket.arn}/manifests/*")
    (tmp_path / "primary.json").write_text(json.dumps(golden))
    # WHEN the script checks them
    exit_code = main(["--check", "--golden-dir", str(tmp_path)])
    # THEN it fails, naming the role, the policy and the resource granted beyond the file, the missing
    # file, and the command that regenerates them
    printed = capsys.readouterr().out
    assert exit_code == 1
    assert "local.json is missing" in printed
    assert (
        "role batch-us-east-1-split-file-role, inline policy batch-us-east-1-split-file-policy: changed"
        in printed
    )
    assert "    + Resource ${batch-data-primary-bucket.arn}/manifests/*" in printed
    assert f"regenerate with `{COMMAND}`" in printed
    # AND regenerating writes what is committed, which then passes the check
    assert main(["--golden-dir", str(tmp_path)]) == 0
    for stack in ("local", "primary"):
        assert (tmp_path / f"{stack}.json").read_text() == (GOLDEN_DIR / f"{stack}.json").read_text()
    assert main(["--check", "--golden-dir", str(tmp_path)]) == 0
