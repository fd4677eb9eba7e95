"""CloudWatch (endpoint "monitoring"), CloudWatch Logs and X-Ray.

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
"""

from __future__ import annotations

from localcloud.services.iam.request_authorization.model import (
    Call,
    Check,
    Rule,
    Service,
    anywhere,
    each,
    on,
    pass_role,
    scalar,
    uniform,
)

# -- CloudWatch ---------------------------------------------------------------------------------------


def alarm_arn(call: Call, alarm: str) -> str:
    return call.arn("cloudwatch", f"alarm:{alarm}")


def _alarm(call: Call) -> str | None:
    alarm = call.text("AlarmName")
    return alarm_arn(call, alarm) if alarm else None


def _alarms(call: Call) -> list[str]:
    """The alarms named (AlarmNames), else those a prefix selects (alarm:PREFIX*), else all (alarm:*):
    a policy on some alarms does not allow listing every alarm."""
    names = [alarm_arn(call, name) for name in map(scalar, call.items("AlarmNames")) if name]
    return names or [alarm_arn(call, f"{call.text('AlarmNamePrefix') or ''}*")]


def dashboard_arn(call: Call, dashboard: str) -> str:
    return f"arn:aws:cloudwatch::{call.account}:dashboard/{dashboard}"


def _dashboard(call: Call) -> str | None:
    dashboard = call.text("DashboardName")
    return dashboard_arn(call, dashboard) if dashboard else None


def _dashboards(call: Call) -> list[str]:
    return [dashboard_arn(call, name) for name in map(scalar, call.items("DashboardNames")) if name]


_CLOUDWATCH_ACCOUNT_OPERATIONS = (
    *("PutMetricData", "GetMetricData", "GetMetricStatistics", "ListMetrics", "ListDashboards"),
    *("DescribeAlarmsForMetric", "DescribeAnomalyDetectors", "PutAnomalyDetector", "DeleteAnomalyDetector"),
    *("GetMetricWidgetImage", "DescribeInsightRules", "ListMetricStreams"),
)
_CLOUDWATCH_RULES: dict[str, Rule] = {
    **uniform(("PutMetricAlarm", "PutCompositeAlarm", "SetAlarmState"), on(_alarm)),
    **uniform(("DescribeAlarms", "DeleteAlarms", "EnableAlarmActions", "DisableAlarmActions"), each(_alarms)),
    "DescribeAlarmHistory": on(lambda call: _alarm(call) or alarm_arn(call, "*")),
    **uniform(("PutDashboard", "GetDashboard"), on(_dashboard)),
    "DeleteDashboards": each(_dashboards),
    **uniform(
        ("TagResource", "UntagResource", "ListTagsForResource"), on(lambda call: call.text("ResourceARN"))
    ),
    **uniform(_CLOUDWATCH_ACCOUNT_OPERATIONS, anywhere()),
}

# -- CloudWatch Logs ----------------------------------------------------------------------------------
# AWS evaluates log-group actions on "...:log-group:NAME:log-stream:" (an empty stream) and stream
# actions on "...:log-group:NAME:log-stream:STREAM", as its AccessDenied messages show; so the usual
# "log-group:NAME:*" grants both, and a bare "log-group:NAME" neither, as on AWS. DescribeLogGroups is
# evaluated on "log-group::log-stream:" (no group).


def log_stream_arn(call: Call, group: str, stream: str = "") -> str:
    """A group's ARN (name or ARN, with or without AWS's trailing ":*") with the stream appended."""
    base = group.removesuffix(":*") if group.startswith("arn:") else call.arn("logs", f"log-group:{group}")
    return f"{base}:log-stream:{stream}"


def _group(call: Call) -> str | None:
    group = call.text("logGroupName", "logGroupIdentifier")
    return log_stream_arn(call, group) if group else None


def _stream(call: Call) -> str | None:
    group = call.text("logGroupName", "logGroupIdentifier")
    return log_stream_arn(call, group, call.text("logStreamName") or "") if group else None


def _queried_groups(call: Call) -> list[str]:
    groups = [
        scalar(group) for name in ("logGroupNames", "logGroupIdentifiers") for group in call.items(name)
    ]
    return [log_stream_arn(call, group) for group in [call.text("logGroupName"), *groups] if group]


def _subscription_filter(call: Call) -> list[Check]:
    return [call.check(_group(call)), *pass_role(call, "roleArn")]


_GROUP_OPERATIONS = (
    *("CreateLogGroup", "DeleteLogGroup", "DescribeLogStreams", "FilterLogEvents", "PutRetentionPolicy"),
    *("DeleteRetentionPolicy", "DescribeSubscriptionFilters", "DeleteSubscriptionFilter"),
    *("PutMetricFilter", "DeleteMetricFilter", "DescribeMetricFilters", "TagLogGroup", "UntagLogGroup"),
    *("ListTagsLogGroup", "AssociateKmsKey", "DisassociateKmsKey", "PutDataProtectionPolicy"),
    *("GetDataProtectionPolicy", "DeleteDataProtectionPolicy"),
)
_LOGS_RULES: dict[str, Rule] = {
    **uniform(_GROUP_OPERATIONS, on(_group)),
    **uniform(("CreateLogStream", "DeleteLogStream", "PutLogEvents", "GetLogEvents"), on(_stream)),
    "DescribeLogGroups": on(lambda call: call.arn("logs", "log-group::log-stream:")),
    "PutSubscriptionFilter": _subscription_filter,
    "StartQuery": each(_queried_groups),
    **uniform(
        ("TagResource", "UntagResource", "ListTagsForResource"),
        on(lambda call: (call.text("resourceArn") or "").removesuffix(":*") or None),
    ),
    **uniform(("GetQueryResults", "StopQuery", "DescribeQueries", "DescribeDestinations"), anywhere()),
    **uniform(("DescribeResourcePolicies", "PutResourcePolicy", "DeleteResourcePolicy"), anywhere()),
}

# -- X-Ray --------------------------------------------------------------------------------------------

_XRAY_OPERATIONS = (
    *("PutTraceSegments", "PutTelemetryRecords", "GetSamplingRules", "GetSamplingTargets"),
    *("GetSamplingStatisticSummaries", "GetTraceSummaries", "BatchGetTraces", "GetTraceGraph"),
    *("GetServiceGraph", "GetTimeSeriesServiceStatistics", "GetEncryptionConfig", "PutEncryptionConfig"),
    *("GetGroups", "GetInsightSummaries"),
)

SERVICES = {
    "monitoring": Service("cloudwatch", _CLOUDWATCH_RULES),
    "cloudwatch": Service("cloudwatch", _CLOUDWATCH_RULES),  # moto's name for the endpoint
    "logs": Service("logs", _LOGS_RULES),
    "xray": Service("xray", uniform(_XRAY_OPERATIONS, anywhere())),
}
