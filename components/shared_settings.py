"""What every system's component takes alike: the stack-wide settings, read once in __main__.py.

The program builds one SharedSettings and hands it to every component's Args as `shared`; components pass
it on, unchanged, to each Function, StateMachine and HttpApi they build. So a stack-wide setting is one
field in one place, not a copy per component, per function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.config import ApiFrontDoor
from components.lambda_packaging import LambdaPackaging


@dataclass(frozen=True, kw_only=True)
class SharedSettings:
    """How every function is packaged, logged and traced, and how every HTTP endpoint is exposed."""

    packaging: Callable[[str], LambdaPackaging]  # by region: dependency layers are regional
    log_retention_days: int = 30
    tracing: bool = False
    api_front_door: ApiFrontDoor = "httpApi"
