"""`make package`, after `chalice package`: the deployment zip a cold start pays for (issue 16).

- Leaves out what the Lambda Python runtime already provides (boto3, botocore, s3transfer,
  jmespath, python-dateutil, urllib3, six): 16 MB of the zip. PynamoDB 6.1 needs botocore
  ≥ 1.12.54; the runtime's is far newer, and Haven calls no API younger than it.
- Ships bytecode: every module is compiled (`compileall`, unchecked-hash, so the runtime never
  re-reads the source to validate it); third-party packages go sourceless (legacy `.pyc` beside
  nothing), Haven's own code keeps its sources for readable tracebacks, with `__pycache__` beside.
- Never ships the working tree's `__pycache__` (built for another interpreter or stale).

`python -m infra.package build/package/deployment.zip` rewrites the zip in place and prints its size.
"""
from __future__ import annotations

import io
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Never imported by Haven: libraries' own tests, type stubs, powertools' HTTP router (Chalice routes;
# its OpenAPI UI is half a megabyte), holidays' translated names (Haven needs the dates only), the
# powertools utilities Haven does not use (it uses logging, metrics, tracing and idempotency, which
# needs data_classes, jmespath_utils, typing and serialization only), C sources and install records.
UNUSED = ("/tests/", "/test/", "aws_lambda_powertools/event_handler/", "holidays/locale/",
          *(f"aws_lambda_powertools/utilities/{name}/" for name in (
              "auth_alpha", "batch", "circuit_breaker", "data_masking", "feature_flags", "kafka", "metadata",
              "parameters", "parser", "streaming", "validation")))
UNUSED_SUFFIXES = (".pyi", ".c", ".h", ".pyx", ".pxd", ".dist-info/RECORD", ".dist-info/INSTALLER",
                   ".dist-info/REQUESTED")
OWN = ("app.py", "chalicelib/")
LIMIT_BYTES = 10_000_000  # 10 MB (issue 16)


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    return any(top == p or top.startswith(p.removesuffix(".py") + "-") and top.endswith(".dist-info")
               or (p.endswith(".py") and top == p) for p in RUNTIME_PROVIDED)


def _compile(source: bytes, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "m.py", Path(tmp) / "m.pyc"
        src.write_bytes(source)
        py_compile.compile(str(src), cfile=str(out), dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return out.read_bytes()


def rebuild(path: Path) -> int:
    original = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in original.infolist():
            name = info.filename
            if _provided(name) or "__pycache__/" in name or name.endswith(".pyc"):
                continue
            if not name.startswith(OWN) and (any(u in name or name.startswith(u) for u in UNUSED)
                                             or name.endswith(UNUSED_SUFFIXES)):
                continue
            data = original.read(info)
            if not name.endswith(".py"):
                out.writestr(info, data)
                continue
            try:
                code = _compile(data, name)
            except py_compile.PyCompileError:
                out.writestr(info, data)  # not importable code (a template, a test fixture): ship as is
                continue
            if name.startswith(OWN):
                out.writestr(info, data)
                folder, _, file = name.rpartition("/")
                tag = sys.implementation.cache_tag
                cached = f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc" if folder else f"__pycache__/{file[:-3]}.{tag}.pyc"
                out.writestr(zipfile.ZipInfo(cached, info.date_time), code, zipfile.ZIP_DEFLATED)
            else:
                compiled = zipfile.ZipInfo(name[:-3] + ".pyc", info.date_time)
                compiled.external_attr = info.external_attr
                out.writestr(compiled, code, zipfile.ZIP_DEFLATED)
    path.write_bytes(buffer.getvalue())
    return path.stat().st_size


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "build/package/deployment.zip")
    size = rebuild(path)
    print(f"{path}: {size / 1e6:.2f} MB, {size / 1024 / 1024:.2f} MiB (limit {LIMIT_BYTES / 1e6:.0f} MB)")
    return 0 if size <= LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
