import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { EnvelopeOpener, EnvelopeSealer, Fernet } from '@sqs-envelope/core'
import { encodeBody, parseBody } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import { countKmsCalls, failure, localstackFixture, toMessage } from './support.ts'

const fixture = localstackFixture({ keys: 2 })
const { target, kms, newKey, newSealer } = fixture

describe('opening: permanent failures are classified so the consumer quarantines them', () => {
  it('a tampered token is TOKEN_MAC, found before any payload decryption', async () => {
    const sealer = newSealer()
    const sealed = await sealer.seal('secret')
    const body = JSON.parse(sealed.body) as Record<string, string>
    const token = body.encrypted_message as string
    const flipped = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41)
    const tampered = JSON.stringify({ ...body, encrypted_message: flipped })
    const opener = new EnvelopeOpener({ kms })
    expect(await failure(opener.open({ Body: tampered, MessageAttributes: sealed.messageAttributes }))).toEqual({
      code: 'TOKEN_MAC',
      kind: 'permanent',
    })
  })

  it('a body that is not JSON is BODY_NOT_JSON, with no KMS call', async () => {
    const client = new KMSClient({ endpoint: target.endpoint, region: target.region, credentials: target.credentials })
    const counts = countKmsCalls(client)
    const opener = new EnvelopeOpener({ kms: client })
    expect(await failure(opener.open({ Body: 'hello' }))).toEqual({ code: 'BODY_NOT_JSON', kind: 'permanent' })
    expect(counts).toEqual({})
  })

  it('a corrupted data key is KMS_INVALID_CIPHERTEXT', async () => {
    const sealer = newSealer()
    const sealed = await sealer.seal('x')
    const { encryptedDataKey, token } = parseBody(sealed.body)
    // Keep the key reference at the front of the blob; corrupt the wrapped key at its end.
    const corrupted = Buffer.from(encryptedDataKey)
    corrupted[corrupted.length - 1] = (corrupted[corrupted.length - 1] ?? 0) ^ 0xff
    const opener = new EnvelopeOpener({ kms })
    expect(await failure(opener.open({ Body: encodeBody(corrupted, token) }))).toEqual({
      code: 'KMS_INVALID_CIPHERTEXT',
      kind: 'permanent',
    })
  })

  it('a data key that names no KMS key is permanent (LocalStack: NotFoundException; AWS: InvalidCiphertext)', async () => {
    const sealed = await newSealer().seal('x')
    const garbage = encodeBody(Buffer.alloc(120, 7), parseBody(sealed.body).token)
    const result = await failure(new EnvelopeOpener({ kms }).open({ Body: garbage }))
    expect(result.kind).toBe('permanent')
    expect(['KMS_KEY_NOT_FOUND', 'KMS_INVALID_CIPHERTEXT']).toContain(result.code)
  })

  it('a message whose encryption context was changed is KMS_INVALID_CIPHERTEXT (KMS binds the context)', async () => {
    const sealer = newSealer({ encryptionContext: { queue: 'orders' } })
    const sealed = await sealer.seal('x')
    const forged = {
      ...sealed.messageAttributes,
      'SqsEnvelope.Context': { DataType: 'String', StringValue: JSON.stringify({ queue: 'payments' }) },
    }
    const opener = new EnvelopeOpener({ kms })
    expect(await failure(opener.open({ Body: sealed.body, MessageAttributes: forged }))).toEqual({
      code: 'KMS_INVALID_CIPHERTEXT',
      kind: 'permanent',
    })
    // The untouched message opens, and its context is reported.
    await expect(opener.open(toMessage(sealed))).resolves.toMatchObject({
      value: 'x',
      encryptionContext: { queue: 'orders' },
    })
  })

  it('a message without the required encryption context is CONTEXT_MISMATCH, with no KMS call', async () => {
    const sealer = newSealer({ encryptionContext: { queue: 'orders' } })
    const sealed = await sealer.seal('x')
    const client = new KMSClient({ endpoint: target.endpoint, region: target.region, credentials: target.credentials })
    const counts = countKmsCalls(client)
    const opener = new EnvelopeOpener({ kms: client, requiredEncryptionContext: { queue: 'payments' } })
    expect(await failure(opener.open(toMessage(sealed)))).toEqual({ code: 'CONTEXT_MISMATCH', kind: 'permanent' })
    expect(counts).toEqual({})
  })

  it('with one allowed key, a data key under another key is KMS_INCORRECT_KEY (KMS checks KeyId)', async () => {
    const sealed = await newSealer().seal('x')
    const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [fixture.otherKey.keyArn] })
    expect(await failure(opener.open(toMessage(sealed)))).toEqual({ code: 'KMS_INCORRECT_KEY', kind: 'permanent' })
  })

  it('with several allowed keys, a data key under none of them is KMS_KEY_NOT_ALLOWED', async () => {
    const sealed = await newSealer().seal('x')
    const third = await newKey()
    const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [fixture.otherKey.keyArn, third.keyArn] })
    expect(await failure(opener.open(toMessage(sealed)))).toEqual({ code: 'KMS_KEY_NOT_ALLOWED', kind: 'permanent' })
    const allowing = new EnvelopeOpener({ kms, allowedKmsKeyArns: [fixture.otherKey.keyArn, fixture.key.keyArn] })
    await expect(allowing.open(toMessage(sealed))).resolves.toMatchObject({ value: 'x', kmsKeyArn: fixture.key.keyArn })
  })

  it('a data key under a disabled KMS key is KMS_KEY_DISABLED', async () => {
    const doomed = await newKey()
    const sealed = await new EnvelopeSealer({ kms, kmsKeyId: doomed.keyId }).seal('x')
    await doomed.disable()
    expect(await failure(new EnvelopeOpener({ kms }).open(toMessage(sealed)))).toEqual({
      code: 'KMS_KEY_DISABLED',
      kind: 'permanent',
    })
  })

  it('a token older than tokenTtlSeconds is TOKEN_EXPIRED', async () => {
    // Sealed by hand, as any Fernet sender could, with a timestamp an hour ago.
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: fixture.key.keyId, KeySpec: 'AES_256' }))
    const fernet = new Fernet(Buffer.from(dataKey.Plaintext ?? []))
    const token = fernet.encrypt('old', { timestamp: Math.floor(Date.now() / 1000) - 3600 })
    const body = encodeBody(dataKey.CiphertextBlob ?? new Uint8Array(), token)
    expect(await failure(new EnvelopeOpener({ kms, tokenTtlSeconds: 60 }).open({ Body: body }))).toEqual({
      code: 'TOKEN_EXPIRED',
      kind: 'permanent',
    })
    await expect(new EnvelopeOpener({ kms }).open({ Body: body })).resolves.toMatchObject({ value: 'old' })
  })
})

