"""The Pulumi program: one package per component (``batch``, ``database``, ``monitoring``,
``abort``), each with its settings parsing, frozen args and ComponentResource; ``stack`` reads the
config once and declares them, and the image repository every stack shares
(``batch.repository``); ``names`` builds every resource name; ``values`` reads single config values.
"""
