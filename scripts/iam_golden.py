"""Every IAM grant of each stack, normalised for review: the golden files tests/golden/iam/<stack>.json.

    venv/bin/python scripts/iam_golden.py [--check]

A change to a grant must show up as a reviewed diff, not pass because the expected statements are still
among the granted ones: tests/unit/components/test_iam_golden.py compares each stack's grants with its
golden file exactly (no extra action, no broader resource, nothing missing). This script rewrites the
golden files from the program, built under the recording mocks (localcloud.core.recording: no AWS, no
emulator); --check writes nothing and exits 1 with the differences.

A golden file holds, by logical resource name:
- roles: each IAM role's trust policy, its inline policies (aws:iam/rolePolicy, and the role's own
  `inlinePolicies`), the ARNs of the managed policies attached to it (aws:iam/rolePolicyAttachment, the
  role's `managedPolicyArns`);
- managed_policies: each customer managed policy (aws:iam/policy) the program creates;
- lambda_permissions: each resource-based grant on a function (aws:lambda/permission).

Normalised so that the file is deterministic and a grant reads as "which resource": statement keys in one
order, actions and resources sorted, statements sorted; an identifier of a stack resource (ARN, name, id)
becomes `${<logical name>.<output>}`, so `arn:aws:s3:::batch-data-primary-bucket/chunks/*` reads
`${batch-data-primary-bucket.arn}/chunks/*`. The account, regions, AWS managed policy ARNs and service
principals stay as written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Run as a file (python scripts/iam_golden.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud.core.recording import DEFAULT_REGION, BuiltStack, RecordedResource, build_stack
from localcloud.core.stack_files import stack_names
from scripts.architecture_graph import IDENTIFIER_KEYS, identifiers, physical_id

PROJECT_DIR = Path(__file__).resolve().parent.parent
GOLDEN_DIR = PROJECT_DIR / "tests" / "golden" / "iam"
COMMAND = "venv/bin/python scripts/iam_golden.py"
EXIT_DIFFERENT = 1

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
# An IAM resource of another type (a user, a group, a policy attached through aws:iam/policyAttachment...)
# would grant something this file does not show: it is refused until it is read here.
READ_IAM_TYPES = frozenset({ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT, MANAGED_POLICY})

POLICY_VERSION = "2012-10-17"
STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
ACTION_KEYS = ("Action", "NotAction")
RESOURCE_KEYS = ("Resource", "NotResource")
PRINCIPAL_KEYS = ("Principal", "NotPrincipal")

Statement = dict[str, Any]
Golden = dict[str, Any]

# An identifier counts only as a whole token: `transform-status` is not inside `transform-status-function`.
_TOKEN_CHARACTERS = "A-Za-z0-9_-"  # noqa: S105 - a regex character class
_REGIONAL_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):")


class Placeholders:
    """Turns the identifiers of a stack's resources, wherever they appear in a string, into placeholders."""

    def __init__(self, built: BuiltStack) -> None:
        # identifier -> {placeholder: region of the resource it names}
        self._claims: dict[str, dict[str, str]] = {}
        for resource in built.resources:
            region = resource.region or DEFAULT_REGION
            for key, value in _identifiers_by_key(resource).items():
                self._claims.setdefault(value, {})[f"${{{resource.name}.{key}}}"] = region
        alternatives = "|".join(
            re.escape(identifier)
            for identifier in sorted(self._claims, key=lambda ident: (-len(ident), ident))
        )
        self._pattern = (
            re.compile(rf"(?<![{_TOKEN_CHARACTERS}])(?:{alternatives})(?![{_TOKEN_CHARACTERS}])")
            if alternatives
            else None
        )

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        arn = _REGIONAL_ARN.match(text)
        region = arn["region"] if arn else None
        return self._pattern.sub(lambda match: self._placeholder(match.group(), region), text)

    def _placeholder(self, identifier: str, region: str | None) -> str:
        claimants = self._claims[identifier]
        # One name in several regions (a stage per regional API): a regional ARN means the one of its region.
        local = [placeholder for placeholder, where in claimants.items() if where == region]
        candidates = local if len(claimants) > 1 and local else list(claimants)
        # The recording mocks echo a resource's inputs in its outputs, so a bucket's notification answers to
        # the bucket's name too: a name several resources answer to stays as written (it is still stable).
        return candidates[0] if len(candidates) == 1 else identifier


