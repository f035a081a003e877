import { MAX_BODY_BYTES, sealedBodyBytes } from '@sqs-envelope/core/wire'

/** A real AWS KMS CiphertextBlob of an AES_256 data key is 184 bytes (LocalStack's may differ). */
export const DATA_KEY_BLOB_BYTES = 184

/** `SqsEnvelope.Version` = 1 and `SqsEnvelope.ContentType` = `text/plain; charset=utf-8`: the sealer's attributes. */
export const SEALED_ATTRIBUTE_BYTES = 80

/**
 * The largest plaintext whose sealed message (body and attributes) fits `limitBytes`, SQS's
 * maximum message size (1 MiB): the largest job sqs-envelope can send.
 */
export function largestPayload(
  limitBytes = MAX_BODY_BYTES,
  dataKeyBlobBytes = DATA_KEY_BLOB_BYTES,
  attributesBytes = SEALED_ATTRIBUTE_BYTES,
): number {
  let low = 0
  let high = limitBytes
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (sealedBodyBytes(mid, dataKeyBlobBytes) + attributesBytes <= limitBytes) low = mid
    else high = mid - 1
  }
  return low
}
