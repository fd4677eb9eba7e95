"""SQS: queues and their attributes (provision.py). Lambda's SQS event source lives with Lambda
(localcloud/services/lambda_/event_sources/)."""
