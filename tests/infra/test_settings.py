"""Settings: every bad-config case fails with its own clear message, before any resource."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from infra.database.args import STACK_SSL_MODES
from infra.stack import CONFIG_KEYS, parse_settings
from infra.values import SettingsError
from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.contract.thresholds import Thresholds
from jobs.contract.values import SSL_MODES, ConfigError, check_database_url
from tests.support.pulumi_cli import PulumiConfigError
from tests.support.stacks import (
    GITHUB_TOKEN,
    GITHUB_TOKEN_SECRET_ARN,
    PROJECT,
    REGION,
    ROOT,
    STACKS,
    RecordedResource,
    run_stack,
)


def stack_values(stack_name: str) -> dict[str, Any]:
    """The project keys of ``Pulumi.<stack>.yaml`` as decoded values."""
    config = yaml.safe_load((ROOT / f"Pulumi.{stack_name}.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    return values


def parse_with(stack_name: str, **changes: Any) -> None:
    values = stack_values(stack_name)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    parse_settings(values, stack_name, REGION)


BAD_CONFIG: list[tuple[str, str, dict[str, Any], str]] = [
    ("warning-equals-critical", "canary", {"divergenceWarningThreshold": 0.3, "divergenceCriticalThreshold": 0.3},
     "ensemble-forecast:divergenceWarningThreshold=0.3 must be below ensemble-forecast:divergenceCriticalThreshold=0.3"),
    ("warning-above-critical", "canary", {"divergenceWarningThreshold": 0.4},
     "divergenceWarningThreshold=0.4 must be below"),
    ("threshold-above-one", "canary", {"divergenceCriticalThreshold": 1.5},
     "ensemble-forecast:divergenceCriticalThreshold='1.5' is invalid: expected a number in (0, 1]"),
    ("threshold-zero", "canary", {"divergenceWarningThreshold": 0},
     "ensemble-forecast:divergenceWarningThreshold='0' is invalid: expected a number in (0, 1]"),
    ("rollback-threshold-negative", "canary", {"rollbackDivergence": -0.25},
     "ensemble-forecast:rollbackDivergence='-0.25' is invalid: expected a number in (0, 1]"),
    ("unknown-horizon", "limited", {"horizons": ["1D", "2h"]}, "unknown horizon '2h'; known horizons: 1D, 4h, 8h"),
    ("duplicate-horizon", "limited", {"horizons": ["1D", "1D"]}, "duplicate horizons"),
    ("unknown-model", "canary", {"models": ["LSTM", "XGBOOST"]},
     "ensemble-forecast:models='LSTM,XGBOOST' is invalid: expected models from LSTM, ARIMA_GARCH"),
    ("one-model", "canary", {"models": ["LSTM"]}, "expected 2 to 4 distinct models"),
    ("five-models", "canary", {"models": ["LSTM", "ARIMA_GARCH", "GB", "RF", "PROPHET"]},
     "expected 2 to 4 distinct models"),
    ("duplicate-model", "canary", {"models": ["LSTM", "LSTM", "GB"]}, "expected 2 to 4 distinct models"),
    ("bad-high-value-models", "prod", {"highValueModels": ["GB"]},
     "ensemble-forecast:highValueModels='GB' is invalid: expected 2 to 4 distinct models"),
    ("duplicate-symbol", "limited", {"symbols": ["AAPL", "MSFT", "AAPL"]}, "duplicate symbols AAPL"),
    ("duplicate-symbol-across-batches", "prod",
     {"symbolBatches": [["AAPL", "MSFT"], ["SPY", "AAPL"]], "highValueSymbols": ["AAPL"]}, "duplicate symbols AAPL"),
    ("lower-case-symbol", "canary", {"symbols": ["AAPL", "msft"]}, "'msft' is not a ticker"),
    ("symbol-with-comma", "canary", {"symbols": ["AAPL,MSFT"]}, "ensemble-forecast:symbols: 'AAPL,MSFT' is not a ticker"),
    ("empty-symbols", "canary", {"symbols": []}, "ensemble-forecast:symbols is empty: list at least one symbol"),
    ("symbols-and-batches", "canary", {"symbolBatches": [["AAPL"]], "enabledBatches": 1},
     "set exactly one of ensemble-forecast:symbols or ensemble-forecast:symbolBatches"),
    ("enabled-batches-too-many", "prod", {"enabledBatches": 6},
     "ensemble-forecast:enabledBatches=6 is invalid: expected 1 to 5"),
    ("enabled-batches-zero", "prod", {"enabledBatches": 0}, "expected 1 to 5"),
    ("high-value-not-declared", "prod", {"highValueSymbols": ["AAPL", "ZZZZ"]},
     "ensemble-forecast:highValueSymbols names ZZZZ, which are not among the stack's symbols"),
    ("canary-symbols-not-declared", "limited", {"canarySymbols": ["IBM"]}, "canarySymbols names IBM"),
    ("missing-schedule", "canary", {"horizons": ["1D", "4h"]},
     "ensemble-forecast:schedules has no schedule for horizon(s) 4h"),
    ("bad-schedule", "canary", {"schedules": {"1D": "every day"}}, "schedules.1D='every day' is invalid"),
    ("unsupported-schedule", "canary", {"schedules": {"1D": "cron(0 21 1 * ? *)"}},
     "ensemble-forecast:schedules.1D: schedule 'cron(0 21 1 * ? *)' is not supported"),
    ("schedule-without-pause", "canary", {"schedules": {"1D": "rate(2 hours)"}},
     "ensemble-forecast:schedules.1D: schedule 'rate(2 hours)' never pauses for the run's grace of 14400s"),
    ("storm-count-above-the-contract", "canary", {"alertStormCount": 10_001},
     "ensemble-forecast:alertStormCount='10001' is invalid: expected an integer from 0 to 10000"),
    ("storm-period-above-a-day", "canary", {"alertStormPeriodMinutes": 1441},
     "ensemble-forecast:alertStormPeriodMinutes='1441' is invalid: expected an integer from 1 to 1440"),
    ("opportunistic-ssl", "limited", {"dbSslMode": "prefer"},
     "ensemble-forecast:dbSslMode='prefer' is invalid: expected one of disable, require, verify-ca, verify-full"),
    ("unknown-method", "canary", {"optimizationMethod": "magic"},
     "ensemble-forecast:optimizationMethod='magic' is invalid: expected one of simple_avg, inverse_rmse"),
    ("unknown-phase", "canary", {"rolloutPhase": "beta"}, "ensemble-forecast:rolloutPhase='beta' is invalid"),
    ("missing-phase", "canary", {"rolloutPhase": None}, "ensemble-forecast:rolloutPhase is required but not set"),
    ("tag-image", "canary", {"imageRef": "2026.01.27-canary"},
     "ensemble-forecast:imageRef='2026.01.27-canary' is not pinned by digest: expected "
     "<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<64 hex>"),
    ("latest-image", "canary", {"imageRef": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ensemble-forecast:latest"},
     "is not pinned by digest"),
    ("bare-digest", "canary", {"imageRef": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, "ensemble-forecast:imageRef='sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' is "
     "invalid: expected <account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<64 hex>"),
    ("per-stack-repository", "canary",
     {"imageRef": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ensemble-forecast-canary@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
     "names repository 'ensemble-forecast-canary': every stack runs images from 'ensemble-forecast'"),
    ("image-in-another-region", "limited",
     {"imageRef": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ensemble-forecast@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
     "is in region eu-west-1: the stack runs in us-east-1"),
    ("no-image-with-schedules-on", "prod", {"imageRef": None},
     "ensemble-forecast:imageRef is required while ensemble-forecast:schedulesEnabled is true"),
    ("half-a-dispatch", "prod", {"rollbackDispatchRepository": "acme/ensemble-forecast"},
     "set both ensemble-forecast:rollbackDispatchRepository and ensemble-forecast:rollbackDispatchTokenSecretArn, "
     "or neither"),
    ("dispatch-repository", "prod", {"rollbackDispatchRepository": "not a repository",
                                     "rollbackDispatchTokenSecretArn": GITHUB_TOKEN_SECRET_ARN},
     "ensemble-forecast:rollbackDispatchRepository='not a repository' is invalid: expected a GitHub repository"),
    ("dispatch-token-in-place-of-its-arn", "prod", {"rollbackDispatchRepository": "acme/ensemble-forecast",
                                                   "rollbackDispatchTokenSecretArn": GITHUB_TOKEN},
     "ensemble-forecast:rollbackDispatchTokenSecretArn is invalid (value not shown): expected a Secrets Manager "
     "secret ARN"),
    ("auto-abort-not-bool", "canary", {"autoAbort": "on"}, "ensemble-forecast:autoAbort='on' is invalid"),
    ("bad-email", "canary", {"immediateEmails": ["oncall"]}, "ensemble-forecast:immediateEmails=['oncall'] is invalid"),
    ("bad-subnet", "canary", {"subnetIds": ["vpc-1"]}, "expected a list of subnet ids"),
    ("fargate-memory", "canary", {"taskVcpu": 1, "taskMemoryMiB": 1024}, "taskMemoryMiB=1024 is invalid for 1 vCPU on Fargate: expected 2048 to 8192"),
    ("unknown-key", "canary", {"modelCount": 4}, "ensemble-forecast:modelCount is not a known setting"),
    ("walk-forward-not-bool", "canary", {"walkForward": "yes"}, "ensemble-forecast:walkForward='yes' is invalid"),
    ("walk-forward-windows", "canary", {"walkForwardWindows": 0},
     "ensemble-forecast:walkForwardWindows=0 is invalid: expected an integer from 1 to 100"),
]


@pytest.mark.parametrize(("stack", "changes", "message"), [c[1:] for c in BAD_CONFIG], ids=[c[0] for c in BAD_CONFIG])
def test_bad_config_fails_with_its_message(stack: str, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_with(stack, **changes)
    assert message in str(info.value), f"got: {info.value}"
    assert "\n" not in str(info.value), "the error must be one line"
    assert GITHUB_TOKEN not in str(info.value), "a token pasted into the config must not be echoed"


def test_admin_secret_errors_never_echo_the_secret() -> None:
    from infra.database.component import admin_credential

    assert admin_credential('{"username": "admin", "password": "pw"}') == {"username": "admin", "password": "pw"}
    for content in ("hunter2-secret", '{"password": "hunter2-secret"}', '["hunter2-secret"]'):
        with pytest.raises(ValueError, match='JSON with non-empty "username" and "password"') as info:
            admin_credential(content)
        assert "hunter2-secret" not in str(info.value)


def test_secret_arn_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="dbAdminSecretArn is required with manageDatabase: true"):
        parse_with("canary", dbAdminSecretArn=None)
    with pytest.raises(SettingsError, match="dbAdminSecretArn is set but manageDatabase is false"):
        parse_with("limited", dbAdminSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1-AbCdEf")
    with pytest.raises(SettingsError, match="dbAdminSecretArn='forecast-admin' is invalid: expected a Secrets Manager"):
        parse_with("canary", dbAdminSecretArn="forecast-admin")
    with pytest.raises(SettingsError, match="databaseUrlSecretName='a b' is invalid"):
        parse_with("prod", databaseUrlSecretName="a b")


def test_bad_config_fails_before_any_resource_is_declared() -> None:
    recorded: list[RecordedResource] = []
    with pytest.raises(SettingsError, match="divergenceWarningThreshold=0.35 must be below"):
        run_stack("canary", {"divergenceWarningThreshold": 0.35}, recorded=recorded)
    assert recorded == [], f"resources were declared before validation: {[r.name for r in recorded]}"


def test_config_strings_are_decoded_with_a_clear_error() -> None:
    # Typed keys are refused by the CLI itself; untyped ones by the program's decoding.
    with pytest.raises(PulumiConfigError, match="configuration key 'enabledBatches' must be of type 'integer'"):
        run_stack("prod", {"enabledBatches": "two"})
    with pytest.raises(SettingsError, match="ensemble-forecast:taskVcpu='two' is invalid: expected a number"):
        run_stack("prod", {"taskVcpu": "two"})


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["main"] == "infra/" and project["runtime"]["name"] == "python"
    declared = project["config"]
    assert set(declared) == set(CONFIG_KEYS), set(declared) ^ set(CONFIG_KEYS)
    for key, spec in declared.items():
        assert spec.get("description"), f"Pulumi.yaml config key {key} has no description"
    assert not {k for k, spec in declared.items() if spec.get("secret")}, "no stack may need a secret value"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_use_only_declared_keys_and_hold_no_secret(stack: str) -> None:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    project_keys = {k.split(":", 1)[1] for k in config if k.startswith(f"{PROJECT}:")}
    assert project_keys <= set(CONFIG_KEYS), project_keys - set(CONFIG_KEYS)
    assert set(config[f"{PROJECT}:schedules"]) == set(config[f"{PROJECT}:horizons"]) <= set(HORIZONS)


def test_defaults_are_the_rollout_documents() -> None:
    values = stack_values("canary")
    for key in ("divergenceWarningThreshold", "divergenceCriticalThreshold", "baselineRmseEscalation",
                "rollbackDivergence", "rollbackRmseIncrease", "alertStormCount", "alertStormPeriodMinutes"):
        values.pop(key)
    settings = parse_settings(values, "canary", REGION)
    monitoring = settings.monitoring
    assert monitoring.thresholds == Thresholds(), "unset keys take the rollout document's thresholds"
    job = settings.workload.groups[0].job
    assert job.thresholds == monitoring.thresholds, "the job and the alarms share one Thresholds"


@pytest.mark.parametrize(("count", "minutes"), [(0, 1), (1_000, 60), (5_000, 720), (10_000, 1_440)])
def test_the_stack_and_the_job_accept_the_same_storm_thresholds(count: int, minutes: int) -> None:
    """One parser, one set of limits: what a stack accepts, it renders, and the job reads back."""
    values = {**stack_values("canary"), "alertStormCount": count, "alertStormPeriodMinutes": minutes}
    settings = parse_settings(values, "canary", REGION)
    env = settings.workload.groups[0].job.to_env()
    assert (env["ALERT_STORM_COUNT"], env["ALERT_STORM_PERIOD_SECONDS"]) == (str(count), str(60 * minutes))
    assert JobConfig.from_env(env).thresholds == settings.monitoring.thresholds
    assert (settings.monitoring.thresholds.alert_storm_count,
            settings.monitoring.thresholds.alert_storm_period_seconds) == (count, 60 * minutes)


def test_a_storm_count_beyond_the_limit_is_refused_by_the_job_too() -> None:
    with pytest.raises(ConfigError, match=re.escape("ALERT_STORM_COUNT='10001' is invalid: expected an integer "
                                                    "from 0 to 10000")):
        JobConfig.from_env({"ALERT_STORM_COUNT": "10001"})


def test_stacks_allow_the_contracts_ssl_modes_that_say_whether_traffic_is_encrypted() -> None:
    # libpq's allow and prefer fall back silently; every other mode of the job's contract is allowed.
    assert STACK_SSL_MODES == ("disable", "require", "verify-ca", "verify-full")
    assert set(STACK_SSL_MODES) == set(SSL_MODES) - {"allow", "prefer"}
    for mode in STACK_SSL_MODES:
        database = parse_settings({**stack_values("limited"), "dbSslMode": mode}, "limited", REGION).database
        assert database.ssl_mode == mode
        # The DATABASE_URL the owning stack stores with this mode is one the job accepts.
        check_database_url(f"postgresql://forecast_job:pw@{database.host}:{database.port}/{database.name}?sslmode={mode}")
