"""A system's architecture as a graph, derived from its recorded deployment and nothing else.

Nodes are the resources a reader of the system needs: routes, functions, queues, buckets, tables, state
machines, topics, user pools, caches... (`NODE_KINDS`); plumbing (IAM, log groups, policies, KMS keys,
networks, stages) is left out. Edges come from the recorded inputs, by finding one resource's identifiers
(name, ARN, URL, id) in another's inputs, never from a list written per system:

- wiring resources: an event source mapping (queue or stream -> function), a bucket notification, a
  replication configuration, an SNS subscription, an API integration (route -> target), an authorizer
  (API -> user pool), alarm actions, a global table's replicas;
- each function's and state machine's IAM grants (its role's inline policies, scoped to exact ARNs in this
  program): what it reads, writes, publishes, starts or invokes;
- the other references in a node's inputs (environment variables, definitions, dead-letter targets): a
  resource outside IAM's reach (a cache, a DNS record) is used as named; a resource a principal names
  without any grant to it is only named (a dotted edge: a page that hands a bucket's name to the browser).

A few plumbing resources stand for what they point at (`ALIAS_TYPES`): a route's integration for its
function, a user pool client for its pool, a health check for its routing control.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from localcloud.core.recording import BuiltStack, RecordedResource

# Pulumi type token -> the kind of node a resource is drawn as.
NODE_KINDS = {
    "aws:apigatewayv2/route:Route": "route",
    "aws:apigateway/method:Method": "route",
    "aws:lambda/functionUrl:FunctionUrl": "function URL",
    "aws:lambda/function:Function": "function",
    "aws:sqs/queue:Queue": "queue",
    "aws:sns/topic:Topic": "topic",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint": "access point",
    "aws:dynamodb/table:Table": "table",
    "aws:sfn/stateMachine:StateMachine": "state machine",
    "aws:cognito/userPool:UserPool": "user pool",
    "aws:elasticache/replicationGroup:ReplicationGroup": "cache",
    "aws:secretsmanager/secret:Secret": "secret",
    "aws:route53recoverycontrol/routingControl:RoutingControl": "routing control",
    "aws:route53/record:Record": "DNS record",
    "aws:ssm/document:Document": "automation",
    "aws:sesv2/emailIdentity:EmailIdentity": "email identity",
    "aws:kinesis/stream:Stream": "stream",
}
# APIs are drawn as boxes around their routes (which name them by apiId / restApi).
CONTAINER_KINDS = {
    "aws:apigatewayv2/api:Api": "HTTP API",
    "aws:apigateway/restApi:RestApi": "REST API",
}
# Plumbing that stands for the nodes it references: a reference to it is a reference to them.
ALIAS_TYPES = (
    "aws:apigatewayv2/integration:Integration",
    "aws:cognito/userPoolClient:UserPoolClient",
    "aws:route53/healthCheck:HealthCheck",
)
ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"

# Output keys that identify a resource when another resource's inputs name it.
IDENTIFIER_KEYS = (
    "name",
    "bucket",
    "arn",
    "url",
    "streamArn",
    "invokeArn",
    "functionUrl",
    "apiEndpoint",
    "executionArn",
    "primaryEndpointAddress",
    "emailIdentity",
)
# An identifier counts only as a whole token: `transform-status` is not inside `transform-status-function`.
_TOKEN_CHARACTERS = "A-Za-z0-9_-"  # noqa: S105 - a regex character class

# What a link to a node of each kind means when nothing more precise is known (or the IAM verb is a write).
KIND_VERBS = {
    "function": "invokes",
    "queue": "sends to",
    "topic": "publishes",
    "state machine": "starts",
    "email identity": "sends email as",
    "secret": "reads",
    "DNS record": "resolves",
    "routing control": "reads",
    "user pool": "uses",
    "automation": "runs",
    "WebSocket API": "pushes to",
    "HTTP API": "calls",
    "REST API": "calls",
}
READ_WRITE = "reads/writes"
# Kinds whose use IAM does not govern: naming them is using them.
UNGOVERNED_KINDS = frozenset({"cache", "DNS record"})
# Between two kinds of node that are not principals, a link means this.
KIND_PAIR_VERBS = {
    ("access point", "bucket"): "routes to",
    ("DNS record", "routing control"): "answers per",
}
# Input keys whose references are wiring with a meaning of their own.
KEY_VERBS = {
    "deadLetterConfig": "dead letters",
    "redrivePolicy": "dead letters",
    "destinationConfig": "on failure",
}
DEAD_LETTER_VERBS = frozenset({"dead letters", "on failure"})
# What a trigger (an event source mapping) needs its function's role to hold: not a link of its own.
CONSUME_ACTIONS = frozenset(
    {
        "sqs:receivemessage",
        "sqs:deletemessage",
        "sqs:changemessagevisibility",
        "sqs:getqueueattributes",
        "dynamodb:getrecords",
        "dynamodb:getsharditerator",
        "dynamodb:describestream",
        "dynamodb:liststreams",
        "kinesis:getrecords",
        "kinesis:getsharditerator",
        "kinesis:describestream",
        "kinesis:describestreamsummary",
        "kinesis:listshards",
        "kinesis:subscribetoshard",
    }
)
READ_ACTION_PREFIXES = ("get", "list", "describe", "query", "scan", "batchget", "receive", "head", "select")

# How sure a link is: wiring beats an IAM grant, which beats a mere reference.
WIRING, GRANT, REFERENCE = 3, 2, 1


@dataclass(frozen=True)
class Node:
    node_id: str
    kind: str
    label: str  # the physical name, or a route's method and path
    region: str | None  # None: a global resource
    container: str | None = None  # the API a route belongs to


@dataclass(frozen=True)
class Container:
    container_id: str
    kind: str
    label: str
    region: str | None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    dotted: bool = False  # named in configuration only


@dataclass(frozen=True)
class SystemGraph:
    system: str
    nodes: tuple[Node, ...]
    containers: tuple[Container, ...]
    edges: tuple[Edge, ...]
    resource_count: int  # every resource the system deploys (components aside), drawn or not

    def node_labelled(self, label: str) -> Node:
        matches = [node for node in self.nodes if node.label == label]
        assert len(matches) == 1, (
            f"expected one node labelled {label!r} in {self.system}, found {len(matches)}"
        )
        return matches[0]

    def links(self, source_label: str, target_label: str) -> list[str]:
        """The labels of the edges from one node to another (by their labels)."""
        source, target = self.node_labelled(source_label), self.node_labelled(target_label)
        return sorted(
            edge.label
            for edge in self.edges
            if (edge.source, edge.target) == (source.node_id, target.node_id)
        )

    def reachable_from(self, label: str) -> set[str]:
        """The labels of every node a path of edges leads to from a node."""
        by_id = {node.node_id: node for node in self.nodes}
        seen = {self.node_labelled(label).node_id}
        frontier = list(seen)
        while frontier:
            current = frontier.pop()
            for edge in self.edges:
                if edge.source == current and edge.target not in seen:
                    seen.add(edge.target)
                    frontier.append(edge.target)
        return {by_id[node_id].label for node_id in seen if node_id in by_id}


def physical_id(resource: RecordedResource) -> str:
    """The id RecordingMocks answers for a resource, which other resources' inputs carry (apiId, role...)."""
    physical = resource.inputs.get("name") or resource.inputs.get("bucket") or resource.name
    return f"{physical}-id"


