"""SPEC §2 Safety, as infrastructure: the access log is append-only; local logs carry no link tokens or cursors."""
import json
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "resources.json"


def _statements(node):
    if isinstance(node, dict):
        if "Effect" in node and "Action" in node:
            yield node
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements(value)


def test_the_role_denies_changing_or_deleting_access_log_records():
    template = json.loads(TEMPLATE.read_text())
    assert "AccessLogTable" in template["Resources"]
    denies = [s for s in _statements(template["Resources"]) if s["Effect"] == "Deny"
              and "AccessLogTable" in json.dumps(s.get("Resource"))]
    assert len(denies) == 1
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
            "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"} <= set(denies[0]["Action"])


def test_every_access_log_record_is_written_only_if_absent():
    """IAM cannot require a condition on PutItem; the code must (an overwrite would rewrite history)."""
    import ast

    source = (Path(__file__).resolve().parents[2] / "chalicelib" / "store" / "access_log.py").read_text()
    saves = [node for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "save"]
    assert saves
    for call in saves:
        condition = next((k.value for k in call.keywords if k.arg == "condition"), None)
        assert condition is not None and "does_not_exist" in ast.unparse(condition)


def test_the_local_api_output_never_shows_link_tokens_or_cursors():
    from infra.local import redact

    line = ('127.0.0.1 - - [21/Nov/2026 12:54:14] "GET /links/AbC123.sig-x HTTP/1.1" 200 -\n'
            '127.0.0.1 - - "GET /rooms/r1/messages?limit=2&next=eyJzIjoi.abc HTTP/1.1" 200 -\n'
            '127.0.0.1 - - "POST /join/bk_0a1b.c.9f8e7d6c HTTP/1.1" 200 -\n'
            '127.0.0.1 - - "GET /join-assets/join.js?v=1 HTTP/1.1" 200 -')
    cleaned = redact(line)
    assert "AbC123" not in cleaned and "eyJzIjoi" not in cleaned and "9f8e7d6c" not in cleaned
    assert "/join/[redacted]" in cleaned and "/join-assets/join.js" in cleaned
    assert "/links/[redacted]" in cleaned and "limit=2&next=[redacted]" in cleaned
