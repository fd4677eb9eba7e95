"""The state machine definitions both designs are counted from: regionflow's and the seed's, rebuilt."""

from __future__ import annotations

from typing import Any

from bench.batch_cost.settings import REGION

# ---- the definitions -------------------------------------------------------------------------------------
ACCOUNT_PREFIX = f"{REGION}:123456789012"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{ACCOUNT_PREFIX}:function:{name}"


OURS_MAIN: dict[str, Any] = {
    "split_arn": function_arn("split-file"),
    "merge_arn": function_arn("merge-chunks"),
    "email_arn": function_arn("email-link"),
    "batch_state_table": "batch-state",
}
OURS_CHUNK = {
    "validate_arn": function_arn("validate-records"),
    "enrich_arn": function_arn("enrich-records"),
    "write_arn": function_arn("write-chunk"),
}
OURS_MAIN.update(OURS_CHUNK)
SEED = {
    "split": function_arn("seed-split-input-file"),
    "read": function_arn("seed-read"),
    "validate": function_arn("seed-validate-data"),
    "write": function_arn("seed-write-output-file"),
    "merge": function_arn("seed-merge-all-files"),
    "email": function_arn("seed-email-the-file"),
    "financials_api": function_arn("seed-financial-data-api"),  # behind API Gateway, not in a definition
    "chunk_processor": f"arn:aws:states:{ACCOUNT_PREFIX}:stateMachine:seed-chunk-processor",
    "api_endpoint": "abc123.execute-api.us-east-1.amazonaws.com",
}


def _seed_lambda(function: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "ResultSelector": {"Payload.$": "$.Payload"},
        **fields,
    }


def seed_main_definition() -> dict[str, Any]:
    """The seed's main workflow (STANDARD), from its description: split, one chunk execution per chunk
    through an inline Map, merge, email."""
    return {
        "Comment": "The seed's main workflow: split, run the chunk processor per chunk, merge, email",
        "StartAt": "Split Input File into chunks",
        "States": {
            "Split Input File into chunks": _seed_lambda(
                SEED["split"], Next="Call Step Functions for each chunk"
            ),
            "Call Step Functions for each chunk": {
                "Type": "Map",
                "ItemsPath": "$.Payload.chunks",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Call Step Functions",
                    "States": {
                        "Call Step Functions": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::states:startExecution.sync:2",
                            "Parameters": {"StateMachineArn": SEED["chunk_processor"], "Input.$": "$"},
                            "End": True,
                        }
                    },
                },
                "Next": "Merge all Files",
            },
            "Merge all Files": _seed_lambda(SEED["merge"], Next="Email the file"),
            "Email the file": _seed_lambda(SEED["email"], End=True),
        },
    }


def seed_chunk_definition() -> dict[str, Any]:
    """The seed's chunk processor (STANDARD): read the chunk into the state, then for EVERY row one
    "Validate Data" Lambda and one "Get Financial Data" REST API call, then write the output file."""
    return {
        "Comment": "The seed's chunk processor: one Lambda and one API call per record",
        "StartAt": "Read",
        "States": {
            "Read": _seed_lambda(SEED["read"], Next="Process messages"),
            "Process messages": {
                "Type": "Map",
                "ItemsPath": "$.Payload",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Validate Data",
                    "States": {
                        "Validate Data": _seed_lambda(SEED["validate"], Next="Get Financial Data"),
                        "Get Financial Data": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::apigateway:invoke",
                            "Parameters": {
                                "ApiEndpoint": SEED["api_endpoint"],
                                "Method": "GET",
                                "Stage": "prod",
                                "Path.$": "States.Format('/financials/{}', $.Payload.uuid)",
                                "AuthType": "IAM_ROLE",
                            },
                            "End": True,
                        },
                    },
                },
                "Next": "Write output file",
            },
            "Write output file": _seed_lambda(SEED["write"], End=True),
        },
    }
