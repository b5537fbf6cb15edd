"""boto3 sessions for the CLI, with one-line explanations for the usual failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from .project import LOCAL_ACCOUNT_KEYS, CliError, region

T = TypeVar("T")


class Aws:
    """Clients for one account/region, or for the local stack when ``endpoint_url`` is set."""

    def __init__(self, endpoint_url: str | None = None, region_name: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.region = region_name or region()
        kwargs: dict[str, Any] = {"region_name": self.region}
        if endpoint_url:
            # The local stack accepts any credentials; never send real ones to it.
            kwargs.update(
                aws_access_key_id=LOCAL_ACCOUNT_KEYS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_ACCOUNT_KEYS["AWS_SECRET_ACCESS_KEY"],
            )
        self.session = boto3.Session(**kwargs)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=300)
            self._clients[service] = self.session.client(  # type: ignore[call-overload]
                service, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[service]


def explained(call: Callable[[], T], endpoint_url: str | None = None) -> T:
    """Run ``call``, turning credential/endpoint/permission failures into a one-line CliError."""
    try:
        return call()
    except (NoCredentialsError, PartialCredentialsError):
        raise CliError(
            "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "(or pass --endpoint-url for the local stack)"
        ) from None
    except NoRegionError:
        raise CliError("no AWS region: set AWS_REGION (e.g. ap-southeast-1)") from None
    except EndpointConnectionError as exc:
        where = endpoint_url or str(exc)
        raise CliError(f"cannot reach {where}: is the local stack up? (`make up`)") from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise CliError(f"AWS said {err.get('Code', '?')}: {err.get('Message', '')}") from None
