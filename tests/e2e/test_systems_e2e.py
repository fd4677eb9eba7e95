"""A stack that deploys one system (`systems`), in localcloud: that system's resources alone, its doors
alone, and its demo passes on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from demos.__main__ import demos_for
from demos.doors import every_door
from localcloud.core.cloud import LocalCloud
from tests.e2e.conftest import E2E_CONFIG, running_cloud

pytestmark = pytest.mark.e2e
SYSTEM_COMPONENT = "regionflow:transform:TransformPipeline"


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    with running_cloud(request, "local", {**E2E_CONFIG, "regionflow:systems": '["transform"]'}) as running:
        yield running


def test_a_stack_of_one_system_creates_that_systems_resources_alone(cloud: LocalCloud) -> None:
    # GIVEN the local stack told to deploy the transform pipeline only
    # THEN every resource created sits in the transform component (its URN names the component chain)
    outermost = {resource.urn.split("::")[2].split("$", 1)[0] for resource in cloud.deployment.resources}
    assert outermost == {SYSTEM_COMPONENT}
    # AND the stack exports that system's outputs and no other's
    assert {key for key in cloud.exports if not key.startswith("transform")} == {"regions", "systems"}
    assert cloud.exports["systems"] == ["transform"]


def test_its_doors_are_the_systems_alone_and_its_demos_pass(cloud: LocalCloud) -> None:
    # GIVEN the doors the stack exports
    assert {door.system for door in every_door(cloud)} == {"transform"}
    # WHEN the demos of the deployed systems run (the doors' and the transform's)
    demos = demos_for(cloud.exports["systems"])
    assert list(demos) == ["doors", "transform"]
    lines: list[str] = []
    report: Callable[[str], None] = lines.append
    # THEN each passes
    assert all(demo(cloud, report) for demo in demos.values()), "\n".join(lines)