def _identifiers_by_key(resource: RecordedResource) -> dict[str, str]:
    """output key -> identifier; an identifier a resource gives under several keys counts once, the first."""
    found: dict[str, str] = {}
    for key in IDENTIFIER_KEYS:
        value = resource.outputs.get(key)
        if isinstance(value, str) and value and value not in found.values():
            found[key] = value
    if physical_id(resource) not in found.values():
        found["id"] = physical_id(resource)
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _sorted_unique(values: Sequence[Any]) -> list[Any]:
    return sorted({_canonical(value): value for value in values}.values(), key=_canonical)


def _is_service_principal(value: Any) -> bool:
    return isinstance(value, str) and value.endswith(".amazonaws.com")


def normal_statement(raw: Mapping[str, Any], name: Callable[[str], str], where: str) -> Statement:
    """One statement with its keys in STATEMENT_KEYS order, every list sorted, stack identifiers named."""
    unknown = sorted(set(raw) - set(STATEMENT_KEYS))
    if unknown:
        raise ValueError(f"{where}: {unknown} are not IAM statement keys (expected some of {STATEMENT_KEYS})")

    def named(value: Any) -> Any:
        return name(value) if isinstance(value, str) else value

    statement: Statement = {}
    for key in STATEMENT_KEYS:
        if key not in raw:
            continue
        value = raw[key]
        if key in ACTION_KEYS:
            statement[key] = _sorted_unique(_as_list(value))
        elif key in RESOURCE_KEYS:
            statement[key] = _sorted_unique([named(item) for item in _as_list(value)])
        elif key in PRINCIPAL_KEYS and isinstance(value, Mapping):
            statement[key] = {
                kind: _sorted_unique(
                    [item if _is_service_principal(item) else named(item) for item in _as_list(ids)]
                )
                for kind, ids in sorted(value.items())
            }
        elif key == "Condition":
            statement[key] = {
                operator: {
                    condition_key: _sorted_unique([named(item) for item in _as_list(values)])
                    for condition_key, values in sorted(conditions.items())
                }
                for operator, conditions in sorted(value.items())
            }
        else:
            statement[key] = value
    return statement


def normal_policy(document: Any, name: Callable[[str], str], where: str) -> list[Statement]:
    """A policy document's statements, normalised and in a stable order."""
    policy = json.loads(document) if isinstance(document, str) else document
    if policy.get("Version") != POLICY_VERSION:
        # Under the 2008 version IAM reads ${aws:...} policy variables literally.
        raise ValueError(f"{where}: policy Version {policy.get('Version')!r}; write Version {POLICY_VERSION}")
    statements = [normal_statement(raw, name, where) for raw in _as_list(policy["Statement"])]
    return sorted(statements, key=_canonical)


def iam_of(built: BuiltStack) -> Golden:
    """The stack's IAM in the golden files' form."""
    unread = sorted({r.typ for r in built.resources if r.typ.startswith("aws:iam/")} - READ_IAM_TYPES)
    if unread:
        raise ValueError(
            f"stack {built.name} creates IAM resources of types {unread}, which scripts/iam_golden.py does "
            "not read: teach it what they grant so the golden files show it"
        )
    name = Placeholders(built)
    roles = built.resources_of(ROLE)
    entries: dict[str, dict[str, Any]] = {}
    for role in roles:
        entry: dict[str, Any] = {
            "trust": normal_policy(role.inputs["assumeRolePolicy"], name, f"{role.name} trust policy"),
            "inline_policies": {
                f"{role.name}.inlinePolicies.{inline['name']}": normal_policy(
                    inline["policy"], name, f"{role.name} inline policy {inline['name']}"
                )
                for inline in role.inputs.get("inlinePolicies") or []
            },
            "managed_policies": [name(arn) for arn in role.inputs.get("managedPolicyArns") or []],
        }
        if role.inputs.get("permissionsBoundary"):
            entry["permissions_boundary"] = name(role.inputs["permissionsBoundary"])
        entries[role.name] = entry

    def role_of(attached: RecordedResource) -> dict[str, Any]:
        reference = attached.inputs.get("role")
        matches = [role.name for role in roles if reference in identifiers(role)]
        if len(matches) != 1:
            raise ValueError(f"{attached.name}: role {reference!r} names {len(matches)} roles of the stack")
        return entries[matches[0]]

    for policy in built.resources_of(ROLE_POLICY):
        role_of(policy)["inline_policies"][policy.name] = normal_policy(
            policy.inputs["policy"], name, policy.name
        )
    for attachment in built.resources_of(ROLE_POLICY_ATTACHMENT):
        role_of(attachment)["managed_policies"].append(name(attachment.inputs["policyArn"]))
    for entry in entries.values():
        entry["inline_policies"] = dict(sorted(entry["inline_policies"].items()))
        entry["managed_policies"] = sorted(entry["managed_policies"])
    return {
        "roles": dict(sorted(entries.items())),
        "managed_policies": {
            policy.name: normal_policy(policy.inputs["policy"], name, policy.name)
            for policy in sorted(built.resources_of(MANAGED_POLICY), key=lambda policy: policy.name)
        },
        "lambda_permissions": {
            permission.name: _normal_permission(permission, name)
            for permission in sorted(built.resources_of(LAMBDA_PERMISSION), key=lambda perm: perm.name)
        },
    }


