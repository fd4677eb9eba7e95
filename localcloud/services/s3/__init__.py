"""S3: buckets and their settings (provision.py), bucket replication (replication.py), moto fixes for bucket
policies, event notifications and version listings (patches.py)."""
