"""Pulumi wire inputs -> AWS API parameters: the one convention every service's provisioning uses.

Under `pulumi.runtime.Mocks` a resource's inputs arrive in wire form: camelCase keys, every number a
float (30.0), secrets wrapped in a signature dict. A creator declares, per API call, a field map from wire
names to API parameter names (with a converter where the API wants another shape) and `api_parameters`
builds the call's arguments from the inputs that are set. Nested structures whose API shape is the wire
shape with PascalCase keys (S3 rules, CloudWatch metric queries, CORS) go through `pascal_case`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# pulumi marks secret values in wire form with this signature key.
_SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a wire marker, no secret
_SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a wire marker

# Wire names whose PascalCase spelling in AWS APIs is not the plain capitalisation.
_PASCAL_SPECIAL = {"id": "ID", "kmsMasterKeyId": "KMSMasterKeyID", "replicaKmsKeyId": "ReplicaKmsKeyID"}

Converter = Callable[[Any], Any]


def unwrap_secrets(value: Any) -> Any:
    """Plain values from wire form: secrets unwrapped, recursively."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIGNATURE_KEY) == _SECRET_SIGNATURE and "value" in value:
            return unwrap_secrets(value["value"])
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


def is_set(value: Any) -> bool:
    """Whether a wire input was given: False and 0 are values; None, "" and empty collections are not."""
    if value is None:
        return False
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True


def integer(value: Any) -> int:
    """Wire numbers are floats (30.0); AWS APIs want integers."""
    return int(value)


def attribute_text(value: Any) -> str:
    """An SQS/SNS attribute value: those APIs take every attribute as a string ("true", "30")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def pascal_case(value: Any) -> Any:
    """camelCase wire structures -> the PascalCase shapes of S3/CloudWatch/Lambda APIs.

    Unset (None) members are dropped and whole floats become integers, as the API shapes expect.
    """
    if isinstance(value, dict):
        return {
            _PASCAL_SPECIAL.get(key, key[:1].upper() + key[1:]): pascal_case(item)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list):
        return [pascal_case(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Param:
    """An API parameter fed by a wire input, through `convert` (e.g. `integer`, `pascal_case`); a
    converter that answers None leaves the parameter out."""

    name: str
    convert: Converter = _unchanged


FieldMap = Mapping[str, "str | Param"]


def api_parameters(inputs: Mapping[str, Any], fields: FieldMap) -> dict[str, Any]:
    """API parameters from the wire inputs that are set (see `is_set`): wire name -> API name or Param."""
    parameters: dict[str, Any] = {}
    for wire, target in fields.items():
        value = inputs.get(wire)
        if not is_set(value):
            continue
        param = target if isinstance(target, Param) else Param(target)
        converted = param.convert(value)
        if converted is not None:
            parameters[param.name] = converted
    return parameters


def from_member(member: str, build: Converter) -> Converter:
    """A converter for a wire structure that means something only when its `member` is set
    (e.g. tracingConfig.mode): build(member value), or None (no parameter) when it is not."""

    def convert(structure: Mapping[str, Any]) -> Any:
        value = structure.get(member)
        return build(value) if is_set(value) else None

    return convert


def tags(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The resource's `tags` input as a plain map."""
    return dict(inputs.get("tags") or {})


def tag_list(inputs: Mapping[str, Any], *, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """The resource's tags in the list shape most AWS APIs take ([{"Key": k, "Value": v}])."""
    return [{key: name, value: text} for name, text in tags(inputs).items()]