def _normal_permission(permission: RecordedResource, name: Callable[[str], str]) -> dict[str, Any]:
    """A function's resource-based grant: its inputs, the function and the source named as resources."""
    return {
        key: name(value)
        if isinstance(value, str) and key != "action" and not _is_service_principal(value)
        else value
        for key, value in sorted(permission.inputs.items())
    }


def statement_count(golden: Golden) -> int:
    roles = golden["roles"].values()
    return (
        sum(len(role["trust"]) for role in roles)
        + sum(len(statements) for role in roles for statements in role["inline_policies"].values())
        + sum(len(statements) for statements in golden["managed_policies"].values())
    )


def render(golden: Golden) -> str:
    return json.dumps(golden, indent=2) + "\n"


def golden_path(stack: str, directory: Path = GOLDEN_DIR) -> Path:
    return directory / f"{stack}.json"


# --- comparison: what changed, said per role and statement ---------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "))


def _overlap(old: Statement, new: Statement) -> int:
    """How much two statements share: a pair that shares anything reads better as one changed statement."""
    if old.get("Effect") != new.get("Effect"):
        return 0
    shared = sum(
        len({_canonical(item) for item in old.get(key, [])} & {_canonical(item) for item in new.get(key, [])})
        for key in (*ACTION_KEYS, *RESOURCE_KEYS)
    )
    return shared + sum(
        1 for key in (*PRINCIPAL_KEYS, "Condition") if key in old and old.get(key) == new.get(key)
    )


def _statement_change(old: Statement, new: Statement) -> list[str]:
    lines = []
    for key in STATEMENT_KEYS:
        if key in (*ACTION_KEYS, *RESOURCE_KEYS):
            before = {_canonical(item): item for item in old.get(key, [])}
            after = {_canonical(item): item for item in new.get(key, [])}
            lines += [f"    + {key} {after[item]}" for item in sorted(after.keys() - before.keys())]
            lines += [f"    - {key} {before[item]}" for item in sorted(before.keys() - after.keys())]
        elif old.get(key) != new.get(key):
            lines.append(f"    {key}: {_compact(old.get(key))} -> {_compact(new.get(key))}")
    return lines


def statement_differences(label: str, expected: list[Statement], actual: list[Statement]) -> list[str]:
    """Statements granted but not in the golden file (+), in it but no longer granted (-), or changed."""
    removed = list(expected)
    added = []
    for statement in actual:
        if statement in removed:
            removed.remove(statement)
        else:
            added.append(statement)
    lines = []
    while removed and added:
        # The closest pair first, the earliest on a tie, so that the report is stable.
        score, old_index, new_index = max(
            ((_overlap(old, new), i, j) for i, old in enumerate(removed) for j, new in enumerate(added)),
            key=lambda pair: (pair[0], -pair[1], -pair[2]),
        )
        if score == 0:
            break
        old, new = removed.pop(old_index), added.pop(new_index)
        lines += [f"{label}: changed statement {_compact(old)}", *_statement_change(old, new)]
    lines += [f"{label}: + statement {_compact(statement)}" for statement in added]
    lines += [f"{label}: - statement {_compact(statement)}" for statement in removed]
    return lines


