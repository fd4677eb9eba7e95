"""CloudWatch resources of a Pulumi program (log groups, dashboards, metric alarms) -> API calls on the
emulator. moto stores alarms but never evaluates them."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, arn
from localcloud.core.fields import FieldMap, Param, api_parameters, integer, pascal_case

_LOG_GROUP_FIELDS: FieldMap = {"kmsKeyId": "kmsKeyId", "tags": Param("tags", dict)}
_ALARM_FIELDS: FieldMap = {
    "comparisonOperator": "ComparisonOperator",
    "evaluationPeriods": Param("EvaluationPeriods", integer),
    "metricName": "MetricName",
    "namespace": "Namespace",
    "period": Param("Period", integer),
    "statistic": "Statistic",
    "extendedStatistic": "ExtendedStatistic",
    "threshold": "Threshold",
    "thresholdMetricId": "ThresholdMetricId",
    "alarmDescription": "AlarmDescription",
    "alarmActions": "AlarmActions",
    "okActions": "OKActions",
    "insufficientDataActions": "InsufficientDataActions",
    "actionsEnabled": "ActionsEnabled",
    "datapointsToAlarm": Param("DatapointsToAlarm", integer),
    "treatMissingData": "TreatMissingData",
    "unit": "Unit",
    "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentiles",
    "dimensions": Param(
        "Dimensions", lambda dimensions: [{"Name": k, "Value": v} for k, v in dimensions.items()]
    ),
    "metricQueries": Param("Metrics", pascal_case),
}


def create_log_group(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=512)
    logs = ctx.client("logs", region)
    logs.create_log_group(logGroupName=name, **api_parameters(inputs, _LOG_GROUP_FIELDS))
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=integer(inputs["retentionInDays"]))
    # The provider's `arn` has no trailing ":*" (unlike DescribeLogGroups' arn).
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": ctx.regional_arn("logs", region, f"log-group:{name}"),
    }


def put_dashboard(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = inputs["dashboardName"]
    ctx.client("cloudwatch", region).put_dashboard(DashboardName=name, DashboardBody=inputs["dashboardBody"])
    return name, {
        **inputs,
        "id": name,
        "dashboardArn": arn("cloudwatch", f"dashboard/{name}", account=ctx.account_id),
    }


def put_metric_alarm(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs)
    ctx.client("cloudwatch", region).put_metric_alarm(AlarmName=name, **api_parameters(inputs, _ALARM_FIELDS))
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": ctx.regional_arn("cloudwatch", region, f"alarm:{name}"),
    }


CREATORS: Registry = {
    "aws:cloudwatch/logGroup:LogGroup": create_log_group,
    "aws:cloudwatch/dashboard:Dashboard": put_dashboard,
    "aws:cloudwatch/metricAlarm:MetricAlarm": put_metric_alarm,
}
