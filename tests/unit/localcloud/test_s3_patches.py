"""Bucket policies in localcloud: TLS-only denies nothing over loopback; other denies still deny."""

from __future__ import annotations

from typing import Any

from localcloud.s3_patches import applicable_policy, condition_holds

TLS_ONLY: dict[str, Any] = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "arn:aws:s3:::b/*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def test_tls_only_deny_does_not_apply_to_loopback_requests() -> None:
    assert not condition_holds(TLS_ONLY["Condition"])
    assert applicable_policy({"Version": "2012-10-17", "Statement": [TLS_ONLY]})["Statement"] == []


def test_a_deny_requiring_tls_applies_and_loses_only_its_resolved_condition() -> None:
    statement = {**TLS_ONLY, "Condition": {"Bool": {"aws:SecureTransport": ["true"]}}}
    [kept] = applicable_policy({"Statement": statement})["Statement"]
    assert kept == {key: value for key, value in statement.items() if key != "Condition"}


def test_conditions_on_unknown_keys_keep_the_statement_so_denies_err_towards_denying() -> None:
    statement = {**TLS_ONLY, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
    assert len(applicable_policy({"Statement": [statement]})["Statement"]) == 1
