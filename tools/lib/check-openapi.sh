#!/usr/bin/env bash
# Checks Protocol/openapi.yaml: a valid OpenAPI 3.0.3 document (openapi-spec-validator), whose
# schemas accept every exchange in Protocol/examples/http/*.json (the response body against the
# documented response for its status; for answered pushes and pulls, the request body and query
# too) and every example written in the document itself.
# Installs openapi-spec-validator with pip when missing; if that is impossible, warns and passes.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v python3 >/dev/null 2>&1; then
  echo "warning: python3 is not installed; skipping the openapi.yaml check" >&2
  exit 0
fi
if ! python3 -c "import openapi_spec_validator, openapi_schema_validator, jsonschema, yaml" >/dev/null 2>&1; then
  if ! python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator >/dev/null 2>&1 &&
    ! python3 -m pip install --quiet --disable-pip-version-check --user openapi-spec-validator >/dev/null 2>&1; then
    echo "warning: cannot install openapi-spec-validator with pip; skipping the openapi.yaml check" >&2
    exit 0
  fi
fi

if ! output="$(python3 -m openapi_spec_validator Protocol/openapi.yaml 2>&1)"; then
  echo "$output" >&2
  echo "openapi.yaml: not a valid OpenAPI document" >&2
  exit 1
fi
echo "openapi.yaml: valid"

python3 - <<'PY'
import glob, json, os, sys
from urllib.parse import parse_qsl

import yaml
from jsonschema import validators
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

# Stand-ins for the placeholders of the examples (as in the document's own examples).
SUBSTITUTIONS = {"$DATABASE": "3f9c2a7be1d04c55a0f4e9b2c6d81e17", "$SCHEMA": "b42392030df6b3ca"}
BASE = "urn:stationsync:openapi"

with open("Protocol/openapi.yaml", encoding="utf-8") as f:
    doc = yaml.safe_load(f)
registry = Registry().with_resource(BASE, DRAFT4.create_resource(doc))


def x_property_names(validator, subschema, instance, schema):
    """Enforces the document's `x-propertyNames` extension (OpenAPI 3.0 has no propertyNames)."""
    if validator.is_type(instance, "object"):
        for name in instance:
            yield from validator.descend(instance=name, schema=subschema, path=name)


Validator = validators.extend(OAS30Validator, {"x-propertyNames": x_property_names})


def escape(segment):
    return str(segment).replace("~", "~0").replace("/", "~1")


def pointer(*segments):
    return "/" + "/".join(escape(s) for s in segments)


def at(ptr):
    node = doc
    for seg in ptr.lstrip("/").split("/"):
        seg = seg.replace("~1", "/").replace("~0", "~")
        node = node[int(seg)] if isinstance(node, list) else node[seg]
    return node


def deref(ptr):
    """Follows a `$ref` at ptr (within the document); returns the final pointer."""
    node = at(ptr)
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SystemExit(f"openapi.yaml: unsupported $ref {ref} at {ptr}")
        ptr = ref[1:]
        node = at(ptr)
    return ptr


failures = []


def check(instance, schema_ptr, what):
    validator = Validator({"$ref": BASE + "#" + schema_ptr}, registry=registry, format_checker=oas30_format_checker)
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "".join(f"[{p!r}]" for p in error.absolute_path) or "(top level)"
        failures.append(f"{what}: does not match #{schema_ptr}: at {where}: {error.message}")


# 1. Every recorded exchange against the operation it calls.
files = sorted(glob.glob("Protocol/examples/http/*.json"))
if not files:
    failures.append("Protocol/examples/http/*.json: no examples found")
for path in files:
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for placeholder, value in SUBSTITUTIONS.items():
        text = text.replace(placeholder, value)
    example = json.loads(text)
    request, response = example["request"], example["response"]
    method = request["method"].lower()
    route, _, query = request["path"].partition("?")
    op_ptr = pointer("paths", route, method)
    try:
        operation = at(op_ptr)
    except (KeyError, IndexError):
        failures.append(f"{name}: {request['method']} {route} is not in openapi.yaml")
        continue
    status = str(response["status"])
    if status not in operation.get("responses", {}):
        failures.append(f"{name}: {request['method']} {route} does not document status {status}")
        continue
    response_ptr = deref(pointer("paths", route, method, "responses", status))
    media = at(response_ptr).get("content", {}).get("application/json")
    if media is None or "schema" not in media:
        failures.append(f"{name}: status {status} of {request['method']} {route} documents no application/json schema")
    elif "body" in response:
        check(response["body"], deref(response_ptr + pointer("content", "application/json", "schema")),
              f"{name}: response {status} body")
    if status != "200":
        continue  # refused requests are allowed not to match the request schemas
    if "body" in request:
        body_ptr = pointer("paths", route, method, "requestBody", "content", "application/json", "schema")
        try:
            at(body_ptr)
        except KeyError:
            failures.append(f"{name}: {request['method']} {route} documents no application/json request body")
        else:
            check(request["body"], deref(body_ptr), f"{name}: request body")
    parameters = {p["name"]: i for i, p in enumerate(operation.get("parameters", [])) if p["in"] == "query"}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in parameters:
            failures.append(f"{name}: query parameter {key!r} is not documented")
            continue
        schema_ptr = deref(pointer("paths", route, method, "parameters", parameters[key], "schema"))
        if at(schema_ptr).get("type") == "integer":
            try:
                value = int(value)
            except ValueError:
                failures.append(f"{name}: query parameter {key}={value!r} is not an integer")
                continue
        check(value, schema_ptr, f"{name}: query parameter {key}")

# 2. Every example written in the document against its own schema.
def walk(node, segments):
    if isinstance(node, dict):
        if "schema" in node and ("example" in node or "examples" in node):  # media type, parameter, header
            schema_ptr = deref(pointer(*segments, "schema"))
            if "example" in node:
                check(node["example"], schema_ptr, f"openapi.yaml {pointer(*segments, 'example')}")
            for key, item in node.get("examples", {}).items():
                if isinstance(item, dict) and "value" in item:
                    check(item["value"], schema_ptr, f"openapi.yaml {pointer(*segments, 'examples', key)}")
        elif "example" in node and len(segments) >= 2 and segments[:2] == ["components", "schemas"]:
            check(node["example"], pointer(*segments), f"openapi.yaml {pointer(*segments, 'example')}")
        for key, value in node.items():
            if key not in ("example", "examples"):
                walk(value, segments + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk(value, segments + [i])


walk(doc, [])

if failures:
    print("openapi.yaml does not match the examples:", file=sys.stderr)
    for failure in failures:
        print("  " + failure, file=sys.stderr)
    sys.exit(1)
print(f"openapi.yaml: {len(files)} example exchanges and the document's own examples match its schemas")
PY
