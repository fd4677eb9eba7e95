"""localcloud: the regionflow program deployed into an embedded, Docker-free AWS on this machine.

`python -m localcloud up|demo` runs __main__.py under a Pulumi Mocks provisioner that creates every
resource in moto's server (localcloud.provisioner), then serves the data plane as AWS does: Lambda
workers, SQS and stream event sources, replication, HTTP endpoints and a real Valkey server for
ElastiCache (localcloud.cloud.LocalCloud ties them together). The unit tests reuse its program runner
(localcloud.program) with recording mocks.
"""
