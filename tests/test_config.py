from pathlib import Path

import pytest

from voicebot.config import ConfigError, load_settings


def test_defaults_without_config_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "absent.toml", {})
    assert s.http.port == 8080 and s.sip.port == 5060 and s.redis.prefix == "vb:"


def test_env_overrides_ports_and_redis_url(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "absent.toml", {
        "VOICEBOT_HTTP_PORT": "9001", "VOICEBOT_SIP_PORT": "5099", "REDIS_URL": "redis://example:1/2",
        "VOICEBOT_BUSINESS_HOURS_ALWAYS_OPEN": "true",
    })
    assert (s.http.port, s.sip.port, s.redis.url) == (9001, 5099, "redis://example:1/2")
    assert s.business_hours.always_open is True


def test_unknown_key_names_key_and_allowed_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[tts]\nfalback = 'espeak-ng'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, {})
    assert "tts.falback" in str(err.value) and "fallback" in str(err.value)


def test_bad_value_names_allowed_values(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[tts]\nfallback = 'festival'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, {})
    assert "tts.fallback" in str(err.value) and "espeak-ng" in str(err.value)


def test_shipped_config_toml_is_valid() -> None:
    load_settings(Path(__file__).parent.parent / "config.toml", {})


def test_config_toml_documents_every_key() -> None:
    """config.toml is the user's reference: every settings key appears in it, with its default."""
    import tomllib

    from voicebot.config import Settings

    shipped = tomllib.loads((Path(__file__).parent.parent / "config.toml").read_text())
    for section, field in Settings.model_fields.items():
        for key in field.annotation.model_fields:
            assert key in shipped.get(section, {}), f"config.toml lacks {section}.{key}"


def test_the_dialled_number_picks_the_language_longest_prefix_first(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[languages]\nnumbers = { "+48" = "pl", "+4820" = "en" }\n')
    languages = load_settings(cfg, {}).languages
    assert languages.for_number("+48221234567") == "pl"
    assert languages.for_number("+48201234567") == "en"  # the longer prefix wins
    assert languages.for_number("+441234") is None and languages.for_number("") is None


def test_a_dialled_number_mapped_to_an_unknown_language_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[languages]\nnumbers = { "+49" = "de" }\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, {})
    assert "languages.numbers" in str(err.value) and "pl, en" in str(err.value)


def test_a_pause_silence_for_an_unknown_language_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[turn]\nsmart_turn_min_silence_secs = { pl = 0.45, de = 0.4 }\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, {})
    assert "turn.smart_turn_min_silence_secs" in str(err.value) and "de" in str(err.value)
    cfg.write_text('[turn]\nsmart_turn_min_silence_secs = { en = 0.3 }\n')
    assert load_settings(cfg, {}).turn.smart_turn_min_silence_secs == {"en": 0.3}  # Polish then as vad_stop_secs
