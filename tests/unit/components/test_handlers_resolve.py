"""Every function the program deploys names a handler that exists: a typo would only fail at invoke."""

from __future__ import annotations

import importlib

from localcloud.core.recording import BuiltStack


def test_every_deployed_function_names_an_importable_callable_handler(stack: BuiltStack) -> None:
    handlers = {f.inputs["handler"] for f in stack.resources_of("aws:lambda/function:Function")}
    assert handlers
    for handler in sorted(handlers):
        module_name, _, attribute = handler.rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute, None)), handler


def test_each_handler_names_its_powertools_service_in_code_and_no_function_overrides_it(
    stack: BuiltStack,
) -> None:
    # GIVEN every deployed function
    functions = stack.resources_of("aws:lambda/function:Function")
    for function in functions:
        # THEN the component sets no POWERTOOLS_SERVICE_NAME: the handler's own Logger names the service
        # (the dashboards' metric dimension), so there is one source of the name
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        assert "POWERTOOLS_SERVICE_NAME" not in variables, function.name
        module = importlib.import_module(function.inputs["handler"].rpartition(".")[0])
        logger = getattr(module, "logger", None)
        assert logger is not None, f"{function.inputs['handler']} has no module-level Powertools logger"
        assert logger.service not in {"", "service_undefined"}, function.inputs["handler"]
