"""HTTP endpoints in front of Lambda functions: API Gateway v2, or function URLs where v2 is missing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import ApiThrottle
from components.function import Function
from components.shared_settings import SharedSettings

_PATH_PARAMETER = re.compile(r"\{[^}]+\}")
DEFAULT_THROTTLE = ApiThrottle(rate_limit_per_second=20, burst_limit=40)


@dataclass(frozen=True, kw_only=True)
class LambdaRoute:
    route_key: str  # "METHOD /path", path parameters as {name}, e.g. "GET /uploads/{id}"
    function: Function

    @property
    def method(self) -> str:
        return self.route_key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.route_key.split(" ", 1)[1]


@dataclass(frozen=True, kw_only=True)
class HttpApiArgs:
    region: str
    routes: Sequence[LambdaRoute]
    shared: SharedSettings  # the stack's front door and access-log retention
    # Each route's own limit (the stage default too, for a route added later); function URLs have none,
    # so there the routed functions' reserved concurrency is the only ceiling.
    throttle: ApiThrottle = DEFAULT_THROTTLE


class HttpApi(pulumi.ComponentResource):
    """Routes to Lambda proxy integrations (payload 2.0); each function may be invoked by its route only.

    With the stack's api_front_door "functionUrl" (LocalStack Community has no API Gateway v2) every routed
    function gets an unauthenticated function URL instead; the payload is the same 2.0 event, so handlers
    do not change.
    """

    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:api:HttpApi", name, None, opts)
        self._route_urls: dict[str, pulumi.Output[str]] = {}
        if args.shared.api_front_door == "httpApi":
            self._build_http_api(name, args)
        else:
            self._build_function_urls(name, args)
        self.register_outputs({"endpoint": self.endpoint, "routes": self._route_urls})

    def url_for(self, route_key: str) -> pulumi.Output[str]:
        """Full URL of a route; path parameters stay as {name} for the client to fill in."""
        return self._route_urls[route_key]

    def _build_http_api(self, name: str, args: HttpApiArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(f"{name}-api", region=args.region, protocol_type="HTTP", opts=child)
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            region=args.region,
            retention_in_days=args.shared.log_retention_days,
            opts=child,
        )
        routes = []
        for index, route in enumerate(args.routes):
            integration = aws.apigatewayv2.Integration(
                f"{name}-integration-{index}",
                region=args.region,
                api_id=api.id,
                integration_type="AWS_PROXY",
                integration_uri=route.function.arn,
                payload_format_version="2.0",
                opts=child,
            )
            routes.append(
                aws.apigatewayv2.Route(
                    f"{name}-route-{index}",
                    region=args.region,
                    api_id=api.id,
                    route_key=route.route_key,
                    target=pulumi.Output.concat("integrations/", integration.id),
                    opts=child,
                )
            )
            aws.lambda_.Permission(
                f"{name}-invoke-{index}",
                region=args.region,
                action="lambda:InvokeFunction",
                function=route.function.function_name,
                principal="apigateway.amazonaws.com",
                # Scoped to this route: the function cannot be reached through any other route of the API.
                source_arn=pulumi.Output.concat(
                    api.execution_arn, "/*/", route.method, _PATH_PARAMETER.sub("*", route.path)
                ),
                opts=child,
            )
        aws.apigatewayv2.Stage(
            f"{name}-stage",
            region=args.region,
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=_throttling(args.throttle),
            route_settings=[
                {"route_key": route.route_key, **_throttling(args.throttle)} for route in args.routes
            ],
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": pulumi.Output.json_dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "routeKey": "$context.routeKey",
                        "status": "$context.status",
                        "responseLength": "$context.responseLength",
                        "integrationError": "$context.integrationErrorMessage",
                    }
                ),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        self.endpoint = api.api_endpoint
        for route in args.routes:
            self._route_urls[route.route_key] = pulumi.Output.concat(api.api_endpoint, route.path)

    def _build_function_urls(self, name: str, args: HttpApiArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        first_url: pulumi.Output[str] | None = None
        for index, route in enumerate(args.routes):
            function_url = aws.lambda_.FunctionUrl(
                f"{name}-url-{index}",
                region=args.region,
                function_name=route.function.function_name,
                authorization_type="NONE",
                opts=child,
            )
            # A public function URL still needs the function's resource policy to allow it: both
            # InvokeFunctionUrl (auth type NONE) and, since October 2025, InvokeFunction through the URL
            # only; without them AWS answers 403 Forbidden.
            aws.lambda_.Permission(
                f"{name}-url-invoke-{index}",
                region=args.region,
                action="lambda:InvokeFunctionUrl",
                function=route.function.function_name,
                principal="*",
                function_url_auth_type="NONE",
                opts=child,
            )
            aws.lambda_.Permission(
                f"{name}-url-invoke-function-{index}",
                region=args.region,
                action="lambda:InvokeFunction",
                function=route.function.function_name,
                principal="*",
                invoked_via_function_url=True,
                opts=child,
            )
            # Function URLs end with "/"; the handler routes on the path just as behind API Gateway.
            url = pulumi.Output.concat(function_url.function_url, route.path.lstrip("/"))
            self._route_urls[route.route_key] = url
            first_url = first_url or function_url.function_url
        if first_url is None:
            raise ValueError(f"{name}: an HTTP API needs at least one route")
        self.endpoint = first_url


def _throttling(throttle: ApiThrottle) -> aws.apigatewayv2.StageDefaultRouteSettingsArgsDict:
    return {
        "throttling_burst_limit": throttle.burst_limit,
        "throttling_rate_limit": throttle.rate_limit_per_second,
    }
