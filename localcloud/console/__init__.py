"""localcloud's console: an HTML page at the gateway's root showing what the embedded AWS holds while it
runs. It is localcloud's own (nothing of it is deployed to AWS) and it only reads.

- backends.py   the moto backends that exist, walked without creating any, and time formats;
- stack.py      the stack's outputs and its resources grouped by the component (system) they belong to;
- executions.py Step Functions executions and their state-by-state history;
- logs.py       the latest CloudWatch Logs events of each Lambda function;
- messages.py   SNS messages published, emails SES sent and dead-letter queues' messages;
- state.py      the whole snapshot as JSON the page can embed nowhere but in text nodes;
- serve.py      the routes the gateway hands over (/ and /_console/...), with the page's static files.

Everything reads moto's backends in this process, never its API: an API call would count as a request
(IAM decisions, activity log) and some reads change state (SQS ReceiveMessage counts a receive and can
move a message to its DLQ).
"""
