"""An AWS WAF web ACL for the front doors that can take one: REST API stages and Cognito user pools.

AWS option (`apiWaf`): AWS's managed common and known-bad-inputs rule sets, and a per-address rate limit,
in front of POST /builds and the upload routes' sign-in. API Gateway HTTP APIs cannot be associated with
a web ACL (an AWS limit): their routes rely on their throttles, reserved concurrency and authentication;
put CloudFront with this ACL's rules in front of them if they need WAF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
# Requests per five minutes from one address before WAF blocks it (AWS's evaluation window).
DEFAULT_RATE_LIMIT_PER_FIVE_MINUTES = 2000


@dataclass(frozen=True, kw_only=True)
class WebAclArgs:
    region: str
    rate_limit_per_five_minutes: int = DEFAULT_RATE_LIMIT_PER_FIVE_MINUTES


class WebAcl(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:security:WebAcl", name, None, opts)
        rules: list[Any] = [
            {
                "name": group,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
                "visibility_config": _visibility(group),
            }
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            {
                "name": "rate-per-address",
                "priority": len(MANAGED_RULE_GROUPS),
                "action": {"block": {}},
                "statement": {
                    "rate_based_statement": {
                        "limit": args.rate_limit_per_five_minutes,
                        "aggregate_key_type": "IP",
                    }
                },
                "visibility_config": _visibility("rate-per-address"),
            }
        )
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            region=args.region,
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=rules,
            visibility_config=_visibility(name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = acl.arn
        self._region = args.region
        self.register_outputs({"arn": self.arn})

    def protect(self, name: str, resource_arn: pulumi.Input[str], parent: pulumi.Resource) -> None:
        """Put a REST API stage or a user pool (by ARN) behind this ACL."""
        aws.wafv2.WebAclAssociation(
            name,
            region=self._region,
            resource_arn=resource_arn,
            web_acl_arn=self.arn,
            opts=pulumi.ResourceOptions(parent=parent),
        )


def _visibility(metric_name: str) -> Any:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric_name,
        "sampled_requests_enabled": True,
    }
