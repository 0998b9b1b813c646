"""The system registry: one broken system file or plug-in is reported by name and never hides the others;
a plug-in cannot shadow a built-in system."""

from dataclasses import replace

import pytest

import pipeline.registry as registry
import systems
from pipeline.registry import UnknownSystemError, available_systems, broken_systems, get_system
from systems.copernicus import SYSTEM as COPERNICUS
from tests.test_cli import invoke


class FakeEntryPoint:
    def __init__(self, name, value, load):
        self.name, self.value, self._load = name, value, load

    def load(self):
        return self._load()


def _boom():
    raise ImportError("No module named 'labcode'")


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    """Three plug-ins (one broken, one shadowing copernicus, one good) and a broken built-in system file."""
    good = replace(COPERNICUS, name="my-orbits")
    eps = [
        FakeEntryPoint("broken", "labcode:SYSTEM", _boom),
        FakeEntryPoint("shadow", "mylab:COPERNICUS", lambda: replace(COPERNICUS, description="not the real one")),
        FakeEntryPoint("good", "mylab:ORBITS", lambda: good),
        FakeEntryPoint("not-a-system", "mylab:THING", lambda: 42),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == "scinet.systems" else [])
    (tmp_path / "halfwritten.py").write_text("SYSTEM = (\n")  # a syntax error in a system file
    monkeypatch.setattr(systems, "__path__", [*systems.__path__, str(tmp_path)])
    return good


def test_a_broken_system_is_named_and_the_others_still_work(plugins):
    known, broken = available_systems(), broken_systems()
    assert "pendulum" in known and "my-orbits" in known
    assert known["copernicus"] is COPERNICUS
    assert "SyntaxError" in broken["halfwritten"] and "systems/halfwritten.py" in broken["halfwritten"]
    assert "labcode" in broken["broken"] and "labcode:SYSTEM" in broken["broken"]
    assert "not a PhysicalSystem" in broken["not-a-system"]
    assert get_system("my-orbits") is plugins


def test_a_plugin_cannot_shadow_a_built_in_system_and_the_message_names_both(plugins):
    assert get_system("copernicus") is COPERNICUS  # the built-in one stays
    message = broken_systems()["shadow"]
    assert "systems/copernicus.py" in message and "mylab:COPERNICUS" in message and "rename" in message
    assert "copernicus.py" in invoke("systems").output


def test_scinet_systems_lists_what_works_and_says_what_does_not(plugins):
    result = invoke("systems")
    assert result.exit_code == 0
    assert "pendulum" in result.output and "my-orbits" in result.output
    assert "halfwritten" in result.output and "cannot be used" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_name_mentions_what_could_not_be_loaded(plugins):
    with pytest.raises(UnknownSystemError, match="could not be loaded.*halfwritten"):
        get_system("no-such-system")
