"""Batch cost per 1M records: regionflow's workflows vs the seed's per-record design, from the definitions.

    ./venv/bin/python -m bench.batch_cost

Counts come from the state machine definitions, walked by bench/asl_cost.py: regionflow's (built by
workflows.batch_processing with placeholder ARNs; its chunk processor runs as the Distributed Map's
EXPRESS children) and the seed's, rebuilt here from its description - a STANDARD main workflow
(split, an inline Map starting one STANDARD chunk execution per chunk, merge, email) whose chunk
execution reads the chunk, then for EVERY row runs a
"Validate Data" Lambda and a "Get Financial Data" API Gateway call (a Lambda doing one DynamoDB GetItem),
then writes the output chunk. Memory sizes, machine types, records per chunk and table replicas come
from the primary stack built under recording mocks. Lambda durations are measured in this run: the
chunk tasks, split, merge and email on a generated 1,000-row chunk (37 invalid rows) and the seed's
per-record work, in-process under moto's mock_aws, whose latencies stand in for S3's and DynamoDB's.
The AWS requests each task makes (S3 and DynamoDB, with request units) are counted as they are made.

Priced at AWS's us-east-1 list prices as published (PRICES, checked PRICES_CHECKED; not fetched by this
run; free tiers ignored). Prints a table per 1M records, the ratio and one
`RESULT <name> <value> <unit> target <op> <value> <met|missed>` line, then records them in
BENCHMARKS.md under SECTION. Always exits 0: it reports.
"""

import os

# Set before the handlers are imported (Powertools reads these when it creates its objects), and so that
# boto3 only ever talks to moto in this process.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "regionflow",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
