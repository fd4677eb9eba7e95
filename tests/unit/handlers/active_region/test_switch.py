"""The failover runbook's read and activate functions, on the Route 53 record backend in moto.

(The same functions on ARC routing controls: test_routing_control.py.)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.active_region import switch
from handlers.active_region.signal import (
    Route53ActiveRegion,
    Route53RecordSwitch,
    switch_from_environment,
)
from handlers.active_region.switch import ActivationNotConfirmedError, activate, read_state

from ..conftest import FakeLambdaContext
from .switch_fixtures import (  # noqa: F401
    PRIMARY,
    RECORD_TTL_SECONDS,
    REGIONS,
    SECONDARY,
    SignalZone,
    signal_zone_fixture,
)

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client


def record_switch(zone: SignalZone) -> Route53RecordSwitch:
    return Route53RecordSwitch(
        zone.route53,
        zone_id=zone.zone_id,
        record_name=zone.record_name,
        ttl_seconds=RECORD_TTL_SECONDS,
        regions=REGIONS,
    )


def uncached_reader(zone: SignalZone) -> Route53ActiveRegion:
    return Route53ActiveRegion(
        zone.route53, zone_id=zone.zone_id, record_name=zone.record_name, cache_seconds=0
    )


class SilentSwitch:
    """A switch whose write is lost (or overwritten at once by another writer)."""

    regions = REGIONS

    def activate(self, region: str) -> None:
        pass


# Reading


def test_read_reports_the_active_region_and_that_this_region_is_not_it(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN PRIMARY is active and the function runs in SECONDARY
    # WHEN the runbook reads the signal without naming a target
    state = switch.read_handler({}, lambda_context)
    # THEN the target is this function's region, which is not active yet
    assert state == {"activeRegion": PRIMARY, "targetRegion": SECONDARY, "alreadyActive": False}


def test_read_says_already_active_when_the_target_is_the_active_region(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN PRIMARY is active, WHEN the runbook asks about PRIMARY, THEN there is nothing to do
    state = switch.read_handler({"targetRegion": PRIMARY}, lambda_context)
    assert state == {"activeRegion": PRIMARY, "targetRegion": PRIMARY, "alreadyActive": True}


def test_read_of_a_missing_record_answers_no_active_region_and_logs_why(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the record is missing: the signal is broken, which is when a failover is needed most
    signal_zone.delete_record()
    # WHEN the runbook reads it
    state = switch.read_handler({"targetRegion": SECONDARY}, lambda_context)
    # THEN it is not an error: no region is active, the target is not, and the log says why
    assert state == {"activeRegion": "", "targetRegion": SECONDARY, "alreadyActive": False}
    [warning] = [record for record in caplog.records if record.levelname == "WARNING"]
    reason: Any = getattr(warning, "reason", "")
    assert "no TXT record" in reason and signal_zone.zone_id in reason


def test_read_refuses_an_unknown_target_naming_the_known_regions(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # WHEN / THEN a target the signal does not know is refused, naming the known regions
    with pytest.raises(ValueError, match=f"unknown targetRegion 'eu-central-1'.*{PRIMARY}, {SECONDARY}"):
        switch.read_handler({"targetRegion": "eu-central-1"}, lambda_context)


# Activating


def test_activate_flips_the_record_and_the_signal_then_names_the_target(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN PRIMARY is active
    # WHEN the runbook activates SECONDARY
    result = switch.activate_handler({"targetRegion": SECONDARY}, lambda_context)
    # THEN the record holds SECONDARY (quoted, with its TTL), and a fresh read says so
    assert result == {"previousRegion": PRIMARY, "activeRegion": SECONDARY}
    assert signal_zone.values() == [f'"{SECONDARY}"'] and signal_zone.record()["TTL"] == RECORD_TTL_SECONDS
    assert switch.read_handler({}, lambda_context)["alreadyActive"] is True


def test_failback_activates_the_other_region_and_then_the_first_again(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a failover to SECONDARY
    first = switch.activate_handler({"targetRegion": SECONDARY}, lambda_context)
    # WHEN the runbook fails back, in the same warm environment (its reader must not serve a cached answer)
    back = switch.activate_handler({"targetRegion": PRIMARY}, lambda_context)
    # THEN each step flipped the signal, and the record is back at PRIMARY
    assert first == {"previousRegion": PRIMARY, "activeRegion": SECONDARY}
    assert back == {"previousRegion": SECONDARY, "activeRegion": PRIMARY}
    assert signal_zone.values() == [f'"{PRIMARY}"']


def test_activating_the_active_region_again_changes_nothing(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN PRIMARY is active, WHEN it is activated again (a retried runbook), THEN the signal is unchanged
    result = switch.activate_handler({"targetRegion": PRIMARY}, lambda_context)
    assert result == {"previousRegion": PRIMARY, "activeRegion": PRIMARY}
    assert signal_zone.values() == [f'"{PRIMARY}"']


def test_activate_repairs_a_missing_record(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the record is missing
    signal_zone.delete_record()
    # WHEN the runbook activates SECONDARY
    result = switch.activate_handler({"targetRegion": SECONDARY}, lambda_context)
    # THEN the record exists again, naming it; there was no previous region
    assert result == {"previousRegion": "", "activeRegion": SECONDARY}
    assert signal_zone.values() == [f'"{SECONDARY}"']


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({}, "the event has no targetRegion"),
        ({"targetRegion": ""}, "the event has no targetRegion"),
        ({"targetRegion": "eu-central-1"}, "unknown targetRegion 'eu-central-1'"),
        ({"targetRegion": "primary"}, "unknown targetRegion 'primary'"),
    ],
)
def test_activate_refuses_a_missing_or_unknown_target_naming_the_known_regions(
    signal_zone: SignalZone, lambda_context: FakeLambdaContext, event: dict[str, Any], problem: str
) -> None:
    # WHEN the runbook asks to activate no region, or one the signal does not know
    with pytest.raises(ValueError, match=problem) as raised:
        switch.activate_handler(event, lambda_context)
    # THEN it is refused with the regions it could have named, and the record is untouched
    assert f"{PRIMARY}, {SECONDARY}" in str(raised.value)
    assert signal_zone.values() == [f'"{PRIMARY}"']


def test_activate_raises_when_the_signal_read_back_does_not_name_the_target(signal_zone: SignalZone) -> None:
    # GIVEN a switch whose write does not land
    # WHEN SECONDARY is activated
    # THEN the read-back catches it: the runbook must not go on as if SECONDARY were active
    with pytest.raises(ActivationNotConfirmedError, match=f"activated {SECONDARY}, but .* says {PRIMARY}"):
        activate(SilentSwitch(), uncached_reader(signal_zone), SECONDARY)


def test_activate_raises_when_the_signal_read_back_is_broken(signal_zone: SignalZone) -> None:
    # GIVEN the record is missing and the switch's write does not land
    signal_zone.delete_record()
    # WHEN / THEN the broken read-back is an error, with the reader's reason
    with pytest.raises(ActivationNotConfirmedError, match=r"names no region: .*no TXT record"):
        activate(SilentSwitch(), uncached_reader(signal_zone), SECONDARY)


def test_read_state_reports_an_ambiguous_signal_as_no_active_region() -> None:
    class AmbiguousRecord:
        def list_resource_record_sets(self, **_: Any) -> Any:
            record = {
                "Name": "active-region.regionflow.internal.",
                "Type": "TXT",
                "ResourceRecords": [{"Value": f'"{PRIMARY}"'}, {"Value": f'"{SECONDARY}"'}],
            }
            return {"ResourceRecordSets": [record]}

    # GIVEN a record holding two regions
    # a test double: implements only the calls the code under test makes
    client = cast("Route53Client", AmbiguousRecord())
    reader = Route53ActiveRegion(
        client, zone_id="Z1", record_name="active-region.regionflow.internal", cache_seconds=0
    )
    # WHEN / THEN the runbook's read reports no active region rather than failing
    assert read_state(reader, PRIMARY) == {
        "activeRegion": "",
        "targetRegion": PRIMARY,
        "alreadyActive": False,
    }


# The record switch


def test_the_record_switch_refuses_an_unknown_region_and_writes_nothing(signal_zone: SignalZone) -> None:
    # WHEN / THEN the record switch refuses a region it does not know, and the record is untouched
    with pytest.raises(ValueError, match=f"unknown region 'eu-central-1'.*one of {PRIMARY}, {SECONDARY}"):
        record_switch(signal_zone).activate("eu-central-1")
    assert signal_zone.values() == [f'"{PRIMARY}"']


def test_the_record_switch_accepts_only_region_names() -> None:
    # WHEN / THEN a switch configured with something that is not a region name is not built
    client = cast("Route53Client", None)  # never called: the regions are refused before any request
    with pytest.raises(ValueError, match=r"\['primary'\] are not region names"):
        Route53RecordSwitch(
            client, zone_id="Z1", record_name="r.example", ttl_seconds=60, regions=["primary"]
        )


def test_switch_from_environment_writes_the_configured_record(signal_zone: SignalZone) -> None:
    # GIVEN the record backend's environment
    # WHEN the switch built from it activates SECONDARY
    built = switch_from_environment(signal_zone.route53)
    assert isinstance(built, Route53RecordSwitch) and built.regions == REGIONS
    built.activate(SECONDARY)
    # THEN the configured record names it
    assert signal_zone.values() == [f'"{SECONDARY}"']


def test_the_record_switch_needs_the_list_of_regions(
    signal_zone: SignalZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no ACTIVE_REGION_REGIONS: the switch could not tell a region name from a typo
    monkeypatch.delenv("ACTIVE_REGION_REGIONS")
    # WHEN / THEN it is not built, and the message says what to set
    with pytest.raises(ValueError, match="ACTIVE_REGION_REGIONS is not set") as raised:
        switch_from_environment(signal_zone.route53)
    assert json.dumps(["eu-west-1", "us-west-2"]) in str(raised.value)
