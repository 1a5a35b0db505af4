"""The automatic abort: when the rollback composite alarm enters ALARM, the stack disables its own schedules."""
