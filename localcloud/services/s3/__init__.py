"""S3: buckets and their settings (provision.py), bucket replication (replication.py), moto fixes for bucket
policies, event notifications and version listings (patches.py), browser-based uploads checked against
their POST policy (post_policy.py)."""
