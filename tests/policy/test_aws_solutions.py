"""cdk-nag AwsSolutions rules (and two house rules) over every policy stack: one test per rule.

A test fails on any finding that tests/policy/exceptions.py does not excuse with a reason.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from tests.policy.conftest import PolicyStack
from tests.policy.exceptions import EXCEPTIONS, unexcused
from tests.policy.rules import RULES


def findings(rule_id: str, stack: PolicyStack) -> list[str]:
    return unexcused(rule_id, stack.label, RULES[rule_id](stack.built).offenders)


# -- API Gateway ---------------------------------------------------------------------------------------


def test_apig1_every_api_stage_writes_access_logs(stack: PolicyStack) -> None:
    # GIVEN every HTTP and REST API stage of the stack
    # THEN each sends access logs, in a format, to a log group
    assert findings("APIG1", stack) == []


def test_apig3_every_rest_stage_is_behind_waf(stack: PolicyStack) -> None:
    # GIVEN every REST API stage (HTTP API stages cannot be associated with a web ACL)
    # THEN each is associated with a WAF web ACL
    assert findings("APIG3", stack) == []


def test_apig4_every_route_method_and_url_requires_authorization(stack: PolicyStack) -> None:
    # GIVEN every HTTP route, REST method and function URL
    # THEN each is AWS_IAM or JWT (Cognito for REST): none is anonymous
    assert findings("APIG4", stack) == []


# -- SQS and SNS -------------------------------------------------------------------------------------


def test_sqs3_every_queue_but_a_dead_letter_queue_has_one(stack: PolicyStack) -> None:
    # GIVEN every queue that does not itself hold what failed elsewhere
    # THEN each redrives to a dead-letter queue of the stack
    assert findings("SQS3", stack) == []


def test_sqs4_every_queue_denies_insecure_transport(stack: PolicyStack) -> None:
    # GIVEN every queue and the policy attached to it
    # THEN the policy denies sqs:* to anyone when aws:SecureTransport is false
    assert findings("SQS4", stack) == []


def test_sns3_every_topic_denies_insecure_publishing(stack: PolicyStack) -> None:
    # GIVEN every topic and the policy attached to it
    # THEN the policy denies sns:Publish to anyone when aws:SecureTransport is false
    assert findings("SNS3", stack) == []


# -- S3 ------------------------------------------------------------------------------------------------


def test_s1_every_bucket_writes_server_access_logs(stack: PolicyStack) -> None:
    # GIVEN every bucket
    # THEN each writes server access logs
    assert findings("S1", stack) == []


def test_s10_every_bucket_denies_insecure_transport(stack: PolicyStack) -> None:
    # GIVEN every bucket and its bucket policy
    # THEN the policy denies s3:* on the bucket and its objects when aws:SecureTransport is false
    assert findings("S10", stack) == []


# -- DynamoDB, Step Functions, Lambda -------------------------------------------------------------------


def test_ddb3_every_table_and_replica_has_point_in_time_recovery(stack: PolicyStack) -> None:
    # GIVEN every table and every replica of a global table
    # THEN each can be restored to any second of the last 35 days
    assert findings("DDB3", stack) == []


def test_sf1_every_state_machine_logs_all_events(stack: PolicyStack) -> None:
    # GIVEN every state machine
    # THEN each logs ALL events to its log group
    assert findings("SF1", stack) == []


def test_sf2_every_state_machine_is_traced(stack: PolicyStack) -> None:
    # GIVEN every state machine
    # THEN X-Ray tracing is on
    assert findings("SF2", stack) == []


def test_l1_every_function_runs_the_latest_python_runtime(stack: PolicyStack) -> None:
    # GIVEN every Lambda function
    # THEN each runs Lambda's newest Python runtime
    assert findings("L1", stack) == []


# -- IAM -----------------------------------------------------------------------------------------------


def test_iam4_no_role_carries_an_aws_managed_policy(stack: PolicyStack) -> None:
    # GIVEN every role and policy attachment
    # THEN none names a policy under arn:aws:iam::aws:policy/
    assert findings("IAM4", stack) == []


def test_iam5_no_grant_uses_a_wildcard_without_a_reason(stack: PolicyStack) -> None:
    # GIVEN every Allow of every role's own policies, as (action, resource) pairs
    # THEN each wildcard is one AWS leaves no narrower form for, as its exception says
    assert findings("IAM5", stack) == []


# -- Secrets Manager, ElastiCache ---------------------------------------------------------------------


def test_smg4_every_secret_rotates(stack: PolicyStack) -> None:
    # GIVEN every secret
    # THEN a rotation schedule changes it
    assert findings("SMG4", stack) == []


def test_aec1_every_cache_runs_in_the_vpc(stack: PolicyStack) -> None:
    # GIVEN every ElastiCache replication group
    # THEN it runs in a subnet group behind security groups
    assert findings("AEC1", stack) == []


def test_aec3_every_cache_encrypts_at_rest_and_in_transit(stack: PolicyStack) -> None:
    assert findings("AEC3", stack) == []


def test_aec4_every_cache_is_multi_az_with_automatic_failover(stack: PolicyStack) -> None:
    assert findings("AEC4", stack) == []


def test_aec5_no_cache_listens_on_the_default_port(stack: PolicyStack) -> None:
    assert findings("AEC5", stack) == []


def test_aec6_every_cache_requires_auth(stack: PolicyStack) -> None:
    assert findings("AEC6", stack) == []


# -- house rules: confused deputies ------------------------------------------------------------------


def test_every_service_grant_with_a_source_arn_names_the_source_account(stack: PolicyStack) -> None:
    # GIVEN every Lambda permission and resource-policy Allow for a service principal with aws:SourceArn
    # THEN it also requires aws:SourceAccount (bucket ARNs name no account)
    assert findings("SourceAccount", stack) == []


def test_every_role_of_a_service_that_sends_its_source_account_requires_it(stack: PolicyStack) -> None:
    # GIVEN every role assumed by a service AWS documents as sending aws:SourceAccount
    # THEN its trust policy requires this account
    assert findings("TrustSourceAccount", stack) == []


# -- the rules themselves ------------------------------------------------------------------------------


def test_every_rule_has_its_test() -> None:
    # GIVEN this module's test functions, named for their rules
    tested = {name.split("_")[1].upper() for name in globals() if name.startswith("test_")}
    house_rules = {"SourceAccount", "TrustSourceAccount"}
    # THEN every cdk-nag rule checked has a test named for it
    assert set(RULES) - house_rules <= tested


def test_every_rule_examines_resources_in_some_stack(all_stacks: list[PolicyStack]) -> None:
    # GIVEN every rule over every policy stack
    examined = {
        rule_id: [len(check(stack.built).checked) for stack in all_stacks] for rule_id, check in RULES.items()
    }
    # THEN none passes for want of anything to look at
    assert {rule_id for rule_id, counts in examined.items() if not any(counts)} == set()


def test_every_exception_names_a_rule_and_gives_a_reason() -> None:
    for rule_id, excused in EXCEPTIONS.items():
        assert rule_id in RULES, rule_id
        for pattern, reason in excused.items():
            assert len(reason.split()) >= 8, f"{rule_id} {pattern}: say why"


def test_every_exception_still_excuses_a_finding(all_stacks: list[PolicyStack]) -> None:
    # GIVEN every finding of every rule over every policy stack
    found = {
        rule_id: [
            f"{stack.label}/{offender}" for stack in all_stacks for offender in check(stack.built).offenders
        ]
        for rule_id, check in RULES.items()
    }
    # THEN every exception matches one of them (one that matches nothing is stale: delete it)
    stale = [
        f"{rule_id} {pattern}"
        for rule_id, excused in EXCEPTIONS.items()
        for pattern in excused
        if not any(fnmatchcase(finding, pattern) for finding in found[rule_id])
    ]
    assert stale == []
