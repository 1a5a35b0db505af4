"""The Pulumi program: one package per component (``batch``, ``database``, ``monitoring``), each
with its settings parsing, frozen args and ComponentResource; ``stack`` reads the config once and
declares them; ``names`` builds every resource name; ``values`` reads single config values.
"""
