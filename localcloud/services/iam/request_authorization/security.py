"""Secrets Manager, KMS, STS and SSM parameters.

https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
"""

from __future__ import annotations

from localcloud.services.iam.request_authorization.model import (
    WILDCARD,
    Call,
    Check,
    Rule,
    Service,
    anywhere,
    each,
    on,
    scalar,
    uniform,
)

# -- Secrets Manager ----------------------------------------------------------------------------------


def _secret(*names: str) -> Rule:
    def resource(call: Call) -> str | None:
        secret = call.text(*names)
        return call.resolver.secret_arn(secret, call.region, call.account) if secret else None

    return on(resource)


def _create_secret(call: Call) -> list[Check]:
    """The new secret's ARN comes from the resolver; tags on creation need secretsmanager:TagResource."""
    name = call.text("Name")
    secret = call.resolver.secret_arn(name, call.region, call.account) if name else None
    return [call.check(secret), *([call.check(secret, "TagResource")] if call.has("Tags") else [])]


def _batch_get_secret_value(call: Call) -> list[Check]:
    """BatchGetSecretValue on "*", GetSecretValue on each secret, and ListSecrets when filtering."""
    secrets = [call.resolver.secret_arn(secret, call.region, call.account) for secret in _secret_ids(call)]
    listing = [call.check(WILDCARD, "ListSecrets")] if call.has("Filters") else []
    return [call.check(WILDCARD), *(call.check(secret, "GetSecretValue") for secret in secrets), *listing]


def _secret_ids(call: Call) -> list[str]:
    return [found for found in map(scalar, call.items("SecretIdList")) if found]


_SECRET_OPERATIONS = (
    *("GetSecretValue", "DescribeSecret", "PutSecretValue", "UpdateSecret", "DeleteSecret"),
    *("RestoreSecret", "RotateSecret", "CancelRotateSecret", "ListSecretVersionIds"),
    *("UpdateSecretVersionStage", "TagResource", "UntagResource", "GetResourcePolicy"),
    *("PutResourcePolicy", "DeleteResourcePolicy", "ValidateResourcePolicy"),
    *("ReplicateSecretToRegions", "RemoveRegionsFromReplication", "StopReplicationToReplica"),
)
_SECRETSMANAGER_RULES: dict[str, Rule] = {
    **uniform(_SECRET_OPERATIONS, _secret("SecretId")),
    "CreateSecret": _create_secret,
    "BatchGetSecretValue": _batch_get_secret_value,
    **uniform(("ListSecrets", "GetRandomPassword"), anywhere()),
}

# -- KMS ----------------------------------------------------------------------------------------------
# Keys named by alias are authorized on the key the alias points to: the resolver names it.


def _key_arn(call: Call, key: str | None) -> str | None:
    return call.resolver.kms_key_arn(key, call.region, call.account) if key else None


def _key(call: Call) -> str | None:
    return _key_arn(call, call.text("KeyId"))


def _ciphertext_key(call: Call) -> str | None:
    """Decrypt may omit KeyId (symmetric ciphertext names its key): then the caller's
    params["localcloud:KeyArn"], read from the ciphertext, else "*"."""
    return _key(call) or call.text("localcloud:KeyArn")


def _re_encrypt(call: Call) -> list[Check]:
    source = _key_arn(call, call.text("SourceKeyId")) or call.text("localcloud:KeyArn")
    destination = _key_arn(call, call.text("DestinationKeyId"))
    return [call.check(source, "ReEncryptFrom"), call.check(destination, "ReEncryptTo")]


def _alias(call: Call) -> str | None:
    alias = call.text("AliasName")
    return alias if alias is None or alias.startswith("arn:") else call.arn("kms", alias)


def _alias_change(call: Call) -> list[Check]:
    """Create/Update/DeleteAlias: the alias, and the key(s) it leaves and points to."""
    operation = call.request.operation
    keys = [] if operation == "CreateAlias" else [_key_arn(call, call.text("AliasName"))]
    keys += [_key_arn(call, call.text("TargetKeyId"))] if operation != "DeleteAlias" else []
    return [call.check(_alias(call)), *(call.check(key) for key in keys)]


def _create_key(call: Call) -> list[Check]:
    return [call.check(WILDCARD), *([call.check(WILDCARD, "TagResource")] if call.has("Tags") else [])]