def identifiers(resource: RecordedResource) -> set[str]:
    found = {physical_id(resource)}
    found.update(
        value for key in IDENTIFIER_KEYS if isinstance(value := resource.outputs.get(key), str) and value
    )
    return found


def safe_id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key path, string) for every string in a resource's inputs."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item, path)


class Matcher:
    """Finds the nodes whose identifiers a string names; the longest identifier wins at each place."""

    def __init__(self, index: Mapping[str, set[str]], regions: Mapping[str, str | None]) -> None:
        self._index = index
        self._regions = regions
        alternatives = "|".join(
            re.escape(ident) for ident in sorted(index, key=lambda ident: (-len(ident), ident))
        )
        self._pattern = (
            re.compile(rf"(?<![{_TOKEN_CHARACTERS}])(?:{alternatives})(?![{_TOKEN_CHARACTERS}])")
            if alternatives
            else None
        )

    def named_in(self, text: str, region: str | None, *, ignore: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        if self._pattern is None:
            return found
        for match in self._pattern.finditer(text):
            if match.group() in ignore:
                continue
            candidates = self._index[match.group()]
            # One name in several regions (a global table's replicas, an email identity per region): the
            # referrer means the one beside it.
            local = {node_id for node_id in candidates if self._regions.get(node_id) == region}
            found |= local or candidates
        return found

    def references(
        self, value: Any, region: str | None, *, own: frozenset[str] = frozenset()
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        """(key path, node id) for every node named anywhere in a value, but by one of `own` identifiers
        (a resource naming itself names no other that shares the name: two records of one DNS name)."""
        for path, text in _leaves(value):
            for node_id in sorted(self.named_in(text, region, ignore=own)):
                yield path, node_id


@dataclass
class _Links:
    """The best-known link between each ordered pair of nodes."""

    found: dict[tuple[str, str], tuple[int, set[str], bool]] = field(default_factory=dict)

    def add(self, source: str, target: str, label: str, certainty: int, *, dotted: bool = False) -> None:
        if source == target:
            return
        known = self.found.get((source, target))
        if known is None or certainty > known[0]:
            self.found[(source, target)] = (certainty, {label}, dotted)
        elif certainty == known[0]:
            known[1].add(label)

    def wired(self, source: str, target: str) -> bool:
        known = self.found.get((source, target))
        return known is not None and known[0] == WIRING

    def edges(self) -> list[Edge]:
        return [
            Edge(source, target, ", ".join(sorted(labels)), dotted)
            for (source, target), (_, labels, dotted) in sorted(self.found.items())
        ]


def _action_verb(actions: Iterable[str], kind: str) -> str:
    reads = writes = False
    for action in actions:
        verb = action.split(":", 1)[-1]
        if verb == "*" or (verb.endswith("*") and not verb.startswith(READ_ACTION_PREFIXES)):
            reads = writes = True
        elif verb.startswith(READ_ACTION_PREFIXES):
            reads = True
        else:
            writes = True
    if writes and kind in KIND_VERBS and kind not in {"secret", "routing control", "DNS record"}:
        return KIND_VERBS[kind]
    if reads and writes:
        return READ_WRITE
    return "reads" if reads else "writes"


def _statements(policy: Any) -> list[dict[str, Any]]:
    document = _json(policy)
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return (
        [statements]
        if isinstance(statements, dict)
        else [item for item in statements if isinstance(item, dict)]
    )


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _Names:
    """The nodes a wiring resource's value names, read from the wiring resource's region."""

    def __init__(self, matcher: Matcher, region: str | None) -> None:
        self._matcher = matcher
        self._region = region

    def __call__(self, value: Any, *, anywhere: bool = False) -> set[str]:
        region = None if anywhere else self._region
        return {node_id for _, node_id in self._matcher.references(value, region)}


class _GraphBuilder:
    def __init__(self, system: str, built: BuiltStack) -> None:
        self.system = system
        self.resources = [
            resource
            for resource in built.resources
            if not resource.typ.startswith(("regionflow:", "pulumi:"))
        ]
        self.nodes: dict[str, Node] = {}
        self.containers: dict[str, Container] = {}
        self.node_of: dict[int, str] = {}  # id(resource) -> node id
        self.links = _Links()
        self.principals: set[str] = set()
        self.alarm_targets: dict[str | None, set[str]] = {}

    # ---- nodes ----------------------------------------------------------------------------------------
    def build(self) -> SystemGraph:
        for resource in self.resources:
            if resource.typ in NODE_KINDS:
                self._add_node(resource)
            elif resource.typ in CONTAINER_KINDS:
                container_id = safe_id("api", resource.name)
                kind = CONTAINER_KINDS[resource.typ]
                if resource.inputs.get("protocolType") == "WEBSOCKET":
                    kind = "WebSocket API"
                self.containers[container_id] = Container(container_id, kind, resource.name, resource.region)
        self._add_replicas()
        matcher = self._matcher()
        self._place_routes()
        self._wire(matcher)
        self._grant(matcher)
        self._refer(matcher)
        return self._graph()

    def _add_node(self, resource: RecordedResource) -> None:
        kind = NODE_KINDS[resource.typ]
        node_id = safe_id(kind.lower(), resource.name)
        if node_id in self.nodes:
            raise ValueError(f"two {kind} resources are named {resource.name} in {self.system}")
        label = str(resource.outputs.get("name") or resource.outputs.get("bucket") or resource.name)
        if resource.typ == "aws:apigatewayv2/route:Route":
            label = _route_label(
                str(resource.inputs.get("routeKey")), resource.inputs.get("authorizationType")
            )
        self.nodes[node_id] = Node(node_id, kind, label, resource.region)
        self.node_of[id(resource)] = node_id

    def _add_replicas(self) -> None:
        for resource in self.resources:
            if resource.typ != "aws:dynamodb/table:Table":
                continue
            table_id = self.node_of[id(resource)]
            for replica in resource.outputs.get("replicas") or []:
                region = replica["regionName"]
                replica_id = safe_id(table_id, region)
                self.nodes[replica_id] = Node(replica_id, "table", self.nodes[table_id].label, region)
                self.links.add(table_id, replica_id, "replicates", WIRING)
                self.links.add(replica_id, table_id, "replicates", WIRING)

    def _matcher(self) -> Matcher:
        index: dict[str, set[str]] = {}
        for resource in self.resources:
            node_id = self.node_of.get(id(resource))
            if node_id is None:
                continue
            for ident in identifiers(resource):
                index.setdefault(ident, set()).add(node_id)
            for replica_id, ident in _replica_identifiers(resource, node_id):
                index.setdefault(ident, set()).add(replica_id)
        # An API is named too (a WebSocket API's connections are posted to), though drawn as a box.
        for resource in self.resources:
            if resource.typ in CONTAINER_KINDS:
                for ident in identifiers(resource) | {str(resource.outputs.get("executionArn"))}:
                    index.setdefault(ident, set()).add(safe_id("api", resource.name))
        regions = {node_id: node.region for node_id, node in self.nodes.items()}
        regions.update({api: container.region for api, container in self.containers.items()})
        direct = Matcher(index, regions)
        for resource in self.resources:
            if resource.typ in ALIAS_TYPES:
                targets = {
                    node_id
                    for _, node_id in direct.references(resource.inputs, resource.region)
                    if node_id in self.nodes
                }
                for ident in identifiers(resource):
                    index.setdefault(ident, set()).update(targets)
        return Matcher({ident: ids for ident, ids in index.items() if ids}, regions)

    def _place_routes(self) -> None:
        """Each route inside its API; a REST method named by its verb and resource path."""
        api_of = {
            ident: safe_id("api", resource.name)
            for resource in self.resources
            if resource.typ in CONTAINER_KINDS
            for ident in identifiers(resource)
        }
        rest_paths = self._rest_paths()
        for resource in self.resources:
            node_id = self.node_of.get(id(resource))
            if node_id is None or self.nodes[node_id].kind != "route":
                continue
            api = api_of.get(str(resource.inputs.get("apiId") or resource.inputs.get("restApi")))
            node = replace(self.nodes[node_id], container=api)
            if resource.typ == "aws:apigateway/method:Method":
                path = rest_paths.get(str(resource.inputs.get("resourceId")), "/")
                route_key = f"{resource.inputs.get('httpMethod')} {path}"
                node = replace(node, label=_route_label(route_key, resource.inputs.get("authorization")))
            self.nodes[node_id] = node

    def _rest_paths(self) -> dict[str, str]:
        parents: dict[str, tuple[str, str]] = {}
        roots: set[str] = set()
        for resource in self.resources:
            if resource.typ == "aws:apigateway/resource:Resource":
                parents[physical_id(resource)] = (
                    str(resource.inputs.get("parentId")),
                    resource.inputs["pathPart"],
                )
            elif resource.typ == "aws:apigateway/restApi:RestApi":
                roots.add(str(resource.outputs.get("rootResourceId")))

        def path_of(resource_id: str, depth: int = 0) -> str:
            if resource_id in roots or resource_id not in parents or depth > 32:
                return ""
            parent, part = parents[resource_id]
            return f"{path_of(parent, depth + 1)}/{part}"

        paths = {resource_id: path_of(resource_id) or "/" for resource_id in parents}
        return {**{root: "/" for root in roots}, **paths}

    # ---- edges ----------------------------------------------------------------------------------------
    def _wire(self, matcher: Matcher) -> None:
        """Links made by wiring resources, which are not drawn themselves."""
        wiring = {
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._wire_event_source,
            "aws:s3/bucketNotification:BucketNotification": self._wire_notification,
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig": self._wire_replication,
            "aws:sns/topicSubscription:TopicSubscription": self._wire_subscription,
            "aws:apigateway/integration:Integration": self._wire_rest_integration,
            "aws:apigatewayv2/authorizer:Authorizer": self._wire_authorizer,
            ALARM_TYPE: self._wire_alarm,
        }
        for resource in self.resources:
            if resource.typ in wiring:
                wiring[resource.typ](resource, _Names(matcher, resource.region))
        self._add_alarms()

    def _wire_event_source(self, mapping: RecordedResource, named: _Names) -> None:
        functions = named(mapping.inputs.get("functionName"))
        for function in functions:
            for source in named(mapping.inputs.get("eventSourceArn")):
                self.links.add(source, function, "triggers", WIRING)
            for destination in named(mapping.inputs.get("destinationConfig")):
                self.links.add(function, destination, "on failure", WIRING)

    def _wire_notification(self, notification: RecordedResource, named: _Names) -> None:
        for bucket in named(notification.inputs.get("bucket")):
            for target_key in ("lambdaFunctions", "queues", "topics"):
                for target_config in notification.inputs.get(target_key) or []:
                    for target in named(target_config):
                        self.links.add(bucket, target, _notification_label(target_config), WIRING)

    def _wire_replication(self, replication: RecordedResource, named: _Names) -> None:
        for bucket in named(replication.inputs.get("bucket")):
            for rule in replication.inputs.get("rules") or []:
                for target in named(rule.get("destination"), anywhere=True):
                    self.links.add(bucket, target, "replicates", WIRING)

    def _wire_subscription(self, subscription: RecordedResource, named: _Names) -> None:
        for topic in named(subscription.inputs.get("topic")):
            for target in named(subscription.inputs.get("endpoint")):
                self.links.add(topic, target, "delivers to", WIRING)

    def _wire_authorizer(self, authorizer: RecordedResource, named: _Names) -> None:
        for api in named(authorizer.inputs.get("apiId")) & self.containers.keys():
            for pool in named(authorizer.inputs.get("jwtConfiguration")):
                self.links.add(api, pool, "verifies sign-ins of", WIRING)

    def _wire_alarm(self, alarm: RecordedResource, named: _Names) -> None:
        actions = [alarm.inputs.get(key) for key in ("alarmActions", "okActions", "insufficientDataActions")]
        self.alarm_targets.setdefault(alarm.region, set()).update(named(actions))

    def _wire_rest_integration(self, integration: RecordedResource, named: _Names) -> None:
        key = (integration.inputs.get("restApi"), integration.inputs.get("resourceId"))
        for resource in self.resources:
            if (
                resource.typ == "aws:apigateway/method:Method"
                and (resource.inputs.get("restApi"), resource.inputs.get("resourceId")) == key
                and resource.inputs.get("httpMethod") == integration.inputs.get("httpMethod")
            ):
                method = self.node_of[id(resource)]
                values = [
                    integration.inputs.get(field)
                    for field in ("uri", "requestParameters", "requestTemplates")
                ]
                for target in named(values):
                    self.links.add(method, target, KIND_VERBS.get(self.kind_of(target), READ_WRITE), WIRING)

    def _add_alarms(self) -> None:
        """All alarms of a region as one node, linked to the topics they alert."""
        for region, targets in sorted(self.alarm_targets.items(), key=lambda item: str(item[0])):
            if not targets:
                continue
            count = sum(
                1 for resource in self.resources if resource.typ == ALARM_TYPE and resource.region == region
            )
            node_id = safe_id("alarms", region or "global")
            self.nodes[node_id] = Node(
                node_id, "alarms", f"{count} CloudWatch alarm{'' if count == 1 else 's'}", region
            )
            for target in targets:
                self.links.add(node_id, target, "alerts", WIRING)

    def _principal_roles(self) -> dict[str, set[str]]:
        """node id -> the identifiers of its execution role (functions: `role`, state machines: `roleArn`)."""
        roles = [resource for resource in self.resources if resource.typ == "aws:iam/role:Role"]
        found: dict[str, set[str]] = {}
        for resource in self.resources:
            node_id = self.node_of.get(id(resource))
            role_ref = resource.inputs.get("role") or resource.inputs.get("roleArn")
            if node_id is None or not isinstance(role_ref, str):
                continue
            for role in roles:
                if role_ref in identifiers(role):
                    found[node_id] = identifiers(role)
        return found

    def _grant(self, matcher: Matcher) -> None:
        """What each principal's role may do, on which node: a link with the verb of its actions."""
        policies = [
            resource for resource in self.resources if resource.typ == "aws:iam/rolePolicy:RolePolicy"
        ]
        roles = self._principal_roles()
        self.principals = set(roles)
        for principal, role_identifiers in sorted(roles.items()):
            region = self.nodes[principal].region
            actions_on: dict[str, set[str]] = {}
            for policy in policies:
                if policy.inputs.get("role") not in role_identifiers:
                    continue
                for statement in _statements(policy.inputs.get("policy")):
                    if statement.get("Effect") != "Allow":
                        continue
                    actions = {str(action).lower() for action in _as_list(statement.get("Action"))}
                    for arn in _as_list(statement.get("Resource")):
                        if not isinstance(arn, str) or arn == "*":
                            continue
                        for target in matcher.named_in(arn, region):
                            actions_on.setdefault(target, set()).update(actions)
            for target, granted in sorted(actions_on.items()):
                # What a trigger needs its function's role to hold is the trigger, not another link.
                actions = granted - CONSUME_ACTIONS if self.links.wired(target, principal) else granted
                if actions:
                    self.links.add(principal, target, _action_verb(actions, self.kind_of(target)), GRANT)

    def _refer(self, matcher: Matcher) -> None:
        """References left in each node's own inputs (environment, definition, dead-letter target...)."""
        for resource in self.resources:
            source = self.node_of.get(id(resource))
            if source is None:
                continue
            own = frozenset(identifiers(resource))
            for path, target in matcher.references(resource.inputs, resource.region, own=own):
                if target == self.nodes[source].container:
                    continue  # a route names its API: it is drawn inside it
                wiring_verb = next((KEY_VERBS[key] for key in path if key in KEY_VERBS), None)
                target_kind = self.kind_of(target)
                if wiring_verb:
                    self.links.add(source, target, wiring_verb, WIRING)
                elif source in self.principals and target_kind not in UNGOVERNED_KINDS:
                    self.links.add(source, target, "names", REFERENCE, dotted=True)
                else:
                    verb = KIND_PAIR_VERBS.get((self.nodes[source].kind, target_kind))
                    self.links.add(source, target, verb or KIND_VERBS.get(target_kind, READ_WRITE), REFERENCE)

    def kind_of(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node.kind if node else self.containers[node_id].kind

    def _graph(self) -> SystemGraph:
        edges = self.links.edges()
        dead_letter_queues = {
            edge.target for edge in edges if DEAD_LETTER_VERBS & set(edge.label.split(", "))
        }
        nodes = [
            replace(node, kind="dead-letter queue")
            if node.node_id in dead_letter_queues and node.kind == "queue"
            else node
            for node in self.nodes.values()
        ]
        used_containers = {node.container for node in nodes if node.container}
        return SystemGraph(
            system=self.system,
            nodes=tuple(sorted(nodes, key=lambda node: node.node_id)),
            containers=tuple(
                container
                for container_id, container in sorted(self.containers.items())
                if container_id in used_containers
            ),
            edges=tuple(edges),
            resource_count=len(self.resources),
        )


def _replica_identifiers(table: RecordedResource, table_id: str) -> Iterator[tuple[str, str]]:
    """(replica node id, identifier) of a global table's replicas: their ARNs, and the table's name."""
    if table.typ != "aws:dynamodb/table:Table":
        return
    for replica in table.outputs.get("replicas") or []:
        replica_id = safe_id(table_id, replica["regionName"])
        for ident in (replica.get("arn"), replica.get("streamArn"), table.outputs.get("name")):
            if isinstance(ident, str) and ident:
                yield replica_id, ident


def _route_label(route_key: str, authorization: Any) -> str:
    access = "public" if authorization in (None, "NONE") else str(authorization)
    return f"{route_key} ({access})"


def _notification_label(notification: Mapping[str, Any]) -> str:
    prefix, suffix = notification.get("filterPrefix") or "", notification.get("filterSuffix") or ""
    return f"notifies {prefix}*{suffix}" if prefix or suffix else "notifies"


def system_graph(system: str, built: BuiltStack) -> SystemGraph:
    """The graph of a stack that deploys one system (all its resources are that system's)."""
    return _GraphBuilder(system, built).build()
