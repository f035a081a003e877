"""LocalStack READY hook: create the sqs-envelope demo resources (idempotent).

Creates, if missing:
  * SQS queue  sqs-envelope-demo-dlq
  * SQS queue  sqs-envelope-demo   (RedrivePolicy -> the DLQ, maxReceiveCount 5)
  * KMS key    SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT with alias alias/sqs-envelope-demo
               (created only when the alias does not exist yet)

LocalStack runs ``.py`` hooks with ``exec`` inside its own Python process, in host
mode and in the container alike, so the gateway address is taken from LocalStack's
own config. Run on its own (``python 10-demo-resources.py``) the hook talks to
``AWS_ENDPOINT_URL`` (default http://127.0.0.1:4566).
"""

import json
import os

import boto3

REGION = "us-east-1"
QUEUE_NAME = "sqs-envelope-demo"
DLQ_NAME = "sqs-envelope-demo-dlq"
MAX_RECEIVE_COUNT = 5
KEY_ALIAS = "alias/sqs-envelope-demo"


def _endpoint():
    # LocalStack exec()s hooks with empty globals, so there __name__ falls back to "builtins"
    if __name__ == "__main__":
        return os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"
    from localstack import config

    listen = config.GATEWAY_LISTEN[0]
    host = listen.host
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"  # container mode: the gateway listens on all interfaces
    elif ":" in host:
        host = f"[{host}]"
    return config.internal_service_url(host=host, port=listen.port)


def _client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _ensure_queues(sqs):
    dlq_url = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)})
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"RedrivePolicy": redrive})
    return queue_url, dlq_url


def _find_alias(kms):
    for page in kms.get_paginator("list_aliases").paginate():
        for alias in page.get("Aliases", []):
            if alias.get("AliasName") == KEY_ALIAS and alias.get("TargetKeyId"):
                return alias["TargetKeyId"]
    return None


def _ensure_key(kms):
    key_id = _find_alias(kms)
    if key_id:
        return key_id, False
    key_id = kms.create_key(
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
        Description="sqs-envelope demo key",
    )["KeyMetadata"]["KeyId"]
    try:
        kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key_id)
    except kms.exceptions.AlreadyExistsException:
        # another run won the race: keep its key, retire ours
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        return _find_alias(kms), False
    return key_id, True


def main():
    endpoint = _endpoint()
    queue_url, dlq_url = _ensure_queues(_client("sqs", endpoint))
    key_id, created = _ensure_key(_client("kms", endpoint))
    print(
        f"[sqs-envelope init] endpoint={endpoint} queue={queue_url} dlq={dlq_url} "
        f"key={key_id} alias={KEY_ALIAS} ({'created' if created else 'existing'})",
        flush=True,
    )


# No ``if __name__ == "__main__"`` guard: LocalStack exec()s this file with empty globals.
main()
