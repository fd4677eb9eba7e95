"""The program under Pulumi mocks that record every resource and answer with plausible AWS ids and ARNs.

No AWS at all, not even the emulator: what the unit tests of the program and the cost benchmark read
(`build_stack`: the resources, inputs, exports and data-source calls of a stack's update).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pulumi

from localcloud.core.program import run_program
from localcloud.core.stack_files import load_stack_config

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class RecordedResource:
    typ: str
    name: str  # logical name
    inputs: dict[str, Any]  # wire form: camelCase keys, numbers as floats
    outputs: dict[str, Any]

    @property
    def region(self) -> str | None:
        return self.inputs.get("region")


class RecordingMocks(pulumi.runtime.Mocks):
    """Records resources; outputs echo the inputs plus what AWS would compute (arn, url, ...)."""

    def __init__(self) -> None:
        self.resources: list[RecordedResource] = []
        self.invokes: list[str] = []  # data source tokens, in call order
        self._lock = threading.Lock()  # independent resources arrive on several threads

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        physical = inputs.get("name") or inputs.get("bucket") or args.name
        outputs = {**inputs, **_computed(args.typ, physical, inputs.get("region") or DEFAULT_REGION, inputs)}
        with self._lock:
            self.resources.append(RecordedResource(args.typ, args.name, inputs, outputs))
        return f"{physical}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        with self._lock:
            self.invokes.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":  # noqa: S105 - an invoke token
            identity = {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/test",
                "userId": "test",
            }
            return identity, []
        raise NotImplementedError(f"no mock for invoke {args.token}")


def _computed(  # noqa: PLR0911, PLR0912 - one answer per resource type, as AWS computes it
    typ: str, name: str, region: str, inputs: dict[str, Any]
) -> dict[str, Any]:
    prefix = f"{region}:{ACCOUNT_ID}"
    if typ == "aws:s3/bucket:Bucket":
        return {"bucket": name, "arn": f"arn:aws:s3:::{name}"}
    if typ == "aws:dynamodb/table:Table":
        arn = f"arn:aws:dynamodb:{prefix}:table/{name}"
        computed: dict[str, Any] = {"name": name, "arn": arn}
        if inputs.get("streamEnabled"):
            computed["streamArn"] = f"{arn}/stream/2026-01-01T00:00:00.000"
            computed["replicas"] = [
                {
                    **replica,
                    "arn": arn.replace(f":{region}:", f":{replica['regionName']}:"),
                    "streamArn": arn.replace(f":{region}:", f":{replica['regionName']}:")
                    + "/stream/2026-01-01T00:00:00.000",
                }
                for replica in inputs.get("replicas") or []
            ]
        return computed
    if typ == "aws:sqs/queue:Queue":
        return {
            "name": name,
            "arn": f"arn:aws:sqs:{prefix}:{name}",
            "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}",
        }
    if typ == "aws:sns/topic:Topic":
        return {"name": name, "arn": f"arn:aws:sns:{prefix}:{name}"}
    if typ == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{prefix}:function:{name}"
        return {
            "name": name,
            "arn": arn,
            "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        }
    if typ == "aws:lambda/layerVersion:LayerVersion":
        return {"arn": f"arn:aws:lambda:{prefix}:layer:{inputs.get('layerName', name)}:1"}
    if typ == "aws:lambda/functionUrl:FunctionUrl":
        return {"functionUrl": f"https://{name}.lambda-url.{region}.on.aws/"}
    if typ == "aws:iam/role:Role":
        return {"name": name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return {"name": name, "arn": f"arn:aws:logs:{prefix}:log-group:{name}"}
    if typ == "aws:apigatewayv2/api:Api":
        return {
            "apiEndpoint": f"https://{name}.execute-api.{region}.amazonaws.com",
            "executionArn": f"arn:aws:execute-api:{prefix}:{name}",
        }
    if typ == "aws:apigateway/restApi:RestApi":
        return {
            "rootResourceId": f"{name}-root",
            "arn": f"arn:aws:apigateway:{region}::/restapis/{name}",
            "executionArn": f"arn:aws:execute-api:{prefix}:{name}",
        }
    if typ == "aws:apigateway/stage:Stage":
        stage = inputs.get("stageName")
        return {
            "invokeUrl": f"https://api-id.execute-api.{region}.amazonaws.com/{stage}",
            "arn": f"arn:aws:apigateway:{region}::/restapis/{inputs.get('restApi')}/stages/{stage}",
        }
    if typ == "random:index/randomPassword:RandomPassword":
        # A recognisable stand-in for the generated value, as long as asked.
        return {"result": ("generated-" + name)[: int(inputs["length"])].ljust(int(inputs["length"]), "x")}
    if typ == "aws:route53/zone:Zone":
        zone_id = "Z" + name.upper().replace("-", "").replace(".", "")[:20]
        return {"zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}"}
    if typ == "aws:ssm/document:Document":
        return {"name": name, "arn": f"arn:aws:ssm:{prefix}:document/{name}"}
    if typ == "aws:route53recoverycontrol/cluster:Cluster":
        # ARC's control plane is global; a cluster answers on five regional data-plane endpoints.
        return {
            "arn": f"arn:aws:route53-recovery-control::{ACCOUNT_ID}:cluster/{name}",
            "clusterEndpoints": [
                {
                    "endpoint": f"https://{name}.route53-recovery-cluster.{endpoint_region}.amazonaws.com/v1",
                    "region": endpoint_region,
                }
                for endpoint_region in (
                    "ap-northeast-1",
                    "ap-southeast-2",
                    "eu-west-1",
                    "us-east-1",
                    "us-west-2",
                )
            ],
        }
    if typ == "aws:route53recoverycontrol/routingControl:RoutingControl":
        return {
            "arn": f"arn:aws:route53-recovery-control::{ACCOUNT_ID}:controlpanel/panel/routingcontrol/{name}"
        }
    if typ == "aws:elasticache/subnetGroup:SubnetGroup":
        return {"name": name, "arn": f"arn:aws:elasticache:{prefix}:subnetgroup:{name}"}
    if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        return {
            "arn": f"arn:aws:elasticache:{prefix}:replicationgroup:{name}",
            "primaryEndpointAddress": f"master.{name}.abc123.use1.cache.amazonaws.com",
        }
    if typ == "aws:sfn/stateMachine:StateMachine":
        return {"name": name, "arn": f"arn:aws:states:{prefix}:stateMachine:{name}"}
    return {"arn": f"arn:aws:{typ.split(':')[1].split('/', maxsplit=1)[0]}:{prefix}:{name}"}


@dataclass(frozen=True)
class BuiltStack:
    name: str
    config: dict[str, str]
    exports: dict[str, Any]
    resources: list[RecordedResource]
    invokes: list[str]  # data sources the program called

    def resources_of(self, typ: str, prefix: str = "") -> list[RecordedResource]:
        """Resources of a type, optionally only those whose logical name starts with `prefix`."""
        return [r for r in self.resources if r.typ == typ and r.name.startswith(prefix)]

    def named(self, logical_name: str) -> RecordedResource:
        matches = [resource for resource in self.resources if resource.name == logical_name]
        assert len(matches) == 1, f"expected one resource named {logical_name}, found {len(matches)}"
        return matches[0]

    def with_output(self, key: str, value: Any) -> RecordedResource:
        matches = [resource for resource in self.resources if resource.outputs.get(key) == value]
        assert len(matches) == 1, f"expected one resource with {key}={value!r}, found {len(matches)}"
        return matches[0]


_built: dict[str, BuiltStack] = {}


def build_stack(
    stack: str, config_overrides: dict[str, str] | None = None, *, config_stack: str | None = None
) -> BuiltStack:
    """The program under mocks for a stack file, with `pulumi config set`-style overrides; built once.

    config_stack builds a stack named `stack` from another stack file's config.
    """
    cache_key = f"{stack}:{config_stack}:{sorted((config_overrides or {}).items())}"
    if cache_key not in _built:
        mocks = RecordingMocks()
        exports = run_program(
            mocks, stack=stack, config_overrides=config_overrides, config_stack=config_stack
        )
        config = {**load_stack_config(config_stack or stack), **(config_overrides or {})}
        _built[cache_key] = BuiltStack(stack, config, exports, list(mocks.resources), list(mocks.invokes))
    return _built[cache_key]
