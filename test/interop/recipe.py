"""The original Python recipe (boto3 + cryptography.fernet), as a service would run it.

One data key per message: GenerateDataKey, Fernet-encrypt with its plaintext,
send {"encrypted_data_key", "encrypted_message"}; on receipt, KMS Decrypt the
data key and Fernet-decrypt. sqs-envelope must interoperate with it both ways.

    python recipe.py send    --endpoint URL --queue-url URL --key-id KEY  < plaintext
    python recipe.py receive --endpoint URL --queue-url URL [--count N]    > JSON lines
"""

import argparse
import base64
import json
import sys

import boto3
from cryptography.fernet import Fernet


def clients(endpoint, region):
    common = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("kms", **common), boto3.client("sqs", **common)


def send(args):
    kms, sqs = clients(args.endpoint, args.region)
    plaintext = sys.stdin.buffer.read()
    data_key = kms.generate_data_key(KeyId=args.key_id, KeySpec="AES_256")
    fernet_key = base64.urlsafe_b64encode(data_key["Plaintext"])
    token = Fernet(fernet_key).encrypt(plaintext)
    body = json.dumps(
        {
            "encrypted_data_key": base64.urlsafe_b64encode(data_key["CiphertextBlob"]).decode(),
            "encrypted_message": token.decode(),
        }
    )
    sqs.send_message(QueueUrl=args.queue_url, MessageBody=body)
    print(json.dumps({"body": body}))


def receive(args):
    kms, sqs = clients(args.endpoint, args.region)
    got = 0
    for _ in range(20):
        if got >= args.count:
            break
        resp = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        for message in resp.get("Messages", []):
            envelope = json.loads(message["Body"])
            data_key = kms.decrypt(CiphertextBlob=base64.urlsafe_b64decode(envelope["encrypted_data_key"]))
            fernet_key = base64.urlsafe_b64encode(data_key["Plaintext"])
            plaintext = Fernet(fernet_key).decrypt(envelope["encrypted_message"].encode())
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
            print(json.dumps({"plaintext_b64": base64.b64encode(plaintext).decode(), "key_arn": data_key["KeyId"]}))
            got += 1
    return 0 if got >= args.count else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["send", "receive"])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--key-id")
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    if args.command == "send":
        send(args)
        return 0
    return receive(args)


if __name__ == "__main__":
    sys.exit(main())
