"""Distributed Maps whose child workflows are EXPRESS (`ProcessorConfig.ExecutionType: EXPRESS`).

moto 5.2.5's ASL grammar knows only STANDARD child workflows and refuses the definition. Its Distributed
Map runs every child inside the parent's interpreter whatever the type, so an EXPRESS processor is
checked here against what Step Functions refuses in one, then handed to the grammar as STANDARD (the
stored definition, which DescribeStateMachine answers, stays as written):

- ExecutionType belongs to a DISTRIBUTED processor only;
- an EXPRESS child supports neither the .sync nor the .waitForTaskToken integration pattern, nor
  activities (Step Functions developer guide, "Standard and Express workflow types").

What localcloud does not model for EXPRESS children (README, "localcloud's limits"): their five-minute
duration limit and at-least-once start semantics; a child runs once, to its end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from localcloud.core.moto_version import applied_once

EXPRESS = "EXPRESS"
STANDARD = "STANDARD"
DISTRIBUTED = "DISTRIBUTED"
# Integration patterns an EXPRESS workflow refuses: arn:aws:states:::<service>:<action>.sync[:2] and
# .waitForTaskToken.
_UNSUPPORTED_SUFFIXES = (".sync", ".sync:2", ".waitForTaskToken")


class ExpressProcessorError(ValueError):
    """A Distributed Map's EXPRESS item processor uses what EXPRESS workflows do not support."""


def _item_processors(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Map state name, processor) for every Map in `states`, nested Maps and Parallel branches included."""
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, dict):
            yield name, processor
            yield from _item_processors(processor.get("States") or {})
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                yield from _item_processors(branch.get("States") or {})


def _unsupported_tasks(states: dict[str, Any]) -> Iterator[str]:
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str):
            if resource.endswith(_UNSUPPORTED_SUFFIXES):
                yield (
                    f"state '{name}' uses {resource}: EXPRESS workflows support neither .sync nor "
                    ".waitForTaskToken"
                )
            elif ":activity:" in resource:
                yield f"state '{name}' runs activity {resource}: EXPRESS workflows do not support activities"
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, dict):
            yield from _unsupported_tasks(processor.get("States") or {})
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                yield from _unsupported_tasks(branch.get("States") or {})


def for_grammar(definition: str) -> str:
    """`definition` as moto's grammar accepts it; raises ExpressProcessorError naming what AWS refuses."""
    if f'"{EXPRESS}"' not in definition:
        return definition
    document = json.loads(definition)
    rewritten = False
    for map_name, processor in _item_processors(document.get("States") or {}):
        config = processor.get("ProcessorConfig")
        if not isinstance(config, dict) or config.get("ExecutionType") != EXPRESS:
            continue
        if config.get("Mode") != DISTRIBUTED:
            raise ExpressProcessorError(
                f"Map state '{map_name}': ExecutionType is allowed only in a DISTRIBUTED ItemProcessor"
            )
        problems = list(_unsupported_tasks(processor.get("States") or {}))
        if problems:
            raise ExpressProcessorError(
                f"Map state '{map_name}' runs EXPRESS child workflows: {'; '.join(problems)}"
            )
        config["ExecutionType"] = STANDARD
        rewritten = True
    return json.dumps(document) if rewritten else definition


def _accepting_express(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_definition(definition: str) -> Any:
        return parse(for_grammar(definition))

    return parse_definition


@applied_once
def apply() -> None:
    """Idempotent: moto's ASL parser accepts (checked) EXPRESS item processors."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

    AmazonStateLanguageParser.parse = staticmethod(  # type: ignore[method-assign,assignment]
        _accepting_express(AmazonStateLanguageParser.parse)
    )