def _role_differences(label: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    lines = statement_differences(f"{label}, trust policy", expected["trust"], actual["trust"])
    old_inline, new_inline = expected["inline_policies"], actual["inline_policies"]
    for policy in sorted(old_inline.keys() | new_inline.keys()):
        lines += statement_differences(
            f"{label}, inline policy {policy}", old_inline.get(policy, []), new_inline.get(policy, [])
        )
    old_managed, new_managed = set(expected["managed_policies"]), set(actual["managed_policies"])
    lines += [f"{label}: + managed policy {arn}" for arn in sorted(new_managed - old_managed)]
    lines += [f"{label}: - managed policy {arn}" for arn in sorted(old_managed - new_managed)]
    for key in sorted((expected.keys() | actual.keys()) - {"trust", "inline_policies", "managed_policies"}):
        if expected.get(key) != actual.get(key):
            lines.append(f"{label}: {key} {_compact(expected.get(key))} -> {_compact(actual.get(key))}")
    return lines


def _permission_differences(label: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [
        f"{label}: {key} {_compact(expected.get(key))} -> {_compact(actual.get(key))}"
        for key in sorted(expected.keys() | actual.keys())
        if expected.get(key) != actual.get(key)
    ]


def _entries_differences(
    kind: str,
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    compare: Callable[[str, Any, Any], list[str]],
) -> list[str]:
    lines = []
    for entry in sorted(expected.keys() | actual.keys()):
        label = f"{kind} {entry}"
        if entry not in expected:
            lines.append(f"{label}: + {_compact(actual[entry])}")
        elif entry not in actual:
            lines.append(f"{label}: - {_compact(expected[entry])}")
        else:
            lines += compare(label, expected[entry], actual[entry])
    return lines


def differences(expected: Golden, actual: Golden) -> list[str]:
    """Readable lines, one per difference: `+` is what the program grants now, `-` what the file has."""
    return [
        *_entries_differences("role", expected.get("roles", {}), actual.get("roles", {}), _role_differences),
        *_entries_differences(
            "managed policy",
            expected.get("managed_policies", {}),
            actual.get("managed_policies", {}),
            statement_differences,
        ),
        *_entries_differences(
            "lambda permission",
            expected.get("lambda_permissions", {}),
            actual.get("lambda_permissions", {}),
            _permission_differences,
        ),
    ]


def report(stack: str, lines: Sequence[str], path: Path) -> str:
    """What a failed check prints: the differences of one stack and what to do about them."""
    try:
        shown = path.relative_to(PROJECT_DIR)
    except ValueError:
        shown = path
    return "\n".join(
        [
            f"IAM of stack {stack!r} differs from {shown} "
            "(+ granted by the program now, - in the golden file):",
            *(f"  {line}" for line in lines),
            f"Review each change for least privilege, then regenerate with `{COMMAND}` and commit "
            "tests/golden/iam/.",
        ]
    )


def check(stack: str, actual: Golden, directory: Path = GOLDEN_DIR) -> list[str]:
    """The differences between a stack's IAM and its golden file; a missing file is one difference."""
    path = golden_path(stack, directory)
    if not path.exists():
        return [f"{path.name} is missing"]
    return differences(json.loads(path.read_text(encoding="utf-8")), actual)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) each stack's IAM golden file.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a golden file differs")
    parser.add_argument("--golden-dir", type=Path, default=GOLDEN_DIR, help="directory of the golden files")
    args = parser.parse_args(argv)
    different = False
    for stack in stack_names():
        actual = iam_of(build_stack(stack))
        path = golden_path(stack, args.golden_dir)
        summary = f"{len(actual['roles'])} roles, {statement_count(actual)} statements"
        if args.check:
            lines = check(stack, actual, args.golden_dir)
            different = different or bool(lines)
            print(report(stack, lines, path) if lines else f"{path}: matches the program ({summary}).")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            unchanged = path.exists() and path.read_text(encoding="utf-8") == render(actual)
            path.write_text(render(actual), encoding="utf-8")
            print(f"{path}: {'unchanged' if unchanged else 'written'} ({summary}).")
    return EXIT_DIFFERENT if different else 0


if __name__ == "__main__":
    sys.exit(main())
