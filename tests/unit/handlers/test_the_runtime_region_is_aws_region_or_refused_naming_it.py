"""A handler's own region is the AWS_REGION the Lambda runtime sets; without it, it is refused naming it."""

from __future__ import annotations

import pytest

from handlers.environment import SettingError, runtime_region


def test_the_region_is_the_value_of_aws_region() -> None:
    # GIVEN an environment where the runtime set AWS_REGION beside other variables
    environ = {"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1"}
    # WHEN the handler asks for its region
    region = runtime_region(environ)
    # THEN it is AWS_REGION's value, not any other region variable's
    assert region == "us-west-2"


@pytest.mark.parametrize("environ", [{}, {"AWS_REGION": ""}], ids=["unset", "empty"])
def test_an_unset_or_empty_aws_region_is_refused_naming_it(environ: dict[str, str]) -> None:
    # GIVEN an environment without AWS_REGION, or with it empty
    # WHEN the handler asks for its region
    # THEN it is refused, and the error names AWS_REGION as not set
    with pytest.raises(SettingError, match=r"^AWS_REGION is not set"):
        runtime_region(environ)
