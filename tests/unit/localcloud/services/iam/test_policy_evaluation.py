"""The IAM policy evaluator decides as AWS does: deny wins, then allows, then the implicit deny; conditions,
principals, wildcards and policy variables follow the IAM User Guide."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from localcloud.services.iam.policy_evaluation import (
    AuthorizationRequest,
    ContextValue,
    Decision,
    NamedPolicy,
    PolicyNotSupportedError,
    evaluate,
)
from localcloud.services.iam.policy_evaluation.conditions import _OPERATORS as SUPPORTED_OPERATORS

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/batch-role/session-1"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"
BUCKET_OBJECT = "arn:aws:s3:::reports/2024/summary.csv"
QUEUE = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:events"


def request(**fields: Any) -> AuthorizationRequest:
    defaults: dict[str, Any] = {
        "principal_arn": SESSION,
        "principal_account": ACCOUNT,
        "action": "dynamodb:PutItem",
        "resource": TABLE,
    }
    return AuthorizationRequest(**{**defaults, **fields})


def policy(*statements: dict[str, Any], name: str = "app", version: str | None = "2012-10-17") -> NamedPolicy:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return NamedPolicy(name, document)


def allow(**elements: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE, **elements}


def deny(**elements: Any) -> dict[str, Any]:
    return {**allow(**elements), "Effect": "Deny"}


def allowed_when(condition: Mapping[str, Any], context: Mapping[str, ContextValue] | None = None) -> bool:
    """Whether an Allow with `condition` allows a request carrying `context`."""
    return evaluate(request(context=context or {}), [policy(allow(Condition=condition))]).allowed


# ---------------------------------------------------------------------------------------------------------
# The evaluation logic


def test_an_identity_allow_allows_and_the_reason_names_the_statement_and_policy() -> None:
    # GIVEN a policy whose second statement, without a Sid, allows the call
    batch_trigger = policy(allow(Action="sqs:SendMessage"), allow(), name="batch-trigger")
    # WHEN the call is evaluated
    decision = evaluate(request(), [batch_trigger])
    # THEN it is allowed by statement 2 (counting from 1) of that policy
    assert decision == Decision(True, "allowed by statement 2 of policy 'batch-trigger'")


def test_a_statement_with_a_sid_is_named_by_it() -> None:
    # GIVEN an allowing statement with a Sid, WHEN evaluated, THEN the reason quotes the Sid
    decision = evaluate(request(), [policy(allow(Sid="WriteOrders"))])
    assert decision.reason == "allowed by statement 'WriteOrders' of policy 'app'"


def test_nothing_allowing_the_call_is_an_implicit_deny_naming_the_action() -> None:
    # GIVEN a policy allowing something else only
    unrelated = policy(allow(Action="dynamodb:GetItem"))
    # WHEN a PutItem is evaluated, THEN it is implicitly denied
    assert evaluate(request(), [unrelated]) == Decision(
        False, "no identity-based policy allows the dynamodb:PutItem action"
    )
    assert evaluate(request(), []).allowed is False


def test_an_explicit_deny_beats_an_allow_of_another_policy() -> None:
    # GIVEN one policy allowing the call and another denying it
    allowing = policy(allow(), name="writer")
    denying = policy(deny(Sid="NoWrites", Action="dynamodb:*"), name="guardrail")
    # WHEN evaluated in either order
    for policies in ([allowing, denying], [denying, allowing]):
        # THEN the deny wins and is named
        assert evaluate(request(), policies) == Decision(
            False, "explicitly denied by statement 'NoWrites' of policy 'guardrail'"
        )


def test_an_explicit_deny_in_the_resource_policy_beats_an_identity_allow() -> None:
    # GIVEN a role allowed to read objects and a bucket policy denying insecure transport
    role_policy = policy(allow(Action="s3:GetObject", Resource="arn:aws:s3:::reports/*"))
    bucket_policy = policy(
        deny(
            Sid="DenyInsecure",
            Principal="*",
            Action="s3:*",
            Resource="arn:aws:s3:::reports/*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
        name="bucket policy",
    )
    insecure = request(action="s3:GetObject", resource=BUCKET_OBJECT, context={"aws:SecureTransport": False})
    secure = request(action="s3:GetObject", resource=BUCKET_OBJECT, context={"aws:SecureTransport": True})
    # WHEN read over plain HTTP THEN the bucket policy denies, named as AWS would
    assert evaluate(insecure, [role_policy], bucket_policy) == Decision(
        False, "explicitly denied by statement 'DenyInsecure' of the bucket policy"
    )
    # AND over TLS the identity policy allows
    assert evaluate(secure, [role_policy], bucket_policy).allowed


def test_an_allow_whose_condition_does_not_match_is_not_a_deny() -> None:
    # GIVEN a policy with a conditional Allow that does not match the request and an unconditional Allow.
    # moto's evaluator (moto/iam/access_control.py, IAMPolicyStatement.is_action_permitted) returns DENIED
    # for any statement whose Condition fails, Allow included, and stops evaluating the policy there: it
    # would deny this call. In AWS a statement whose condition fails simply does not apply.
    conditional_then_plain = policy(
        allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "payments"}}),
        allow(Sid="Everyone"),
    )
    # WHEN the caller has no matching tag
    decision = evaluate(request(context={"aws:PrincipalTag/team": "search"}), [conditional_then_plain])
    # THEN the second statement allows the call
    assert decision == Decision(True, "allowed by statement 'Everyone' of policy 'app'")


def test_a_statement_may_be_one_object_and_a_document_json_text() -> None:
    # GIVEN a policy stored as JSON text whose Statement is a single object, not a list
    text = json.dumps({"Version": "2012-10-17", "Statement": allow(Sid="Only")})
    # WHEN evaluated THEN the statement applies
    assert evaluate(request(), [NamedPolicy("stored", text)]).reason == (
        "allowed by statement 'Only' of policy 'stored'"
    )


def test_in_the_same_account_a_resource_policy_allow_suffices() -> None:
    # GIVEN a caller without identity policies and a queue policy naming its role
    queue_policy = policy(
        allow(
            Sid="Producers",
            Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/batch-role"},
            Action="sqs:*",
            Resource=QUEUE,
        ),
        name="queue policy",
    )
    # WHEN the role's session sends a message
    decision = evaluate(request(action="sqs:SendMessage", resource=QUEUE), [], queue_policy)
    # THEN the queue policy alone allows it
    assert decision == Decision(True, "allowed by statement 'Producers' of the queue policy")


@pytest.mark.parametrize(
    ("identity_allows", "resource_allows", "allowed"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_cross_account_access_needs_both_an_identity_and_a_resource_policy_allow(
    identity_allows: bool, resource_allows: bool, allowed: bool
) -> None:
    # GIVEN a caller of another account than the queue's, with or without each kind of allow
    caller = f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/producer/s"
    identity = [policy(allow(Action="sqs:SendMessage", Resource=QUEUE))] if identity_allows else []
    grant = allow(Sid="Partner", Principal={"AWS": OTHER_ACCOUNT}, Action="sqs:SendMessage", Resource=QUEUE)
    queue_policy = policy(
        grant if resource_allows else allow(Principal={"AWS": ACCOUNT}), name="queue policy"
    )
    cross = request(
        principal_arn=caller,
        principal_account=OTHER_ACCOUNT,
        action="sqs:SendMessage",
        resource=QUEUE,
        resource_account=ACCOUNT,
    )
    # WHEN evaluated
    decision = evaluate(cross, identity, queue_policy)
    # THEN only both together allow, and a denial says which side is missing
    assert decision.allowed is allowed
    if allowed:
        assert decision.reason == (
            "allowed by statement 1 of policy 'app' and statement 'Partner' of the queue policy"
        )
    else:
        assert ("no identity-based policy allows" in decision.reason) is not identity_allows
        assert ("the queue policy does not allow access" in decision.reason) is not resource_allows
        assert decision.reason.endswith(f"to a resource of account {ACCOUNT} needs both)")


def test_cross_account_access_without_a_resource_policy_is_denied() -> None:
    # GIVEN a caller allowed everything by its identity policies, calling on another account's table
    # WHEN the table has no resource-based policy, THEN the call is denied, saying so
    cross = request(resource_account=OTHER_ACCOUNT)
    decision = evaluate(cross, [policy(allow(Resource="*"))])
    assert decision.allowed is False
    assert f"no resource-based policy allows access from account {ACCOUNT}" in decision.reason


def test_an_account_principal_delegates_to_identity_policies_in_the_same_account() -> None:
    # GIVEN a bucket policy allowing the account (its root ARN), as key and trust policies often do
    bucket_policy = policy(
        allow(Sid="Account", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, Action="s3:*", Resource="*"),
        name="bucket policy",
    )
    read = request(action="s3:GetObject", resource=BUCKET_OBJECT)
    # WHEN a session of the account without identity policies reads THEN it is denied: the account
    # principal only delegates to the account's identity policies
    denied = evaluate(read, [], bucket_policy)
    assert denied.allowed is False
    assert "statement 'Account' of the bucket policy names the account" in denied.reason
    # AND an identity policy allowing the read is what grants it
    assert evaluate(read, [policy(allow(Action="s3:GetObject", Resource="*"))], bucket_policy).allowed


def test_an_account_principal_deny_applies_to_every_principal_of_the_account() -> None:
    # GIVEN a bucket policy denying writes to the account, and a session allowed s3:* by its role
    # WHEN the session writes, THEN the account-wide deny applies to it
    bucket_policy = policy(
        deny(Sid="Freeze", Principal={"AWS": ACCOUNT}, Action="s3:PutObject", Resource="*"),
        name="bucket policy",
    )
    write = request(action="s3:PutObject", resource=BUCKET_OBJECT)
    decision = evaluate(write, [policy(allow(Action="s3:*", Resource="*"))], bucket_policy)
    assert decision == Decision(False, "explicitly denied by statement 'Freeze' of the bucket policy")


# ---------------------------------------------------------------------------------------------------------
# Actions and resources


@pytest.mark.parametrize(
    "written", ["dynamodb:PutItem", "DynamoDB:putitem", "DYNAMODB:PUT*", "dynamodb:*", "*"]
)
def test_actions_match_case_insensitively(written: str) -> None:
    # GIVEN the action written in any case or as a wildcard, THEN it matches dynamodb:PutItem
    assert evaluate(request(), [policy(allow(Action=written))]).allowed


def test_resources_match_case_sensitively() -> None:
    # GIVEN a policy on table "orders" and a call on "Orders"
    upper = request(resource=TABLE.replace("table/orders", "table/Orders"))
    # THEN only the exact case matches
    assert evaluate(request(), [policy(allow())]).allowed
    assert not evaluate(upper, [policy(allow())]).allowed


def test_a_question_mark_matches_exactly_one_character_in_actions_and_resources() -> None:
    # GIVEN patterns with a single-character wildcard
    one_char = policy(allow(Action="dynamodb:?utItem", Resource=TABLE.replace("orders", "order?")))
    # THEN they match one character, not none and not two
    assert evaluate(request(), [one_char]).allowed
    assert not evaluate(request(resource=TABLE.replace("orders", "order")), [one_char]).allowed
    assert not evaluate(request(resource=TABLE.replace("orders", "orderss")), [one_char]).allowed
    assert not evaluate(request(action="dynamodb:OutputItem"), [one_char]).allowed


def test_a_star_matches_any_run_of_characters_including_slashes_and_colons() -> None:
    # GIVEN "reports/*" and "s3:Get*", THEN a nested object key and GetObject match
    assert evaluate(
        request(resource=BUCKET_OBJECT, action="s3:GetObject"),
        [policy(allow(Action="s3:Get*", Resource="arn:aws:s3:::reports/*"))],
    ).allowed


def test_regular_expression_characters_in_patterns_are_literal() -> None:
    # GIVEN a resource pattern with a dot, brackets and a plus, which a regular expression would interpret
    dotted = policy(allow(Action="s3:GetObject", Resource="arn:aws:s3:::my.bucket/[a]+*"))
    # THEN only the literal characters match
    assert evaluate(request(action="s3:GetObject", resource="arn:aws:s3:::my.bucket/[a]+x"), [dotted]).allowed
    assert not evaluate(
        request(action="s3:GetObject", resource="arn:aws:s3:::myxbucket/aa"), [dotted]
    ).allowed


def test_not_action_applies_to_every_other_action() -> None:
    # GIVEN a policy allowing everything on the table but DeleteTable
    everything_else = policy({"Effect": "Allow", "NotAction": "dynamodb:DeleteTable", "Resource": TABLE})
    # THEN other actions, of any service, are allowed and DeleteTable is not
    assert evaluate(request(action="dynamodb:Query"), [everything_else]).allowed
    assert evaluate(request(action="s3:GetObject"), [everything_else]).allowed
    assert not evaluate(request(action="dynamodb:deletetable"), [everything_else]).allowed


def test_not_resource_applies_to_every_other_resource() -> None:
    # GIVEN an allow on everything and a deny on everything but the orders table
    guard = {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": TABLE, "Sid": "OnlyOrders"}
    policies = [policy(allow(Resource="*"), guard)]
    # THEN the orders table is allowed and any other table is explicitly denied
    assert evaluate(request(), policies).allowed
    other = evaluate(request(resource=TABLE.replace("orders", "audit")), policies)
    assert other == Decision(False, "explicitly denied by statement 'OnlyOrders' of policy 'app'")


def test_an_identity_statement_without_resource_matches_nothing() -> None:
    # GIVEN an identity-based statement missing Resource (IAM rejects it; moto stores it)
    statement = {"Effect": "Allow", "Action": "*"}
    # THEN it allows nothing rather than everything
    assert not evaluate(request(), [policy(statement)]).allowed


def test_a_resource_policy_statement_without_resource_applies_to_its_resource() -> None:
    # GIVEN a role trust policy, which has no Resource, trusting the Lambda service
    trust = policy(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        name="trust policy",
    )
    assume = request(
        action="sts:AssumeRole",
        resource=f"arn:aws:iam::{ACCOUNT}:role/batch-role",
        service_principal="lambda.amazonaws.com",
    )
    # THEN the service may assume the role
    assert evaluate(assume, [], trust) == Decision(True, "allowed by statement 1 of the trust policy")


def test_an_action_without_a_resource_is_matched_only_by_a_star_resource() -> None:
    # GIVEN ListTables, which takes no resource (the request's resource is "*")
    # THEN Resource "*" matches it and an ARN pattern, even a wide one, does not
    list_tables = request(action="dynamodb:ListTables", resource="*")
    assert evaluate(list_tables, [policy(allow(Action="dynamodb:ListTables", Resource="*"))]).allowed
    assert not evaluate(
        list_tables, [policy(allow(Action="dynamodb:ListTables", Resource="arn:aws:*"))]
    ).allowed


# ---------------------------------------------------------------------------------------------------------
# Principals of resource-based policies


def queue_policy_for(principal: Any, *, not_principal: bool = False) -> NamedPolicy:
    element = "NotPrincipal" if not_principal else "Principal"
    return policy(
        allow(Sid="Grant", Action="sqs:SendMessage", Resource=QUEUE, **{element: principal}),
        name="queue policy",
    )


def sends(principal_arn: str, account: str = ACCOUNT, **fields: Any) -> AuthorizationRequest:
    return request(
        principal_arn=principal_arn,
        principal_account=account,
        action="sqs:SendMessage",
        resource=QUEUE,
        **fields,
    )


@pytest.mark.parametrize(
    "role_arn",
    [f"arn:aws:iam::{ACCOUNT}:role/batch-role", f"arn:aws:iam::{ACCOUNT}:role/service/team/batch-role"],
)
def test_a_role_principal_matches_the_roles_sessions_even_when_the_role_has_a_path(role_arn: str) -> None:
    # GIVEN a queue policy naming a role, with or without a path (its sessions' ARNs never carry the path)
    # WHEN one of the role's sessions sends THEN the queue policy allows it
    assert evaluate(sends(SESSION), [], queue_policy_for({"AWS": role_arn})).allowed


@pytest.mark.parametrize(
    "caller",
    [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/other-role/session-1",
        f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/batch-role/session-1",
        f"arn:aws:iam::{ACCOUNT}:user/batch-role",
    ],
)
def test_a_role_principal_matches_no_other_role_account_or_user(caller: str) -> None:
    # GIVEN a queue policy naming batch-role of one account
    # WHEN another role's session, the same role name in another account, or a user of that name sends
    # THEN the queue policy does not grant it
    account = caller.split(":")[4]
    named = queue_policy_for({"AWS": [f"arn:aws:iam::{ACCOUNT}:role/batch-role"]})
    assert not evaluate(sends(caller, account), [], named).allowed


def test_a_session_principal_matches_that_session_only() -> None:
    # GIVEN a queue policy naming one role session, THEN that session matches and another one does not
    named = queue_policy_for({"AWS": SESSION})
    assert evaluate(sends(SESSION), [], named).allowed
    assert not evaluate(sends(SESSION.replace("session-1", "session-2")), [], named).allowed


def test_a_user_principal_matches_that_user_only() -> None:
    # GIVEN a queue policy naming a user, THEN that user matches and another user does not
    named = queue_policy_for({"AWS": USER})
    assert evaluate(sends(USER), [], named).allowed
    assert not evaluate(sends(USER.replace("alice", "bob")), [], named).allowed


@pytest.mark.parametrize("account_principal", [OTHER_ACCOUNT, f"arn:aws:iam::{OTHER_ACCOUNT}:root"])
def test_an_account_id_and_the_account_root_arn_name_every_principal_of_the_account(
    account_principal: str,
) -> None:
    # GIVEN a queue policy granting another account, as its id or its root ARN
    granted = queue_policy_for({"AWS": account_principal})
    partner = f"arn:aws:iam::{OTHER_ACCOUNT}:user/partner"
    identity = [policy(allow(Action="sqs:SendMessage", Resource=QUEUE))]
    # WHEN any principal of that account, allowed by its own policies, sends THEN it is allowed
    assert evaluate(sends(partner, OTHER_ACCOUNT, resource_account=ACCOUNT), identity, granted).allowed
    # AND a principal of a third account is not
    stranger = "arn:aws:iam::333333333333:user/partner"
    assert not evaluate(sends(stranger, "333333333333", resource_account=ACCOUNT), identity, granted).allowed


@pytest.mark.parametrize("everyone", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_star_principals_match_everyone_including_services(everyone: Any) -> None:
    # GIVEN a queue policy granting "*" (spelled any of AWS's ways)
    # THEN an IAM user and a service principal are both granted
    granted = queue_policy_for(everyone)
    assert evaluate(sends(USER), [], granted).allowed
    assert evaluate(sends("s3.amazonaws.com", service_principal="s3.amazonaws.com"), [], granted).allowed


def test_a_service_principal_matches_only_that_service() -> None:
    # GIVEN a queue policy letting S3 deliver event notifications
    s3_may_send = queue_policy_for({"Service": ["s3.amazonaws.com"]})
    # WHEN S3 sends THEN it is allowed; SNS and IAM principals are not
    assert evaluate(
        sends("s3.amazonaws.com", service_principal="s3.amazonaws.com"), [], s3_may_send
    ).reason == ("allowed by statement 'Grant' of the queue policy")
    from_sns = evaluate(sends("sns.amazonaws.com", service_principal="sns.amazonaws.com"), [], s3_may_send)
    assert from_sns == Decision(
        False,
        "the queue policy does not allow the service principal sns.amazonaws.com to perform sqs:SendMessage",
    )
    assert not evaluate(sends(USER), [], s3_may_send).allowed


def test_a_service_call_is_limited_by_conditions_on_its_source() -> None:
    # GIVEN S3 allowed to send only for one bucket (the confused-deputy guard)
    guarded = policy(
        allow(
            Principal={"Service": "s3.amazonaws.com"},
            Action="sqs:SendMessage",
            Resource=QUEUE,
            Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:*:*:uploads"}},
        ),
        name="queue policy",
    )
    # THEN deliveries from that bucket are allowed and from another bucket denied
    from_uploads = {"aws:SourceArn": "arn:aws:s3:::uploads"}
    from_other = {"aws:SourceArn": "arn:aws:s3:::other"}
    service = "s3.amazonaws.com"
    assert evaluate(sends(service, service_principal=service, context=from_uploads), [], guarded).allowed
    assert not evaluate(sends(service, service_principal=service, context=from_other), [], guarded).allowed


def test_a_service_call_without_a_resource_policy_is_denied() -> None:
    # GIVEN a service calling on a queue without a policy, THEN nothing grants it and the reason says so
    decision = evaluate(sends("s3.amazonaws.com", service_principal="s3.amazonaws.com"), [])
    assert decision.reason == (
        "no resource-based policy allows the service principal s3.amazonaws.com to perform sqs:SendMessage"
    )


def test_not_principal_applies_to_everyone_except_the_listed_principals() -> None:
    # GIVEN a bucket policy denying every principal but one role, and an identity policy allowing reads
    only_auditor = policy(
        {
            "Sid": "OnlyAuditor",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/auditor"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::reports/*",
        },
        name="bucket policy",
    )
    reads = [policy(allow(Action="s3:GetObject", Resource="*"))]
    auditor = f"arn:aws:sts::{ACCOUNT}:assumed-role/auditor/s"
    # THEN the listed role reads and anyone else is explicitly denied
    assert evaluate(
        request(principal_arn=auditor, action="s3:GetObject", resource=BUCKET_OBJECT), reads, only_auditor
    ).allowed
    assert evaluate(request(action="s3:GetObject", resource=BUCKET_OBJECT), reads, only_auditor) == Decision(
        False, "explicitly denied by statement 'OnlyAuditor' of the bucket policy"
    )


# ---------------------------------------------------------------------------------------------------------
# Condition operators


OPERATOR_CASES = [
    # (operator, key, policy value, request value, holds)
    ("StringEquals", "aws:PrincipalTag/team", "payments", "payments", True),
    ("StringEquals", "aws:PrincipalTag/team", "payments", "Payments", False),
    ("StringNotEquals", "aws:PrincipalTag/team", "payments", "search", True),
    ("StringNotEquals", "aws:PrincipalTag/team", "payments", "payments", False),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "payments", "PAYMENTS", True),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "payments", "search", False),
    ("StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "payments", "search", True),
    ("StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "payments", "PAYMENTS", False),
    ("StringLike", "s3:prefix", "home/?lice/*", "home/alice/notes.txt", True),
    ("StringLike", "s3:prefix", "home/?lice/*", "home/bob/notes.txt", False),
    ("StringNotLike", "s3:prefix", "home/*", "public/index.html", True),
    ("StringNotLike", "s3:prefix", "home/*", "home/alice", False),
    (
        "ArnEquals",
        "aws:SourceArn",
        "arn:aws:sns:eu-west-1:123456789012:*",
        "arn:aws:sns:eu-west-1:123456789012:t",
        True,
    ),
    (
        "ArnEquals",
        "aws:SourceArn",
        "arn:aws:sns:eu-west-1:123456789012:*",
        "arn:aws:sns:us-east-1:123456789012:t",
        False,
    ),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::uploads-*", "arn:aws:s3:::uploads-eu", True),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::uploads-*", "arn:aws:s3:::downloads", False),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::uploads", "arn:aws:s3:::other", True),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::uploads", "arn:aws:s3:::uploads", False),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:s3:::up*", "arn:aws:s3:::down", True),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:s3:::up*", "arn:aws:s3:::uploads", False),
    ("Bool", "aws:SecureTransport", "true", True, True),
    ("Bool", "aws:SecureTransport", True, "false", False),
    ("BinaryEquals", "s3:x-amz-checksum", "QmluYXJ5", "QmluYXJ5", True),
    ("BinaryEquals", "s3:x-amz-checksum", "QmluYXJ5", "T3RoZXI=", False),
    ("NumericEquals", "s3:max-keys", "10", 10, True),
    ("NumericEquals", "s3:max-keys", "10", "11", False),
    ("NumericNotEquals", "s3:max-keys", 10, "11", True),
    ("NumericNotEquals", "s3:max-keys", 10, "10.0", False),
    ("NumericLessThan", "s3:max-keys", "10", "9", True),
    ("NumericLessThan", "s3:max-keys", "10", "10", False),
    ("NumericLessThanEquals", "s3:max-keys", "10", "10", True),
    ("NumericLessThanEquals", "s3:max-keys", "10", "10.5", False),
    ("NumericGreaterThan", "s3:max-keys", "10", "11", True),
    ("NumericGreaterThan", "s3:max-keys", "10", "10", False),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", "10", True),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", "-1", False),
    ("DateEquals", "aws:CurrentTime", "2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00", True),
    ("DateEquals", "aws:CurrentTime", "2024-05-01T12:00:00Z", "2024-05-01T12:00:01Z", False),
    ("DateNotEquals", "aws:CurrentTime", "2024-05-01T12:00:00Z", "2024-05-02T12:00:00Z", True),
    ("DateNotEquals", "aws:CurrentTime", "2024-05-01T12:00:00Z", "1714564800", False),
    ("DateLessThan", "aws:CurrentTime", "2024-05-01T00:00:00Z", "2024-04-30T23:59:59Z", True),
    ("DateLessThan", "aws:CurrentTime", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z", False),
    ("DateLessThanEquals", "aws:CurrentTime", "2024-05-01", "2024-05-01T00:00:00Z", True),
    ("DateLessThanEquals", "aws:CurrentTime", "2024-05-01", "2024-05-01T00:00:01Z", False),
    ("DateGreaterThan", "aws:EpochTime", "1714564800", 1714564801, True),
    ("DateGreaterThan", "aws:EpochTime", "1714564800", 1714564800, False),
    ("DateGreaterThanEquals", "aws:TokenIssueTime", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", True),
    ("DateGreaterThanEquals", "aws:TokenIssueTime", "2024-05-01T12:00:00Z", "2024-04-01T12:00:00Z", False),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", "192.168.1.1", False),
    ("IpAddress", "aws:SourceIp", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "aws:SourceIp", "203.0.113.7", "203.0.113.8", False),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", "192.168.1.1", True),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", "10.9.9.9", False),
    ("Null", "aws:TokenIssueTime", "true", None, True),
    ("Null", "aws:TokenIssueTime", "true", "2024-05-01T12:00:00Z", False),
    ("Null", "aws:TokenIssueTime", False, "2024-05-01T12:00:00Z", True),
    ("Null", "aws:TokenIssueTime", "false", None, False),
]


@pytest.mark.parametrize(
    ("operator_name", "key", "policy_value", "request_value", "holds"),
    OPERATOR_CASES,
    ids=[f"{case[0]}-{'hit' if case[4] else 'miss'}-{index}" for index, case in enumerate(OPERATOR_CASES)],
)
def test_each_condition_operator_holds_on_a_hit_and_not_on_a_miss(
    operator_name: str, key: str, policy_value: Any, request_value: Any, holds: bool
) -> None:
    # GIVEN an Allow conditioned by the operator, and a request carrying the key (or not, for Null)
    context = {} if request_value is None else {key: request_value}
    # WHEN evaluated THEN the Allow applies exactly when the condition holds
    assert allowed_when({operator_name: {key: policy_value}}, context) is holds


def test_every_supported_operator_has_a_hit_and_a_miss_above() -> None:
    # GIVEN the operator cases above, THEN every operator the evaluator supports has a hit and a miss
    hits = {case[0] for case in OPERATOR_CASES if case[4]}
    misses = {case[0] for case in OPERATOR_CASES if not case[4]}
    assert hits == misses == set(SUPPORTED_OPERATORS)


def test_arn_conditions_match_component_by_component() -> None:
    # GIVEN an ArnLike whose region wildcard would, as a plain glob, run on into the account component
    condition = {"ArnLike": {"aws:SourceArn": "arn:aws:sqs:eu-*:123456789012:queue"}}
    # THEN a wildcard stays within its component
    assert allowed_when(condition, {"aws:SourceArn": "arn:aws:sqs:eu-west-1:123456789012:queue"})
    assert not allowed_when(condition, {"aws:SourceArn": "arn:aws:sqs:eu-west-1:123456789012:x:queue"})
    # AND a value that is not an ARN matches nothing
    assert not allowed_when(condition, {"aws:SourceArn": "queue"})


def test_a_missing_key_fails_a_positive_operator() -> None:
    # GIVEN positive operators on a key the request does not carry, THEN none holds, even a catch-all value
    for operator_name, value in [
        ("StringEquals", "x"),
        ("StringLike", "*"),
        ("Bool", "false"),
        ("IpAddress", "0.0.0.0/0"),
    ]:
        assert not allowed_when({operator_name: {"aws:SomeKey": value}}, {})


@pytest.mark.parametrize(
    ("operator_name", "value"),
    [
        ("StringNotEquals", "x"),
        ("StringNotLike", "*"),
        ("StringNotEqualsIgnoreCase", "x"),
        ("ArnNotLike", "arn:aws:s3:::*"),
        ("ArnNotEquals", "arn:aws:s3:::b"),
        ("NumericNotEquals", "1"),
        ("DateNotEquals", "2024-01-01"),
        ("NotIpAddress", "10.0.0.0/8"),
    ],
)
def test_a_missing_key_satisfies_a_negated_operator(operator_name: str, value: str) -> None:
    # GIVEN a negated operator on a key the request does not carry
    # THEN the condition holds ("Condition operators": the key is not matched, so the condition is true),
    # which is why a Deny on StringNotEquals also hits requests without the key
    assert allowed_when({operator_name: {"aws:SomeKey": value}}, {})


def test_if_exists_holds_when_the_key_is_missing_and_tests_it_when_present() -> None:
    # GIVEN StringEqualsIfExists on the instance type
    # THEN it holds without the key, and with the key only for a listed value
    condition = {"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro", "t3.small"]}}
    assert allowed_when(condition, {})
    assert allowed_when(condition, {"ec2:InstanceType": "t3.small"})
    assert not allowed_when(condition, {"ec2:InstanceType": "m5.large"})


def test_if_exists_applies_to_negated_and_typed_operators_too() -> None:
    # GIVEN IfExists on a numeric and a negated operator, THEN missing keys hold and present keys are tested
    assert allowed_when({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, {})
    assert not allowed_when({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, {"s3:max-keys": "20"})
    assert not allowed_when(
        {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "x"}}, {"aws:PrincipalTag/team": "x"}
    )


def test_for_any_value_needs_one_request_value_to_match_and_fails_on_a_missing_key() -> None:
    # GIVEN ForAnyValue:StringEquals on the request's tag keys
    # THEN one listed key among the request's suffices; none, no key or an empty set do not
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner", "cost-center"]}}
    assert allowed_when(condition, {"aws:TagKeys": ["name", "owner"]})
    assert not allowed_when(condition, {"aws:TagKeys": ["name", "env"]})
    assert not allowed_when(condition, {})
    assert not allowed_when(condition, {"aws:TagKeys": []})


def test_for_all_values_needs_every_request_value_to_match_and_holds_on_a_missing_key() -> None:
    # GIVEN ForAllValues:StringLike on the request's tag keys
    # THEN every key of the request must match one listed pattern
    condition = {"ForAllValues:StringLike": {"aws:TagKeys": ["owner", "cost-*"]}}
    assert allowed_when(condition, {"aws:TagKeys": ["owner", "cost-center"]})
    assert not allowed_when(condition, {"aws:TagKeys": ["owner", "env"]})
    # AWS: ForAllValues "also returns true if there are no context keys in the request"
    assert allowed_when(condition, {})
    assert allowed_when(condition, {"aws:TagKeys": []})


def test_for_all_values_with_a_negated_operator_hits_when_no_value_matches() -> None:
    # GIVEN the IAM User Guide's DenyRestrictedTags example: deny tagging unless every key starts with key1
    deny_restricted = {
        "Sid": "DenyRestrictedTags",
        "Effect": "Deny",
        "Action": ["iam:Tag*", "iam:UnTag*"],
        "Resource": ["*"],
        "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}},
    }
    policies = [policy({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, deny_restricted)]

    def tagging(tag_keys: list[str] | None) -> bool:
        context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
        return evaluate(request(action="iam:TagRole", resource="*", context=context), policies).allowed

    # THEN the outcomes are the guide's table: key1 prefixes pass, key2:audit or no tag keys are denied
    assert tagging(["key1:legal"])
    assert tagging(["key1:hr", "key1:personnel"])
    assert not tagging(["key2:audit"])
    assert not tagging(None)


def test_for_any_value_with_a_negated_operator_needs_one_value_outside_the_list() -> None:
    # GIVEN ForAnyValue:StringNotEquals, THEN one request value outside the list suffices; a missing key fails
    condition = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["owner"]}}
    assert allowed_when(condition, {"aws:TagKeys": ["owner", "env"]})
    assert not allowed_when(condition, {"aws:TagKeys": ["owner"]})
    assert not allowed_when(condition, {})


def test_values_of_one_key_are_ored_but_a_negated_operator_needs_none_to_match() -> None:
    # GIVEN two values for one key
    listed = ["audit", "security"]
    # THEN the positive operator needs one of them; the negated one needs neither (NOR, not OR)
    assert allowed_when(
        {"StringEquals": {"aws:PrincipalTag/role": listed}}, {"aws:PrincipalTag/role": "security"}
    )
    assert not allowed_when(
        {"StringNotEquals": {"aws:PrincipalTag/role": listed}}, {"aws:PrincipalTag/role": "audit"}
    )
    assert allowed_when(
        {"StringNotEquals": {"aws:PrincipalTag/role": listed}}, {"aws:PrincipalTag/role": "dev"}
    )


def test_keys_and_operators_of_a_condition_are_anded() -> None:
    # GIVEN a condition with two keys under one operator and a second operator
    # THEN it holds only when all three hold: any missing or different value fails it
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "payments", "aws:RequestedRegion": "eu-west-1"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    everything: dict[str, ContextValue] = {
        "aws:PrincipalTag/team": "payments",
        "aws:RequestedRegion": "eu-west-1",
        "aws:SecureTransport": True,
    }
    assert allowed_when(condition, everything)
    for missing in everything:
        assert not allowed_when(
            condition, {key: value for key, value in everything.items() if key != missing}
        )
    assert not allowed_when(condition, {**everything, "aws:RequestedRegion": "us-east-1"})


def test_condition_keys_are_case_insensitive_and_values_case_sensitive() -> None:
    # GIVEN a key written in another case than the request's
    # THEN the key still matches, and a value in another case does not
    condition = {"StringEquals": {"AWS:PrincipalTag/Team": "Payments"}}
    assert allowed_when(condition, {"aws:principaltag/team": "Payments"})
    assert not allowed_when(condition, {"aws:principaltag/team": "payments"})


def test_a_plain_operator_on_a_multivalued_key_holds_when_any_value_matches() -> None:
    # GIVEN an operator without a set operator on a multivalued key
    # THEN it holds when any request value matches, and its negation when none does
    assert allowed_when({"StringEquals": {"aws:TagKeys": "owner"}}, {"aws:TagKeys": ["env", "owner"]})
    assert not allowed_when({"StringNotEquals": {"aws:TagKeys": "owner"}}, {"aws:TagKeys": ["env", "owner"]})


# ---------------------------------------------------------------------------------------------------------
# Policy variables


def test_policy_variables_are_substituted_in_resources() -> None:
    # GIVEN a policy letting each user write under their own home prefix (aws:username comes from the ARN)
    homes = policy(allow(Action="s3:PutObject", Resource="arn:aws:s3:::homes/${aws:username}/*"))
    # THEN alice writes in her home only
    alice = request(principal_arn=USER, action="s3:PutObject", resource="arn:aws:s3:::homes/alice/a.txt")
    assert evaluate(alice, [homes]).allowed
    assert not evaluate(
        request(principal_arn=USER, action="s3:PutObject", resource="arn:aws:s3:::homes/bob/a.txt"), [homes]
    ).allowed


def test_principal_tag_variables_resolve_from_the_context_with_a_default_when_missing() -> None:
    # GIVEN a resource naming the caller's team tag, with a default
    per_team = policy(
        allow(Resource=f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/${{aws:PrincipalTag/team, 'orders'}}")
    )
    # THEN the tag names the table, and without the tag the default does
    assert evaluate(request(context={"aws:PrincipalTag/team": "orders"}), [per_team]).allowed
    assert not evaluate(request(context={"aws:PrincipalTag/team": "audit"}), [per_team]).allowed
    assert evaluate(request(), [per_team]).allowed


def test_escaped_wildcards_and_dollars_are_literal() -> None:
    # GIVEN a resource whose name really contains "*", "?" and "$"
    literal = policy(allow(Action="s3:GetObject", Resource="arn:aws:s3:::b/${*}${?}${$}"))
    read = "s3:GetObject"
    # THEN only that literal name matches
    assert evaluate(request(action=read, resource="arn:aws:s3:::b/*?$"), [literal]).allowed
    assert not evaluate(request(action=read, resource="arn:aws:s3:::b/xy$"), [literal]).allowed


def test_a_substituted_value_is_literal_not_a_wildcard() -> None:
    # GIVEN a resource naming the caller's team tag, WHEN the tag's value is "*", THEN it matches no table
    per_team = policy(
        allow(Resource=f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/${{aws:PrincipalTag/team}}")
    )
    assert not evaluate(request(context={"aws:PrincipalTag/team": "*"}), [per_team]).allowed


def test_an_unresolvable_variable_makes_its_statement_not_apply_even_a_deny() -> None:
    # GIVEN an allow on every table, and a deny whose resource names a tag the caller does not have
    guarded = policy(
        allow(Resource="*"),
        deny(Sid="TeamTables", Resource="arn:aws:dynamodb:*:*:table/${aws:PrincipalTag/team}"),
    )
    # THEN without the tag the deny does not apply; with it, it does
    assert evaluate(request(), [guarded]).allowed
    assert not evaluate(request(context={"aws:PrincipalTag/team": "orders"}), [guarded]).allowed
    # AND a session has no aws:username, so a statement using it never applies to a session
    assert not evaluate(
        request(), [policy(allow(Resource="arn:aws:dynamodb:*:*:table/${aws:username}"))]
    ).allowed


def test_a_multivalued_key_is_no_policy_variable() -> None:
    # GIVEN a variable naming a multivalued key, THEN it does not resolve, even to its only value
    by_tag_key = policy(allow(Resource=f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/${{aws:TagKeys}}"))
    assert not evaluate(request(context={"aws:TagKeys": ["orders"]}), [by_tag_key]).allowed


def test_policy_variables_are_substituted_in_condition_values() -> None:
    # GIVEN a prefix condition naming the user, THEN alice may use her prefix and bob may not
    condition = {"StringLike": {"s3:prefix": ["${aws:username}/*"]}}
    alice = {"s3:prefix": "alice/notes"}
    assert evaluate(request(principal_arn=USER, context=alice), [policy(allow(Condition=condition))]).allowed
    assert not evaluate(
        request(principal_arn=USER.replace("alice", "bob"), context=alice),
        [policy(allow(Condition=condition))],
    ).allowed


def test_variables_are_literal_text_in_policies_older_than_2012_10_17() -> None:
    # GIVEN the same statement without a Version (2008-10-17) and with the old Version spelled out
    statement = allow(Resource="arn:aws:dynamodb:eu-west-1:123456789012:table/${aws:PrincipalTag/team}")
    tagged = request(context={"aws:PrincipalTag/team": "orders"})
    # THEN the variable is not substituted
    assert evaluate(tagged, [policy(statement, version="2012-10-17")]).allowed
    assert not evaluate(tagged, [policy(statement, version=None)]).allowed
    assert not evaluate(tagged, [policy(statement, version="2008-10-17")]).allowed


# ---------------------------------------------------------------------------------------------------------
# Derived context keys


def test_the_principal_arn_of_a_session_is_its_role_arn() -> None:
    # GIVEN a condition on aws:PrincipalArn naming the role, which the caller does not pass
    condition = {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/batch-role"}}
    # THEN a session of the role matches it, as in AWS
    assert allowed_when(condition)
    # AND a value the caller passes wins over the derived one
    assert not allowed_when(condition, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/other"})


def test_principal_and_resource_accounts_are_derived() -> None:
    # GIVEN conditions on the principal's and the resource's account, which the caller does not pass
    # THEN both are derived from the request
    same = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}}
    assert allowed_when(same)


# ---------------------------------------------------------------------------------------------------------
# Failing loudly


@pytest.mark.parametrize(
    ("document", "resource_based", "message"),
    [
        (
            policy(allow(Condition={"StringFuzzy": {"k": "v"}})).document,
            False,
            "unsupported condition operator 'StringFuzzy'",
        ),
        (
            policy(allow(Condition={"ForSomeValues:StringEquals": {"k": "v"}})).document,
            False,
            "set operator 'ForSomeValues'",
        ),
        (policy(allow(Condition={"NullIfExists": {"k": "true"}})).document, False, "'NullIfExists'"),
        (policy(allow(Condition={"Null": {"k": "maybe"}})).document, False, 'not "true" or "false"'),
        (
            policy(allow(Condition={"NumericEquals": {"k": "ten"}})).document,
            False,
            "'ten', which is not a number",
        ),
        (policy(allow(Condition={"DateLessThan": {"k": "soon"}})).document, False, "not a date"),
        (policy(allow(Condition={"IpAddress": {"k": "10.0.0.0/33"}})).document, False, "not an IP address"),
        (policy(allow(Condition={"ArnLike": {"k": "my-bucket"}})).document, False, "not an ARN"),
        (policy(allow(Effect="Permit")).document, False, "Effect 'Permit'"),
        (policy(allow(Resources="*")).document, False, "unsupported elements ['Resources']"),
        (policy(allow(NotAction="s3:*")).document, False, "both Action and NotAction"),
        (policy(allow(Principal="*")).document, False, "cannot have a Principal"),
        (policy(allow()).document, True, "needs a Principal or NotPrincipal"),
        (
            policy(allow(Principal={"Federated": "cognito-identity.amazonaws.com"})).document,
            True,
            "principal type 'Federated'",
        ),
        (
            policy(allow(Principal={"AWS": "arn:aws:iam::*:role/x"})).document,
            True,
            "wildcards are not allowed",
        ),
        (policy(allow(Principal="someone")).document, True, "Principal must be"),
        ({"Version": "2099-01-01", "Statement": []}, False, "Version '2099-01-01'"),
        ("{not json", False, "not JSON"),
    ],
)
def test_an_unsupported_or_malformed_policy_raises_naming_the_policy(
    document: Any, resource_based: bool, message: str
) -> None:
    # GIVEN a policy the evaluator cannot evaluate faithfully
    broken = NamedPolicy("broken", document)
    # WHEN it takes part in a decision
    with pytest.raises(PolicyNotSupportedError) as raised:
        if resource_based:
            evaluate(request(), [], broken)
        else:
            evaluate(request(), [broken])
    # THEN the error names the policy and what is wrong, rather than allowing or denying silently
    assert "'broken'" in str(raised.value)
    assert message in str(raised.value)


def test_an_unknown_operator_raises_even_when_its_statement_would_not_apply() -> None:
    # GIVEN the bad statement concerns another action entirely
    elsewhere = policy(allow(), allow(Sid="Odd", Action="s3:*", Condition={"StringFuzzy": {"k": "v"}}))
    # THEN the whole policy is still rejected, naming the statement
    with pytest.raises(PolicyNotSupportedError, match="statement 'Odd': unsupported condition operator"):
        evaluate(request(), [elsewhere])


KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def key_statement(principal: str, effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Principal": {"AWS": principal}, "Action": "kms:*", "Resource": "*"}


@pytest.mark.parametrize(
    ("key_principal", "identity_allows", "allowed"),
    [
        (f"arn:aws:iam::{ACCOUNT}:root", True, True),  # the key policy delegates to IAM, which allows
        (f"arn:aws:iam::{ACCOUNT}:root", False, False),  # delegated, but no identity policy allows
        (SESSION, False, True),  # the key policy names the caller: enough alone
        (f"arn:aws:iam::{ACCOUNT}:role/another-role", True, False),  # IAM alone never suffices for KMS
    ],
)
def test_a_kms_key_is_used_only_as_its_key_policy_allows(
    key_principal: str, identity_allows: bool, allowed: bool
) -> None:
    # GIVEN a key whose policy names one principal, and a caller whose identity policy may allow kms:Decrypt
    key_policy = policy(key_statement(key_principal), name="key policy")
    identity = (
        [policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY})] if identity_allows else []
    )

    # WHEN the caller decrypts THEN only the key policy (directly, or through the account) lets it
    decision = evaluate(
        request(action="kms:Decrypt", resource=KEY), identity, key_policy, resource_policy_required=True
    )
    assert decision.allowed is allowed, decision.reason


def test_an_explicit_deny_in_a_key_policy_wins() -> None:
    key_policy = policy(
        key_statement(f"arn:aws:iam::{ACCOUNT}:root"), key_statement(SESSION, "Deny"), name="key policy"
    )
    identity = [policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY})]
    decision = evaluate(
        request(action="kms:Decrypt", resource=KEY), identity, key_policy, resource_policy_required=True
    )
    assert (decision.allowed, "explicitly denied" in decision.reason) == (False, True)
