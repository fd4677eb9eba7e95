"""Draw each system's architecture from the program: Mermaid diagrams in docs/architecture/.

    venv/bin/python scripts/draw_architecture.py [--stack primary] [--check]

Runs the program under Pulumi mocks (localcloud.core.recording, no AWS and no emulator) once per system,
as a stack whose `systems` names that system alone, so a diagram holds exactly what the system deploys;
then derives nodes and links from the recorded inputs (scripts/architecture_graph.py) and writes
docs/architecture/<system>.md plus an index. Nothing is written by hand: edit the program, rerun this.
--check writes nothing and exits 1 when a committed diagram differs from what the program draws now.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a file (python scripts/draw_architecture.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud.core.recording import BuiltStack, build_stack
from scripts.architecture_graph import Container, Edge, Node, SystemGraph, system_graph

DIAGRAMS_DIR = Path(__file__).resolve().parent.parent / "docs" / "architecture"
DEFAULT_STACK = "primary"
INDEX = "README.md"
EXIT_STALE = 1

# Kind -> (title shown above the name, Mermaid shape opening, closing, style class).
SHAPES = {
    "route": ("", '>"', '"]', "door"),
    "function URL": ("function URL", '>"', '"]', "door"),
    "function": ("Lambda", '["', '"]', "compute"),
    "state machine": ("Step Functions", '{{"', '"}}', "compute"),
    "automation": ("SSM Automation", '{{"', '"}}', "compute"),
    "queue": ("SQS", '[/"', '"/]', "messaging"),
    "dead-letter queue": ("SQS dead-letter queue", '[/"', '"/]', "failure"),
    "topic": ("SNS", '(["', '"])', "messaging"),
    "stream": ("Kinesis", '[/"', '"/]', "messaging"),
    "email identity": ("SES identity", '(["', '"])', "messaging"),
    "alarms": ("", '(["', '"])', "failure"),
    "bucket": ("S3", '[("', '")]', "storage"),
    "access point": ("S3 Multi-Region Access Point", '[("', '")]', "storage"),
    "table": ("DynamoDB", '[("', '")]', "storage"),
    "cache": ("ElastiCache", '[("', '")]', "storage"),
    "secret": ("Secrets Manager", '[["', '"]]', "control"),
    "user pool": ("Cognito user pool", '[["', '"]]', "control"),
    "routing control": ("ARC routing control", '(("', '"))', "control"),
    "DNS record": ("Route 53 record", '(["', '"])', "control"),
}
STYLE_CLASSES = {
    "door": "fill:#e8f5e9,stroke:#2e7d32",
    "compute": "fill:#fff3e0,stroke:#e65100",
    "messaging": "fill:#f3e5f5,stroke:#6a1b9a",
    "storage": "fill:#e3f2fd,stroke:#1565c0",
    "control": "fill:#eceff1,stroke:#455a64",
    "failure": "fill:#ffebee,stroke:#c62828",
}
GLOBAL = "global"
INDENT = "    "


def _text(value: str) -> str:
    """A label as Mermaid reads it inside double quotes."""
    return value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _node_line(node: Node) -> str:
    title, opening, closing, _ = SHAPES[node.kind]
    text = f"{title}<br/>{_text(node.label)}" if title else _text(node.label)
    return f"{node.node_id}{opening}{text}{closing}"


def _edge_line(edge: Edge, *, both_ways: bool) -> str:
    arrow = ("<-.->" if both_ways else "-.->") if edge.dotted else ("<-->" if both_ways else "-->")
    return f'{edge.source} {arrow}|"{_text(edge.label)}"| {edge.target}'


def mermaid(graph: SystemGraph) -> str:
    """A `flowchart LR`: a box per region (global resources in their own), each API a box of its routes."""
    lines = ["flowchart LR"]
    regions = sorted(
        {node.region or GLOBAL for node in graph.nodes}, key=lambda region: (region == GLOBAL, region)
    )
    for region in regions:
        lines.append(f'{INDENT}subgraph {_region_id(region)}["{region}"]')
        in_region = [node for node in graph.nodes if (node.region or GLOBAL) == region]
        containers: list[Container] = [
            container for container in graph.containers if (container.region or GLOBAL) == region
        ]
        for container in containers:
            lines.append(
                f'{INDENT * 2}subgraph {container.container_id}["{container.kind} {_text(container.label)}"]'
            )
            lines += [
                f"{INDENT * 3}{_node_line(node)}"
                for node in in_region
                if node.container == container.container_id
            ]
            lines.append(f"{INDENT * 2}end")
        lines += [f"{INDENT * 2}{_node_line(node)}" for node in in_region if node.container is None]
        lines.append(f"{INDENT}end")
    lines += [f"{INDENT}{_edge_line(edge, both_ways=both_ways)}" for edge, both_ways in arrows(graph)]
    for style, css in STYLE_CLASSES.items():
        members = sorted(node.node_id for node in graph.nodes if SHAPES[node.kind][3] == style)
        if members:
            lines.append(f"{INDENT}classDef {style} {css}")
            lines.append(f"{INDENT}class {','.join(members)} {style}")
    return "\n".join(lines) + "\n"


def arrows(graph: SystemGraph) -> list[tuple[Edge, bool]]:
    """The arrows drawn: (edge, both ways); the same link in both directions is one two-headed arrow."""
    keys = {(edge.source, edge.target, edge.label, edge.dotted) for edge in graph.edges}
    drawn: set[tuple[str, str]] = set()
    found = []
    for edge in graph.edges:
        if (edge.source, edge.target) in drawn:
            continue
        both_ways = (edge.target, edge.source, edge.label, edge.dotted) in keys
        drawn |= (
            {(edge.source, edge.target), (edge.target, edge.source)}
            if both_ways
            else {(edge.source, edge.target)}
        )
        found.append((edge, both_ways))
    return found


def _region_id(region: str) -> str:
    return "region_" + region.replace("-", "_")


def command(stack: str) -> str:
    option = "" if stack == DEFAULT_STACK else f" --stack {stack}"
    return f"venv/bin/python scripts/draw_architecture.py{option}"


def system_document(graph: SystemGraph, stack: str) -> str:
    return (
        f"# Architecture: {graph.system}\n\n"
        f"What the `{graph.system}` system deploys on the `{stack}` stack, drawn from the program by "
        f"`{command(stack)}` ({len(graph.nodes)} of its {graph.resource_count} resources; links derived from "
        "their inputs, see [the index](README.md)).\n\n"
        f"```mermaid\n{mermaid(graph)}```\n"
    )


def index_document(graphs: Sequence[SystemGraph], stack: str) -> str:
    rows = "\n".join(
        f"| [{graph.system}]({graph.system}.md) | {len(graph.nodes)} | {len(arrows(graph))} | "
        f"{graph.resource_count} |"
        for graph in graphs
    )
    return (
        "# Architecture diagrams\n\n"
        f"One diagram per system, generated from the program as the `{stack}` stack deploys it (both "
        "regions); `make test` fails when one no longer matches the program. Regenerate them with "
        f"`{command(stack)}` (`--check` compares without writing); never edit them by hand.\n\n"
        "| system | resources drawn | links | resources deployed |\n| --- | --- | --- | --- |\n"
        f"{rows}\n\n"
        "How they are drawn (`scripts/architecture_graph.py`): the program runs under Pulumi mocks once per "
        "system (`systems` naming it alone). Routes, functions, queues, topics, buckets, tables, state "
        "machines, user pools, caches, routing controls and the like are drawn, boxed by region and each "
        "API around its routes; IAM, log groups, policies, keys, networks and stages are left out. Every "
        "link is found by matching one resource's identifiers (name, ARN, URL, id) in another's inputs:\n\n"
        "- wiring: event source mappings (`triggers`), bucket notifications (`notifies`, with their filter), "
        "replication and global-table replicas (`replicates`), API integrations and authorizers, "
        "subscriptions, dead-letter targets, alarm actions (`alerts`);\n"
        "- each function's and state machine's IAM grants, named by their actions (`reads`, `writes`, "
        "`reads/writes`, `publishes`, `sends to`, `starts`, `invokes`);\n"
        "- other references in a resource's inputs (environment variables, definitions): a dotted "
        "`names` arrow when a function or state machine names a resource its role has no grant on.\n"
    )


def system_graphs(whole: BuiltStack) -> list[SystemGraph]:
    """A graph per system the stack deploys, each from a build of that system alone."""
    systems = sorted(whole.exports["systems"])
    return [system_graph(system, one_system_stack(whole.name, system)) for system in systems]


def documents(whole: BuiltStack) -> dict[str, str]:
    """File name in docs/architecture -> its content: a document per system, and the index."""
    graphs = system_graphs(whole)
    rendered = {f"{graph.system}.md": system_document(graph, whole.name) for graph in graphs}
    rendered[INDEX] = index_document(graphs, whole.name)
    return rendered


def one_system_stack(stack: str, system: str) -> BuiltStack:
    # The same overrides, spelled the same, as the unit tests of `systems` use: one build serves both.
    return build_stack(stack, {"regionflow:systems": json.dumps([system])})


def stale_files(expected: dict[str, str], directory: Path = DIAGRAMS_DIR) -> list[str]:
    """The files of `directory` that differ from `expected`: changed, missing, or no longer drawn."""
    present = {path.name for path in directory.glob("*.md")} if directory.is_dir() else set()
    changed = [
        name
        for name, content in sorted(expected.items())
        if name not in present or (directory / name).read_text(encoding="utf-8") != content
    ]
    return changed + sorted(present - expected.keys())


def write(expected: dict[str, str], directory: Path = DIAGRAMS_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    stale = stale_files(expected, directory)
    for name in stale:
        if name in expected:
            (directory / name).write_text(expected[name], encoding="utf-8")
        else:
            (directory / name).unlink()  # a system the program no longer deploys
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw each system's architecture from the program.")
    parser.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"stack file to draw (default: {DEFAULT_STACK})"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a diagram is stale")
    parser.add_argument("--output", type=Path, default=DIAGRAMS_DIR, help="directory of the diagrams")
    args = parser.parse_args(argv)
    expected = documents(build_stack(args.stack))
    if args.check:
        stale = stale_files(expected, args.output)
        for name in stale:
            print(f"stale: {args.output / name}")
        if stale:
            print(f"Regenerate with: {command(args.stack)}")
            return EXIT_STALE
        print(f"{len(expected)} files in {args.output} match the program.")
        return 0
    written = write(expected, args.output)
    print(f"{len(written)} of {len(expected)} files in {args.output} changed", *written, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
