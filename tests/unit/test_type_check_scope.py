"""mypy follows exactly the pulumi_aws services the code uses (pyproject.toml skips the others for speed)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pulumi_aws

from tests.unit.test_house_style import CODE_ROOTS
from tests.unit.test_import_contract import PROJECT_DIR, python_files

SERVICE_PACKAGES = frozenset(
    entry.name for entry in Path(pulumi_aws.__file__).parent.iterdir() if (entry / "__init__.py").is_file()
)


def services_used(source: str) -> set[str]:
    """pulumi_aws services a module reaches: `aws.s3.X` after `import pulumi_aws as aws`, or by import."""
    tree = ast.parse(source)
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "pulumi_aws"
    }
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi_aws"):
            dotted = (node.module or "").split(".")
            used.update(dotted[1:2] if len(dotted) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            used.update(
                alias.name.split(".")[1] for alias in node.names if alias.name.startswith("pulumi_aws.")
            )
    return used & SERVICE_PACKAGES


def followed_services() -> set[str]:
    mypy = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["mypy"]
    return {
        pattern.removeprefix("pulumi_aws.").removesuffix(".*")
        for override in mypy["overrides"]
        if override.get("follow_imports") == "normal"
        for pattern in override["module"]
        if pattern.startswith("pulumi_aws.") and pattern.endswith(".*")
    }


def test_services_used_reads_every_way_of_reaching_a_service() -> None:
    # GIVEN a module reaching services through an alias, a from-import, a dotted import and a string
    source = (
        "import pulumi_aws as cloud\nfrom pulumi_aws import sqs\nfrom pulumi_aws.iam import Role\n"
        "import pulumi_aws.kms\nbucket = cloud.s3.BucketV2\nidentity = cloud.get_caller_identity_output\n"
        "url = 'https://aws.amazon.com'\n"
    )
    # WHEN it is read THEN the services are found, and neither top-level functions nor strings count
    assert services_used(source) == {"s3", "sqs", "iam", "kms"}


def test_mypy_follows_exactly_the_pulumi_aws_services_the_code_uses() -> None:
    # GIVEN every module mypy checks
    used = set().union(*(services_used(path.read_text()) for path in python_files(*CODE_ROOTS)))
    # WHEN compared with the services pyproject.toml lets mypy follow
    # THEN a used service left out would type as Any (unchecked), and a listed unused one costs time
    assert followed_services() == used
