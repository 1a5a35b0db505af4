"""Rollback: the legacy 4-model config changes the job environments and nothing else."""

from __future__ import annotations

from tests.support.stacks import StackRun, run_stack

JOB_DEF = "aws:batch/jobDefinition:JobDefinition"
LEGACY_MODELS = ["LSTM", "ARIMA_GARCH", "GB", "RF"]
LEGACY_ENV = {
    "ENSEMBLE_MODEL_COUNT": "4", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "true",
    "ENABLE_RF": "true", "ENABLE_TRANSFORMER": "false", "ENABLE_PROPHET": "false",
}


def environment(run: StackRun, name: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in run.named(name).inputs["containerProperties"]["environment"]}


def test_four_model_config_yields_the_legacy_environment_and_changes_nothing_else(stack_runs: dict[str, StackRun]) -> None:
    current, rolled_back = stack_runs["canary"], run_stack("canary", {"models": LEGACY_MODELS})
    assert sorted((r.type, r.name) for r in current) == sorted((r.type, r.name) for r in rolled_back), (
        "the rollback must not add or remove resources")
    before = {r.name: r for r in current}
    changed = sorted(r.name for r in rolled_back if r.inputs != before[r.name].inputs)
    definitions = sorted(r.name for r in rolled_back.of_type(JOB_DEF))
    # The events policy lists the job definitions' ARNs, which a new revision renews, so it may follow.
    assert definitions and set(definitions) <= set(changed) <= {*definitions, "forecast-events-submit"}, changed
    for name in definitions:
        old_env, new_env = environment(current, name), environment(rolled_back, name)
        assert {k: new_env[k] for k in LEGACY_ENV} == LEGACY_ENV, f"{name}: {new_env}"
        differing = {k for k in old_env.keys() | new_env.keys() if old_env.get(k) != new_env.get(k)}
        assert differing == {"ENSEMBLE_MODEL_COUNT", "ENABLE_GB", "ENABLE_RF"}, f"{name}: {differing}"
        old_props = {k: v for k, v in current.named(name).inputs["containerProperties"].items() if k != "environment"}
        new_props = {k: v for k, v in rolled_back.named(name).inputs["containerProperties"].items() if k != "environment"}
        assert old_props == new_props, f"{name}: only the environment may change"
    assert rolled_back.outputs["jobGroups"]["core"]["models"] == LEGACY_MODELS


def test_rollback_document_snippet_is_refused() -> None:
    """The rollout document's snippet enables 3 models under ENSEMBLE_MODEL_COUNT=4; as a list it cannot."""
    import pytest

    from infra.values import SettingsError

    with pytest.raises(SettingsError, match="ensemble-forecast:models='LSTM,ARIMA_GARCH,GB,GB' is invalid"):
        run_stack("canary", {"models": ["LSTM", "ARIMA_GARCH", "GB", "GB"]})
