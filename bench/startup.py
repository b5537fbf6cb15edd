"""Lambda start-up cost, per deployed function: the imports of its first invocation — ``app.py``, its
handler module, and every module its services and adapters load when the first event is handled —
as a ratio to ``import boto3`` (goal ≤ 1.5), each in a fresh interpreter, medians of several runs
interleaved in one session.

The ratio is of CPU time (``time.process_time``, user + system) in the fresh interpreter: importing is
CPU work once the files are in the page cache, and on a shared machine wall time mostly measures the
neighbours (it is printed beside it). The interpreter's environment is Lambda's as far as imports
care: ``TZ=:UTC`` as the runtime sets it (Babel, under python-liquid, looks the local zone up when
imported), ``AWS_EXECUTION_ENV`` (in a Lambda container ``app.py`` holds the garbage collector
until the first event is handled: ``chalicelib/handlers/collector.py``), the region, no
credentials. ``import boto3`` runs in the same environment, with the collector as Python leaves it.

What a first invocation imports is made to happen without AWS: the function's services are built
through ``bootstrap`` over the real adapters (which imports them) with the AWS clients and the secret
stubbed out; what is loaded only while the event is handled is made to happen explicitly: a message
rendered from a rule's template (the template engine, the template compiled), a member's phone number
parsed (phonenumbers), an SMS's parts counted, an SQS batch's records wrapped, a timer's rule applied,
the keyword book of an inbound reply. The code run is the package's: app.py and chalicelib copied
as ``memberpulse package`` ships them (``packaging.copy_project_files``: rules.toml checked in full
there, and stamped). Loading the rule book (parsing rules.toml; in full, also compiling and
length-checking every template) is timed on its own lines, imports excluded."""

from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
GOAL = 1.5

_PRELUDE = (
    "from chalicelib import bootstrap as b; "
    "b._clients.update(sqs=object(), sns=object()); "  # no client objects: their creation is not import
    "a = b.app(); a.adapters.secrets = lambda: {}; "
)

# A message planned: one rule's template rendered with typical values (what the first event renders).
_RENDER = (
    "from chalicelib.domain.rendering import render; from chalicelib.domain.rulebook import sample_variables; "
    "render(a.book.rules['welcome'].template_for('zh-CN'), sample_variables(a.book.store))"
)

# A member's number parsed and checked (a member written, an SMS planned or sent, a reply received).
_PHONE = "from chalicelib.domain.phones import sms_capable, to_e164; sms_capable(to_e164('138 0013 8000', 'CN')); "

# An SMS's billed parts counted (every provider does, as it sends).
_PARTS = "from chalicelib.domain.sms_parts import parts_to; parts_to('+8613800138000', '您好', '【乐乐玩具】'); "

# An SQS batch handled: its records wrapped in Powertools' data class (the timer handler loads it then).
_SQS_BATCH = (
    "from chalicelib.handlers.partial_batch import sqs_batch; "
    "sqs_batch({'Records': [{'messageId': 'm-1', 'body': '{}'}]}, lambda record: None); "
)

# The rule table applied (a timer fired is checked by its rule; the timer service loads the table then).
_RULES = "import chalicelib.domain.scheduling; "

