"""JAX's persistent compilation cache (pipeline/compile_cache.py): where it goes, that the user's own JAX settings
win, that an unwritable folder turns it off quietly, and that a training that loads its programs from the cache
ends with the weights one that compiled them ends with.  Each check runs in a fresh process: JAX sets its cache
up once per process."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest

SHOW = (
    "import json, jax; from pipeline import model; from pipeline import compile_cache;"
    "c = jax.config; print(json.dumps({'dir': c.jax_compilation_cache_dir, 'on': c.jax_enable_compilation_cache,"
    " 'min_s': c.jax_persistent_cache_min_compile_time_secs, 'max': c.jax_compilation_cache_max_size,"
    " 'machine': compile_cache.machine()}))"
)


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") and k != "XDG_CACHE_HOME"}
    env.update(KERAS_BACKEND="jax", XDG_CACHE_HOME=str(tmp_path / "xdg"), **extra)
    return env


def _show(tmp_path, **extra) -> dict:
    out = subprocess.run([sys.executable, "-c", SHOW], env=_env(tmp_path, **extra), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_on_by_default_under_the_users_cache_folder_named_for_the_machine(tmp_path):
    shown = _show(tmp_path)
    assert shown["dir"] == str(tmp_path / "xdg" / "scinet" / "jax" / shown["machine"])
    assert shown["on"] and shown["min_s"] == 0 and shown["max"] > 0
    assert (tmp_path / "xdg" / "scinet" / "jax" / shown["machine"]).is_dir()


def test_the_users_own_jax_settings_win(tmp_path):
    own = _show(tmp_path, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "mine"))
    assert own["dir"] == str(tmp_path / "mine")
    assert own["min_s"] == 1.0 and own["max"] == -1  # JAX's defaults, untouched
    assert not (tmp_path / "xdg" / "scinet").exists()
    off = _show(tmp_path, JAX_ENABLE_COMPILATION_CACHE="false")
    assert not off["on"] and not off["dir"]
    kept = _show(tmp_path, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="2.5")
    assert kept["min_s"] == 2.5 and kept["dir"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: a read-only folder cannot be made")
def test_a_folder_that_cannot_be_written_turns_the_cache_off(tmp_path):
    (tmp_path / "xdg").mkdir()
    (tmp_path / "xdg").chmod(0o500)
    try:
        assert not _show(tmp_path)["dir"]
    finally:
        (tmp_path / "xdg").chmod(0o700)


def test_a_file_where_the_folder_belongs_turns_the_cache_off(tmp_path):
    (tmp_path / "xdg").write_text("not a folder")
    assert not _show(tmp_path)["dir"]


def test_the_machine_name_is_stable_and_short():
    from pipeline import compile_cache

    name = compile_cache.machine()
    assert name == compile_cache.machine()
    assert len(name.rsplit("-", 1)[1]) == 12


TINY = [
    "--set", "simulate.n_samples=60", "--set", "simulate.series_length=12",
    "--set", "train.curriculum=[4, 12]", "--set", "train.epochs=[2, 2]", "--set", "train.encoder_units=[8]",
]  # fmt: skip


def _weights(path) -> str:
    with zipfile.ZipFile(path) as z:  # metadata.json holds the date: the weights are what must match
        return hashlib.sha256(z.read("model.weights.h5")).hexdigest()


def test_a_training_that_loads_its_programs_ends_with_the_same_weights(tmp_path):
    env = _env(tmp_path)
    weights = []
    for name in ("compiled", "loaded"):
        run_dir = tmp_path / name
        for stage in ("simulate", "train"):
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from pipeline.cli import main; main()",
                    stage,
                    "copernicus",
                    "--run-dir",
                    str(run_dir),
                    *TINY,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stderr
            assert "persistent compilation cache" not in done.stderr  # no JAX warning of an entry it could not use
        weights.append(_weights(run_dir / "model.keras"))
        if name == "compiled":
            entries = {p.name for p in (tmp_path / "xdg" / "scinet" / "jax").rglob("*-cache")}
            assert any(e.startswith("jit_train_step") for e in entries), sorted(entries)[:5]
    assert weights[0] == weights[1]


class _Config:
    """The part of ``jax.config`` the cache reads and sets, without JAX's global state."""

    def __init__(self, **values):
        self.__dict__.update(values)
        self.updated = {}

    def update(self, name, value):
        self.updated[name] = value
        setattr(self, name, value)


def test_a_jax_without_every_setting_gets_no_cache_and_nothing_set(tmp_path, monkeypatch):
    from pipeline import compile_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    old = _Config(jax_enable_compilation_cache=True, jax_compilation_cache_dir=None)  # no min time, size or entry bound
    assert compile_cache.enable(old) is None and old.updated == {}
    assert not (tmp_path / "scinet").exists()
    full = _Config(
        jax_enable_compilation_cache=True, jax_compilation_cache_dir=None, **dict.fromkeys(compile_cache.SETTINGS, None)
    )
    for variable, _ in compile_cache.SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)
    assert compile_cache.enable(full) == compile_cache.default_dir()
    assert full.updated["jax_compilation_cache_dir"] == str(compile_cache.default_dir())
    assert full.updated["jax_persistent_cache_min_compile_time_secs"] == 0.0
