"""``knowledge/schema.json``: a JSON Schema for claim files, so editors validate as moderators type."""

from __future__ import annotations

import json
from pathlib import Path

from .models import Claim

__all__ = ["claim_schema", "write_schema"]


def claim_schema() -> dict:
    """The JSON Schema of a claim file, generated from the pydantic model."""
    schema = Claim.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Footnote claim file (knowledge/claims/<id>.yaml)"
    return schema


def write_schema(path: Path) -> None:
    path.write_text(json.dumps(claim_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
