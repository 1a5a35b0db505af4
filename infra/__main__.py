"""The Pulumi program: read settings once, declare the stack, export its outputs."""

import pulumi

from infra.settings import PROJECT, load_settings
from infra.stack import build_stack

settings = load_settings(pulumi.Config(PROJECT))
for output_name, value in build_stack(settings).items():
    pulumi.export(output_name, value)
