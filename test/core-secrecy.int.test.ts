import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { KMSClient } from '@aws-sdk/client-kms'
import { EnvelopeOpener, EnvelopeSealer } from '@sqs-envelope/core'
import { afterAll, describe, expect, it } from 'vitest'
import { captureDataKeys, localstackFixture } from './support.ts'

const { target, kms, newKey } = localstackFixture()
const OTHER_ARN = 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000'
afterAll(() => kms.destroy())

/** Every way a plaintext data key could be written out. */
function spellings(key: Uint8Array): string[] {
  const b = Buffer.from(key)
  return [b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('latin1')]
}

describe('no plaintext and no key material leaks', () => {
  it('a marker payload and its data key appear in no error, serialised object or sealed message', async () => {
    const key = await newKey()
    const marker = `PLAINTEXT-MARKER-${randomBytes(8).toString('hex')}`
    // Capture the plaintext data keys KMS hands out, to search for them afterwards.
    const client = new KMSClient({ endpoint: target.endpoint, region: target.region, credentials: target.credentials })
    const dataKeys = captureDataKeys(client)
    const sealer = new EnvelopeSealer({ kms: client, kmsKeyId: key.keyId })
    const sealed = await sealer.seal(marker)
    const opener = new EnvelopeOpener({ kms: client, allowedKmsKeyArns: [key.keyArn] })
    const opened = await opener.open({ Body: sealed.body, MessageAttributes: sealed.messageAttributes })
    expect(opened.value).toBe(marker)
    expect(dataKeys).toHaveLength(2)

    // Failures while the key is cached: a tampered token and an expired one.
    const body = JSON.parse(sealed.body) as Record<string, string>
    const token = body.encrypted_message as string
    const flipAt = token.length - 10
    const flipped = `${token.slice(0, flipAt)}${token[flipAt] === 'A' ? 'B' : 'A'}${token.slice(flipAt + 1)}`
    const tampered = JSON.stringify({ ...body, encrypted_message: flipped })
    await new Promise((resolve) => setTimeout(resolve, 2100))
    const errors = [
      await opener.open({ Body: tampered }).catch((e: unknown) => e),
      await new EnvelopeOpener({ kms: client, tokenTtlSeconds: 1 })
        .open({ Body: sealed.body })
        .catch((e: unknown) => e),
      await new EnvelopeOpener({ kms: client, allowedKmsKeyArns: [OTHER_ARN, OTHER_ARN.replace('key/0', 'key/1')] })
        .open({ Body: sealed.body })
        .catch((e: unknown) => e),
    ]
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
      'TOKEN_MAC',
      'TOKEN_EXPIRED',
      'KMS_KEY_NOT_ALLOWED',
    ])
    for (const error of errors) expect(error).toBeInstanceOf(Error)

    const written = [
      sealed.body,
      JSON.stringify(sealed),
      JSON.stringify(sealer),
      JSON.stringify(opener),
      inspect(sealer, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      inspect(opener, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      String(sealer),
      JSON.stringify(sealer.metrics()),
      JSON.stringify(opened),
      inspect(opened, { depth: Number.POSITIVE_INFINITY }),
      ...errors.flatMap((e) => [String(e), JSON.stringify(e), inspect(e, { depth: 2 }), (e as Error).stack ?? '']),
    ].join('\n')
    expect(written).not.toContain(marker)
    for (const dataKey of dataKeys) for (const spelling of spellings(dataKey)) expect(written).not.toContain(spelling)
    await sealer.close()
    await opener.close()
  }, 30_000)
})
