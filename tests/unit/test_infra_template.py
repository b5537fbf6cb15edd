"""What infra/template.json promises (infra/README.md): access logs that carry no phone number,
an encrypted staff topic, point-in-time recovery where a member's state lives, and stream mappings
that only wake a function for the records it acts on (checked against the sample events)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = json.loads((ROOT / "infra" / "template.json").read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
EVENTS = ROOT / "events"

# $context variables an access log line may hold: none carries a path's values (a member id may
# be a phone number, a webhook path holds its secret token), a query string, a body, a header, an
# IP address or a user agent (a tracked-link click comes from a member's own phone).
ALLOWED_LOG_VARIABLES = {
    "$context.requestId",
    "$context.extendedRequestId",
    "$context.requestTime",
    "$context.requestTimeEpoch",
    "$context.httpMethod",
    "$context.resourcePath",  # the route template: /v1/members/{member_id}
    "$context.status",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integration.status",
    "$context.integration.latency",
    "$context.error.responseType",
    "$context.protocol",
    "$context.stage",
}


def access_log_format() -> str:
    setting = RESOURCES["RestAPI"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    return str(setting["Format"])


def test_the_access_log_is_one_json_object_per_request_with_the_route_not_the_path() -> None:
    fields = json.loads(access_log_format())

    assert fields["route"] == "$context.resourcePath"
    assert {"requestId", "status", "method", "latencyMs"} <= set(fields)


def test_the_access_log_holds_no_variable_that_could_carry_a_phone_number() -> None:
    variables = set(re.findall(r"\$[A-Za-z]+(?:\.[A-Za-z0-9_]+)*", access_log_format()))

    assert variables, "no variables found: the format changed shape"
    assert variables <= ALLOWED_LOG_VARIABLES, f"not allowed in the access log: {variables - ALLOWED_LOG_VARIABLES}"
    for risky in ("$context.path", "$input", "$method.request", "querystring", "sourceIp", "userAgent"):
        assert risky not in access_log_format()


def test_execution_logging_which_would_log_full_requests_stays_off() -> None:
    props = RESOURCES["RestAPI"]["Properties"]
    for setting in props.get("MethodSettings", []):
        assert not setting.get("DataTraceEnabled") and setting.get("LoggingLevel", "OFF") == "OFF"


def test_api_gateway_may_write_the_access_log() -> None:
    assert RESOURCES["RestAPI"]["DependsOn"] == "ApiGatewayAccount"
    account = RESOURCES["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}
    role = RESOURCES["ApiGatewayLoggingRole"]
    # the account-wide setting outlives this stack: so does the role it names
    assert role["DeletionPolicy"] == role["UpdateReplacePolicy"] == "Retain"
    assert RESOURCES["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "ApiAccessLogRetentionDays"}


def test_the_staff_topic_is_encrypted() -> None:
    assert RESOURCES["StaffTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"


# Where a member's state lives (infra/README.md says why for each): these can be restored to any
# second of the last 35 days. Cursors (derived, re-read from the provider) and the sandbox's outbox
# are not.
POINT_IN_TIME_RECOVERY = {
    "MembersTable",
    "ActivityTable",
    "MessagesTable",
    "ProductsTable",
    "TimersTable",
    "AudienceTable",
    "CountersTable",
    "ApiKeysTable",
    "InboundTable",
    "HandoffsTable",
    "LinksTable",
    "ActivitiesTable",
    "CampaignsTable",
}


def test_point_in_time_recovery_is_on_exactly_where_a_members_state_lives() -> None:
    tables = {k: r for k, r in RESOURCES.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    recovering = {
        k
        for k, r in tables.items()
        if r["Properties"].get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True
    }

    assert recovering == POINT_IN_TIME_RECOVERY
    assert set(tables) - recovering == {"CursorsTable", "OutboxTable"}
    readme = (ROOT / "infra" / "README.md").read_text(encoding="utf-8")
    for table in tables:
        assert f"`{table}`" in readme  # each decision is written down


# -- event source filters ---------------------------------------------------------------------------


def stream_filter(function: str) -> EventPattern:
    events = RESOURCES[function]["Properties"]["Events"]
    [source] = events.values()
    [only] = source["Properties"]["FilterCriteria"]["Filters"]
    return EventPattern.load(only["Pattern"])


def record(sample: str, **changes: Any) -> dict[str, Any]:
    [rec] = json.loads((EVENTS / sample).read_text(encoding="utf-8"))["Records"]
    rec = copy.deepcopy(rec)
    if "eventName" in changes:
        rec["eventName"] = changes["eventName"]
        if changes["eventName"] == "REMOVE":
            rec["dynamodb"]["OldImage"] = rec["dynamodb"].pop("NewImage")
        elif changes["eventName"] == "MODIFY":
            rec["dynamodb"]["OldImage"] = copy.deepcopy(rec["dynamodb"]["NewImage"])
    if "kind" in changes:
        rec["dynamodb"]["NewImage"]["kind"] = {"S": changes["kind"]}
    return rec


@pytest.mark.parametrize(
    ("function", "sample", "changes", "wakes"),
    [
        ("OnActivityChange", "order_insert.json", {}, True),
        ("OnActivityChange", "points_insert.json", {}, True),
        ("OnActivityChange", "order_insert.json", {"kind": "coupon"}, True),
        ("OnActivityChange", "order_insert.json", {"kind": "chat"}, False),  # a member's reply kept as history
        ("OnActivityChange", "order_insert.json", {"eventName": "MODIFY"}, False),
        ("OnActivityChange", "order_insert.json", {"eventName": "REMOVE"}, False),
        ("OnMemberChange", "member_insert.json", {}, True),
        ("OnMemberChange", "member_modify_tier.json", {}, True),
        ("OnMemberChange", "member_insert.json", {"eventName": "REMOVE"}, False),
        ("OnProductChange", "product_insert.json", {}, True),
        ("OnProductChange", "product_insert.json", {"eventName": "MODIFY"}, True),
        ("OnProductChange", "product_insert.json", {"eventName": "REMOVE"}, False),
        ("OnActivitiesChange", "registration_insert.json", {}, True),
        ("OnActivitiesChange", "registration_insert.json", {"eventName": "MODIFY"}, True),  # promoted, cancelled …
        ("OnActivitiesChange", "registration_insert.json", {"eventName": "REMOVE"}, False),
        ("OnMessageChange", "product_insert.json", {}, True),  # any message written or changed
        ("OnMessageChange", "product_insert.json", {"eventName": "MODIFY"}, True),
        ("OnMessageChange", "product_insert.json", {"eventName": "REMOVE"}, False),  # an erasure
    ],
)
def test_a_stream_wakes_its_function_only_for_records_it_acts_on(
    function: str, sample: str, changes: dict[str, str], wakes: bool
) -> None:
    assert stream_filter(function).matches_event(record(sample, **changes)) is wakes


def _api_may(action: str) -> list[Any]:
    statements = RESOURCES["ApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    resources: list[Any] = []
    for statement in statements:
        if action in statement["Action"]:
            found = statement["Resource"]
            resources += found if isinstance(found, list) else [found]
    return resources


def test_the_api_may_query_the_indexes_the_console_reads() -> None:
    # The message log (by_day), finding a member by phone (by_phone), handoff tickets (by_status).
    queries = _api_may("dynamodb:Query")
    assert {"Fn::Sub": "${MessagesTable.Arn}/index/*"} in queries
    assert {"Fn::Sub": "${MembersTable.Arn}/index/by_phone"} in queries
    assert {"Fn::Sub": "${HandoffsTable.Arn}/index/by_status"} in queries


def test_the_message_log_index_files_messages_by_day_in_creation_order() -> None:
    props = RESOURCES["MessagesTable"]["Properties"]
    [index] = [i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] == "by_day"]
    assert index["KeySchema"] == [
        {"AttributeName": "log_day", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "log_day", "AttributeType": "S"} in props["AttributeDefinitions"]


def _listed(resource: Any) -> list[Any]:
    return resource if isinstance(resource, list) else [resource]


def test_the_erasure_may_give_up_and_delete_a_members_places_on_the_activities_table_and_no_more() -> None:
    # Gives up a place as a cancellation (reads, a transaction of updates and puts), deletes the
    # member's registrations and invitations found through ``by_member``; never scans.
    statements = RESOURCES["ErasureRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    table = {"Fn::GetAtt": ["ActivitiesTable", "Arn"]}
    index = {"Fn::Sub": "${ActivitiesTable.Arn}/index/by_member"}
    on_table = {a for s in statements if table in _listed(s["Resource"]) for a in s["Action"]}
    on_index = {a for s in statements if index in _listed(s["Resource"]) for a in s["Action"]}
    assert on_table == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert on_index == {"dynamodb:Query"}
    assert not any("ActivitiesTable.Arn}/index/*" in json.dumps(s["Resource"]) for s in statements)
