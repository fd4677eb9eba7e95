"""Active-active events: one global event table written in two regions, conflicts resolved the same way.

Global: the event table (Id; Data, Version, LastUpdatedRegion, Timestamp, IdempotencyKey; GSI
IdempotencyIndex; PITR; streams; on-demand; a replica in each region) and the Powertools idempotency
table (also global, so an idempotency key repeated in the other region is recognised once replicated).
Per region: POST /events -> API function (validates, 400/413 + the raw body to the DLQ) -> an EXPRESS
workflow run synchronously (workflows/active_active_events.py) -> event processor (idempotent on the
event's key, versioned conditional write decided by the ConflictResolver; stale writes answered 409)
-> failures after retries to the region's DLQ.

Consistency (config eventsConsistency):
- "eventual" (MREC, the default): a conditional write checks only the local replica, so both regions
  can accept conflicting writes; DynamoDB's replication then keeps the later *wall-clock* write, which
  need not be the ConflictResolver's winner. A repair function on each replica's stream sees the
  replaced image and, when the resolver prefers it, writes it back, so both replicas converge on the
  resolver's winner whatever the arrival order.
- "strong" (MRSC): conditional writes are checked across regions (a witness region makes the third
  vote), so no conflict can be accepted and no repair function is deployed. Writes pay a cross-region
  round trip; MRSC has no TTL, so the idempotency table stays MREC.

Live conflict feed (the seed's "real-time conflict detection"), per region, where the stack's front door
is API Gateway v2 (LocalStack Community, the functionUrl front door, has no WebSocket APIs): a WebSocket
API (stage FEED_STAGE) whose $connect is AWS_IAM (subscribers sign the upgrade request and need
execute-api:Connect, which the feed subscriber role holds) and whose $connect/$disconnect keep a
connections table (TTL, SSE); the processor and the repair function post accepted / duplicate / stale /
repaired messages to every connection through the Management API (execute-api:ManageConnections on that
stage's POST @connections only). Publishing is bounded and never fails an event
(handlers/conflict_feed/publisher.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.alarms import alarm_topic, failed_executions_alarm
from components.api_callers import ApiCallerRole, ApiCallerRoleArgs
from components.buffered_queue import dead_letter_queue
from components.config import ApiThrottle
from components.function import Function, FunctionArgs
from components.global_table import replica_arn
from components.http_api import HttpApi, HttpApiArgs, LambdaRoute
from components.iam import PolicyStatement, allow
from components.shared_settings import SharedSettings
from components.state_machine import StateMachine, StateMachineArgs
from components.system_dashboard import SystemDashboardArgs, system_dashboard
from handlers.conflict_feed.contract import (
    CONNECTION_EXPIRY_ATTRIBUTE,
    CONNECTION_KEY,
    FEED_STAGE,
    FeedConnectionsSettings,
    FeedSettings,
)
from handlers.events.contract import (
    EVENTS_TABLE_KEY,
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_INDEX,
    IDEMPOTENCY_INDEX_KEY,
    IDEMPOTENCY_TABLE_KEY,
    ApiSettings,
    ProcessorSettings,
    RepairSettings,
)
from workflows import active_active_events

EVENTS_ROUTE = "POST /events"
API_THROTTLE = ApiThrottle(rate_limit_per_second=50, burst_limit=100)  # POST /events in each region
STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
FEED_ROUTES = ("$connect", "$disconnect")


@dataclass(frozen=True, kw_only=True)
class ActiveActiveEventsArgs:
    regions: Sequence[str]  # exactly two, both written; the first holds the table's declaration
    shared: SharedSettings
    consistency: Literal["eventual", "strong"] = "eventual"
    witness_region: str | None = None  # required for "strong"
    max_clock_skew_seconds: int = ProcessorSettings.max_clock_skew_seconds
    idempotency_ttl_seconds: int = ProcessorSettings.idempotency_ttl_seconds
    alarm_emails: Sequence[str] = ()  # subscribed to each region's alarm topic
    # Reserved for POST /events' function in each region: it waits on a synchronous workflow, so a flood
    # would otherwise hold the account's concurrency for the length of each run.
    api_concurrency: int = 10
    api_throttle: ApiThrottle = API_THROTTLE
    # Reserved for the feed's $connect/$disconnect function in each region (it answers API Gateway).
    feed_connections_concurrency: int = 5


@dataclass(frozen=True)
class _RegionFeed:
    """One region's live conflict feed, as the region's functions need it."""

    url: pulumi.Output[str]  # wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}
    connect_arn: pulumi.Output[str]  # what a subscriber needs execute-api:Connect on
    connections_function: Function
    publisher_statements: list[PolicyStatement]  # what a publisher (processor, repair) may do
    environment: dict[str, pulumi.Input[str]]  # FeedSettings of a publisher


class ActiveActiveEvents(pulumi.ComponentResource):
    event_table: pulumi.Output[str]
    idempotency_table: pulumi.Output[str]
    event_urls: dict[str, pulumi.Output[str]]  # by region
    dlq_urls: dict[str, pulumi.Output[str]]
    state_machine_arns: dict[str, pulumi.Output[str]]
    dashboard_names: dict[str, pulumi.Output[str]]  # region -> CloudWatch dashboard
    feed_urls: dict[str, pulumi.Output[str]]  # region -> the live conflict feed (empty: no feed)
    feed_subscriber_role_arn: pulumi.Output[str] | None  # may connect to every region's feed

    def __init__(
        self, name: str, args: ActiveActiveEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:events:ActiveActiveEvents", name, None, opts)
        if len(args.regions) != 2:
            raise ValueError(f"{name}: active-active events runs in exactly two regions, got {args.regions}")
        if args.consistency == "strong" and args.witness_region in (None, *args.regions):
            raise ValueError(f"{name}: strong consistency needs a witness region other than {args.regions}")
        self._name, self._args = name, args
        home, other = args.regions
        events = self._event_table(home, other)
        idempotency = aws.dynamodb.Table(
            f"{name}-idempotency",
            region=home,
            billing_mode="PAY_PER_REQUEST",
            hash_key=IDEMPOTENCY_TABLE_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=IDEMPOTENCY_TABLE_KEY, type="S")],
            ttl={"attribute_name": IDEMPOTENCY_EXPIRY_ATTRIBUTE, "enabled": True},
            stream_enabled=True,  # global tables replicate through the stream
            stream_view_type="NEW_AND_OLD_IMAGES",
            server_side_encryption={"enabled": True},
            replicas=[aws.dynamodb.TableReplicaArgs(region_name=other)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        stream_arns = {home: events.stream_arn, other: events.replicas.apply(_only_replica_stream_arn)}

        self.event_urls, self.dlq_urls, self.state_machine_arns, self.dashboard_names = {}, {}, {}, {}
        self.feed_urls = {}
        invoke_statements: list[PolicyStatement] = []
        connect_arns: list[pulumi.Input[str]] = []
        for region in args.regions:
            feed = self._feed(region) if args.shared.api_front_door == "httpApi" else None
            api, dlq_url, machine_arn, dashboard_name = self._region(
                region, events, idempotency, stream_arns[region], feed
            )
            if feed is not None:
                self.feed_urls[region] = feed.url
                connect_arns.append(feed.connect_arn)
            self.dashboard_names[region] = dashboard_name
            self.event_urls[region] = api.url_for(EVENTS_ROUTE)
            self.dlq_urls[region] = dlq_url
            self.state_machine_arns[region] = machine_arn
            invoke_statements += api.invoke_statements
        # One producer role writes to every region: active-active means a writer may use either.
        self.caller_role_arn = ApiCallerRole(
            f"{name}-caller",
            ApiCallerRoleArgs(
                statements=invoke_statements, description="regionflow: POST /events, every region"
            ),
            pulumi.ResourceOptions(parent=self),
        ).arn
        # Watching is not writing: subscribers get a role of their own, which may connect and nothing else.
        self.feed_subscriber_role_arn = (
            ApiCallerRole(
                f"{name}-feed-subscriber",
                ApiCallerRoleArgs(
                    statements=[allow(["execute-api:Connect"], connect_arns)],
                    description="regionflow: subscribe to the events' live conflict feed, every region",
                ),
                pulumi.ResourceOptions(parent=self),
            ).arn
            if connect_arns
            else None
        )
        self.event_table = events.name
        self.idempotency_table = idempotency.name
        self.register_outputs(
            {
                "event_table": self.event_table,
                "idempotency_table": self.idempotency_table,
                "event_urls": self.event_urls,
                "caller_role_arn": self.caller_role_arn,
                "dlq_urls": self.dlq_urls,
                "state_machine_arns": self.state_machine_arns,
                "dashboard_names": self.dashboard_names,
                "feed_urls": self.feed_urls,
                "feed_subscriber_role_arn": self.feed_subscriber_role_arn,
            }
        )

    def _event_table(self, home: str, other: str) -> aws.dynamodb.Table:
        args = self._args
        strong = args.consistency == "strong"
        return aws.dynamodb.Table(
            f"{self._name}-table",
            region=home,
            billing_mode="PAY_PER_REQUEST",
            hash_key=EVENTS_TABLE_KEY,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=EVENTS_TABLE_KEY, type="S"),
                aws.dynamodb.TableAttributeArgs(name=IDEMPOTENCY_INDEX_KEY, type="S"),
            ],
            global_secondary_indexes=[
                {"name": IDEMPOTENCY_INDEX, "hash_key": IDEMPOTENCY_INDEX_KEY, "projection_type": "ALL"}
            ],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",  # the repair function compares both images
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            replicas=[
                aws.dynamodb.TableReplicaArgs(
                    region_name=other,
                    point_in_time_recovery=True,
                    consistency_mode="STRONG" if strong else None,
                )
            ],
            global_table_witness=(
                aws.dynamodb.TableGlobalTableWitnessArgs(region_name=args.witness_region) if strong else None
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _region(
        self,
        region: str,
        events: aws.dynamodb.Table,
        idempotency: aws.dynamodb.Table,
        stream_arn: pulumi.Input[str],
        feed: _RegionFeed | None,
    ) -> tuple[HttpApi, pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        """The region's door, DLQ URL, workflow ARN and dashboard name."""
        args, prefix = self._args, f"{self._name}-{region}"
        child = pulumi.ResourceOptions(parent=self)
        table_arn = replica_arn(events.arn, region)
        function = partial(FunctionArgs, region=region, shared=args.shared)
        alarms = alarm_topic(prefix, system=self._name, region=region, emails=args.alarm_emails, opts=child)
        dlq = dead_letter_queue(
            f"{prefix}-dlq",
            alarms=alarms,
            holds="events refused as invalid, failed after retries, or left unrepaired",
            # A dead letter carries the workflow input (up to 256 KB) plus the error: SQS's 1 MiB limit.
            max_message_size_bytes=1024 * 1024,
            opts=child,
        )
        processor = Function(
            f"{prefix}-processor",
            function(
                handler="handlers.events.processor.lambda_handler",
                description="Events: idempotent, versioned conditional write decided by the ConflictResolver",
                policy_statements=[
                    allow(["dynamodb:GetItem", "dynamodb:PutItem"], [table_arn]),
                    allow(IDEMPOTENCY_ACTIONS, [replica_arn(idempotency.arn, region)]),
                    *(feed.publisher_statements if feed else ()),
                ],
                environment={
                    **ProcessorSettings.environment(
                        events_table=events.name,
                        idempotency_table=idempotency.name,
                        idempotency_ttl_seconds=args.idempotency_ttl_seconds,
                        max_clock_skew_seconds=args.max_clock_skew_seconds,
                    ),
                    **(feed.environment if feed else {}),
                },
            ),
            child,
        )
        workflow = StateMachine(
            f"{prefix}-workflow",
            StateMachineArgs(
                region=region,
                shared=args.shared,
                machine_type="EXPRESS",
                definition=active_active_events.build_definition,
                definition_inputs={"processor_arn": processor.arn, "dlq_url": dlq.url},
                policy_statements=[
                    allow(["lambda:InvokeFunction"], [processor.arn]),
                    allow(["sqs:SendMessage"], [dlq.arn]),
                ],
            ),
            child,
        )
        failed_executions_alarm(
            f"{prefix}-workflow-failed",
            topic=alarms,
            state_machine_arn=workflow.arn,
            workflow="event processing",
            opts=child,
        )
        api_function = Function(
            f"{prefix}-api",
            function(
                handler="handlers.events.api.lambda_handler",
                description="POST /events: validate, run the workflow synchronously, answer its outcome",
                timeout_seconds=29,  # API Gateway's integration limit
                policy_statements=[
                    allow(["states:StartSyncExecution"], [workflow.arn]),
                    allow(["sqs:SendMessage"], [dlq.arn]),
                ],
                # The body limit is written out, not left to the default: it is Step Functions' own.
                environment=ApiSettings.environment(
                    state_machine_arn=workflow.arn,
                    dlq_url=dlq.url,
                    max_body_bytes=ApiSettings.max_body_bytes,
                ),
                reserved_concurrency=args.api_concurrency,
            ),
            child,
        )
        api = HttpApi(
            f"{prefix}-http",
            HttpApiArgs(
                region=region,
                shared=args.shared,
                routes=[LambdaRoute(route_key=EVENTS_ROUTE, function=api_function)],
                throttle=args.api_throttle,
            ),
            child,
        )
        repair = (
            self._repair(region, table_arn, stream_arn, dlq, events.name, feed=feed)
            if args.consistency == "eventual"
            else None
        )
        functions = {"POST /events": api_function, "Processor": processor}
        if repair is not None:
            functions["Conflict repair"] = repair
        if feed is not None:
            functions["Feed connections"] = feed.connections_function
        dashboard = system_dashboard(
            prefix,
            SystemDashboardArgs(
                region=region,
                dead_letter_queues={"Events refused, failed or left unrepaired": dlq.name},
                state_machines={"Event processing": workflow.arn},
                functions={label: function.function_name for label, function in functions.items()},
            ),
            child,
        )
        return api, dlq.url, workflow.arn, dashboard.dashboard_name

    def _repair(
        self,
        region: str,
        table_arn: pulumi.Output[str],
        stream_arn: pulumi.Input[str],
        dlq: aws.sqs.Queue,
        table_name: pulumi.Output[str],
        *,
        feed: _RegionFeed | None,
    ) -> Function:
        """The stream function that writes the resolver's winner back when replication replaced it."""
        args, prefix = self._args, f"{self._name}-{region}"
        child = pulumi.ResourceOptions(parent=self)
        repair = Function(
            f"{prefix}-repair",
            FunctionArgs(
                region=region,
                shared=args.shared,
                handler="handlers.events.repair.lambda_handler",
                description="Events: restore the ConflictResolver's winner a replicated write replaced",
                policy_statements=[
                    allow(["dynamodb:GetItem", "dynamodb:PutItem"], [table_arn]),
                    allow(STREAM_READ_ACTIONS, [stream_arn]),
                    # The mapping's on-failure destination is sent with the function's role.
                    allow(["sqs:SendMessage"], [dlq.arn]),
                    *(feed.publisher_statements if feed else ()),
                ],
                environment={
                    **RepairSettings.environment(events_table=table_name),
                    **(feed.environment if feed else {}),
                },
            ),
            child,
        )
        aws.lambda_.EventSourceMapping(
            f"{prefix}-repair-trigger",
            region=region,
            event_source_arn=stream_arn,
            function_name=repair.function_name,
            starting_position="LATEST",
            batch_size=100,
            # Only replaced items can need repair; inserts and removals never do.
            filter_criteria={"filters": [{"pattern": json.dumps({"eventName": ["MODIFY"]})}]},
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=5,
            destination_config={"on_failure": {"destination_arn": dlq.arn}},
            opts=child,
        )
        return repair

    def _feed(self, region: str) -> _RegionFeed:
        """The region's live conflict feed: WebSocket API, connections table and function (module doc)."""
        args, prefix = self._args, f"{self._name}-{region}-feed"
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output().account_id
        subscribers = aws.dynamodb.Table(
            f"{prefix}-subscribers",
            region=region,
            billing_mode="PAY_PER_REQUEST",
            hash_key=CONNECTION_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=CONNECTION_KEY, type="S")],
            ttl={"attribute_name": CONNECTION_EXPIRY_ATTRIBUTE, "enabled": True},
            server_side_encryption={"enabled": True},
            opts=child,
        )
        connections = Function(
            f"{prefix}-connections",
            FunctionArgs(
                region=region,
                shared=args.shared,
                handler="handlers.conflict_feed.connections.lambda_handler",
                description="Events feed: record and forget subscribers' WebSocket connections",
                policy_statements=[allow(["dynamodb:PutItem", "dynamodb:DeleteItem"], [subscribers.arn])],
                environment=FeedConnectionsSettings.environment(feed_connections_table=subscribers.name),
                reserved_concurrency=args.feed_connections_concurrency,
            ),
            child,
        )
        api = aws.apigatewayv2.Api(
            f"{prefix}-api",
            region=region,
            protocol_type="WEBSOCKET",
            # Subscribers send nothing the feed routes; AWS requires an expression all the same.
            route_selection_expression="$request.body.action",
            description="Live conflict feed: accepted, duplicate, stale and repaired events as they happen",
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{prefix}-integration",
            region=region,
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=connections.function.invoke_arn,
            opts=child,
        )
        routes = []
        for route_key in FEED_ROUTES:
            role = route_key.removeprefix("$")
            routes.append(
                aws.apigatewayv2.Route(
                    f"{prefix}-{role}",
                    region=region,
                    api_id=api.id,
                    route_key=route_key,
                    target=pulumi.Output.concat("integrations/", integration.id),
                    # API Gateway authorizes the connect only: $disconnect takes no authorization.
                    authorization_type="AWS_IAM" if route_key == "$connect" else "NONE",
                    opts=child,
                )
            )
            aws.lambda_.Permission(
                f"{prefix}-invoke-{role}",
                region=region,
                action="lambda:InvokeFunction",
                function=connections.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(api.execution_arn, f"/{FEED_STAGE}/{route_key}"),
                source_account=account_id,
                opts=child,
            )
        access_logs = aws.cloudwatch.LogGroup(
            f"{prefix}-access-logs",
            region=region,
            retention_in_days=args.shared.log_retention_days,
            opts=child,
        )
        throttle: aws.apigatewayv2.StageDefaultRouteSettingsArgsDict = {
            # The system's throttle (eventsApiRateLimit / eventsApiBurstLimit), as on POST /events.
            "throttling_burst_limit": args.api_throttle.burst_limit,
            "throttling_rate_limit": args.api_throttle.rate_limit_per_second,
        }
        aws.apigatewayv2.Stage(
            f"{prefix}-stage",
            region=region,
            api_id=api.id,
            name=FEED_STAGE,
            auto_deploy=True,
            default_route_settings=throttle,
            route_settings=[{"route_key": route_key, **throttle} for route_key in FEED_ROUTES],
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": pulumi.Output.json_dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "caller": "$context.identity.userArn",
                        "routeKey": "$context.routeKey",
                        "eventType": "$context.eventType",
                        "connectionId": "$context.connectionId",
                        "status": "$context.status",
                        "integrationError": "$context.integrationErrorMessage",
                    }
                ),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        url = pulumi.Output.concat(api.api_endpoint, f"/{FEED_STAGE}")
        return _RegionFeed(
            url=url,
            connect_arn=pulumi.Output.concat(api.execution_arn, f"/{FEED_STAGE}/$connect"),
            connections_function=connections,
            publisher_statements=[
                # Posting only, on this stage: connection ids are minted at connect time.
                allow(
                    ["execute-api:ManageConnections"],
                    [pulumi.Output.concat(api.execution_arn, f"/{FEED_STAGE}/POST/@connections/*")],
                ),
                allow(["dynamodb:Scan", "dynamodb:DeleteItem"], [subscribers.arn]),
            ],
            environment=FeedSettings.environment(
                feed_connections_table=subscribers.name, feed_endpoint=url.apply(management_endpoint)
            ),
        )


def management_endpoint(feed_url: str) -> str:
    """The API Gateway Management API of a WebSocket stage: its URL over HTTPS (HTTP where the feed is
    served without TLS, as on localcloud's loopback)."""
    for websocket, http in (("wss://", "https://"), ("ws://", "http://")):
        if feed_url.startswith(websocket):
            return http + feed_url.removeprefix(websocket)
    return feed_url


def _only_replica_stream_arn(replicas: Sequence[aws.dynamodb.outputs.TableReplica] | None) -> str:
    [replica] = replicas or []
    return replica.stream_arn or ""
