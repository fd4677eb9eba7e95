"""Every deployed function gets exactly the settings its handler's contract declares, readable as declared.

A component writes a function's environment through the contract (`XSettings.environment(...)`), and the
handler reads it back with `XSettings.from_environment(os.environ)`. Here, over the whole program as each
stack deploys it, the recorded variables of every function are read back through the contract of its
handler: a misspelt or extra variable, a required one left out or a value the handler cannot decode fails
here, not at the first invocation.
"""

from __future__ import annotations

import functools
from dataclasses import MISSING, fields, replace

import pytest

from handlers.active_region import contract as active_region
from handlers.artifacts import contract as artifacts
from handlers.audit import contract as audit
from handlers.batch import contract as batch
from handlers.conflict_feed import contract as conflict_feed
from handlers.environment import Environment, variable_name
from handlers.events import contract as events
from handlers.transform import contract as transform
from localcloud.core.recording import RecordedResource, RecordingMocks
from tests.unit.components.conftest import STACKS, BuiltStack, run_program

FUNCTION = "aws:lambda/function:Function"
ZONE = "aws:route53/zone:Zone"


@functools.cache
def _deployed(stack: str, overrides: tuple[tuple[str, str], ...]) -> BuiltStack:
    mocks = RecordingMocks()
    exports = run_program(mocks, stack=stack, config_overrides=dict(overrides))
    return BuiltStack(stack, dict(overrides), exports, list(mocks.resources), list(mocks.invokes))


def deployed(stack: str, overrides: dict[str, str] | None = None) -> BuiltStack:
    """The program as `stack` (with `pulumi config set`-style overrides) deploys it; built once."""
    return _deployed(stack, tuple(sorted((overrides or {}).items())))


# The settings contract each handler reads its environment through; None: it reads no variables.
SETTINGS_OF_HANDLER: dict[str, type[Environment] | None] = {
    "handlers.transform.upload_api.lambda_handler": transform.UploadSettings,
    "handlers.transform.upload_url_api.lambda_handler": transform.UploadUrlSettings,
    "handlers.transform.status_api.lambda_handler": transform.StatusSettings,
    "handlers.transform.rules_api.lambda_handler": transform.RulesListSettings,
    "handlers.transform.upload_page.lambda_handler": transform.UploadPageSettings,
    "handlers.transform.staged_upload_validator.lambda_handler": transform.StagedUploadSettings,
    "handlers.transform.transform_worker.lambda_handler": transform.WorkerSettings,
    "handlers.transform.dead_letters.lambda_handler": transform.DeadLetterSettings,
    "handlers.artifacts.build_worker.lambda_handler": artifacts.BuildWorkerSettings,
    "handlers.artifacts.validate_input.lambda_handler": None,
    "handlers.artifacts.copy_to_bucket.lambda_handler": None,
    "handlers.artifacts.process_results.lambda_handler": None,
    "handlers.artifacts.replication_worker.lambda_handler": artifacts.ReplicationWorkerSettings,
    "handlers.artifacts.regional_sync.lambda_handler": artifacts.RegionalSyncSettings,
    "handlers.batch.trigger.lambda_handler": batch.TriggerSettings,
    "handlers.batch.split_file.lambda_handler": batch.SplitSettings,
    "handlers.batch.validate_records.lambda_handler": batch.ValidateSettings,
    "handlers.batch.enrich_records.lambda_handler": batch.EnrichSettings,
    "handlers.batch.write_chunk.lambda_handler": None,
    "handlers.batch.merge_chunks.lambda_handler": None,
    "handlers.batch.email_link.lambda_handler": batch.EmailSettings,
    "handlers.batch.financials_api.lambda_handler": batch.FinancialsApiSettings,
    "handlers.active_region.switch.read_handler": active_region.ActiveRegionSettings,
    "handlers.active_region.switch.activate_handler": active_region.ActiveRegionSettings,
    "handlers.batch.reconcile.lambda_handler": batch.ReconcileSettings,
    "handlers.audit.ingest_api.lambda_handler": audit.IngestSettings,
    "handlers.audit.archive.lambda_handler": audit.ArchiveSettings,
    "handlers.audit.metadata.lambda_handler": audit.MetadataSettings,
    "handlers.audit.aggregate.lambda_handler": audit.RedisSettings,
    "handlers.audit.ingest_failure.lambda_handler": audit.SalvageSettings,
    "handlers.events.api.lambda_handler": events.ApiSettings,
    "handlers.events.processor.lambda_handler": events.ProcessorSettings,
    "handlers.events.repair.lambda_handler": events.RepairSettings,
    "handlers.conflict_feed.connections.lambda_handler": conflict_feed.FeedConnectionsSettings,
}


def variables_of(function: RecordedResource) -> dict[str, str]:
    environment = function.inputs.get("environment") or {}
    return dict(environment.get("variables") or {})


