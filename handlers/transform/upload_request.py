"""What every way of uploading checks alike: the rule and file name a request names, and that the rule is a
loaded, valid rule set. POST /upload and POST /uploads check them before anything is written; the
staged-upload validator checks the rule again when the file arrives (it may have been replaced since)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from aws_lambda_powertools import Logger

from handlers.http_request import RequestRejectedError
from handlers.transform.rule_store import RuleNotFound, RuleStore
from handlers.transform.rules import RULE_ID_PATTERN, InvalidRuleSet

MAX_FILE_NAME_CHARS = 255


def check_query(query: Mapping[str, str] | None, *, route: str = "POST /upload") -> tuple[str, str]:
    """The (rule id, file name) from the query string of `route`."""
    query = query or {}
    rule_id = query.get("rule")
    if not rule_id:
        raise RequestRejectedError(
            400, "invalid_query", f"query parameter 'rule' is required: {route}?rule=<ruleId>&name=<file>"
        )
    if not RULE_ID_PATTERN.fullmatch(rule_id):
        raise RequestRejectedError(
            400,
            "invalid_query",
            f"query parameter 'rule' {rule_id!r} is not a rule id; use 1-64 letters, digits, '.', '_' or '-'",
        )
    name = query.get("name")
    if not name:
        raise RequestRejectedError(
            400,
            "invalid_query",
            "query parameter 'name' (the file name) is required: ?rule=<ruleId>&name=<file>",
        )
    if len(name) > MAX_FILE_NAME_CHARS:
        raise RequestRejectedError(
            400,
            "invalid_query",
            f"query parameter 'name' is {len(name)} characters; use at most {MAX_FILE_NAME_CHARS}",
        )
    if (
        "/" in name
        or "\\" in name
        or name in (".", "..")
        or any(unicodedata.category(char) == "Cc" for char in name)
    ):
        raise RequestRejectedError(
            400,
            "invalid_query",
            f"query parameter 'name' {name!r} must be a plain file name without path separators "
            "or control characters",
        )
    return rule_id, name


def check_rule(rules: RuleStore, rule_id: str, *, logger: Logger) -> None:
    """RequestRejectedError (400) unless `rule_id` names a loaded, valid rule set.

    The caller is told what is wrong with the rule; which table holds it goes to the logs only (the
    function's own `logger`).
    """
    try:
        rules.get(rule_id)
    except RuleNotFound as error:
        logger.info("upload names no stored rule", extra={"ruleId": rule_id, "reason": str(error)})
        raise RequestRejectedError(
            400,
            "unknown_rule",
            f"there is no rule {rule_id!r}; use the id of a loaded rule (GET /rules lists them), or have it "
            "loaded (scripts/put_rule.py) and upload again",
        ) from error
    except InvalidRuleSet as error:
        logger.warning("upload names an invalid stored rule", extra={"ruleId": rule_id, "reason": str(error)})
        raise RequestRejectedError(
            400,
            "invalid_rule",
            f"rule {rule_id!r} is stored but is not a valid rule set; have it replaced "
            "(scripts/put_rule.py checks a rule before loading it) and upload again",
        ) from error
