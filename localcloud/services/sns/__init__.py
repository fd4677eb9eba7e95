"""SNS: topics, policies and subscriptions (provision.py). Deliveries to Lambda go through Lambda's runtime
(localcloud/services/lambda_/patches.py)."""
