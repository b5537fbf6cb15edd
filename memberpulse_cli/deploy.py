"""``memberpulse deploy``: package, upload, then CloudFormation (create, or a change set when the
stack exists), the same path for real AWS and the local stack."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .aws import Aws, explained
from .packaging import package
from .project import LOCAL, CliError, Progress, stack_name
from .stackinfo import StackInfo, describe

TEMPLATE_BODY_LIMIT = 51_200
DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
DONE_BAD = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_COMPLETE",
    "DELETE_FAILED",
}
WEBHOOK_PROVIDERS = ("sandbox", "aliyun", "tencent", "twilio", "aws_sms", "agora", "wecom")


@dataclass
class DeployOptions:
    stage: str
    endpoint_url: str | None = None
    region: str | None = None
    parameters: dict[str, str] | None = None
    out: Path | None = None


def initial_secrets() -> dict[str, str]:
    """Fresh secrets for a new stage: a path token per webhook, and dev values for provider callbacks.
    Real stages replace the provider values with the ones from each provider's console."""
    values = {f"webhook_token_{p}": secrets.token_urlsafe(24) for p in WEBHOOK_PROVIDERS}
    values.update(
        {
            "twilio_auth_token": secrets.token_hex(16),
            "agora_callback_secret": secrets.token_hex(16),
            "agora_sender": "store",  # the store's own Agora Chat account: replies are addressed to it
            "wecom_token": secrets.token_urlsafe(16),
            "wecom_aes_key": secrets.token_urlsafe(43)[:43].replace("-", "A").replace("_", "B"),
            "wecom_corp_id": "ww" + secrets.token_hex(8),
            "click_signing_key": secrets.token_hex(32),
            "activity_link_key": secrets.token_hex(32),  # signs register/cancel/claim links
        }
    )
    return values


def ensure_secrets(aws: Aws, name: str, progress: Progress) -> dict[str, str]:
    """Create the stage's secret if missing; add any keys a newer version expects; never overwrite."""
    sm = aws.client("secretsmanager")
    try:
        current = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
        missing = {k: v for k, v in initial_secrets().items() if k not in current}
        if missing:
            current.update(missing)
            sm.put_secret_value(SecretId=name, SecretString=json.dumps(current))
            progress.step(f"secret {name}: added {', '.join(sorted(missing))}")
        return dict(current)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    values = initial_secrets()
    sm.create_secret(
        Name=name, SecretString=json.dumps(values), Description="MemberPulse webhook tokens and provider credentials"
    )
    progress.step(f"secret {name}: created")
    return values


def ensure_bucket(aws: Aws) -> str:
    account = aws.client("sts").get_caller_identity()["Account"]
    bucket = f"memberpulse-artifacts-{account}-{aws.region}"
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if aws.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
        s3.create_bucket(**kwargs)
    return bucket


def upload(aws: Aws, bucket: str, stack: str, zip_path: Path) -> str:
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:20]
    key = f"{stack}/deployment-{digest}.zip"
    aws.client("s3").upload_file(str(zip_path), bucket, key)
    return key


def point_code_at(template: dict[str, Any], bucket: str, key: str) -> None:
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}


def _stack_status(cfn: Any, name: str) -> str | None:
    try:
        return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _wait(cfn: Any, name: str, progress: Progress, since: float, timeout: float = 900) -> str:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            events = cfn.describe_stack_events(StackName=name).get("StackEvents", [])
        except ClientError:
            events = []
        for ev in reversed(events):
            ev_id = ev.get("EventId", "")
            stamp = ev.get("Timestamp")
            if ev_id in seen or (stamp is not None and stamp.timestamp() < since - 5):
                continue
            seen.add(ev_id)
            if ev.get("ResourceStatus", "").endswith(("COMPLETE", "FAILED")):
                reason = ev.get("ResourceStatusReason") or ""
                progress.step(f"  {ev.get('LogicalResourceId')}: {ev.get('ResourceStatus')} {reason}".rstrip())
        status = _stack_status(cfn, name) or "DELETE_COMPLETE"
        if status in DONE_OK:
            return status
        if status in DONE_BAD:
            raise CliError(f"stack {name} ended in {status}; see the events above")
        time.sleep(2)
    raise CliError(f"stack {name} did not finish in {timeout:.0f}s")


def _parameters(opts: DeployOptions, secrets_name: str) -> list[dict[str, str]]:
    params = {"Stage": opts.stage, "SecretsName": secrets_name, **(opts.parameters or {})}
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]


def deploy(opts: DeployOptions, progress: Progress) -> StackInfo:
    aws = Aws(opts.endpoint_url, opts.region)
    out = opts.out or LOCAL / "build" / opts.stage
    template_path = package(opts.stage, out, progress)

    def run() -> StackInfo:
        name = stack_name(opts.stage)
        secrets_name = f"memberpulse/{opts.stage}"
        ensure_secrets(aws, secrets_name, progress)
        bucket = ensure_bucket(aws)
        key = upload(aws, bucket, name, out / "deployment.zip")
        progress.step(f"uploaded s3://{bucket}/{key}")
        template = json.loads(template_path.read_text())
        point_code_at(template, bucket, key)
        body = json.dumps(template)
        cfn = aws.client("cloudformation")
        where: dict[str, str] = {"TemplateBody": body}
        if len(body) > TEMPLATE_BODY_LIMIT:
            tkey = f"{name}/template-{hashlib.sha256(body.encode()).hexdigest()[:20]}.json"
            aws.client("s3").put_object(Bucket=bucket, Key=tkey, Body=body.encode())
            url = f"https://{bucket}.s3.amazonaws.com/{tkey}"
            if opts.endpoint_url:
                url = f"{opts.endpoint_url}/{bucket}/{tkey}"
            where = {"TemplateURL": url}
        common = dict(
            StackName=name,
            Parameters=_parameters(opts, secrets_name),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
            **where,
        )
        started = time.time()
        status = _stack_status(cfn, name)
        if status in ("ROLLBACK_COMPLETE",):
            progress.step(f"stack {name} is {status} from an earlier failure: deleting it first")
            cfn.delete_stack(StackName=name)
            while _stack_status(cfn, name) not in (None, "DELETE_COMPLETE"):
                time.sleep(2)
            status = None
        if status is None:
            progress.step(f"creating stack {name}")
            cfn.create_stack(**common, Tags=[{"Key": "app", "Value": "memberpulse"}])
            _wait(cfn, name, progress, started)
        else:
            change_set = f"deploy-{int(started)}"
            progress.step(f"stack {name} exists ({status}): change set {change_set}")
            cfn.create_change_set(**common, ChangeSetName=change_set, ChangeSetType="UPDATE")
            if _wait_change_set(cfn, name, change_set):
                cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
                _wait(cfn, name, progress, started)
            else:
                progress.step("no changes")
        info = describe(aws, name)
        progress.step(f"stack {name} ready: {len(info.functions)} functions, {len(info.tables)} tables")
        return info

    return explained(run, opts.endpoint_url)


def _wait_change_set(cfn: Any, stack: str, change_set: str) -> bool:
    """True when the change set is ready to execute; False when it holds no changes."""
    for _ in range(300):
        desc = cfn.describe_change_set(StackName=stack, ChangeSetName=change_set)
        status = desc.get("Status")
        if status == "CREATE_COMPLETE":
            return True
        if status == "FAILED":
            reason = desc.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates" in reason:
                return False
            raise CliError(f"change set failed: {reason}")
        time.sleep(1)
    raise CliError("change set was not ready in 300s")
