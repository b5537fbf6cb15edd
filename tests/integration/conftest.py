"""Integration fixtures: the real adapters and handlers against moto (``mock_aws``).

Every test gets a fresh, empty account with the tables and queues of ``infra/template.json``
(same key schemas, the ``by_member`` GSI, streams on members and activity, TTL on idempotency),
a Secrets Manager secret with the webhook token, and nothing cached from an earlier test.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TEMPLATE = ROOT / "infra" / "template.json"

# app.py lives at the repository root, which is not on sys.path under the pytest entry point.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# PynamoDB models read their table names when chalicelib.adapters.models is first imported, so the
# environment is settled here, before anything imports chalicelib. The names are the defaults of
# chalicelib/settings.py: setting them changes nothing for tests that rely on those defaults.
TABLE_ENV = {
    "MEMBERS_TABLE": "memberpulse-members",
    "ACTIVITY_TABLE": "memberpulse-activity",
    "MESSAGES_TABLE": "memberpulse-messages",
    "PRODUCTS_TABLE": "memberpulse-products",
    "API_KEYS_TABLE": "memberpulse-api-keys",
    "OUTBOX_TABLE": "memberpulse-outbox",
}
os.environ.update(TABLE_ENV)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "memberpulse")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MemberPulse")

from moto import mock_aws  # noqa: E402

REGION = "us-east-1"
WEBHOOK_TOKEN = "it-sandbox-token-3f9a1c"
SECRETS_NAME = "memberpulse/it/secrets"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of one of the real-shaped sample events in events/."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def _template() -> tuple[dict[str, Any], dict[str, str]]:
    """(resources, logical id → the environment variable the template sets to its Ref)."""
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    env_of = {v["Ref"]: k for k, v in variables.items() if isinstance(v, dict) and "Ref" in v}
    return template["Resources"], env_of


def _template_tables() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every DynamoDB table of infra/template.json: logical id → (table name here, properties).

    The name is the one the functions would read from the environment variable that the template
    sets to ``{"Ref": <logical id>}`` (via chalicelib.settings, so the defaults apply)."""
    from chalicelib.settings import get_settings

    resources, env_of = _template()
    settings = get_settings()
    tables = {}
    for logical, resource in resources.items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        var = env_of.get(logical)
        name = getattr(settings, var.lower(), None) if var else None
        name = name or os.environ.get(var or "") or f"memberpulse-it-{logical}"
        tables[logical] = (name, resource["Properties"])
    return tables


def _models() -> list[Any]:
    from pynamodb.models import Model

    from chalicelib.adapters import models

    return [
        obj
        for obj in vars(models).values()
        if isinstance(obj, type) and issubclass(obj, Model) and obj is not Model and hasattr(obj.Meta, "table_name")
    ]


def _forget_cached_clients() -> None:
    """Drop every client and cached value built by an earlier test (or before moto started)."""
    from aws_lambda_powertools.utilities import parameters

    from chalicelib import bootstrap
    from chalicelib.handlers import http

    bootstrap.reset()

    parameters.clear_caches()
    http._KEY_CACHE.clear()
    for model in _models():
        if _points_elsewhere(model):
            model._connection = None


def _points_elsewhere(model: Any) -> bool:
    """True when a model's cached PynamoDB client was built for another endpoint or region (e.g. by a
    test against a local stack), where moto would not see its calls. A client built for AWS in our
    region is kept: moto intercepts it, and building a new one per test costs a botocore session."""
    table_connection = model._connection
    client = getattr(getattr(table_connection, "connection", None), "_client", None)
    if table_connection is None or client is None:
        return table_connection is not None
    return client.meta.region_name != REGION or not client.meta.endpoint_url.endswith(".amazonaws.com")


class FakeLambdaContext:
    function_name = "memberpulse-it"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:memberpulse-it"
    log_group_name = "/aws/lambda/memberpulse-it"
    log_stream_name = "2026/11/22/[$LATEST]it"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class AwsStack:
    """The moto account of one test, with a few helpers to look inside it."""

    dynamodb: Any
    sqs: Any
    secrets: Any
    tables: dict[str, str]
    queues: dict[str, str]
    webhook_token: str = WEBHOOK_TOKEN

    @property
    def queue_url(self) -> str:
        """The send queue (SEND_QUEUE_URL)."""
        return self.queues["SendQueue"]

    def scan(self, logical: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.tables[logical], "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def dedupe_rows(self) -> list[dict[str, Any]]:
        """The inbound table's dedupe rows (one per event), without the kept records beside them."""
        return [r for r in self.scan("InboundTable") if not r["event_key"]["S"].endswith("#record")]

    def put_image(self, logical: str, image: dict[str, Any]) -> None:
        """Write a raw DynamoDB-JSON item (e.g. a stream record's NewImage)."""
        self.dynamodb.put_item(TableName=self.tables[logical], Item=image)

    def drain_queue(self, url: str | None = None) -> list[dict[str, Any]]:
        """Receive (and delete) everything now on the queue; returns the SQS messages."""
        url = url or self.queue_url
        out: list[dict[str, Any]] = []
        while True:
            page = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            )
            messages = page.get("Messages", [])
            if not messages:
                return out
            out.extend(messages)
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def sqs_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """An SQS → Lambda event shaped like events/sqs_send_batch.json, from received SQS messages."""
        template = load_event("sqs_send_batch.json")["Records"][0]
        records = []
        for m in messages:
            record = copy.deepcopy(template)
            record["messageId"] = m["MessageId"]
            record["receiptHandle"] = m["ReceiptHandle"]
            record["body"] = m["Body"]
            record["md5OfBody"] = m["MD5OfBody"]
            record["attributes"].update(m.get("Attributes") or {})
            record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:123456789012:memberpulse-it-send"
            record["awsRegion"] = REGION
            records.append(record)
        return {"Records": records}


