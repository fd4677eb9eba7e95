"""Rule sets by rule id from the rules table, cached for RULE_CACHE_SECONDS by Powertools parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import DynamoDBProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from handlers.transform.contract import RULES_TABLE_KEY, RULES_VALUE_ATTRIBUTE
from handlers.transform.rules import InvalidRuleSet, RuleSet, parse_rule_set

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


class RuleNotFound(LookupError):  # noqa: N818 - name fixed by the pipeline contract
    def __init__(self, rule_id: str, table: str) -> None:
        super().__init__(f"rule {rule_id!r} not found in table {table}; load it with scripts/put_rule.py")
        self.rule_id = rule_id
        self.table = table


class _RulesProvider(DynamoDBProvider):
    """Tells a missing item apart from a failed read, which the base provider reports alike."""

    def __init__(self, table_name: str, dynamodb_resource: DynamoDBServiceResource | None) -> None:
        super().__init__(
            table_name=table_name,
            key_attr=RULES_TABLE_KEY,
            value_attr=RULES_VALUE_ATTRIBUTE,
            boto3_client=dynamodb_resource,
        )
        self.table_name = table_name

    def _get(self, name: str, **sdk_options: Any) -> str:
        item = self.table.get_item(Key={self.key_attr: name}, **sdk_options).get("Item")
        if item is None or self.value_attr not in item:
            raise RuleNotFound(name, self.table_name)
        return str(item[self.value_attr])


class RuleStore:
    def __init__(
        self,
        table_name: str,
        *,
        dynamodb_resource: DynamoDBServiceResource | None = None,
        cache_seconds: int = 60,
    ) -> None:
        self.table_name = table_name
        self.cache_seconds = cache_seconds
        self._provider = _RulesProvider(table_name, dynamodb_resource)

    def get(self, rule_id: str) -> RuleSet:
        """The rule set, or RuleNotFound / InvalidRuleSet; other read errors propagate (transient)."""
        try:
            data = self._provider.get(rule_id, transform="json", max_age=self.cache_seconds)
        except TransformParameterError as error:
            raise InvalidRuleSet(
                f"rule {rule_id!r} in table {self.table_name} is not valid JSON; "
                "replace it with scripts/put_rule.py"
            ) from error
        except GetParameterError as error:
            # The provider wraps every failure; the original is kept as the implicit context.
            if isinstance(error.__context__, RuleNotFound):
                raise error.__context__ from None
            raise
        if not isinstance(data, dict):
            raise InvalidRuleSet(
                f"rule {rule_id!r} in table {self.table_name} is not a JSON object; "
                "replace it with scripts/put_rule.py"
            )
        try:
            rule_set = parse_rule_set(data)
        except InvalidRuleSet as error:
            raise InvalidRuleSet(
                f"rule {rule_id!r} in table {self.table_name} is invalid ({error}); "
                "fix the file and replace it with scripts/put_rule.py"
            ) from error
        if rule_set.rule_id != rule_id:
            raise InvalidRuleSet(
                f"item {rule_id!r} in table {self.table_name} holds rule set {rule_set.rule_id!r}; "
                "replace it with scripts/put_rule.py, which keys each item by its ruleId"
            )
        return rule_set

    def exists(self, rule_id: str) -> bool:
        try:
            self.get(rule_id)
        except RuleNotFound:
            return False
        return True