def declared(settings: type[Environment]) -> set[str]:
    return {variable_name(field.name) for field in fields(settings)}


def required(settings: type[Environment]) -> set[str]:
    return {
        variable_name(field.name)
        for field in fields(settings)
        if field.default is MISSING and field.default_factory is MISSING
    }


def check_functions(stack: BuiltStack) -> list[str]:
    """What is wrong with any function's environment, named by function and variable."""
    problems: list[str] = []
    for function in stack.resources_of(FUNCTION):
        handler = function.inputs["handler"]
        variables = variables_of(function)
        if handler not in SETTINGS_OF_HANDLER:
            problems.append(f"{function.name}: {handler} has no settings contract listed in this test")
            continue
        settings = SETTINGS_OF_HANDLER[handler]
        if settings is None:
            if variables:
                problems.append(f"{function.name}: {handler} reads no settings but gets {sorted(variables)}")
            continue
        unknown = sorted(set(variables) - declared(settings))
        missing = sorted(required(settings) - set(variables))
        if unknown:
            problems.append(f"{function.name}: {sorted(unknown)} are not fields of {settings.__name__}")
        if missing:
            problems.append(f"{function.name}: {settings.__name__} needs {missing}, which are not set")
        if not unknown and not missing:
            try:
                settings.from_environment(variables)
            except ValueError as error:
                problems.append(f"{function.name}: {settings.__name__} cannot read its variables: {error}")
    return problems


@pytest.mark.parametrize("stack_name", STACKS)
def test_every_function_gets_exactly_its_contracts_settings_and_can_read_them(stack_name: str) -> None:
    # GIVEN every function a stack deploys
    stack = deployed(stack_name)
    assert stack.resources_of(FUNCTION)
    # THEN each variable is a field of its handler's settings contract, every required field is set,
    # and the handler's contract reads them back (types, JSON and its own checks)
    assert check_functions(stack) == []


@pytest.mark.parametrize(
    ("stack_name", "overrides"),
    [
        # Strong consistency deploys no repair function and its own table replicas.
        (
            "primary",
            {"regionflow:eventsConsistency": "strong", "regionflow:eventsWitnessRegion": "us-east-2"},
        ),
        # The chaos flag puts the batch data plane in private subnets.
        ("primary", {"regionflow:failoverChaosExperiment": "true"}),
    ],
)
def test_the_contracts_hold_under_the_other_shapes_of_the_program(
    stack_name: str, overrides: dict[str, str]
) -> None:
    # GIVEN a stack whose settings change which functions exist or where they run
    # THEN every function still gets exactly what its handler's contract reads
    assert check_functions(deployed(stack_name, overrides)) == []


def function_with(stack: BuiltStack, handler: str) -> RecordedResource:
    return next(f for f in stack.resources_of(FUNCTION) if f.inputs["handler"] == handler)


def with_variables(function: RecordedResource, variables: dict[str, str]) -> BuiltStack:
    """A one-function stack: `function` as recorded, with other variables."""
    changed = replace(function, inputs={**function.inputs, "environment": {"variables": variables}})
    return BuiltStack("changed", {}, {}, [changed], [])


def test_a_misspelt_variable_is_caught() -> None:
    # GIVEN the upload function with MAX_UPLOAD_BYTES misspelt
    upload = function_with(deployed("local"), "handlers.transform.upload_api.lambda_handler")
    variables = variables_of(upload)
    variables["MAX_UPLOAD_BYTE"] = variables.pop("MAX_UPLOAD_BYTES")
    # WHEN / THEN the check names the variable and the contract
    assert check_functions(with_variables(upload, variables)) == [
        f"{upload.name}: ['MAX_UPLOAD_BYTE'] are not fields of UploadSettings"
    ]


def test_a_missing_required_variable_is_caught() -> None:
    # GIVEN a batch trigger without the state machine it starts
    trigger = function_with(deployed("local"), "handlers.batch.trigger.lambda_handler")
    variables = {name: value for name, value in variables_of(trigger).items() if name != "STATE_MACHINE_ARN"}
    # WHEN / THEN the check names what is missing
    assert check_functions(with_variables(trigger, variables)) == [
        f"{trigger.name}: TriggerSettings needs ['STATE_MACHINE_ARN'], which are not set"
    ]


def test_a_value_the_handler_cannot_read_is_caught() -> None:
    # GIVEN the email function with a recipient list that is not JSON
    email = function_with(deployed("local"), "handlers.batch.email_link.lambda_handler")
    variables = {**variables_of(email), "RECIPIENT_EMAILS": "ops@example.com"}
    # WHEN / THEN the check reports the handler's own refusal
    [problem] = check_functions(with_variables(email, variables))
    assert problem.startswith(
        f"{email.name}: EmailSettings cannot read its variables: RECIPIENT_EMAILS is not JSON"
    )
