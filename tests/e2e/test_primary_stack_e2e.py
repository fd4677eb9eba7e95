"""The production topology end to end: the `primary` stack, as `pulumi up -s primary` would build it (HTTP
API v2 front doors, dependency layers, Route 53 ARC routing controls, an S3 Multi-Region Access Point,
ElastiCache with TLS and AUTH, private subnets where set), with every system driven once the way
`python -m demos --stack primary` drives it and IAM enforced on every call.

The runbook's SSM Automation documents are created but not run (localcloud has no Automation runtime) and
the stack has no FIS experiment (failoverChaosExperiment is off); the deploy lists what it skips.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from demos import failover
from demos.__main__ import DEMOS, demo_config
from demos.batch import primary_region
from demos.doors import call, demo_user, every_door, person_with_password, refused_anonymously
from demos.transform import list_rules
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import request
from samples.transform_documents import generate_orders_xml
from scripts.api_auth import TokenCaller, sign_in
from tests.e2e.conftest import running_cloud

STACK = "primary"
FOREIGN_PASSWORD = "Another-Pool-9-Password"
PAGE_USER = "page-person"
# A 9 MB document through the page (presigned POST, validation, transform) on a loaded two-core machine.
PAGE_UPLOAD_SECONDS = 180.0


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """The primary stack with the demo's settings (demo_config); its routing controls start Off, so the
    primary's runbook runs once first, as README's first step after `pulumi up` says."""
    with running_cloud(request, STACK, demo_config({})) as running:
        failover.activate_first_region(running, print)
        yield running


def test_the_primary_stack_deploys_arc_and_the_access_point_and_skips_only_aws_only_features(
    cloud: LocalCloud,
) -> None:
    skipped = {resource.typ for resource in cloud.deployment.skipped}
    assert skipped == {
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:route53/healthCheck:HealthCheck",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    }
    # AND ARC drives the signal: the first runbook made the primary region active
    assert failover.active_region(cloud) == primary_region(cloud)
    assert cloud.exports["batchAccessPointAlias"].endswith(".mrap")


@pytest.mark.parametrize("system", list(DEMOS))
def test_every_system_works_on_the_production_topology(cloud: LocalCloud, system: str) -> None:
    # GIVEN the primary stack WHEN the system's demo drives it THEN every one of its checks passes
    lines: list[str] = []
    report: Callable[[str], None] = lines.append
    passed = DEMOS[system](cloud, report)
    assert passed, "\n".join(lines)


def test_no_door_of_the_production_topology_answers_anonymously(cloud: LocalCloud) -> None:
    # GIVEN every route of the primary stack (HTTP APIs: producers AWS_IAM, the upload routes JWT)
    answers = {door.name: refused_anonymously(door) for door in every_door(cloud)}
    # THEN each refuses a request without credentials: 403 for IAM routes, 401 for the people's routes
    assert {name: answer.status for name, answer in answers.items()} == {
        door.name: 401 if door.system == "transform" else 403 for door in every_door(cloud)
    }
    assert all(answer.json()["message"] for answer in answers.values())


def test_the_upload_routes_take_a_user_pool_token_and_refuse_a_forged_or_foreign_one(
    cloud: LocalCloud,
) -> None:
    status_door = next(
        door for door in every_door(cloud) if door.system == "transform" and door.method == "GET"
    )
    # GIVEN the demo user's ID token from the stack's user pool
    person = demo_user(cloud)
    assert isinstance(person, TokenCaller)
    # WHEN it asks for an upload's status THEN the route lets it through (404: no such upload)
    assert call(cloud, "transform", "GET", status_door.url).status == 404
    # AND a token whose signature does not match its claims is refused
    header, claims, signature = person.token.split(".")
    forged = ".".join((header, claims, signature[::-1]))
    refused = request("GET", status_door.url, headers={"Authorization": f"Bearer {forged}"})
    assert refused.status == 401 and "invalid_token" in refused.headers.get("www-authenticate", "")
    # AND so is a token of another user pool (another issuer), though signed with the same key by moto
    cognito = cloud.client("cognito-idp")
    other_pool = cognito.create_user_pool(PoolName="another-pool")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=other_pool, ClientName="other", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=other_pool, Username="eve", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=other_pool, Username="eve", Password=FOREIGN_PASSWORD, Permanent=True
    )
    foreign = sign_in(
        cognito, user_pool_id=other_pool, client_id=client_id, username="eve", password=FOREIGN_PASSWORD
    )
    assert request("GET", status_door.url, headers={"Authorization": f"Bearer {foreign.token}"}).status == 401


# -- the upload page, in a real browser ---------------------------------------------------------------------


def upload_states(browser: WebDriver) -> dict[str, str]:
    """File name -> the status the page shows for it (data-status of its row)."""
    return {
        str(row.get_attribute("data-file-name")): str(row.get_attribute("data-status"))
        for row in browser.find_elements(By.CSS_SELECTOR, "#uploads li")
    }


def upload_row(browser: WebDriver, file_name: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'#uploads li[data-file-name="{file_name}"]')


def test_a_person_uploads_through_the_page_follows_each_file_downloads_the_json_and_signs_out(
    cloud: LocalCloud, browser: WebDriver, tmp_path: Path
) -> None:
    # GIVEN a person of the stack's user pool with a small and a 9 MB orders document and a cut-off one
    password = person_with_password(cloud, PAGE_USER)
    files = {
        "orders-small.xml": generate_orders_xml(40_000),
        "orders-9mb.xml": generate_orders_xml(9 * 1024 * 1024),
        "cut-off.xml": generate_orders_xml(40_000)[:-200],
    }
    for name, document in files.items():
        (tmp_path / name).write_bytes(document)
    wait = WebDriverWait(browser, PAGE_UPLOAD_SECONDS)
    # WHEN they open the page the stack exports and sign in with the keyboard
    browser.get(cloud.exports["transformUploadPageUrl"])
    browser.find_element(By.ID, "username").send_keys(PAGE_USER)
    browser.find_element(By.ID, "password").send_keys(password, Keys.ENTER)
    # THEN the rule sets GET /rules lists are offered, each with its description
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, 'input[name="rule"]'))
    offered = {
        str(choice.get_attribute("value")): browser.find_element(
            By.ID, str(choice.get_attribute("aria-describedby"))
        ).text
        for choice in browser.find_elements(By.CSS_SELECTOR, 'input[name="rule"]')
    }
    assert offered == {rule["ruleId"]: rule["description"] for rule in list_rules(cloud)}
    assert "Signed in as page-person" in browser.find_element(By.ID, "signed-in-as").text
    # WHEN they choose the orders rule and the three files and upload them
    browser.find_element(By.CSS_SELECTOR, 'input[name="rule"][value="orders-v1"]').click()
    browser.find_element(By.ID, "files").send_keys("\n".join(str(tmp_path / name) for name in files))
    browser.find_element(By.ID, "send").click()
    # THEN both documents end done (the 9 MB one straight to S3) and the cut-off one shows why it failed
    wait.until(lambda driver: upload_states(driver).get("orders-9mb.xml") == "done")
    wait.until(lambda driver: upload_states(driver).get("orders-small.xml") == "done")
    assert upload_states(browser)["cut-off.xml"] == "refused"
    reason = upload_row(browser, "cut-off.xml").find_element(By.CLASS_NAME, "status").text
    assert "XML" in reason, reason
    assert all(
        int(str(bar.get_attribute("value"))) == 100
        for name in ("orders-small.xml", "orders-9mb.xml")
        for bar in upload_row(browser, name).find_elements(By.TAG_NAME, "progress")
    )
    # WHEN they download the small document's JSON
    upload_row(browser, "orders-small.xml").find_element(By.CLASS_NAME, "download").click()
    downloaded = tmp_path / "downloads" / "orders-small.json"
    wait.until(lambda _driver: downloaded.exists())
    # THEN it is the transformed document the output bucket holds
    s3 = cloud.client("s3")
    bucket = cloud.exports["transformOutputBucket"]
    outputs = [
        s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert downloaded.read_bytes() in outputs
    assert json.loads(downloaded.read_bytes())
    # WHEN they sign out THEN the page forgets them: the sign-in form is back and their uploads are gone
    browser.find_element(By.ID, "sign-out").click()
    wait.until(lambda driver: driver.find_element(By.ID, "sign-in-form").is_displayed())
    assert not browser.find_element(By.ID, "upload-section").is_displayed()
    assert upload_states(browser) == {}