_KEY_OPERATIONS = (
    *("Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair"),
    *("GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "Sign", "Verify"),
    *("GetPublicKey", "DescribeKey", "CreateGrant", "ListGrants", "RevokeGrant", "RetireGrant"),
    *("EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "UpdateKeyDescription"),
    *("EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "ListKeyRotations"),
    *("RotateKeyOnDemand", "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies", "TagResource"),
    *("UntagResource", "ListResourceTags", "ReplicateKey", "UpdatePrimaryRegion"),
    *("GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"),
)
_KMS_RULES: dict[str, Rule] = {
    **uniform(_KEY_OPERATIONS, on(_key)),
    "Decrypt": on(_ciphertext_key),
    "ReEncrypt": _re_encrypt,
    **uniform(("CreateAlias", "UpdateAlias", "DeleteAlias"), _alias_change),
    "CreateKey": _create_key,
    **uniform(("ListKeys", "ListAliases", "GenerateRandom", "ListRetirableGrants"), anywhere()),
    **uniform(("CreateCustomKeyStore", "DescribeCustomKeyStores"), anywhere()),
}

# -- STS ----------------------------------------------------------------------------------------------


def _assume_role(call: Call) -> list[Check]:
    """sts:AssumeRole on the role; session tags add sts:TagSession, a source identity
    sts:SetSourceIdentity. (The role's trust policy is the caller's to evaluate.)"""
    role = call.text("RoleArn")
    tagged = call.has("Tags") or call.has("TransitiveTagKeys")
    extra = [
        name
        for name, wanted in (("TagSession", tagged), ("SetSourceIdentity", call.has("SourceIdentity")))
        if wanted
    ]
    return [call.check(role, name) for name in ("AssumeRole", *extra)]


_STS_RULES: dict[str, Rule] = {
    "AssumeRole": _assume_role,
    # No check: anyone may ask who they are; web-identity and SAML calls are unsigned, authorized by the
    # role's trust policy alone.
    **uniform(("GetCallerIdentity", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"), lambda call: []),
    "GetFederationToken": on(
        lambda call: (
            f"arn:aws:sts::{call.account}:federated-user/{name}" if (name := call.text("Name")) else None
        )
    ),
    **uniform(("GetSessionToken", "GetAccessKeyInfo", "DecodeAuthorizationMessage"), anywhere()),
}

# -- SSM parameters -----------------------------------------------------------------------------------


def parameter_arn(call: Call, name: str) -> str:
    """arn:aws:ssm:R:A:parameter/NAME, for "/a/b" and "b" alike; a selector (name:3, name:label) is not
    part of the resource."""
    if name.startswith("arn:"):
        return name
    name = name.split(":", 1)[0]
    return call.arn("ssm", f"parameter{'' if name.startswith('/') else '/'}{name}")


def _parameter(*names: str) -> Rule:
    return on(lambda call: parameter_arn(call, name) if (name := call.text(*names)) else None)


def _parameters(call: Call) -> list[str]:
    return [parameter_arn(call, name) for name in map(scalar, call.items("Names")) if name]


def _put_parameter(call: Call) -> list[Check]:
    name = call.text("Name")
    parameter = parameter_arn(call, name) if name else None
    return [
        call.check(parameter),
        *([call.check(parameter, "AddTagsToResource")] if call.has("Tags") else []),
    ]


def _tagged_parameter(call: Call) -> list[Check]:
    resource_id = call.text("ResourceId")
    if call.text("ResourceType") != "Parameter" or not resource_id:
        return [Check(call.action(), WILDCARD, unmapped=True)]  # documents, instances, ...: not modelled
    return [call.check(parameter_arn(call, resource_id))]


_PARAMETER_OPERATIONS = (
    *("GetParameter", "DeleteParameter", "GetParameterHistory"),
    *("LabelParameterVersion", "UnlabelParameterVersion"),
)
_SSM_RULES: dict[str, Rule] = {
    **uniform(_PARAMETER_OPERATIONS, _parameter("Name")),
    "GetParametersByPath": _parameter("Path"),
    **uniform(("GetParameters", "DeleteParameters"), each(_parameters)),
    "PutParameter": _put_parameter,
    **uniform(("AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"), _tagged_parameter),
    "DescribeParameters": anywhere(),
}

SERVICES = {
    "secretsmanager": Service("secretsmanager", _SECRETSMANAGER_RULES),
    "kms": Service("kms", _KMS_RULES),
    "sts": Service("sts", _STS_RULES),
    "ssm": Service("ssm", _SSM_RULES),
}
