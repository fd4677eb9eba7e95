"""localcloud's AWS services, one package each, as moto and LocalStack organise them.

Each has provision.py (a CREATORS registry: Pulumi type token -> function(ctx, args, inputs, region)),
and where moto needs it, its data plane and patches.py. A service reaches another only through the AWS API
or that service's published interface (e.g. dynamodb/streams.py); shared needs live in localcloud.core.
registry.py merges every CREATORS for the provisioner.
"""
