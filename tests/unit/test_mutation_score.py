"""`make mutate`'s score: what mutmut's listing counts as detected, module by module."""

from __future__ import annotations

import pytest

from scripts.mutate import module_of, report, score_percent, scores_by_module

LISTING = """\
    handlers.transform.rules.x_apply_rule__mutmut_1: killed
    handlers.transform.rules.x_apply_rule__mutmut_2: survived
    handlers.transform.rules.xǁRuleSetǁvalidate__mutmut_1: timeout
    handlers.transform.xml_validation.x_parse__mutmut_7: no tests
    workflows.states.x_lambda_task__mutmut_3: killed
not a result line
"""


def test_mutants_are_grouped_by_the_module_of_their_function_or_method() -> None:
    # GIVEN mutant names of a function, of a method and of a module whose name starts with x
    # WHEN their modules are read
    # THEN the class separator and the x_ prefix end the module name
    assert module_of("handlers.transform.rules.x_apply_rule__mutmut_1") == "handlers.transform.rules"
    assert module_of("handlers.transform.rules.xǁRuleSetǁvalidate__mutmut_1") == "handlers.transform.rules"
    assert (
        module_of("handlers.transform.xml_validation.x_parse__mutmut_7")
        == "handlers.transform.xml_validation"
    )
    with pytest.raises(ValueError, match="not a mutmut mutant name"):
        module_of("handlers.transform.rules.apply_rule")


def test_killed_and_timed_out_mutants_count_as_detected_and_untested_ones_as_survivors() -> None:
    # GIVEN mutmut's listing of five mutants: killed, survived, timed out, without tests, killed
    # WHEN it is scored
    scores = scores_by_module(LISTING.splitlines())
    # THEN 3 of 5 are detected, and each module lists its survivors with their status
    assert score_percent(scores) == pytest.approx(60.0)
    assert scores["handlers.transform.rules"].survivors == [
        "handlers.transform.rules.x_apply_rule__mutmut_2: survived"
    ]
    assert scores["handlers.transform.xml_validation"].survivors == [
        "handlers.transform.xml_validation.x_parse__mutmut_7: no tests"
    ]
    assert report(scores)[-1].split() == ["all", "5", "3", "2", "60.0%"]


def test_an_empty_listing_is_an_error_not_a_perfect_score() -> None:
    # GIVEN no mutants at all (a misconfigured only_mutate)
    # WHEN it is scored
    # THEN it is refused
    with pytest.raises(ValueError, match="no mutants"):
        score_percent(scores_by_module([]))
