"""SPEC §2 Safety: the clinical-data access log is append-only, enforced by the functions' role."""
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
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= set(denies[0]["Action"])
