"""A secured local broker: TLS certificates, SCRAM users and the ACL authorizer.

Clients connect over SASL_SSL with SCRAM-SHA-512; the controller listener stays as it
is (plaintext, on the loopback interface only). The files live in the cluster's
``security/`` directory, made once and reused::

    security/ca.pem          the CA clients trust (``kafka_ssl_ca_file``)
    security/ca-key.pem      its key (signs the broker's certificate)
    security/broker.pem      the broker's key and certificate chain (a PEM keystore)
    security/users.json      the SCRAM users' passwords: ``admin`` and one per service

The users are written into the storage when it is formatted (``--add-scram``), so they
exist before the first start. ``admin`` is the broker's super user (and the inter-broker
principal); every service's principal may do only what its ACLs allow
(shared.kafka.acls), and nothing is allowed without an ACL. The controller listener's
principal (``User:ANONYMOUS``) is a super user too: broker-to-controller requests arrive
on it, and it accepts connections from this machine only.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from deploy.local.ports import LOOPBACK
from shared.contracts.registry import SERVICES
from shared.kafka.security import KafkaSecurity

ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"
LISTENER: Final = "SASL_SSL"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
VALID_DAYS = 825


@dataclass(frozen=True)
class BrokerSecurity:
    """The security files of one local cluster, in ``directory``."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.directory / "broker.pem"

    @property
    def users_file(self) -> Path:
        return self.directory / "users.json"

    def prepare(self) -> None:
        """Makes the CA, the broker's certificate and the users' passwords, unless made."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not (self.ca_file.exists() and self.keystore.exists()):
            _write_certificates(self.directory)
        if not self.users_file.exists():
            users = {name: secrets.token_urlsafe(24) for name in (ADMIN, *SERVICES)}
            _write_private(self.users_file, json.dumps(users, indent=2) + "\n")

    def users(self) -> dict[str, str]:
        """Each SCRAM user's password."""
        users: dict[str, str] = json.loads(self.users_file.read_text())
        return users

    def password(self, user: str) -> str:
        return self.users()[user]

    def client(self, user: str = ADMIN) -> KafkaSecurity:
        """How ``user`` connects to the broker (SASL_SSL, trusting the local CA)."""
        return KafkaSecurity(
            protocol=LISTENER,
            sasl_mechanism=MECHANISM,
            username=user,
            password=SecretStr(self.password(user)),
            ca_file=self.ca_file,
        )

    def format_args(self) -> list[str]:
        """``kafka-storage format`` arguments creating every user."""
        args: list[str] = []
        for name, password in self.users().items():
            args += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
        return args

    def broker_properties(self) -> dict[str, str]:
        """The ``server.properties`` entries of a secured node (on top of the layout's)."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required"
            f' username="{ADMIN}" password="{self.password(ADMIN)}";'
        )
        return {
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.{LISTENER.lower()}.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "ssl.client.auth": "none",
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{ADMIN};User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        }


def _write_private(path: Path, text: str) -> None:
    """Writes ``text`` readable by this user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # the only private key format Kafka reads
        serialization.NoEncryption(),
    ).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _write_certificates(directory: Path) -> None:
    """A CA of this cluster's own and the broker's certificate for the loopback address."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fulfil local Kafka CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(directory / "ca-key.pem", _pem_key(ca_key))
    _write_private(directory / "broker.pem", _pem_key(key) + _pem_cert(cert) + _pem_cert(ca))
    (directory / "ca.pem").write_text(_pem_cert(ca))
