"""CloudWatch: log groups, dashboards and metric alarms (provision.py)."""
