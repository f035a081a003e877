/*
 * The exact size of a wire format v1 body, from lengths alone. Everything in the body is
 * ASCII and deterministic given the plaintext length and the data key blob length:
 *   {"encrypted_data_key": "<base64 of the blob>", "encrypted_message": "<Fernet token>"}
 * so the sealer (and a producer packing batches) can check limits before any KMS call,
 * encryption or base64 work.
 */

// `{"encrypted_data_key": "` + `", "encrypted_message": "` + `"}`
const BODY_FRAMING_BYTES = 24 + 25 + 2

// Fernet: version (1) + timestamp (8) + IV (16) + HMAC (32), around the AES-CBC ciphertext.
const FERNET_OVERHEAD_BYTES = 1 + 8 + 16 + 32
const AES_BLOCK_BYTES = 16

/** Characters of padded base64 for `bytes` bytes. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4
}

/** Characters of the Fernet token (urlsafe base64 with padding) sealing `plaintextBytes` bytes. */
export function fernetTokenLength(plaintextBytes: number): number {
  // PKCS7 always pads, by 1 to 16 bytes.
  const ciphertext = (Math.floor(plaintextBytes / AES_BLOCK_BYTES) + 1) * AES_BLOCK_BYTES
  return base64Length(FERNET_OVERHEAD_BYTES + ciphertext)
}

/**
 * UTF-8 bytes of the SQS body that seals `plaintextBytes` bytes of plaintext (the encoded
 * payload: UTF-8 of a text or JSON payload, the bytes themselves) under a data key whose
 * KMS CiphertextBlob is `dataKeyBytes` long. Exact, not an estimate.
 */
export function sealedBodyBytes(plaintextBytes: number, dataKeyBytes: number): number {
  return BODY_FRAMING_BYTES + base64Length(dataKeyBytes) + fernetTokenLength(plaintextBytes)
}
