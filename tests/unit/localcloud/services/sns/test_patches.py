"""SNS notifications: each region's topics sign with that region's one key, and every signature still
verifies against the certificate its SigningCertURL names."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509 import load_pem_x509_certificate
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from localcloud.services.sns import patches


def delivered_notification(region: str, topic_name: str) -> dict[str, Any]:
    """What SNS puts on an SQS queue subscribed (not raw) to a new topic, after one publish."""
    sns, sqs = boto3.client("sns", region_name=region), boto3.client("sqs", region_name=region)
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{topic_name}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic_arn, Message=f"hello from {topic_name}")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    notification: dict[str, Any] = json.loads(message["Body"])
    return notification


def verified_signing_key(notification: dict[str, Any], region: str) -> rsa.RSAPublicKey:
    """The public key of the certificate the notification names, once it has verified the signature."""
    certificate_name = notification["SigningCertURL"].rsplit("/", 1)[-1]
    pem = sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys[certificate_name]
    public_key = load_pem_x509_certificate(pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    signed = "".join(
        f"{name}\n{notification[name]}\n"
        for name in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    )
    public_key.verify(
        base64.b64decode(notification["Signature"]), signed.encode(), padding.PKCS1v15(), SHA256()
    )
    return public_key


def test_a_regions_topics_sign_with_one_key_and_another_region_with_its_own() -> None:
    patches.apply()
    with mock_aws():
        # GIVEN two topics in one region and one in another, each with a subscribed queue
        # WHEN each publishes a notification
        keys = [
            verified_signing_key(delivered_notification(region, name), region)
            for region, name in (("eu-west-1", "orders"), ("eu-west-1", "alerts"), ("us-east-1", "orders"))
        ]
    # THEN every signature verifies; the region's two topics signed with one key, the other region another
    first, second, other_region = (key.public_numbers() for key in keys)
    assert first == second
    assert other_region != first
