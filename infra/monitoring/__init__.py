"""Alarms, SNS topics, the rollback composite, Batch failure events and the dashboard of a stack."""
