"""driftsync's local AWS test bed: moto 5.2.5 plus the APIs it lacks.

Run it with scripts/aws-emulator; see README.md for what is emulated."""

import importlib

# Modules that register operations and hooks (see registry.py).
EXTENSIONS = [
    "moto_fixes",
    "iam_auth",
    "cfn_drift",
    "cfn_changesets",
    "cfn_parameters",
    "cfn_events",
    "cfn_timeline",
    "cfn_operations",
    "cfn_tokens",
    "cloudcontrol",
    "cloudtrail",
    "ssm_automation",
    "config_rules",
    "config_remediation",
    "config_compliance",
    "cfn_bootstrap",
    "cfn_templates",
]


def load_extensions() -> None:
    for name in EXTENSIONS:
        importlib.import_module(f"{__name__}.{name}")
