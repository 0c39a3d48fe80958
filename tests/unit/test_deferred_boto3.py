"""The Encryption SDK imports boto3 (for a KMS key provider Haven does not use); Haven defers that
import until something reads from boto3, so a request that only reads or writes sealed bodies does
not pay for boto3 and s3transfer (issue 16: cold start)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import sys
sys.path.insert(0, sys.argv[1])
from chalicelib.adapters.crypto import _import_sdk
_import_sdk()
import aws_encryption_sdk  # noqa: F401  (the SDK's own `import boto3` done)
print("s3transfer" in sys.modules, type(sys.modules["boto3"]).__name__)
import boto3
from boto3.session import Session
print(boto3.session.Session is Session, type(sys.modules["boto3"]).__name__, "s3transfer" in sys.modules)
from aws_encryption_sdk.key_providers import kms
print(kms.boto3.session.Session is Session)
"""


def test_the_sdk_is_imported_without_boto3_until_boto3_is_read():
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["False _Deferred", "True module True", "True"]


PROBE_SUBMODULE_FIRST = r"""
import sys
sys.path.insert(0, sys.argv[1])
from chalicelib.adapters.crypto import _import_sdk
_import_sdk()
import aws_encryption_sdk  # noqa: F401
from boto3.dynamodb.types import TypeDeserializer  # what powertools' idempotency layer imports first
import boto3
import boto3.session
print(type(boto3).__name__, boto3.Session is boto3.session.Session is sys.modules["boto3.session"].Session,
      boto3.dynamodb.types.TypeDeserializer is TypeDeserializer)
"""


def test_a_submodule_imported_first_loads_the_real_boto3_once():
    out = subprocess.run([sys.executable, "-c", PROBE_SUBMODULE_FIRST, str(ROOT)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[0] == "module True True"

