import { Fernet } from '@sqs-envelope/core'
import { encodeAttributes, encodeBody } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import { attributesBytes, dataKeyCharsOf, MAX_DATA_KEY_CHARS, MIN_DATA_KEY_CHARS, sealedBodyBytes } from './size.ts'

describe('sealed size, computed before sealing', () => {
  const fernet = new Fernet(Fernet.generateKey())

  it.each([0, 1, 15, 16, 17, 31, 32, 100, 1000, 65_535, 200_000])(
    'a plaintext of %i bytes: the computed body size equals the real body, for AWS and LocalStack blob lengths',
    (length) => {
      const plaintext = new Uint8Array(length).fill(7)
      const token = fernet.encrypt(plaintext)
      for (const blobBytes of [32, 116, 184, 6144]) {
        const body = encodeBody(new Uint8Array(blobBytes).fill(1), token)
        const chars = Math.ceil(blobBytes / 3) * 4
        expect(sealedBodyBytes(length, chars)).toBe(Buffer.byteLength(body))
        expect(dataKeyCharsOf(body, length)).toBe(chars)
      }
    },
  )

  it('the data-key bounds are those of a 32-byte and a 6144-byte blob', () => {
    expect([MIN_DATA_KEY_CHARS, MAX_DATA_KEY_CHARS]).toEqual([44, 8192])
  })

  it('attributes count name + data type + value bytes, as SQS counts them', () => {
    expect(attributesBytes(undefined)).toBe(0)
    expect(
      attributesBytes({
        tenant: { DataType: 'String', StringValue: 'ü' },
        n: { DataType: 'Number.int', StringValue: '42' },
        raw: { DataType: 'Binary', BinaryValue: new Uint8Array(5) },
      }),
    ).toBe(6 + 6 + 2 + (1 + 10 + 2) + (3 + 6 + 5))
    // The envelope's own: SqsEnvelope.Version "1" and SqsEnvelope.ContentType.
    expect(attributesBytes(encodeAttributes({ contentType: 'text' }))).toBe(
      'SqsEnvelope.Version'.length + 6 + 1 + 'SqsEnvelope.ContentType'.length + 6 + 'text/plain; charset=utf-8'.length,
    )
  })
})
