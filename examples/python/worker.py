"""Consumes encrypted orders the way the original recipe does: boto3 + cryptography.fernet.

KMS Decrypt of the data key, then Fernet-decrypt, then delete. It also reads what the TypeScript
producer (examples/publisher) adds in message attributes: the encryption context, which KMS needs
back on Decrypt, and the content type. Stops after --orders jobs, or on SIGTERM / Ctrl-C after
the batch in hand.

    python worker.py --queue-url URL [--orders N] [--wait-seconds S]

AWS settings come from boto3's usual environment (AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for
LocalStack, credentials). Prints one JSON line per order handled:
{"orderId", "messageId", "keyArn"}. Exits 1 if it stopped before --orders were handled.
"""

import argparse
import base64
import json
import signal
import sys

import boto3
from cryptography.fernet import Fernet

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


def open_message(kms, message):
    envelope = json.loads(message["Body"])
    attributes = message.get("MessageAttributes", {})
    decrypt_args = {"CiphertextBlob": base64.urlsafe_b64decode(envelope["encrypted_data_key"])}
    if "SqsEnvelope.Context" in attributes:
        decrypt_args["EncryptionContext"] = json.loads(attributes["SqsEnvelope.Context"]["StringValue"])
    data_key = kms.decrypt(**decrypt_args)
    fernet_key = base64.urlsafe_b64encode(data_key["Plaintext"])
    plaintext = Fernet(fernet_key).decrypt(envelope["encrypted_message"].encode())
    return plaintext, data_key["KeyId"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--orders", type=int, default=None, help="stop after this many (default: run until SIGTERM)")
    parser.add_argument("--wait-seconds", type=int, default=2)
    parser.add_argument("--idle-receives", type=int, default=10, help="give up after this many empty receives in a row")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    kms = boto3.client("kms")
    sqs = boto3.client("sqs")
    handled = 0
    idle = 0
    while not stopping and (args.orders is None or handled < args.orders) and idle < args.idle_receives:
        resp = sqs.receive_message(
            QueueUrl=args.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=args.wait_seconds,
            MessageAttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        idle = 0 if messages else idle + 1
        for message in messages:
            try:
                plaintext, key_arn = open_message(kms, message)
            except Exception as error:  # leave it: the queue's redrive policy moves it to the DLQ
                print(f"message {message['MessageId']} could not be opened: {type(error).__name__}", file=sys.stderr)
                continue
            order = json.loads(plaintext)
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
            print(json.dumps({"orderId": order["orderId"], "messageId": message["MessageId"], "keyArn": key_arn}), flush=True)
            handled += 1
    return 0 if args.orders is None or handled >= args.orders else 1


if __name__ == "__main__":
    sys.exit(main())
