"""Secrets (§9.8, §14): properties marked x-secret in the schema never show in repr/str."""

from __future__ import annotations

import json

from arcp_gen import models
from codegen.generate import find_schema

SCHEMA = json.loads(find_schema().read_text())


def test_every_x_secret_property_is_redacted_in_repr_and_str() -> None:
    marked = [
        (name, prop)
        for name, d in SCHEMA["$defs"].items()
        for prop, spec in d.get("properties", {}).items()
        if isinstance(spec, dict) and spec.get("x-secret")
    ]
    assert {prop for _, prop in marked} >= {"token", "resume_token", "value", "credential_value"}
    for name, prop in marked:
        cls = getattr(models, name)
        fields = {
            "SessionWelcomePayload": {"runtime": {"name": "r"}, "capabilities": {}},
            "Credential": {"id": "c", "scheme": "bearer", "endpoint": "https://gw"},
            "StatusBody": {"phase": "credential_rotated", "credential_id": "cred_1"},
            "Auth": {"scheme": "bearer"},
            "ResumeRequest": {"session_id": "s", "last_event_seq": 0},
            "SessionResumePayload": {"session_id": "s", "last_event_seq": 0},
        }[name]
        secret = f"s3cr3t-{name}"
        instance = cls.model_validate({**fields, prop: secret})
        assert secret not in repr(instance) and secret not in str(instance)
        assert instance.model_dump()[prop] == secret  # still on the wire
