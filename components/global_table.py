"""DynamoDB global tables: the ARN a function in a replica region must be granted."""

from __future__ import annotations

import pulumi


def replica_arn(table_arn: pulumi.Output[str], region: str) -> pulumi.Output[str]:
    """The ARN of the table's replica in `region` (same name and account, that region).

    A function reads and writes the replica in its own region; IAM checks that region's ARN.
    """

    def in_region(arn: str) -> str:
        parts = arn.split(":")
        parts[3] = region
        return ":".join(parts)

    return table_arn.apply(in_region)
