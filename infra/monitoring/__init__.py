"""Alarms (the missed-run ones in ``runs``), SNS topics, the rollback composite, Batch failure events and
the dashboard of a stack."""
