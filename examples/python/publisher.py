"""Publishes encrypted orders the way the original recipe does: boto3 + cryptography.fernet.

One data key per message: KMS GenerateDataKey, Fernet-encrypt the job with its plaintext, send
{"encrypted_data_key", "encrypted_message"}. The TypeScript worker (examples/worker) consumes them.

    python publisher.py --queue-url URL --key-id KEY [--orders N]

AWS settings come from boto3's usual environment (AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for LocalStack,
credentials). Prints one JSON line per order sent: {"orderId", "messageId"}.
"""

import argparse
import base64
import json

import boto3
from cryptography.fernet import Fernet


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--key-id", required=True, help="KMS key id, ARN or alias")
    parser.add_argument("--orders", type=int, default=5)
    args = parser.parse_args()

    kms = boto3.client("kms")
    sqs = boto3.client("sqs")
    for i in range(1, args.orders + 1):
        order = {"orderId": f"py-order-{i}", "customer": f"customer-{i % 3 + 1}", "sku": "sku-1", "quantity": i}
        data_key = kms.generate_data_key(KeyId=args.key_id, KeySpec="AES_256")
        fernet_key = base64.urlsafe_b64encode(data_key["Plaintext"])
        token = Fernet(fernet_key).encrypt(json.dumps(order).encode())
        body = json.dumps(
            {
                "encrypted_data_key": base64.urlsafe_b64encode(data_key["CiphertextBlob"]).decode(),
                "encrypted_message": token.decode(),
            }
        )
        sent = sqs.send_message(QueueUrl=args.queue_url, MessageBody=body)
        print(json.dumps({"orderId": order["orderId"], "messageId": sent["MessageId"]}), flush=True)


if __name__ == "__main__":
    main()