describe('opening: transient failures are retried and never reported as permanent', () => {
  it('KMS unreachable is KMS_UNAVAILABLE after kmsMaxAttempts', async () => {
    const sealed = await newSealer().seal('x')
    // Port 9 (discard) on loopback: nothing listens there.
    const down = new KMSClient({
      endpoint: 'http://127.0.0.1:9',
      region: target.region,
      credentials: target.credentials,
      maxAttempts: 1,
    })
    const counts = countKmsCalls(down)
    const opener = new EnvelopeOpener({ kms: down, kmsMaxAttempts: 3, kmsRetryBaseDelayMs: 1, kmsRetryMaxDelayMs: 5 })
    expect(await failure(opener.open(toMessage(sealed)))).toEqual({ code: 'KMS_UNAVAILABLE', kind: 'transient' })
    expect(counts).toEqual({ DecryptCommand: 3 })
    expect(opener.metrics()).toMatchObject({ decryptCalls: 3, retries: 2 })
  })

  it('throttling answers are retried with backoff until KMS answers', async () => {
    const sealed = await newSealer().seal('throttled')
    const client = new KMSClient({
      endpoint: target.endpoint,
      region: target.region,
      credentials: target.credentials,
      maxAttempts: 1,
    })
    // Fault injection on the real client: the first two Decrypt requests are
    // answered as KMS answers when over quota; the third reaches LocalStack.
    let throttled = 0
    client.middlewareStack.add(
      (next) => async (args) => {
        if (throttled < 2) {
          throttled++
          throw Object.assign(new Error('Rate exceeded'), {
            name: 'ThrottlingException',
            $metadata: { httpStatusCode: 400 },
          })
        }
        return next(args)
      },
      { step: 'deserialize', name: 'injectThrottling' },
    )
    const opener = new EnvelopeOpener({ kms: client, kmsRetryBaseDelayMs: 1, kmsRetryMaxDelayMs: 5 })
    await expect(opener.open(toMessage(sealed))).resolves.toMatchObject({ value: 'throttled' })
    expect(opener.metrics()).toMatchObject({ decryptCalls: 3, throttles: 2, retries: 2 })
  })
})
