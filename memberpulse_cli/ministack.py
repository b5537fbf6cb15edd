"""The local stack: MiniStack in its own virtualenv on 127.0.0.1, our template deployed into it.

State lives in a directory (``.local/`` by default): ``ministack.pid``, ``ministack.log``,
``stack.json``. A second stack on another port (the end-to-end tests) uses its own directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aws import Aws, explained
from .deploy import DeployOptions, deploy, ensure_secrets
from .keys import create_key, key_is_active
from .project import LOCAL, LOCAL_API_CONCURRENCY, CliError, Progress
from .stackinfo import write_stack_file

MINISTACK_VENV = LOCAL / "ministack-venv"
LOCAL_STAGE = "dev"


_WORKER_DIR = re.compile(rb"(/[^\0 ]*/ministack-lambda-[^/\0 ]+)/")


def worker_dirs(group: int) -> set[Path]:
    """The unzipped code copies (``…/ministack-lambda-<function>-<random>``) of the Lambda workers in
    MiniStack's process group. MiniStack removes one when it retires the worker itself, but not when
    the whole group is stopped: collected before ``stop`` so they do not pile up (~155 MB each)."""
    found: set[Path] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ProcessLookupError):
            continue
        found.update(Path(m.decode()) for m in _WORKER_DIR.findall(cmdline.replace(b"\0", b" ") + b" "))
    return {d for d in found if d.is_dir()}


@dataclass
class MiniStack:
    port: int = 4566
    state_dir: Path = LOCAL

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "ministack.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "ministack.log"

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.json"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_ministack/health", timeout=2) as resp:  # noqa: S310 (http://127.0.0.1)
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError, TimeoutError):
            return False

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self, progress: Progress) -> None:
        if self.healthy():
            progress.step(f"MiniStack already up on {self.endpoint}")
            return
        binary = MINISTACK_VENV / "bin" / "ministack"
        if not binary.exists():
            raise CliError(f"{binary} missing: run `make ministack` (or `make up`)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(self.port), "LAMBDA_EXECUTOR": "local"}
        for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(var, None)
        log = self.log_file.open("ab")
        proc = subprocess.Popen(  # noqa: S603 (our own venv's binary, no arguments)
            [str(binary)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.state_dir,
        )
        self.pid_file.write_text(str(proc.pid))
        progress.step(f"MiniStack starting on {self.endpoint} (pid {proc.pid}, log {self.log_file})")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CliError(f"MiniStack exited with {proc.returncode}; see {self.log_file}")
            if self.healthy():
                progress.step("MiniStack healthy")
                return
            time.sleep(0.5)
        raise CliError(f"MiniStack did not become healthy in 60s; see {self.log_file}")

    def stop(self, progress: Progress) -> bool:
        pid = self._pid()
        if pid is None:
            progress.step("MiniStack is not running (no live pid)")
            self.pid_file.unlink(missing_ok=True)
            return False
        leftovers = worker_dirs(pid)
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True)
        progress.step(
            f"MiniStack stopped (pid {pid})" + (f"; {len(leftovers)} worker copies removed" if leftovers else "")
        )
        return True

    def reset(self, progress: Progress) -> None:
        """Empty every service of a running MiniStack (its state is in memory)."""
        req = urllib.request.Request(f"{self.endpoint}/_ministack/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(req, timeout=30):  # noqa: S310 (http://127.0.0.1)
            pass
        self.stack_file.unlink(missing_ok=True)
        progress.step("MiniStack state reset")

    def up(
        self,
        progress: Progress,
        fresh: bool = False,
        parameters: dict[str, str] | None = None,
        api_concurrency: int = LOCAL_API_CONCURRENCY,
    ) -> dict[str, Any]:
        self.start(progress)
        if fresh:
            self.reset(progress)
        info = deploy(
            DeployOptions(
                stage=LOCAL_STAGE,
                endpoint_url=self.endpoint,
                parameters={"ScheduleEnabled": "false", **(parameters or {})},
                out=self.state_dir / "build",
            ),
            progress,
        )
        aws = Aws(self.endpoint)
        self._pause_schedules(aws, info.stack_name, progress)
        self._cap_api(aws, info.functions.get("app"), api_concurrency, progress)
        secrets = explained(lambda: ensure_secrets(aws, f"memberpulse/{LOCAL_STAGE}", progress), self.endpoint)
        api_key = self._dev_key(aws, info.tables["api_keys"], progress)
        data = write_stack_file(info, api_key, secrets, self.stack_file)
        progress.step(f"wrote {self.stack_file}")
        return data

    def _pause_schedules(self, aws: Aws, stack: str, progress: Progress) -> None:
        """Locally, time is driven by `memberpulse run-schedule --at`, not the wall clock. The template
        says so (ScheduleEnabled=false → State DISABLED), but MiniStack 1.5.33 creates the rule
        ENABLED regardless: disable it through the API, which MiniStack honours."""
        events = aws.client("events")
        rules = explained(lambda: events.list_rules(NamePrefix=stack).get("Rules", []), self.endpoint)
        for rule in rules:
            if rule.get("State") != "DISABLED":
                events.disable_rule(Name=rule["Name"])
                progress.step(f"schedule {rule['Name']} paused (local time is driven by run-schedule)")

    def _cap_api(self, aws: Aws, function: str | None, concurrency: int, progress: Progress) -> None:
        """Reserve ``concurrency`` for the API function (0: none); see LOCAL_API_CONCURRENCY."""
        if not function:
            return
        client = aws.client("lambda")
        if concurrency > 0:
            client.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=concurrency)
            progress.step(f"API function: {concurrency} invocations at once (MiniStack starts a process for each)")
        else:
            client.delete_function_concurrency(FunctionName=function)

    def _dev_key(self, aws: Aws, table: str, progress: Progress) -> str:
        if self.stack_file.exists():
            old = json.loads(self.stack_file.read_text()).get("api_key")
            if old and key_is_active(aws, table, old):
                return str(old)
        key = create_key(aws, table, "dev (make up)")
        progress.step("created a dev API key")
        return key
