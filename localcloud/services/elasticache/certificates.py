"""localcloud's own certificate authority, and the server certificate its TLS endpoints present.

On AWS an ElastiCache node's certificate chains to an Amazon root CA that every Lambda runtime's trust store
holds, so a client verifies it with the default trust store. localcloud mirrors that: one CA per run
(process), created on first use in a private temporary directory removed at exit; the Lambda runtime
adds it to its workers' trust store (see localcloud.services.lambda_.runtime), and every TLS endpoint
localcloud serves presents a certificate it signed, valid for the loopback names the outputs give.

The certificates satisfy the strict RFC 5280 checks Python 3.13 clients apply by default
(ssl.VERIFY_X509_STRICT): a critical CA basic constraint, key usages, subject and authority key ids.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "localcloud local CA"
# The names every server certificate holds besides its endpoint's own address; a client checks the host
# it dialled against them.
SERVER_DNS_NAMES = ("localhost",)
SERVER_IP_ADDRESSES = ("127.0.0.1",)
# Long enough for any run (the files are made anew by every process); backdated against clock skew.
VALIDITY = datetime.timedelta(days=30)
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class ServerCredentials:
    """A server's certificate chain (leaf, then the CA) and private key, as PEM files."""

    certificate_chain_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting this certificate (TLS 1.2 or later, as ElastiCache)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate_chain_file, self.key_file)
        return context


class CertificateAuthority:
    """A self-signed CA whose certificate and key are written to `directory` (which should be private)."""

    def __init__(self, directory: Path, *, name: str = CA_NAME) -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        public_key = self._key.public_key()
        self._certificate = (
            _certificate_builder(self._name, self._name, public_key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.certificate_file = directory / "ca.pem"
        self.certificate_file.write_bytes(self.certificate_pem)
        self._servers: dict[str, ServerCredentials] = {}
        self._lock = threading.Lock()

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def server_credentials(self, address: str = SERVER_IP_ADDRESSES[0]) -> ServerCredentials:
        """The certificate a localcloud TLS endpoint on loopback `address` presents (made once per
        address): valid for that address, 127.0.0.1 and localhost."""
        with self._lock:
            if address not in self._servers:
                self._servers[address] = self._issue_server_credentials(address)
            return self._servers[address]

    def _issue_server_credentials(self, address: str) -> ServerCredentials:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_DNS_NAMES[0])])
        alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in SERVER_DNS_NAMES]
        addresses = dict.fromkeys([address, *SERVER_IP_ADDRESSES])
        alternative_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in addresses]
        ca_key_id = self._certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        certificate = (
            _certificate_builder(subject, self._name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        chain_file = self.directory / f"server-{address}.pem"
        key_file = self.directory / f"server-{address}-key.pem"
        key_file.touch(mode=0o600)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        chain_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + self.certificate_pem)
        return ServerCredentials(certificate_chain_file=chain_file, key_file=key_file)


def _certificate_builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
    )


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


_authority: CertificateAuthority | None = None
_authority_lock = threading.Lock()


def local_certificate_authority() -> CertificateAuthority:
    """This run's CA: the one the Lambda runtime's trust store holds and localcloud's endpoints chain to."""
    global _authority  # noqa: PLW0603 - one CA per process, as one trust store serves every runtime
    with _authority_lock:
        if _authority is None:
            directory = Path(tempfile.mkdtemp(prefix="localcloud-tls-"))  # 0700: it holds private keys
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            _authority = CertificateAuthority(directory)
        return _authority
