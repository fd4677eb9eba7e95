"""No door is anonymous: producers' routes take SigV4 (AWS_IAM), people's routes a user pool's JWT, and each
system's caller role may invoke its own routes only."""

from __future__ import annotations

import json

from tests.unit.components.conftest import BuiltStack, build_stack

PEOPLES_ROUTES = {"POST /upload", "POST /uploads", "GET /uploads/{id}", "GET /rules"}
PAGE_ROUTES = {"GET /", "GET /page/{asset}"}  # the upload page: static, anonymous by design
EXISTING_ISSUER = "https://login.example.com/realm"


def routes_by_key(stack: BuiltStack) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for route in stack.resources_of("aws:apigatewayv2/route:Route"):
        found.setdefault(str(route.inputs["routeKey"]), []).append(dict(route.inputs))
    return found


def test_every_http_route_is_authenticated_people_by_jwt_and_producers_by_sigv4(
    primary_stack: BuiltStack,
) -> None:
    routes = routes_by_key(primary_stack)
    # GIVEN the production stack's HTTP API routes (events and financials in both regions)
    assert {key: len(found) for key, found in routes.items()} == {
        "POST /upload": 1,
        "POST /uploads": 1,
        "GET /uploads/{id}": 1,
        "GET /rules": 1,
        "GET /": 1,
        "GET /page/{asset}": 1,
        "POST /audit": 1,
        "POST /events": 2,
        "GET /financials/{uuid}": 2,
        "$connect": 2,  # the live conflict feed's WebSocket API, in both regions
        "$disconnect": 2,
    }
    # THEN the people's routes take a JWT from the stack's authorizer, the upload page (which reads and
    # accepts nothing) none, the feed's $disconnect none (API Gateway authorizes a WebSocket connection
    # once, at $connect: a $disconnect route takes no authorization), every other one SigV4
    for key, found in routes.items():
        for route in found:
            unauthorized = key in PAGE_ROUTES or key == "$disconnect"
            expected = "JWT" if key in PEOPLES_ROUTES else "NONE" if unauthorized else "AWS_IAM"
            assert route["authorizationType"] == expected, key
            assert bool(route.get("authorizerId")) == (expected == "JWT"), key
    # AND POST /builds (a REST API) takes SigV4 too
    [method] = primary_stack.resources_of("aws:apigateway/method:Method")
    assert method.inputs["authorization"] == "AWS_IAM"


def test_the_jwt_authorizer_trusts_the_stacks_user_pool_and_its_client_only(
    primary_stack: BuiltStack,
) -> None:
    [authorizer] = primary_stack.resources_of("aws:apigatewayv2/authorizer:Authorizer")
    [pool] = primary_stack.resources_of("aws:cognito/userPool:UserPool")
    [client] = primary_stack.resources_of("aws:cognito/userPoolClient:UserPoolClient")
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool.name}-id",
        "audiences": [f"{client.name}-id"],
    }
    # AND the pool is invitation-only with strong passwords; the client holds no secret (a page can't)
    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool.inputs["passwordPolicy"]["minimumLength"] >= 12
    assert client.inputs["generateSecret"] is False
    # AND people sign in with their password (the page, to Cognito over TLS) or SRP; back ends with IAM
    # credentials by the admin flow; no custom or legacy flow
    assert sorted(client.inputs["explicitAuthFlows"]) == [
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]


def test_an_existing_issuer_replaces_the_user_pool() -> None:
    stack = build_stack(
        "primary",
        {
            "regionflow:transformJwtIssuer": EXISTING_ISSUER,
            "regionflow:transformJwtAudiences": '["upload-page"]',
        },
    )
    [authorizer] = stack.resources_of("aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer.inputs["jwtConfiguration"] == {"issuer": EXISTING_ISSUER, "audiences": ["upload-page"]}
    assert stack.resources_of("aws:cognito/userPool:UserPool") == []


def test_each_caller_role_may_invoke_only_its_own_systems_routes(primary_stack: BuiltStack) -> None:
    apis = {
        api.name: api.outputs["executionArn"]
        for api in [
            *primary_stack.resources_of("aws:apigatewayv2/api:Api"),
            *primary_stack.resources_of("aws:apigateway/restApi:RestApi"),
        ]
    }
    granted: dict[str, list[str]] = {}
    for policy in primary_stack.resources_of("aws:iam/rolePolicy:RolePolicy"):
        if "-caller-invoke" in policy.name:
            statements = json.loads(str(policy.inputs["policy"]))["Statement"]
            assert all(statement["Action"] == ["execute-api:Invoke"] for statement in statements)
            granted[policy.name] = [
                resource for statement in statements for resource in statement["Resource"]
            ]
    system_of_api = {name: name.split("-", 1)[0] for name in apis}
    for policy_name, resources in granted.items():
        system = policy_name.split("-", 1)[0]
        for resource in resources:
            [api] = [name for name, arn in apis.items() if resource.startswith(arn + "/")]
            assert system_of_api[api] == system, (policy_name, resource)
    # THEN the four producer systems have a caller role; people use the user pool instead
    assert {name.split("-", 1)[0] for name in granted} == {"artifacts", "audit", "batch", "events"}


def test_caller_roles_trust_only_this_account() -> None:
    stack = build_stack("primary")
    for role in stack.resources_of("aws:iam/role:Role"):
        if "-caller-role" in role.name:
            [statement] = json.loads(str(role.inputs["assumeRolePolicy"]))["Statement"]
            assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
            assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}


def test_waf_is_an_aws_option_in_front_of_the_rest_stage_and_the_user_pool(primary_stack: BuiltStack) -> None:
    # GIVEN the default primary stack THEN no web ACL is deployed
    assert primary_stack.resources_of("aws:wafv2/webAcl:WebAcl") == []
    # WHEN apiWaf is on
    stack = build_stack("primary", {"regionflow:apiWaf": "true"})
    [acl] = stack.resources_of("aws:wafv2/webAcl:WebAcl")
    # THEN one regional ACL runs AWS's managed rule sets and a per-address rate limit
    assert acl.inputs["scope"] == "REGIONAL" and acl.inputs["defaultAction"] == {"allow": {}}
    statements = [rule["statement"] for rule in acl.inputs["rules"]]
    managed = {s["managedRuleGroupStatement"]["name"] for s in statements if "managedRuleGroupStatement" in s}
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert [s["rateBasedStatement"]["aggregateKeyType"] for s in statements if "rateBasedStatement" in s] == [
        "IP"
    ]
    # AND it guards exactly the front doors AWS lets it: the REST stage and the user pool
    [stage] = stack.resources_of("aws:apigateway/stage:Stage")
    [pool] = stack.resources_of("aws:cognito/userPool:UserPool")
    guarded = {
        a.inputs["resourceArn"] for a in stack.resources_of("aws:wafv2/webAclAssociation:WebAclAssociation")
    }
    assert guarded == {stage.outputs["arn"], pool.outputs["arn"]}
