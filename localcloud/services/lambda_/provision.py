"""Lambda resources of a Pulumi program -> Lambda API calls on the emulator.

Functions get the zip AWS would build from their Pulumi archive (packaging.py) and run in localcloud's
runtime (runtime.py). Function URLs are created in moto and served by the loopback gateway at
`{gateway}/lambda-url/{region}/{function}/`, which reads the URL's configuration back through the API.
Event source mappings: a DynamoDB stream's is created in moto (the stream poller lists it there); an SQS
queue's is not, since moto's own mapping invokes synchronously inside send_message, ignores BatchSize and
never retries or redrives. It is recorded instead (SqsMappingRecord) for localcloud's SQS poller.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError
from localcloud.core.fields import FieldMap, Param, api_parameters, from_member, integer, pascal_case
from localcloud.services.lambda_.event_sources.mapping import EventSourceMapping, SqsMappingRecord
from localcloud.services.lambda_.packaging import build_zip

_FUNCTION_FIELDS: FieldMap = {
    "description": "Description",
    "environment": Param(
        "Environment",
        from_member("variables", lambda variables: {"Variables": {k: str(v) for k, v in variables.items()}}),
    ),
    "layers": Param("Layers", list),
    "architectures": Param("Architectures", list),
    "tracingConfig": Param("TracingConfig", from_member("mode", lambda mode: {"Mode": mode})),
    "deadLetterConfig": Param("DeadLetterConfig", from_member("targetArn", lambda arn: {"TargetArn": arn})),
    "ephemeralStorage": Param("EphemeralStorage", from_member("size", lambda size: {"Size": integer(size)})),
    "loggingConfig": Param(
        "LoggingConfig",
        lambda config: api_parameters(
            config,
            {
                "logFormat": "LogFormat",
                "logGroup": "LogGroup",
                "applicationLogLevel": "ApplicationLogLevel",
                "systemLogLevel": "SystemLogLevel",
            },
        ),
    ),
    "kmsKeyArn": "KMSKeyArn",
    "tags": Param("Tags", dict),
}
_LAYER_FIELDS: FieldMap = {
    "description": "Description",
    "compatibleRuntimes": Param("CompatibleRuntimes", list),
    "compatibleArchitectures": Param("CompatibleArchitectures", list),
    "licenseInfo": "LicenseInfo",
}
_PERMISSION_FIELDS: FieldMap = {
    "sourceArn": "SourceArn",
    "sourceAccount": "SourceAccount",
    "qualifier": "Qualifier",
    "eventSourceToken": "EventSourceToken",
    "functionUrlAuthType": "FunctionUrlAuthType",
    "invokedViaFunctionUrl": "InvokedViaFunctionUrl",
    "principalOrgId": "PrincipalOrgID",
}
_STREAM_MAPPING_FIELDS: FieldMap = {
    "startingPosition": "StartingPosition",
    "functionResponseTypes": Param("FunctionResponseTypes", list),
    "maximumBatchingWindowInSeconds": Param("MaximumBatchingWindowInSeconds", integer),
    "filterCriteria": Param("FilterCriteria", pascal_case),
    "bisectBatchOnFunctionError": Param("BisectBatchOnFunctionError", bool),
    "maximumRetryAttempts": Param("MaximumRetryAttempts", integer),
    "destinationConfig": Param(
        "DestinationConfig",
        from_member(
            "onFailure",
            from_member("destinationArn", lambda destination: {"OnFailure": {"Destination": destination}}),
        ),
    ),
}


def invoke_arn(region: str, function_arn: str) -> str:
    """The ARN API Gateway integrations name a function by (Pulumi's `invokeArn`)."""
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def function_arn(ctx: ProvisioningContext, function: str, region: str) -> str:
    """The ARN of a function named by name or ARN."""
    configuration = ctx.client("lambda", region).get_function(FunctionName=function)["Configuration"]
    return str(configuration["FunctionArn"])


def _function_code(args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """CreateFunction's Code argument and the zip's bytes (empty for code already in S3)."""
    if inputs.get("code") is not None:
        zipped = build_zip(inputs["code"])
        return {"ZipFile": zipped}, zipped
    if inputs.get("s3Bucket"):
        return {"S3Bucket": inputs["s3Bucket"], "S3Key": inputs["s3Key"]}, b""
    raise UnsupportedResourceError(f"aws:lambda/function:Function {args.name}: only zip packages run locally")


def create_function(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=64)
    code, zipped = _function_code(args, inputs)
    parameters: dict[str, Any] = {
        "FunctionName": name,
        "Role": inputs["role"],
        "Code": code,
        "PackageType": "Zip",
        "Runtime": inputs.get("runtime"),
        "Handler": inputs.get("handler"),
        "Timeout": integer(inputs.get("timeout") or 3),
        "MemorySize": integer(inputs.get("memorySize") or 128),
        "Publish": bool(inputs.get("publish", False)),
    }
    parameters.update(api_parameters(inputs, _FUNCTION_FIELDS))
    aws_lambda = ctx.client("lambda", region)
    created = aws_lambda.create_function(
        **{key: value for key, value in parameters.items() if value is not None}
    )
    reserved = inputs.get("reservedConcurrentExecutions")
    # -1 (the provider's default) means "unreserved"; 0 and up reserve (0 throttles every invoke).
    if reserved is not None and integer(reserved) >= 0:
        aws_lambda.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=integer(reserved))
    arn = created["FunctionArn"]
    version = created.get("Version") or "$LATEST"
    qualified_arn = f"{arn}:{version}"
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": arn,
        "invokeArn": invoke_arn(region, arn),
        "qualifiedArn": qualified_arn,
        "qualifiedInvokeArn": invoke_arn(region, qualified_arn),
        "version": version,
        "lastModified": created.get("LastModified"),
        "sourceCodeHash": base64.b64encode(hashlib.sha256(zipped).digest()).decode(),
        "sourceCodeSize": len(zipped),
        "code": None,  # the archive object is an input only; never echo it back
    }


