"""The Pulumi program: read settings once, declare the stack, export its outputs."""

import pulumi

from infra.names import PROJECT
from infra.stack import build_stack, load_settings

settings = load_settings(pulumi.Config(PROJECT))
for output_name, value in build_stack(settings).items():
    pulumi.export(output_name, value)
