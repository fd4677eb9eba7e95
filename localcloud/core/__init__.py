"""What every localcloud service shares, and what puts them together.

context.py (clients, names, ARNs, records for creators), fields.py (Pulumi wire inputs -> API parameters),
provisioner.py (the Pulumi Mocks that dispatches to the services' creators), program.py and stack_files.py
(running __main__.py without the Pulumi CLI), loop.py (the background loop of every poller and replicator),
moto_version.py (the guard every moto patch calls), clients.py, deployment.py (records data planes need),
emulator.py (moto's server, patched, with the Lambda runtime), cloud.py (LocalCloud), cli.py (`up`),
project_settings.py ([tool.localcloud] in pyproject.toml), http_client.py (loopback HTTP for callers).
"""
