"""HTTP endpoints in front of Lambda functions: API Gateway v2, or function URLs where v2 is missing.

No door is anonymous. A route is either AWS_IAM (machine producers sign with SigV4; `invoke_statements`
are the grants a caller needs) or JWT (people sign in to an OpenID Connect issuer, e.g. a Cognito user
pool, and send its token as `Authorization: Bearer <token>`). Function URLs offer IAM only: behind them a
JWT route is served with AWS_IAM too. NONE is for a page alone (a sign-in page: it reads no data and
accepts none), on API Gateway only; a function URL front door refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.config import ApiThrottle
from components.function import Function
from components.iam import PolicyStatement
from components.shared_settings import SharedSettings

_PATH_PARAMETER = re.compile(r"\{[^}]+\}")
DEFAULT_THROTTLE = ApiThrottle(rate_limit_per_second=20, burst_limit=40)
RouteAuthorization = Literal["AWS_IAM", "JWT", "NONE"]


@dataclass(frozen=True, kw_only=True)
class JwtIssuer:
    """Who vouches for a JWT route's callers: the token's `iss` and one of its `aud`/`client_id`."""

    issuer: pulumi.Input[str]  # e.g. https://cognito-idp.<region>.amazonaws.com/<user pool id>
    audiences: Sequence[pulumi.Input[str]]  # e.g. the user pool client id


@dataclass(frozen=True, kw_only=True)
class LambdaRoute:
    route_key: str  # "METHOD /path", path parameters as {name}, e.g. "GET /uploads/{id}"
    function: Function
    authorization: RouteAuthorization = "AWS_IAM"

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
    jwt_issuer: JwtIssuer | None = None  # required when a route is JWT


class HttpApi(pulumi.ComponentResource):
    """Routes to Lambda proxy integrations (payload 2.0); each function may be invoked by its route only.

    With the stack's api_front_door "functionUrl" (LocalStack Community has no API Gateway v2 and no
    Cognito) every routed function gets an AWS_IAM function URL instead; the payload is the same 2.0 event
    (with requestContext.authorizer.iam), so handlers do not change.
    """

    endpoint: pulumi.Output[str]
    # What a caller's policy needs to call every IAM route (empty when no route is IAM).
    invoke_statements: list[PolicyStatement]

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:api:HttpApi", name, None, opts)
        jwt_routes = any(route.authorization == "JWT" for route in args.routes)
        if jwt_routes and args.jwt_issuer is None and args.shared.api_front_door == "httpApi":
            raise ValueError(f"{name}: a JWT route needs HttpApiArgs.jwt_issuer")
        self._route_urls: dict[str, pulumi.Output[str]] = {}
        self.invoke_statements = []
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
        account_id = aws.get_caller_identity_output().account_id
        api = aws.apigatewayv2.Api(f"{name}-api", region=args.region, protocol_type="HTTP", opts=child)
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            region=args.region,
            retention_in_days=args.shared.log_retention_days,
            opts=child,
        )
        authorizer = (
            aws.apigatewayv2.Authorizer(
                f"{name}-jwt",
                region=args.region,
                api_id=api.id,
                authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration={
                    "issuer": args.jwt_issuer.issuer,
                    "audiences": list(args.jwt_issuer.audiences),
                },
                opts=child,
            )
            if args.jwt_issuer is not None and any(route.authorization == "JWT" for route in args.routes)
            else None
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
                    authorization_type=route.authorization,
                    authorizer_id=authorizer.id if route.authorization == "JWT" and authorizer else None,
                    opts=child,
                )
            )
            if route.authorization == "AWS_IAM":
                self.invoke_statements.append(
                    {
                        "Effect": "Allow",
                        "Action": ["execute-api:Invoke"],
                        "Resource": [_route_arn(api.execution_arn, route)],
                    }
                )
            aws.lambda_.Permission(
                f"{name}-invoke-{index}",
                region=args.region,
                action="lambda:InvokeFunction",
                function=route.function.function_name,
                principal="apigateway.amazonaws.com",
                # Scoped to this route: the function cannot be reached through any other route of the API.
                source_arn=_route_arn(api.execution_arn, route),
                source_account=account_id,
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
        pages = [route.route_key for route in args.routes if route.authorization == "NONE"]
        if pages:
            # A page's route behind an AWS_IAM function URL could not be opened by a browser.
            raise ValueError(f"{name}: function URLs serve no anonymous page ({', '.join(pages)})")
        for index, route in enumerate(args.routes):
            function_url = aws.lambda_.FunctionUrl(
                f"{name}-url-{index}",
                region=args.region,
                function_name=route.function.function_name,
                authorization_type="AWS_IAM",
                opts=child,
            )
            # An AWS_IAM URL needs no resource policy for callers of this account: their own policies
            # must allow InvokeFunctionUrl (for auth type AWS_IAM) and, since October 2025, InvokeFunction
            # through the URL.
            self.invoke_statements += [
                {
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunctionUrl"],
                    "Resource": [route.function.arn],
                    "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
                },
                {
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunction"],
                    "Resource": [route.function.arn],
                    "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
                },
            ]
            # Function URLs end with "/"; the handler routes on the path just as behind API Gateway.
            url = pulumi.Output.concat(function_url.function_url, route.path.lstrip("/"))
            self._route_urls[route.route_key] = url
            first_url = first_url or function_url.function_url
        if first_url is None:
            raise ValueError(f"{name}: an HTTP API needs at least one route")
        self.endpoint = first_url


def _route_arn(execution_arn: pulumi.Output[str], route: LambdaRoute) -> pulumi.Output[str]:
    """The route in every stage: `<execution arn>/*/<METHOD>/<path>`, path parameters as `*`."""
    return pulumi.Output.concat(execution_arn, "/*/", route.method, _PATH_PARAMETER.sub("*", route.path))


def _throttling(throttle: ApiThrottle) -> aws.apigatewayv2.StageDefaultRouteSettingsArgsDict:
    return {
        "throttling_burst_limit": throttle.burst_limit,
        "throttling_rate_limit": throttle.rate_limit_per_second,
    }
