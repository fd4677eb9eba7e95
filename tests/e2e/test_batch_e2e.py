"""Multi-region batch in localcloud: the program's own buckets, triggers, workflows, tables and SES."""

from __future__ import annotations

import copy
import csv
import io
import json
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from demos import batch
from demos.doors import call
from demos.waiting import wait_until
from handlers.batch.records import INPUT_HEADER, OUTPUT_HEADER
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import request
from samples.batch_records import BatchSample, generate_batch
from tests.e2e.faults import environment_changed, function_runs, service_unreachable, task_function
from tests.unit.handlers.conftest import load_event

ROWS, INVALID = 1000, 37
CONSOLE_WAIT_SECONDS = 60.0  # a bound for a loaded machine; the page polls every 2 s


@pytest.fixture(scope="module")
def sample(cloud: LocalCloud) -> BatchSample:
    generated = generate_batch(rows=ROWS, invalid_rows=INVALID, seed=11)
    batch.load_financial_data(cloud, generated)
    return generated


@pytest.fixture(scope="module")
def completed(cloud: LocalCloud, sample: BatchSample) -> dict[str, Any]:
    """input/sales.csv uploaded to the active (primary) region and processed to the end."""
    version_id = batch.upload(cloud, "input/sales.csv", sample.input_csv)
    item = batch.wait_for_outcome(cloud, "input/sales.csv")
    return {**item, "uploadedVersionId": version_id}


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def s3_event_for(cloud: LocalCloud, region: str, key: str, version_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("batch_s3_object_created.json"))
    record = event["Records"][0]
    record["awsRegion"] = region
    record["s3"]["bucket"]["name"] = cloud.exports["batchBuckets"][region]
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{cloud.exports['batchBuckets'][region]}"
    record["s3"]["object"]["key"] = key
    record["s3"]["object"]["versionId"] = version_id
    return event


def invoke_trigger(cloud: LocalCloud, region: str, event: dict[str, Any]) -> dict[str, Any]:
    response = cloud.client("lambda", region).invoke(
        FunctionName=cloud.exports["batchTriggerFunctions"][region], Payload=json.dumps(event).encode()
    )
    payload: dict[str, Any] = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def executions_for(cloud: LocalCloud, region: str, key: str) -> list[dict[str, Any]]:
    sfn = cloud.client("stepfunctions", region)
    found = []
    for execution in batch.executions(cloud, region):
        started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
        if started["key"] == key:
            found.append(execution)
    return found


def test_a_csv_with_invalid_rows_becomes_enriched_rows_in_input_order(
    cloud: LocalCloud, sample: BatchSample, completed: dict[str, Any]
) -> None:
    # GIVEN 1,000 rows, 37 of them invalid, uploaded to the active region
    # THEN the batch is COMPLETED with the counts of what happened
    assert completed["status"] == "COMPLETED", completed.get("reason")
    assert (int(completed["rows"]), int(completed["invalidRows"])) == (ROWS - INVALID, INVALID)
    # AND the output CSV holds the 963 valid rows, enriched, in the order they were uploaded
    bucket = cloud.exports["batchBuckets"][batch.primary_region(cloud)]
    output = cloud.client("s3").get_object(Bucket=bucket, Key=completed["outputKey"])["Body"].read()
    header, *rows = csv_rows(output)
    assert tuple(header) == OUTPUT_HEADER
    assert [tuple(row) for row in rows] == list(sample.expected_output_rows)


def test_each_invalid_row_is_recorded_with_its_reason(
    cloud: LocalCloud, sample: BatchSample, completed: dict[str, Any]
) -> None:
    errors = batch.error_rows(cloud, str(completed["fileId"]))
    assert sorted(int(error["rowNumber"]) for error in errors) == list(sample.invalid_row_numbers)
    assert all(error["stage"] == "validate" and error["reason"] and error["row"] for error in errors)


def test_the_emailed_presigned_link_downloads_the_output(
    cloud: LocalCloud, completed: dict[str, Any]
) -> None:
    email = batch.link_email(cloud, "input/sales.csv")
    assert email is not None
    assert email["to"] == json.loads(cloud.config["regionflow:batchRecipientEmails"])
    downloaded = request("GET", batch.download_link(email))
    bucket = cloud.exports["batchBuckets"][batch.primary_region(cloud)]
    stored = cloud.client("s3").get_object(Bucket=bucket, Key=completed["outputKey"])["Body"].read()
    assert downloaded.status == 200
    assert downloaded.body == stored


