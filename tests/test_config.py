"""Settings come from `PDP_<FIELD>` variables, each read by its field's type."""

from __future__ import annotations

from dataclasses import fields

import pytest

from pdp.config import Settings


def test_without_variables_every_setting_keeps_its_default():
    assert Settings.from_env({}) == Settings()


def test_each_setting_is_read_from_its_own_variable_by_its_type():
    env = {
        "PDP_DATABASE_URL": "postgresql+psycopg://pdp@db/pdp",
        "PDP_DECISION_CACHE": "10",
        "PDP_POLICY_REFRESH_SECONDS": "2.5",
        "PDP_AUTH_DISABLED": "TRUE",
        "PDP_JWKS_FILE": "keys.json",
    }
    settings = Settings.from_env(env)
    assert settings.database_url == "postgresql+psycopg://pdp@db/pdp"
    assert settings.decision_cache == 10
    assert settings.policy_refresh_seconds == 2.5
    assert settings.auth_disabled is True
    assert settings.jwks_file == "keys.json"


def test_every_field_can_be_set_from_the_environment():
    samples = {"str": "x", "str | None": "x", "int": "7", "float": "0.5", "bool": "false"}
    env = {f"PDP_{setting.name.upper()}": samples[setting.type] for setting in fields(Settings)}
    settings = Settings.from_env(env)
    assert settings.max_json_depth == 7
    assert settings.jwt_leeway_seconds == 0.5


def test_an_empty_optional_setting_means_none():
    assert Settings.from_env({"PDP_JWKS_URL": ""}).jwks_url is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PDP_DECISION_CACHE", "many", "PDP_DECISION_CACHE must be a number, got 'many'"),
        ("PDP_DECISION_CACHE", "1.5", "PDP_DECISION_CACHE must be a number, got '1.5'"),
        ("PDP_MAX_BODY_BYTES", "-1", "PDP_MAX_BODY_BYTES must not be negative, got '-1'"),
        ("PDP_AUTH_DISABLED", "yes", "PDP_AUTH_DISABLED must be true or false, got 'yes'"),
    ],
)
def test_a_malformed_value_is_refused_naming_its_variable(variable, value, message):
    with pytest.raises(ValueError) as refused:
        Settings.from_env({variable: value})
    assert str(refused.value) == message
