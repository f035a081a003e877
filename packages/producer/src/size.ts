import { Buffer } from 'node:buffer'
import { sealedBodyBytes as sealedBodyBytesOfBlob } from '@sqs-envelope/core/wire'

/*
 * How SQS counts a message against MaximumMessageSize: the UTF-8 bytes of the body plus, for each
 * message attribute, the bytes of its name, of its data type and of its value.
 * The body of a sealed message is fully determined by two lengths, the plaintext's and the KMS
 * CiphertextBlob's (core's `sealedBodyBytes`), so its size is known before any KMS call. The producer
 * counts the blob in base64 characters, which it reads off a sealed body.
 */

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4
}

/**
 * Fewest base64 characters the KMS CiphertextBlob of a 32-byte AES_256 data key can take in the body:
 * a wrapped key cannot be shorter than the key. AWS KMS blobs are 184 bytes (248 characters),
 * LocalStack 4.14's 116 (156); custom key stores differ. Used only until the producer has seen a
 * real blob, to refuse what cannot fit whatever KMS returns.
 */
export const MIN_DATA_KEY_CHARS = base64Length(32)

/** Most characters a CiphertextBlob (at most 6144 bytes, KMS's limit) takes: what fits with it fits with any key. */
export const MAX_DATA_KEY_CHARS = base64Length(6144)

/** UTF-8 bytes of the wire v1 body sealing `plaintextBytes`, less the data key's characters. */
function bodyBytesWithoutDataKey(plaintextBytes: number): number {
  return sealedBodyBytesOfBlob(plaintextBytes, 0)
}

/** UTF-8 bytes of the wire v1 body sealing `plaintextBytes` under a data key of `dataKeyChars` base64 characters. */
export function sealedBodyBytes(plaintextBytes: number, dataKeyChars: number): number {
  return bodyBytesWithoutDataKey(plaintextBytes) + dataKeyChars
}

/** How many base64 characters the data key takes in a sealed body (all of which is ASCII). */
export function dataKeyCharsOf(body: string, plaintextBytes: number): number {
  return body.length - bodyBytesWithoutDataKey(plaintextBytes)
}

/** An SQS message attribute as SendMessage takes it. */
export interface AttributeValue {
  readonly DataType: string | undefined
  readonly StringValue?: string | undefined
  readonly BinaryValue?: Uint8Array | undefined
}

/** Bytes SQS counts for message attributes: name + data type + value of each. */
export function attributesBytes(attributes: Readonly<Record<string, AttributeValue>> | undefined): number {
  if (attributes === undefined) return 0
  let total = 0
  for (const name in attributes) {
    const value = attributes[name] as AttributeValue
    total += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '')
    if (value.StringValue !== undefined) total += Buffer.byteLength(value.StringValue)
    if (value.BinaryValue !== undefined) total += value.BinaryValue.byteLength
  }
  return total
}