# function (template resource) → what its first event makes happen
FUNCTIONS = {
    "APIHandler": "import app, chalicelib.handlers.http; " + _PRELUDE + "a.members; a.adapters.api_keys; " + _PHONE,
    "OnMemberChange": "import app, chalicelib.handlers.streams; " + _PRELUDE + "a.engine; " + _PHONE + _RENDER,
    "OnActivityChange": "import app, chalicelib.handlers.streams; " + _PRELUDE + "a.engine; " + _PHONE + _RENDER,
    "OnProductChange": "import app, chalicelib.handlers.streams; " + _PRELUDE + "a.engine",
    "FireTimers": "import app, chalicelib.handlers.schedule; "
    + _PRELUDE
    + "a.timers; "
    + _SQS_BATCH
    + _RULES
    + _PHONE
    + _RENDER,
    "OnSchedule": "import app, chalicelib.handlers.schedule; " + _PRELUDE + "a.timers",
    "Send": "import app, chalicelib.handlers.sender; "
    + _PRELUDE
    + "a.sender; a.adapters.send_retries; a.adapters.providers['sandbox']; "
    + _PHONE
    + _PARTS,
    "OnInbound": "import app, chalicelib.handlers.inbound; "
    + _PRELUDE
    + "a.inbound; import chalicelib.domain.keywords; "
    + _PHONE
    + _RENDER,
}
_RESTART = "c = time.process_time(); w = time.perf_counter(); "
CASES = {
    "import boto3": "import boto3",
    "import app": "import app",
    **{f"{name} (first invocation)": statement for name, statement in FUNCTIONS.items()},
    # What a function that renders a message cannot do without, and none of our code: pynamodb,
    # chalice and Powertools (Logger, Metrics, data classes: the design card), python-liquid (issue
    # 11), phonenumbers and regex. Not a function: the floor under the four that render.
    "floor: a rendering function's libraries alone": "import pynamodb.models, pynamodb.connection, "
    "pynamodb.transactions, chalice.app; from aws_lambda_powertools import Logger, Metrics; "
    "import aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event; "
    "import liquid, phonenumbers, regex, tomllib",
    # imports first, then the clocks restart for the load alone
    "rule book load, packaged (not import)": "from chalicelib.domain.rulebook import load_rule_book; "
    + _RESTART
    + "load_rule_book()",
    "rule book load, checked in full (not import)": "import liquid; "
    "from chalicelib.domain.rulebook import RULES_FILE, parse_rule_book; "
    "text = RULES_FILE.read_text(encoding='utf-8'); " + _RESTART + "parse_rule_book(text)",
}


def _seconds(statement: str, project: Path) -> tuple[float, float]:
    """(CPU, wall) seconds spent, measured inside a fresh interpreter (interpreter start-up excluded)."""
    code = f"import time; {_RESTART}{statement.rstrip('; ')}; print(time.process_time() - c, time.perf_counter() - w)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TZ": ":UTC",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "PYTHONPATH": str(project),
        },
    )
    cpu, wall = out.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


def run() -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from memberpulse_cli.packaging import copy_project_files

    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory(prefix="memberpulse-startup-") as tmp:
        project = Path(tmp)
        copy_project_files(project)
        compileall.compile_dir(project, quiet=1)  # byte-compiled once, as in a warm checkout
        for _ in range(RUNS):  # interleaved, so drift on a noisy machine hits every case alike
            for name, statement in CASES.items():
                samples[name].append(_seconds(statement, project))
    cpu = {name: statistics.median(c for c, _ in values) for name, values in samples.items()}
    wall = {name: statistics.median(w for _, w in values) for name, values in samples.items()}
    print(f"Start-up cost (medians of {RUNS} fresh interpreters; ratios to `import boto3` in this run)")
    print(f"  {'':<48}{'CPU':>9}  {'ratio':>5}{'':13}{'wall':>10}  {'ratio':>5}")
    results: dict[str, float] = {}
    for name in CASES:
        ratio = cpu[name] / cpu["import boto3"]
        results[name] = ratio
        goal = f" (goal ≤ {GOAL})" if name.endswith("(first invocation)") or name == "import app" else " " * 13
        wall_ratio = wall[name] / wall["import boto3"]
        print(
            f"  {name:<48}{cpu[name] * 1000:6.1f} ms  {ratio:5.2f}{goal}{wall[name] * 1000:7.1f} ms  {wall_ratio:5.2f}"
        )
    missed = [function for function in FUNCTIONS if results[f"{function} (first invocation)"] > GOAL]
    goal = f"every function's first invocation ≤ {GOAL} × import boto3"
    print(f"Goal NOT met in this run ({goal}): {', '.join(missed)}" if missed else f"Goal met in this run: {goal}")
    return results


if __name__ == "__main__":
    run()
