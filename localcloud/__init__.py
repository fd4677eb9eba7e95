"""localcloud: a Pulumi program deployed into an embedded, Docker-free AWS on this machine.

`python -m localcloud up` runs the project's __main__.py under a Pulumi Mocks provisioner that creates every
resource in moto's server, then serves the data plane as AWS does: Lambda workers, SQS and stream event
sources, replication, HTTP endpoints and a real Valkey server for ElastiCache.

Organised by AWS service, as moto and LocalStack are:
- core/      what every service shares: the provisioning context and its one field-mapping convention,
             the provisioner, the background-loop base, the moto version guard, the emulator, LocalCloud
             (the whole thing started and stopped) and the `up` CLI;
- services/  one package per service: provision.py (Pulumi type token -> API calls), its data plane
             (event sources, replication, gateway, runtime) and its moto patches.
localcloud imports nothing of the project it runs; the project's own scenarios live outside it.
"""
