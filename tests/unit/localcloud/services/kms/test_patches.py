"""KMS keys: a symmetric key never pays for the RSA key pair moto makes for every key; an asymmetric key
still signs, verifies and hands out a public key that checks its signatures."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key
from moto.kms.models import kms_backends

from localcloud.core.emulator import Emulator
from localcloud.services.kms.patches import KeyPairOnFirstUse
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION


def key_pair_of(key_id: str) -> KeyPairOnFirstUse:
    key_pair = kms_backends[ACCOUNT_ID][REGION].keys[key_id].private_key
    assert isinstance(key_pair, KeyPairOnFirstUse)
    return key_pair


def test_a_symmetric_key_encrypts_and_decrypts_without_an_rsa_key_pair_being_made(emulator: Emulator) -> None:
    kms = emulator.client("kms", REGION)
    # GIVEN a symmetric key (the kind a stack's buckets, tables and queues use)
    key_id = kms.create_key(Description="data key")["KeyMetadata"]["KeyId"]
    # WHEN it encrypts and decrypts
    ciphertext = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"secret"
    # THEN no key pair was generated for it
    assert not key_pair_of(key_id).made


def test_an_rsa_signing_key_signs_and_its_public_key_verifies_the_signature(emulator: Emulator) -> None:
    kms = emulator.client("kms", REGION)
    # GIVEN an RSA signing key
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert not key_pair_of(key_id).made
    # WHEN a message is signed
    signature = kms.sign(
        KeyId=key_id, Message=b"release 1.2.3", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256"
    )["Signature"]
    # THEN KMS verifies it, and so does the public key KMS hands out (outside KMS)
    assert kms.verify(
        KeyId=key_id,
        Message=b"release 1.2.3",
        Signature=signature,
        SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256",
    )["SignatureValid"]
    public_key = load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, b"release 1.2.3", padding.PKCS1v15(), SHA256())
    assert key_pair_of(key_id).made
