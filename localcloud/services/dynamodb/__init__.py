"""DynamoDB: tables and items (provision.py), global-table replication (replication.py), moto fixes for
concurrency and streams (patches.py) and the stream interface Lambda's event source reads (streams.py)."""
