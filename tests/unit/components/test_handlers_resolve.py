"""Every function the program deploys names a handler that exists: a typo would only fail at invoke."""

from __future__ import annotations

import importlib

from tests.unit.components.conftest import BuiltStack


def test_every_deployed_function_names_an_importable_callable_handler(stack: BuiltStack) -> None:
    handlers = {f.inputs["handler"] for f in stack.resources_of("aws:lambda/function:Function")}
    assert handlers
    for handler in sorted(handlers):
        module_name, _, attribute = handler.rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute, None)), handler
