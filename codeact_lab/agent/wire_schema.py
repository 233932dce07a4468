"""The JSON Schema of the wire (``wire.py``'s types), made by pydantic.

    python -m codeact_lab.agent.wire_schema        # rewrite codeact_lab/wire.schema.json
    python -m codeact_lab.agent.wire_schema --check  # fail if the file is out of date

The file is committed: the frontend's types are generated from it (``jlpm build:wire``)
and the tests validate the server's real answers against it. Every object is closed
(``additionalProperties: false``) except the few ``wire.OPEN`` ones, so a key one half
writes and the schema does not name is caught, not silently carried.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from typing_extensions import is_typeddict

from . import wire

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "wire.schema.json"
TITLE = "codeact-lab wire"


class _NoFieldTitles(GenerateJsonSchema):
    """pydantic titles every property ("Text", "Turn"); the TypeScript generator would
    make a type of each. Only the named types keep their titles."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _configure() -> None:
    """Closed objects, and the attributes' docstrings as their descriptions."""
    for value in vars(wire).values():
        if isinstance(value, type) and is_typeddict(value):
            extra: Literal["allow", "forbid"] = "allow" if value in wire.OPEN else "forbid"
            # TypedDicts take pydantic's config as this attribute (or a decorator).
            value.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
                extra=extra, use_attribute_docstrings=True
            )


def schema() -> dict[str, Any]:
    _configure()
    mode: Literal["validation"] = "validation"
    adapters = [(name, mode, TypeAdapter(tp)) for name, tp in wire.ROOTS.items()]
    _, top = TypeAdapter.json_schemas(adapters, schema_generator=_NoFieldTitles)
    defs: dict[str, Any] = top["$defs"]
    for name, definition in defs.items():
        definition.setdefault("title", name)  # the aliases (unions, literals) have none
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": TITLE,
        "description": (
            "Generated from codeact_lab/agent/wire.py by "
            "`python -m codeact_lab.agent.wire_schema`: do not edit."
        ),
        "$defs": dict(sorted(defs.items())),
    }


def text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def validator(name: str) -> Any:
    """A jsonschema validator of one named type of the committed file."""
    import jsonschema

    whole = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft202012Validator({**whole, "$ref": f"#/$defs/{name}"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    made = text()
    if args.check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != made:
            print(f"{SCHEMA_FILE} is out of date: run python -m codeact_lab.agent.wire_schema")
            return 1
        return 0
    SCHEMA_FILE.write_text(made)
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
