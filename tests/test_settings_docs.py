"""Every setting is documented in the README's settings table, and settings come from the
environment only when built (not at import)."""
import re
from pathlib import Path

from api.settings import Settings, load_settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.M))
    assert set(Settings.model_fields) - documented == set()


def test_every_setting_has_a_description():
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_environment_and_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("BUDGETKG_HOME", str(tmp_path))
    monkeypatch.setenv("BUDGETKG_QUERY_TIMEOUT_S", "3")
    settings = load_settings(port=9999, store=None)
    assert settings.home == tmp_path and settings.query_timeout_s == 3 and settings.port == 9999
    assert settings.store == "oxigraph" and settings.host == "127.0.0.1"
