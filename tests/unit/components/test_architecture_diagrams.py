"""docs/architecture/ is drawn from the program (scripts/draw_architecture.py): it is current, and it shows
the links that carry each system's data, found in the recorded inputs rather than written by hand."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from scripts.architecture_graph import NODE_KINDS, SystemGraph, system_graph
from scripts.draw_architecture import (
    DIAGRAMS_DIR,
    SHAPES,
    command,
    documents,
    main,
    mermaid,
    one_system_stack,
    stale_files,
    system_graphs,
)

from .conftest import BuiltStack


@pytest.fixture(scope="module")
def graphs(primary_stack: BuiltStack) -> dict[str, SystemGraph]:
    return {graph.system: graph for graph in system_graphs(primary_stack)}


def test_the_committed_diagrams_are_what_the_program_draws_now(primary_stack: BuiltStack) -> None:
    # GIVEN the production stack's program
    # WHEN its diagrams are drawn in memory
    expected = documents(primary_stack)
    # THEN docs/architecture/ holds exactly them, byte for byte
    stale = stale_files(expected, DIAGRAMS_DIR)
    assert stale == [], (
        f"docs/architecture/ no longer matches the program ({', '.join(stale)}): "
        f"regenerate it with `{command(primary_stack.name)}` and commit the result"
    )


def test_a_stale_missing_or_orphaned_diagram_is_reported_and_check_names_the_command(
    primary_stack: BuiltStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a copy of the diagrams: one edited, one deleted, and one of a system no longer deployed
    for name, content in documents(primary_stack).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    (tmp_path / "transform.md").write_text("hand-edited\n", encoding="utf-8")
    (tmp_path / "audit.md").unlink()
    (tmp_path / "billing.md").write_text("# Architecture: billing\n", encoding="utf-8")
    # WHEN the command checks them
    exit_code = main(["--check", "--output", str(tmp_path)])
    # THEN each is reported, the check fails and says how to regenerate
    assert exit_code == 1
    assert stale_files(documents(primary_stack), tmp_path) == ["audit.md", "transform.md", "billing.md"]
    assert "Regenerate with: venv/bin/python scripts/draw_architecture.py" in capsys.readouterr().out
    # AND regenerating repairs all three: the edited one rewritten, the missing one back, the orphan gone
    assert main(["--output", str(tmp_path)]) == 0
    assert stale_files(documents(primary_stack), tmp_path) == []
    assert not (tmp_path / "billing.md").exists()


def test_transform_uploads_flow_from_the_input_bucket_through_the_queue_and_worker_to_the_output_bucket(
    graphs: dict[str, SystemGraph],
) -> None:
    # GIVEN the transform system's diagram
    transform = graphs["transform"]
    # THEN the input bucket notifies the buffer queue of uploads, which triggers the worker
    assert transform.links("transform-input-bucket", "transform-buffer-queue") == ["notifies uploads/*.xml"]
    assert transform.links("transform-buffer-queue", "transform-worker-function") == ["triggers"]
    # AND the worker reads the input bucket (its role's grant: the bucket's name comes in the event, not
    # its environment) and writes the output bucket
    assert transform.links("transform-worker-function", "transform-input-bucket") == ["reads"]
    assert transform.links("transform-worker-function", "transform-output-bucket") == ["writes"]
    assert "transform-output-bucket" in transform.reachable_from("transform-input-bucket")
    # AND the queue's dead letters go to its DLQ, drawn as one
    assert transform.links("transform-buffer-queue", "transform-buffer-dlq") == ["dead letters"]
    assert transform.node_labelled("transform-buffer-dlq").kind == "dead-letter queue"


def test_a_trigger_is_one_link_not_also_a_read_by_the_function(graphs: dict[str, SystemGraph]) -> None:
    # GIVEN the worker's role may receive and delete the buffer queue's messages (what its trigger needs)
    transform = graphs["transform"]
    # THEN the queue -> worker trigger is the only link between them
    assert transform.links("transform-worker-function", "transform-buffer-queue") == []


def test_a_function_that_only_names_a_resource_is_drawn_apart_from_one_that_uses_it(
    graphs: dict[str, SystemGraph],
) -> None:
    # GIVEN the upload page, whose environment names the input bucket but whose role has no grant on it
    transform = graphs["transform"]
    page = transform.node_labelled("transform-upload-page-function").node_id
    bucket = transform.node_labelled("transform-input-bucket").node_id
    # THEN it only names the bucket (a dotted arrow), while the upload function writes to it
    [naming] = [edge for edge in transform.edges if (edge.source, edge.target) == (page, bucket)]
    assert (naming.label, naming.dotted) == ("names", True)
    assert transform.links("transform-upload-function", "transform-input-bucket") == ["writes"]


def test_routes_invoke_their_functions_inside_their_api(graphs: dict[str, SystemGraph]) -> None:
    # GIVEN the transform API's routes
    transform = graphs["transform"]
    upload = transform.node_labelled("POST /upload (JWT)")
    # THEN each route invokes its integration's function, and is drawn inside the API it belongs to
    assert transform.links("POST /upload (JWT)", "transform-upload-function") == ["invokes"]
    assert transform.links("GET / (public)", "transform-upload-page-function") == ["invokes"]
    assert upload.container == "api_transform_api_api"


def test_artifacts_builds_are_queued_by_the_rest_api_and_taken_by_the_build_worker(
    graphs: dict[str, SystemGraph],
) -> None:
    # GIVEN the artifacts system's diagram
    artifacts = graphs["artifacts"]
    # THEN POST /builds (a REST API method integrated with SQS) sends to the build queue, which triggers the
    # build worker, which writes the global bucket, whose notification reaches the replication worker
    assert artifacts.links("POST /builds (AWS_IAM)", "artifacts-builds-queue") == ["sends to"]
    assert artifacts.links("artifacts-builds-queue", "artifacts-build-worker-function") == ["triggers"]
    assert artifacts.links("artifacts-global-bucket", "artifacts-replication-worker-function") == ["notifies"]
    assert artifacts.links(
        "artifacts-replication-worker-function", "artifacts-file-distribution-machine"
    ) == ["starts"]


def test_the_events_global_table_replicates_between_regions_and_each_region_repairs_from_its_own_stream(
    graphs: dict[str, SystemGraph],
) -> None:
    # GIVEN the events system's diagram
    events = graphs["events"]
    tables = {node.region: node for node in events.nodes if node.label == "events-table"}
    # THEN the table is drawn in both regions, replicating both ways
    assert set(tables) == {"us-east-1", "us-west-2"}
    east, west = tables["us-east-1"].node_id, tables["us-west-2"].node_id
    replication = {(edge.source, edge.target) for edge in events.edges if edge.label == "replicates"}
    assert {(east, west), (west, east)} <= replication
    assert f"{east} <-->|" in mermaid(events)
    # AND each region's repair function is triggered by its own region's replica stream
    for region, table in tables.items():
        repair = events.node_labelled(f"events-{region}-repair-function").node_id
        triggers = {
            edge.source for edge in events.edges if edge.target == repair and edge.label == "triggers"
        }
        assert triggers == {table.node_id}


def test_batch_buckets_replicate_both_ways_and_each_regions_trigger_reads_the_routing_controls(
    graphs: dict[str, SystemGraph],
) -> None:
    # GIVEN the batch system's diagram (with its failover signal and runbook)
    batch = graphs["batch"]
    # THEN the data buckets replicate to each other
    assert batch.links("batch-data-primary-bucket", "batch-data-secondary-bucket") == ["replicates"]
    assert batch.links("batch-data-secondary-bucket", "batch-data-primary-bucket") == ["replicates"]
    # AND each region's trigger reads the active-region routing controls before starting its workflow
    for region in ("us-east-1", "us-west-2"):
        trigger = f"batch-{region}-trigger-function"
        assert batch.links(trigger, "regionflow-primary-failover-us-east-1") == ["reads"]
        assert batch.links(trigger, f"batch-{region}-batch-workflow-machine") == ["starts"]


def test_the_drawing_does_not_depend_on_the_order_resources_were_recorded_in(
    primary_stack: BuiltStack, graphs: dict[str, SystemGraph]
) -> None:
    # GIVEN a system's recording with its resources in reverse order (they arrive on several threads)
    built = one_system_stack(primary_stack.name, "transform")
    reversed_build = dataclasses.replace(built, resources=list(reversed(built.resources)))
    # WHEN it is drawn
    # THEN the diagram is the same, character for character
    assert mermaid(system_graph("transform", reversed_build)) == mermaid(graphs["transform"])


def test_every_arrow_joins_drawn_nodes_and_every_kind_has_a_shape(graphs: dict[str, SystemGraph]) -> None:
    # GIVEN every system's diagram
    assert set(NODE_KINDS.values()) | {"dead-letter queue", "alarms"} <= SHAPES.keys()
    for graph in graphs.values():
        text = mermaid(graph)
        # WHEN its Mermaid text is read back
        declared = set(re.findall(r"^\s+(\w+)(?:\[|\(|\{|>)", text, re.MULTILINE))
        declared |= set(re.findall(r"^\s+subgraph (\w+)\[", text, re.MULTILINE))
        ends = re.findall(r"^\s+(\w+) (?:-->|-\.->|<-->|<-\.->)\|\"[^\"]*\"\| (\w+)$", text, re.MULTILINE)
        # THEN every arrow starts and ends at a node or box it declares, and no node is declared twice
        assert ends, graph.system
        assert {end for pair in ends for end in pair} <= declared, graph.system
        assert len({node.node_id for node in graph.nodes}) == len(graph.nodes)
