"""What a deployed stack holds (functions, tables, queues, API), and ``.local/stack.json`` (CONTRACT §2)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aws import Aws
from .project import LOCAL, CliError

STACK_FILE = LOCAL / "stack.json"


def _snake(logical_id: str, suffix: str) -> str:
    base = logical_id.removesuffix(suffix)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


@dataclass
class StackInfo:
    stack_name: str
    region: str
    endpoint_url: str | None
    rest_api_id: str | None
    functions: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        if not self.rest_api_id:
            raise CliError(f"stack {self.stack_name} has no REST API")
        if self.endpoint_url:
            return f"{self.endpoint_url}/_aws/execute-api/{self.rest_api_id}/api"
        return f"https://{self.rest_api_id}.execute-api.{self.region}.amazonaws.com/api"


_QUEUE_NAMES = {
    "SendQueue": "send",
    "SendDeadLetterQueue": "send_dlq",
    "TimerQueue": "timers",
    "TimerDeadLetterQueue": "timers_dlq",
    "StreamFailureQueue": "stream_failures",
    "InboundQueue": "inbound",
    "InboundDeadLetterQueue": "inbound_dlq",
    "CampaignQueue": "campaigns",
    "CampaignDeadLetterQueue": "campaigns_dlq",
    "ErasureQueue": "erasure",
    "ErasureDeadLetterQueue": "erasure_dlq",
}


def describe(aws: Aws, name: str) -> StackInfo:
    cfn = aws.client("cloudformation")
    resources: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StackName": name}
    while True:
        page = cfn.list_stack_resources(**kwargs)
        resources.extend(page.get("StackResourceSummaries", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    info = StackInfo(name, aws.region, aws.endpoint_url, None)
    for r in resources:
        logical, physical, kind = r["LogicalResourceId"], r.get("PhysicalResourceId", ""), r["ResourceType"]
        if kind == "AWS::Lambda::Function":
            handler = "app" if logical == "APIHandler" else _snake(logical, "")
            info.functions[handler] = physical
        elif kind == "AWS::DynamoDB::Table":
            info.tables[_snake(logical, "Table")] = physical
        elif kind == "AWS::SQS::Queue":
            info.queues[_QUEUE_NAMES.get(logical, _snake(logical, "Queue"))] = physical
        elif kind == "AWS::ApiGateway::RestApi":
            info.rest_api_id = physical
    return info


def write_stack_file(info: StackInfo, api_key: str, secrets: dict[str, str], path: Path = STACK_FILE) -> dict[str, Any]:
    api_url = info.api_url
    webhooks = {
        key.removeprefix("webhook_token_"): f"{api_url}/webhooks/{key.removeprefix('webhook_token_')}/{token}"
        for key, token in sorted(secrets.items())
        if key.startswith("webhook_token_")
    }
    data = {
        "api_url": api_url,
        "api_key": api_key,
        "endpoint_url": info.endpoint_url,
        "region": info.region,
        "stack_name": info.stack_name,
        "functions": info.functions,
        "tables": info.tables,
        "queues": info.queues,
        "webhooks": webhooks,
        "secrets": {k: v for k, v in sorted(secrets.items()) if not k.startswith("webhook_token_")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def read_stack_file(path: Path = STACK_FILE) -> dict[str, Any]:
    if not path.exists():
        raise CliError(f"{path} not found: bring the local stack up first (`make up`)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
