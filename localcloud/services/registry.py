"""Every service's provisioning registry merged: Pulumi type token -> the creator that makes it.

The provisioner (localcloud/core/provisioner.py) dispatches on this; a service adds a resource type by
adding it to the CREATORS of its own provision.py.
"""

from __future__ import annotations

from localcloud.core.context import Registry
from localcloud.services.apigateway import provision as apigateway
from localcloud.services.cloudwatch import provision as cloudwatch
from localcloud.services.cognitoidp import provision as cognitoidp
from localcloud.services.dynamodb import provision as dynamodb
from localcloud.services.ec2 import provision as ec2
from localcloud.services.elasticache import provision as elasticache
from localcloud.services.iam import provision as iam
from localcloud.services.kms import provision as kms
from localcloud.services.lambda_ import provision as lambda_
from localcloud.services.random import provision as random_
from localcloud.services.route53 import provision as route53
from localcloud.services.route53recoverycontrol import provision as route53recoverycontrol
from localcloud.services.s3 import provision as s3
from localcloud.services.s3control import provision as s3control
from localcloud.services.secretsmanager import provision as secretsmanager
from localcloud.services.ses import provision as ses
from localcloud.services.sns import provision as sns
from localcloud.services.sqs import provision as sqs
from localcloud.services.ssm import provision as ssm
from localcloud.services.stepfunctions import provision as stepfunctions

_SERVICES = (
    s3,
    s3control,
    sqs,
    sns,
    dynamodb,
    iam,
    cloudwatch,
    lambda_,
    apigateway,
    stepfunctions,
    ses,
    route53,
    route53recoverycontrol,
    ec2,
    kms,
    elasticache,
    secretsmanager,
    ssm,
    cognitoidp,
    random_,
)


def _merged() -> Registry:
    merged: Registry = {}
    for service in _SERVICES:
        clashes = merged.keys() & service.CREATORS.keys()
        if clashes:
            raise RuntimeError(f"{service.__name__} registers types another service has: {sorted(clashes)}")
        merged.update(service.CREATORS)
    return merged


CREATORS: Registry = _merged()
