"""Audit ingest: POST /audit -> Redis claim-check -> workflow (archive to S3, metadata to DynamoDB) -> SNS."""