def _create_tables(dynamodb: Any) -> dict[str, str]:
    """The template's tables as the template declares them; then, for any model whose table the
    template does not declare (yet), the table as the model declares it. Returns logical id → name."""
    names: dict[str, str] = {}
    for logical, (name, props) in _template_tables().items():
        kwargs: dict[str, Any] = {
            "TableName": name,
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in props:
                kwargs[key] = props[key]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        dynamodb.create_table(**kwargs)
        if props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        names[logical] = name
    for model in _models():
        if model.Meta.table_name not in names.values():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
            names[model.__name__] = model.Meta.table_name
    return names


def _parameter_default(value: Any) -> Any:
    """A template value, with ``{"Ref": <parameter>}`` replaced by that parameter's default."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        template = json.loads((ROOT / "infra" / "template.json").read_text())
        return template["Parameters"][value["Ref"]]["Default"]
    return value


def _create_queues(sqs: Any) -> dict[str, tuple[str | None, str]]:
    """Every SQS queue of the template (dead-letter queues first, redrive policies resolved).
    Returns logical id → (environment variable naming it, or None; queue URL)."""
    resources, env_of = _template()
    specs = {k: r.get("Properties", {}) for k, r in resources.items() if r.get("Type") == "AWS::SQS::Queue"}
    created: dict[str, tuple[str | None, str]] = {}
    arns: dict[str, str] = {}

    def create(logical: str) -> None:
        if logical in created:
            return
        props = specs[logical]
        attributes = {
            k: str(_parameter_default(props[k])) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props
        }
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            create(target)
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[target], "maxReceiveCount": redrive["maxReceiveCount"]}
            )
        url = sqs.create_queue(QueueName=f"memberpulse-it-{logical}", Attributes=attributes)["QueueUrl"]
        arns[logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[logical] = (env_of.get(logical), url)

    for logical in specs:
        create(logical)
    return created


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_loader() -> Iterator[None]:
    """Speed only: moto drops boto3's default session at every start, and Powertools builds its own
    sessions, so each test would parse botocore's service-model JSON again (~0.1 s per client).
    Every botocore session made during these tests shares one loader (and its cache) instead."""
    import botocore.loaders
    import botocore.session

    loaders: dict[Any, Any] = {}
    real = botocore.loaders.create_loader

    def shared_loader(search_path_string: Any = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = real(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.session, "create_loader", shared_loader)
        yield


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    """A fresh moto account per test, with the stack's tables, queues and secret."""
    import boto3

    for var in list(os.environ):
        if var.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(var)
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "POWERTOOLS_IDEMPOTENCY_DISABLED", "SMS_PROVIDER", "IM_PROVIDER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name, value in TABLE_ENV.items():
        monkeypatch.setenv(name, value)

    with mock_aws():
        _forget_cached_clients()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        secrets = boto3.client("secretsmanager", region_name=REGION)

        from chalicelib.settings import get_settings

        get_settings.cache_clear()
        names = _create_tables(dynamodb)

        queues = _create_queues(sqs)
        for var, url in queues.values():
            if var:
                monkeypatch.setenv(var, url)
        secrets.create_secret(Name=SECRETS_NAME, SecretString=json.dumps({"webhook_token_sandbox": WEBHOOK_TOKEN}))

        monkeypatch.setenv("SECRETS_ID", SECRETS_NAME)
        _forget_cached_clients()
        try:
            yield AwsStack(dynamodb, sqs, secrets, names, {k: url for k, (_, url) in queues.items()})
        finally:
            _forget_cached_clients()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


# Noon in Shanghai (04:00 UTC) on the day of the sample events: inside every member's quiet-hours
# window, so sends are not deferred by the hour at which the suite happens to run. Quiet hours have
# their own tests that move this clock.
SENDER_NOON = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def sender_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.handlers import sender

    monkeypatch.setattr(sender, "clock", lambda: SENDER_NOON)


@pytest.fixture(autouse=True)
def timer_write_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timers are written when their records are handled: at the records' own (logical) times, never
    behind the wall clock of the machine running the suite (see DynamoTimerStore)."""
    from chalicelib.adapters import timer_store

    monkeypatch.setattr(timer_store, "clock", lambda: datetime(1970, 1, 1, tzinfo=UTC))


def app_with(**adapters: Any) -> Any:
    """Install (``bootstrap.use``) an app on the real adapters (moto) with some replaced: a named
    port by an object (``providers={…}``), ``secrets`` by a callable. The ``aws`` fixture forgets it."""
    from chalicelib import bootstrap
    from chalicelib.settings import get_settings

    real = bootstrap.AwsAdapters(get_settings())
    for name, value in adapters.items():
        setattr(real, name, value)
    app = bootstrap.bootstrap(adapters=real)
    bootstrap.use(app)
    return app
