"""The Docker image, checked without a Docker engine: the Dockerfile's rules, and its build
steps replayed in a fresh virtualenv (wheel built from the repo, installed, run from elsewhere)."""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_dockerfile_is_small_non_root_with_data_volume_and_healthcheck():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert stages and all(image.startswith("python:3.11-slim") for image in stages)
    final = DOCKERFILE.split("\nFROM ")[-1]
    users = re.findall(r"^USER (\S+)", final, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'VOLUME ["/data"]' in final
    assert re.search(r"^HEALTHCHECK .*bot\.healthcheck", final, re.M)
    assert "COPY docker/defaults.env /etc/dreambot/defaults.env" in final  # its /data paths (test_docker_env.py)


def test_no_secret_is_baked_into_the_image():
    for line in DOCKERFILE.splitlines():
        if line.startswith(("ENV", "ARG")) or line.startswith(" "):
            assert not re.search(r"TOKEN|AIMLAPI_KEY|SECRET|PASSWORD", line), line
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored


def test_compose_uses_the_env_file_and_a_volume():
    compose = (ROOT / "compose.yaml").read_text()
    assert "env_file: .env" in compose and "/data" in compose and "restart: unless-stopped" in compose


def dependency_paths() -> list[str]:
    """Where this interpreter finds its packages: the site-packages of the virtualenv it runs in
    (and the base's too if that one sees them), or the base's, plus the user site when enabled."""
    paths = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    paths += [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return [path for path in dict.fromkeys(paths) if os.path.isdir(path)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Replays the Dockerfile's two stages: `pip wheel .`, then install the wheel into a clean env.
    Dependencies come from this interpreter's site-packages (no network needed); the project
    itself only from the wheel, so missing package data would show.

    Not `venv --system-site-packages`: started from a virtualenv, that shares the base
    interpreter's packages, not the virtualenv's. A .pth file lists this interpreter's package
    directories instead (after the env's own, so the wheel comes first); it is written after the
    install, so pip never sees, nor touches, the project installed out there."""
    work = tmp_path_factory.mktemp("image")
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--wheel-dir", str(wheels), str(ROOT)],
                   check=True, cwd=work)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next(wheels.glob("dreambot-*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, cwd=work)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "_outer_dependencies.pth").write_text("".join(f"{path}\n" for path in dependency_paths()))
    return python


def run(python: Path, *args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess:
    # Nothing of this run's interpreter may decide what the installed one imports.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AIMLAPI_", "HEARTBEAT"))
             and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    clean.update(env or {})
    return subprocess.run([str(python), *args], capture_output=True, text=True, timeout=60, env=clean, cwd=cwd)


def test_the_installed_wheel_is_what_runs(installed, tmp_path):
    found = run(installed, "-c", "import bot, storage, cogs; print(bot.__file__)", cwd=tmp_path)
    assert str(installed.parent.parent) in found.stdout, found.stdout + found.stderr


def test_start_without_token_names_the_setting(installed, tmp_path):
    result = run(installed, "-m", "bot", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "DISCORD_TOKEN is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_healthcheck_reads_the_heartbeat(installed, tmp_path):
    beat = tmp_path / "heartbeat"
    assert run(installed, "-m", "bot.healthcheck", env={"HEARTBEAT_PATH": str(beat)}, cwd=tmp_path).returncode == 1
    beat.write_text("1\n")
    assert run(installed, "-m", "bot.healthcheck", env={"HEARTBEAT_PATH": str(beat)}, cwd=tmp_path).returncode == 0
    old = time.time() - 600
    os.utime(beat, (old, old))
    assert run(installed, "-m", "bot.healthcheck", env={"HEARTBEAT_PATH": str(beat)}, cwd=tmp_path).returncode == 1


def test_packaged_migrations_and_simulator_schemas_work(installed, tmp_path):
    script = (
        "import asyncio, storage\n"
        "from bot.simulator import schemas\n"
        "async def main():\n"
        "    store = await storage.Store.open('db/x.sqlite3')\n"
        "    print(await store.schema_version(), storage.LATEST_VERSION)\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
    )
    result = run(installed, "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    version, latest = result.stdout.split()
    assert version == latest
    simulator = subprocess.Popen([str(installed), "-m", "bot.simulator", "--port", "0"], stdout=subprocess.PIPE,
                                 text=True, cwd=tmp_path)
    try:
        line = simulator.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("Simulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        request = urllib.request.Request(
            f"{url}/v2/video/generations", method="POST",
            data=json.dumps({"model": "luma/ray-2", "prompt": "packaged", "aspect_ratio": "19:9"}).encode(),
            headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as rejected:  # the packaged schema is loaded and enforced
            urllib.request.urlopen(request, timeout=10)
        assert rejected.value.code == 400
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