def test_the_console_shows_the_batch_runs_executions_with_their_history_and_the_email_it_sent(
    cloud: LocalCloud, completed: dict[str, Any], browser: WebDriver
) -> None:
    # GIVEN the batch of input/sales.csv completed: one workflow execution, its chunks', and an email
    region = batch.primary_region(cloud)
    (execution,) = executions_for(cloud, region, "input/sales.csv")
    email = batch.link_email(cloud, "input/sales.csv")
    assert email is not None
    # WHEN a person opens the console at the gateway's root
    browser.get(cloud.console_url)
    # (the page redraws a part when it changes: an element found before may be replaced, so each wait
    # finds its elements afresh)
    wait = WebDriverWait(browser, CONSOLE_WAIT_SECONDS, ignored_exceptions=[StaleElementReferenceException])
    execution_row = f'//tr[th/button[@data-arn="{execution["executionArn"]}"]]'
    # THEN the workflow's execution shows under its state machine, SUCCEEDED
    wait.until(lambda driver: "SUCCEEDED" in driver.find_element(By.XPATH, execution_row).text)
    # WHEN they choose the execution from the keyboard
    wait.until(lambda driver: press_enter(driver, f"{execution_row}//button"))
    # THEN its history shows state by state, from the first state to the execution's success
    history = browser.find_element(By.ID, "history-content")
    wait.until(lambda _: "ExecutionSucceeded" in history.text)
    cells = wait.until(
        lambda _: [
            [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
            for row in history.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
    )
    assert ["TaskStateEntered", "Split input file"] in [row[2:4] for row in cells]
    assert cells[-1][2] == "ExecutionSucceeded"
    # AND the focus moved to the history, so a keyboard or screen reader user lands on it
    assert browser.switch_to.active_element.get_attribute("id") == "history-heading"
    # AND the email the batch sent shows with its subject and recipients
    email_row = f'//*[@data-part="emails"]//tr[th[normalize-space()={xpath_text(email["subject"])}]]'
    shown = wait.until(lambda driver: driver.find_element(By.XPATH, email_row).text)
    assert all(recipient in shown for recipient in email["to"])


def press_enter(driver: WebDriver, xpath: str) -> bool:
    driver.find_element(By.XPATH, xpath).send_keys(Keys.ENTER)
    return True


def xpath_text(value: str) -> str:
    """`value` as an XPath string literal (XPath 1.0 has no escape: quotes are joined with concat)."""
    if '"' not in value:
        return f'"{value}"'
    return "concat(" + ", '\"', ".join(f'"{part}"' for part in value.split('"')) + ")"


def test_a_duplicate_event_starts_no_second_execution(cloud: LocalCloud, completed: dict[str, Any]) -> None:
    # GIVEN the completed batch's own S3 event, delivered again (S3 delivers at least once)
    region = batch.primary_region(cloud)
    event = s3_event_for(cloud, region, "input/sales.csv", completed["uploadedVersionId"])
    # WHEN the trigger receives it
    summary = invoke_trigger(cloud, region, event)
    # THEN it is a duplicate: still one execution, and the batch's state is untouched
    assert summary["duplicates"] == ["input/sales.csv"]
    assert len(executions_for(cloud, region, "input/sales.csv")) == 1
    assert batch.batch_state(cloud, "input/sales.csv") == {
        k: v for k, v in completed.items() if k != "uploadedVersionId"
    }


def test_an_upload_in_the_inactive_region_is_ignored_there(cloud: LocalCloud, sample: BatchSample) -> None:
    # GIVEN the standby region (not active) receives an upload directly
    standby = batch.standby_region(cloud)
    key = "input/standby-upload.csv"
    version_id = batch.upload(cloud, key, sample.input_csv, region=standby)
    # WHEN its trigger handles the upload's event
    summary = invoke_trigger(cloud, standby, s3_event_for(cloud, standby, key, version_id))
    # THEN the standby ignores it and never starts a workflow
    assert summary["ignored"] == [key]
    # AND the active region processes the replicated copy, once
    item = batch.wait_for_outcome(cloud, key)
    assert item["status"] == "COMPLETED" and item["region"] == batch.primary_region(cloud)
    assert executions_for(cloud, standby, key) == []
    assert len(executions_for(cloud, batch.primary_region(cloud), key)) == 1


def test_a_file_without_the_expected_header_fails_with_the_reason(cloud: LocalCloud) -> None:
    batch.upload(cloud, "input/not-a-batch.csv", b"name,amount\r\nwidget,3\r\n")
    item = batch.wait_for_outcome(cloud, "input/not-a-batch.csv")
    assert item["status"] == "FAILED"
    assert "header" in item["reason"] and "uuid,Country,Item Type" in item["reason"]


def test_an_email_that_cannot_be_sent_fails_the_batch(cloud: LocalCloud, sample: BatchSample) -> None:
    # GIVEN SES refuses the sender (its identity is gone)
    region = batch.primary_region(cloud)
    ses = cloud.client("sesv2", region)
    sender = cloud.config["regionflow:batchSenderEmail"]
    ses.delete_email_identity(EmailIdentity=sender)
    try:
        # WHEN a batch finishes processing
        batch.upload(cloud, "input/no-email.csv", sample.input_csv)
        item = batch.wait_for_outcome(cloud, "input/no-email.csv")
    finally:
        ses.create_email_identity(EmailIdentity=sender)
    # THEN the batch is FAILED, not silently successful, and says why
    assert item["status"] == "FAILED"
    assert "Email" in item["reason"] or "MessageRejected" in item["reason"], item["reason"]
    assert batch.link_email(cloud, "input/no-email.csv") is None


def test_financials_api_answers_clients_in_each_region(cloud: LocalCloud, sample: BatchSample) -> None:
    # GIVEN financial data loaded in the primary (the global table replicates it)
    first_row = sample.expected_output_rows[0]
    known, units_sold = first_row[0], first_row[OUTPUT_HEADER.index("unitsSold")]
    for region, url in cloud.exports["batchFinancialsUrls"].items():
        # WHEN a client asks each region's API
        def answered(url: str = url, region: str = region) -> object:
            response = call(cloud, "batch", "GET", url.replace("{uuid}", known), region=region)
            return response if response.status == 200 else None

        found = wait_until(answered, f"financial data for {known} in {region}", 30)
        # THEN known uuids answer 200 with the six fields, unknown 404, malformed 400, each with a message
        assert found.json()["uuid"] == known and found.json()["unitsSold"] == units_sold
        missing = call(cloud, "batch", "GET", url.replace("{uuid}", "999999999"), region=region)
        assert missing.status == 404 and "999999999" in missing.json()["message"]
        malformed = call(cloud, "batch", "GET", url.replace("{uuid}", "not!valid"), region=region)
        assert malformed.status == 400 and malformed.json()["message"]


def csv_of(rows: list[tuple[str, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(INPUT_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def chunk_task(cloud: LocalCloud, region: str, state: str) -> str:
    """The function of one of the chunk processor's tasks (the batch workflow's Distributed Map children)."""
    return task_function(cloud, cloud.exports["batchStateMachineArns"][region], "Process chunks", state)


def test_a_chunk_whose_enrichment_fails_transiently_is_retried_and_the_batch_completes(
    cloud: LocalCloud, sample: BatchSample
) -> None:
    # GIVEN 20 valid rows with financial data, and an enrich function that cannot reach DynamoDB
    region = batch.primary_region(cloud)
    enrich = chunk_task(cloud, region, "Enrich records")
    runs_before = len(function_runs(cloud, enrich))
    expected = list(sample.expected_output_rows[:20])
    key = "input/enrich-unreachable.csv"
    with service_unreachable(cloud, enrich, "dynamodb"):
        # WHEN the file is uploaded (one chunk) and its enrichment fails once
        batch.upload(cloud, key, csv_of([row[: len(INPUT_HEADER)] for row in expected]))
        wait_until(
            lambda: any(
                "EndpointConnectionError" in run for run in function_runs(cloud, enrich)[runs_before:]
            ),
            f"the chunk of {key} failing to enrich",
        )
    # (the fault is lifted as soon as the first failure shows, while the Retry waits out its jittered
    # backoff of up to 2 s; a retry that comes sooner fails the same way and is retried again, up to 4
    # times, so the outcome does not hang on timing)
    item = batch.wait_for_outcome(cloud, key)
    # THEN the batch completes with every row enriched, none missing its financial data
    assert item["status"] == "COMPLETED", item.get("reason")
    assert (int(item["rows"]), int(item["missingFinancials"])) == (len(expected), 0)
    output = cloud.client("s3", region).get_object(
        Bucket=cloud.exports["batchBuckets"][region], Key=item["outputKey"]
    )["Body"]
    assert [tuple(row) for row in csv_rows(output.read())[1:]] == expected
    # AND enrichment failed on the network, then was run again by the Retry until it succeeded once
    runs = function_runs(cloud, enrich)[runs_before:]
    failed = [run for run in runs if "EndpointConnectionError" in run]
    assert failed and len(runs) == len(failed) + 1


def test_a_chunk_with_a_permanent_error_fails_the_batch_at_once_without_a_retry(cloud: LocalCloud) -> None:
    # GIVEN a validate function whose errors table setting is blank: no attempt can succeed
    region = batch.primary_region(cloud)
    validate, enrich = (chunk_task(cloud, region, state) for state in ("Validate records", "Enrich records"))
    before = {function: len(function_runs(cloud, function)) for function in (validate, enrich)}
    key = "input/validate-misconfigured.csv"
    row = ("100000001", "Chad", "Office Supplies", "Online", "L", "1/2/20", "Africa", "1/9/20")
    with environment_changed(cloud, validate, {"ERRORS_TABLE": ""}):
        # WHEN a one-chunk file is uploaded
        batch.upload(cloud, key, csv_of([row]))
        item = batch.wait_for_outcome(cloud, key)
    # THEN the batch fails: its one chunk failed, and no failed chunk is tolerated
    assert item["status"] == "FAILED"
    assert item["reason"].startswith("States.ExceedToleratedFailureThreshold"), item["reason"]
    # AND "Validate records" ran exactly once, naming the setting: the error went to the Catch, not the Retry
    (run,) = function_runs(cloud, validate)[before[validate] :]
    assert "SettingError" in run and "ERRORS_TABLE is not set" in run
    # AND the chunk stopped there: enrichment never ran
    assert len(function_runs(cloud, enrich)) == before[enrich]