def publish_layer_version(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    # The layer's real content: workers import from it (runtime.py), never from this environment.
    zipped = build_zip(inputs["code"])
    published = ctx.client("lambda", region).publish_layer_version(
        LayerName=inputs["layerName"], Content={"ZipFile": zipped}, **api_parameters(inputs, _LAYER_FIELDS)
    )
    layer_version_arn = published["LayerVersionArn"]
    return layer_version_arn, {
        **inputs,
        "id": layer_version_arn,
        "arn": layer_version_arn,
        "layerArn": published["LayerArn"],
        "version": str(published["Version"]),
        "codeSize": len(zipped),
        "code": None,
    }


def add_permission(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    statement_id = ctx.name(args, inputs, key="statementId", prefix_key="statementIdPrefix", max_length=100)
    ctx.client("lambda", region).add_permission(
        FunctionName=inputs["function"],
        StatementId=statement_id,
        Action=inputs["action"],
        Principal=inputs["principal"],
        **api_parameters(inputs, _PERMISSION_FIELDS),
    )
    return statement_id, {**inputs, "statementId": statement_id}


def create_function_url(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    arn = function_arn(ctx, inputs["functionName"], region)
    function_name = arn.rsplit(":", 1)[-1]
    ctx.client("lambda", region).create_function_url_config(
        FunctionName=function_name,
        AuthType=inputs.get("authorizationType") or "NONE",
        **api_parameters(inputs, {"cors": Param("Cors", pascal_case), "invokeMode": "InvokeMode"}),
    )
    # moto keeps the configuration only; the loopback gateway serves the URL from it.
    url_id = f"{region}/{function_name}"
    return function_name, {
        **inputs,
        "id": function_name,
        "functionArn": arn,
        "functionUrl": f"{ctx.gateway_base_url}/lambda-url/{url_id}/",
        "urlId": url_id,
    }


def create_event_source_mapping(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    source_arn: str = inputs["eventSourceArn"]
    target_arn = function_arn(ctx, inputs["functionName"], region)
    batch_size = integer(inputs.get("batchSize") or 10)
    enabled = bool(inputs.get("enabled", True))
    if source_arn.startswith("arn:aws:sqs:"):
        # Recorded, never created in moto: see the module docstring.
        mapping = EventSourceMapping(
            uuid=str(uuid.uuid4()),
            source_arn=source_arn,
            function_arn=target_arn,
            region=region,
            enabled=enabled,
            batch_size=batch_size,
            function_response_types=tuple(inputs.get("functionResponseTypes") or ()),
            maximum_batching_window_seconds=integer(inputs.get("maximumBatchingWindowInSeconds") or 0),
            maximum_concurrency=integer((inputs.get("scalingConfig") or {}).get("maximumConcurrency") or 0)
            or None,
        )
        ctx.record(SqsMappingRecord).mappings.append(mapping)
        mapping_uuid, state = mapping.uuid, "Enabled"
    else:
        # Streams: moto keeps the mapping, with every setting localcloud's stream poller honours.
        created = ctx.client("lambda", region).create_event_source_mapping(
            EventSourceArn=source_arn,
            FunctionName=target_arn,
            BatchSize=batch_size,
            Enabled=enabled,
            **api_parameters(inputs, _STREAM_MAPPING_FIELDS),
        )
        mapping_uuid, state = created["UUID"], created.get("State") or "Enabled"
    return mapping_uuid, {
        **inputs,
        "id": mapping_uuid,
        "uuid": mapping_uuid,
        "arn": ctx.regional_arn("lambda", region, f"event-source-mapping:{mapping_uuid}"),
        "functionArn": target_arn,
        "state": state,
    }


CREATORS: Registry = {
    "aws:lambda/function:Function": create_function,
    "aws:lambda/layerVersion:LayerVersion": publish_layer_version,
    "aws:lambda/permission:Permission": add_permission,
    "aws:lambda/functionUrl:FunctionUrl": create_function_url,
    "aws:lambda/eventSourceMapping:EventSourceMapping": create_event_source_mapping,
}
