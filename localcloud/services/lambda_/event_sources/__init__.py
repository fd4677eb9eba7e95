"""Lambda event source mappings served with AWS's semantics: one mapping model (mapping.py), one poller per
source kind (sqs.py, dynamodb_streams.py), one owner of both (pollers.py)."""
