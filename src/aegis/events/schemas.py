"""JSON Schema of every event record, for partners who send Aegis their data."""

from __future__ import annotations

import json
from pathlib import Path

from aegis.events.models import EVENT_TYPES


def export_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, model in EVENT_TYPES.items():
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"https://aegis.example/schemas/{kind}.json"
        schema["description"] = (model.__doc__ or kind).strip().splitlines()[0]
        path = out_dir / f"{kind}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n")
        written.append(path)
    return written
