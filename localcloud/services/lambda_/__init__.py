"""Lambda (`lambda` is a Python keyword): functions, layers, permissions, URLs and event source mappings
(provision.py, packaging.py), the Docker-free runtime (runtime.py, execution_environment.py, worker.py),
moto's invocation paths rerouted into it (patches.py) and the SQS / DynamoDB stream pollers
(event_sources/)."""
