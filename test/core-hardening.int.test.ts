// Core 0.2 hardening against the real LocalStack KMS: hostile input stops before KMS, sizes are
// checked before sealing, keys are bounded, junk is remembered, secrets leave no trace in RegExp
// statics, and aborts and close() hold. Faults KMS cannot be made to produce on demand
// (ValidationException, throttling, slowness) are injected into a real client's middleware.
import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms'
import { type EnvelopeMessage, EnvelopeOpener, isSqsEnvelopeError } from '@sqs-envelope/core'
import { ATTRIBUTE_CONTEXT, encodeBody, parseBody, sealedBodyBytes } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import { captureDataKeys, countKmsCalls, failure, localstackFixture, toMessage } from './support.ts'

const fixture = localstackFixture({ keys: 1 })
const { target, kms, newSealer } = fixture
const OTHER_ARN = 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-00000000000'

/** A fresh client for LocalStack (SDK retries off unless said otherwise). */
function client(config: Partial<KMSClientConfig> = {}): KMSClient {
  return new KMSClient({
    endpoint: target.endpoint,
    region: target.region,
    credentials: target.credentials,
    maxAttempts: 1,
    ...config,
  })
}

/** Counts the HTTP requests that really leave the client (an aborted one is refused by the handler). */
function countSent(kms: KMSClient): { sent: number } {
  const counter = { sent: 0 }
  const handler = kms.config.requestHandler as {
    handle(request: unknown, options?: { abortSignal?: AbortSignal }): unknown
  }
  const handle = handler.handle.bind(handler)
  handler.handle = (request, options) => {
    if (!options?.abortSignal?.aborted) counter.sent++
    return handle(request, options)
  }
  return counter
}

/** Makes every request of the client wait `ms` before it is sent (a slow network or KMS). */
function delayRequests(kms: KMSClient, ms: number): void {
  kms.middlewareStack.add(
    (next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, ms))
      return next(args)
    },
    { step: 'finalizeRequest', name: 'delayForTest' },
  )
}

/** Answers every request with the given KMS error, as KMS would (counted by countKmsCalls first). */
function failRequests(kms: KMSClient, name: string, httpStatusCode = 400): void {
  kms.middlewareStack.add(
    () => async () => {
      throw Object.assign(new Error(`${name} injected by the test`), { name, $metadata: { httpStatusCode } })
    },
    { step: 'deserialize', name: 'failForTest', priority: 'low' },
  )
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function withContextAttribute(message: EnvelopeMessage, json: string): EnvelopeMessage {
  return {
    Body: message.Body,
    MessageAttributes: { ...message.MessageAttributes, [ATTRIBUTE_CONTEXT]: { DataType: 'String', StringValue: json } },
  }
}

describe('the context attribute is checked before it reaches KMS', () => {
  it('{"a":"\\ud800"} is ATTRIBUTE_INVALID (permanent) with no KMS call; LocalStack would answer 500', async () => {
    const sealed = await newSealer({ encryptionContext: { a: 'b' } }).seal('x')
    const counted = client()
    const calls = countKmsCalls(counted)
    const opener = new EnvelopeOpener({ kms: counted })
    const hostile = withContextAttribute(toMessage(sealed), '{"a":"\\ud800"}')
    for (let delivery = 0; delivery < 3; delivery++) {
      expect(await failure(opener.open(hostile))).toEqual({ code: 'ATTRIBUTE_INVALID', kind: 'permanent' })
    }
    expect(calls).toEqual({})
  })

  it('__proto__ as a context key is ATTRIBUTE_INVALID on opening and OPTION_INVALID on sealing, with no KMS call', async () => {
    const counted = client()
    const calls = countKmsCalls(counted)
    const sealed = await newSealer({ encryptionContext: { a: 'b' } }).seal('x')
    const opener = new EnvelopeOpener({ kms: counted })
    expect(await failure(opener.open(withContextAttribute(toMessage(sealed), '{"__proto__":"x","a":"b"}')))).toEqual({
      code: 'ATTRIBUTE_INVALID',
      kind: 'permanent',
    })
    const sealer = newSealer({ kms: counted })
    const withProto = JSON.parse('{"__proto__":"x"}') as Record<string, string>
    expect(await failure(sealer.seal('x', { encryptionContext: withProto }))).toEqual({
      code: 'OPTION_INVALID',
      kind: 'usage',
    })
    expect(await failure(sealer.seal('x', { encryptionContext: { a: '\ud800' } }))).toEqual({
      code: 'OPTION_INVALID',
      kind: 'usage',
    })
    expect(calls).toEqual({})
  })

  it('a deterministic KMS client error (ValidationException) is permanent KMS_REQUEST_INVALID after one request', async () => {
    const sealed = await newSealer().seal('x')
    const faulty = client()
    const calls = countKmsCalls(faulty)
    failRequests(faulty, 'ValidationException')
    const opener = new EnvelopeOpener({ kms: faulty, kmsMaxAttempts: 5, kmsRetryBaseDelayMs: 1 })
    expect(await failure(opener.open(toMessage(sealed)))).toEqual({ code: 'KMS_REQUEST_INVALID', kind: 'permanent' })
    expect(calls).toEqual({ DecryptCommand: 1 })
  })
})

describe('size is checked before sealing', () => {
  it('a 4 MB payload fails with MESSAGE_TOO_LARGE under the default maxBodyBytes (1 MiB), with no KMS call', async () => {
    const counted = client()
    const calls = countKmsCalls(counted)
    const sealer = newSealer({ kms: counted })
    const error = await sealer.seal(new Uint8Array(4_000_000), { contentType: 'bytes' }).catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && [error.code, error.kind]).toEqual(['MESSAGE_TOO_LARGE', 'usage'])
    expect((error as Error).message).toMatch(
      /^the sealed body would be at least 5333\d{3} bytes \(payload 4000000 bytes\), over maxBodyBytes \(1048576\)$/,
    )
    expect(calls).toEqual({})
    expect(sealer.metrics()).toMatchObject({ generateDataKeyCalls: 0, cacheMisses: 0, cacheHits: 0 })
  })

  it('sealedBodyBytes is exact for LocalStack data keys: a body of exactly maxBodyBytes seals, one block more does not', async () => {
    const probe = newSealer()
    const blobBytes = parseBody((await probe.seal('probe')).body).encryptedDataKey.length
    const payloadBytes = 60_000
    const limit = sealedBodyBytes(payloadBytes, blobBytes)
    const counted = client()
    const calls = countKmsCalls(counted)
    const sealer = newSealer({ kms: counted, maxBodyBytes: limit })
    const sealed = await sealer.seal(new Uint8Array(payloadBytes), { contentType: 'bytes' })
    expect(Buffer.byteLength(sealed.body)).toBe(limit)
    expect(await failure(sealer.seal(new Uint8Array(payloadBytes + 16), { contentType: 'bytes' }))).toEqual({
      code: 'MESSAGE_TOO_LARGE',
      kind: 'usage',
    })
    expect(calls).toEqual({ GenerateDataKeyCommand: 1 })
    const opened = await new EnvelopeOpener({ kms }).open(toMessage(sealed))
    expect(opened.plaintext.length).toBe(payloadBytes)
  })
})

describe('the sealer bounds its live data keys', () => {
  it('a distinct context per message keeps at most maxLiveDataKeys keys alive, and every message still opens', async () => {
    const sealer = newSealer({ maxLiveDataKeys: 5 })
    const sealed = []
    for (let i = 0; i < 30; i++) sealed.push(await sealer.seal(`m${i}`, { encryptionContext: { tenant: String(i) } }))
    expect(sealer.liveDataKeys).toBe(5)
    expect(sealer.metrics()).toMatchObject({ generateDataKeyCalls: 30, keysEvicted: 25 })
    const opener = new EnvelopeOpener({ kms })
    for (const [i, s] of sealed.entries()) expect((await opener.open(toMessage(s))).value).toBe(`m${i}`)
    await sealer.close()
    expect(sealer.liveDataKeys).toBe(0)
  })
})

describe('a data key KMS refused for good costs one Decrypt, not one per delivery', () => {
  it('the same junk data key delivered 5 times makes 1 Decrypt (LocalStack: NotFoundException; AWS: InvalidCiphertext)', async () => {
    const sealed = await newSealer().seal('x')
    const junk = { Body: encodeBody(Buffer.alloc(120, 7), parseBody(sealed.body).token) }
    const counted = client()
    const calls = countKmsCalls(counted)
    const opener = new EnvelopeOpener({ kms: counted })
    const results = []
    for (let delivery = 0; delivery < 5; delivery++) results.push(await failure(opener.open(junk)))
    expect(new Set(results.map((r) => `${r.kind}:${r.code}`)).size).toBe(1)
    expect(results[0]?.kind).toBe('permanent')
    expect(calls).toEqual({ DecryptCommand: 1 })
    expect(opener.metrics()).toMatchObject({ decryptCalls: 1, failedDataKeyCacheHits: 4 })
  })
})

describe('the last unwrapped key is not left in RegExp statics', () => {
  const NAMES = ['input', '$_', 'lastMatch', '$&', 'leftContext', '$`', 'rightContext', "$'", 'lastParen']
  /** Names of the RegExp statics that hold one of `keys` (names only: a failure must not print a key). */
  const holding = (keys: Buffer[]) =>
    NAMES.filter((name) => {
      const value = (RegExp as unknown as Record<string, unknown>)[name]
      return typeof value === 'string' && keys.some((k) => value.includes(k.toString('base64').slice(0, 40)))
    })

  it('after a seal, an open and close(), no KMS plaintext key is in RegExp.input, $_, lastMatch, leftContext or rightContext', async () => {
    const capturing = client()
    const dataKeys = captureDataKeys(capturing)
    const sealer = newSealer({ kms: capturing })
    const opener = new EnvelopeOpener({ kms: capturing })
    const sealed = await sealer.seal('secret')
    const leaks = () => holding(dataKeys)
    expect(leaks()).toEqual([])
    await opener.open(toMessage(sealed))
    expect(dataKeys).toHaveLength(2)
    expect(leaks()).toEqual([])
    // No Fernet work follows a refused key, so nothing else overwrites the statics on this path.
    const picky = new EnvelopeOpener({ kms: capturing, allowedKmsKeyArns: [OTHER_ARN, `${OTHER_ARN}0`] })
    expect(await failure(picky.open(toMessage(sealed)))).toEqual({ code: 'KMS_KEY_NOT_ALLOWED', kind: 'permanent' })
    expect(dataKeys).toHaveLength(3)
    expect(leaks()).toEqual([])
    await sealer.close()
    await opener.close()
    await picky.close()
    expect(leaks()).toEqual([])
  })
})

describe('aborts and lifecycle hold', () => {
  it("an open waiting on another open's Decrypt (single-flight joiner) is released at once with ABORTED", async () => {
    const sealed = await newSealer().seal('joined')
    const slow = client()
    delayRequests(slow, 400)
    const calls = countKmsCalls(slow)
    const opener = new EnvelopeOpener({ kms: slow })
    let leaderDone = false
    const leader = opener.open(toMessage(sealed)).finally(() => {
      leaderDone = true
    })
    const controller = new AbortController()
    const joiner = opener.open(toMessage(sealed), { signal: controller.signal })
    await sleep(30)
    controller.abort()
    expect(await failure(joiner)).toEqual({ code: 'ABORTED', kind: 'transient' })
    // Released at once: before the Decrypt it joined has answered.
    expect(leaderDone).toBe(false)
    await expect(leader).resolves.toMatchObject({ value: 'joined' })
    expect(calls).toEqual({ DecryptCommand: 1 })
  })

  it('an open queued in the KMS limiter is released at once with ABORTED, and counted only if sent (it is not)', async () => {
    const sealer = newSealer({ reuse: false })
    const [a, b] = [await sealer.seal('a'), await sealer.seal('b')]
    const slow = client()
    delayRequests(slow, 400)
    const sent = countSent(slow)
    const opener = new EnvelopeOpener({ kms: slow, kmsConcurrency: 1 })
    let firstDone = false
    const first = opener.open(toMessage(a)).finally(() => {
      firstDone = true
    })
    const controller = new AbortController()
    const queued = opener.open(toMessage(b), { signal: controller.signal })
    await sleep(30)
    controller.abort()
    expect(await failure(queued)).toEqual({ code: 'ABORTED', kind: 'transient' })
    // Released at once: before the request it queued behind has answered.
    expect(firstDone).toBe(false)
    await expect(first).resolves.toMatchObject({ value: 'a' })
    await sleep(50)
    expect(sent.sent).toBe(1)
    expect(opener.metrics().decryptCalls).toBe(1)
  })

  it('close() stops retries: no KMS request is sent after close() returns, and the open ends CLOSED', async () => {
    const sealed = await newSealer().seal('x')
    const throttled = client()
    const calls = countKmsCalls(throttled)
    failRequests(throttled, 'ThrottlingException')
    const opener = new EnvelopeOpener({
      kms: throttled,
      kmsMaxAttempts: 10,
      kmsRetryBaseDelayMs: 100,
      kmsRetryMaxDelayMs: 100,
    })
    const pending = opener.open(toMessage(sealed))
    while (opener.metrics().decryptCalls < 2) await sleep(5)
    await opener.close()
    const requestsAtClose = calls.DecryptCommand
    expect(await failure(pending)).toEqual({ code: 'CLOSED', kind: 'usage' })
    // With kmsMaxAttempts 10 and 100 ms backoffs, more requests would follow within this wait.
    await sleep(400)
    expect(calls.DecryptCommand).toBe(requestsAtClose)
    expect(opener.metrics().decryptCalls).toBe(requestsAtClose)
  })

  it('close() ends seals in flight with reuse: false as CLOSED, and sends nothing after it returns', async () => {
    const slow = client()
    delayRequests(slow, 300)
    const sent = countSent(slow)
    const sealer = newSealer({ kms: slow, reuse: false })
    const seals = Array.from({ length: 5 }, (_, i) => sealer.seal(`m${i}`))
    await sleep(30)
    await sealer.close()
    for (const seal of seals) expect(await failure(seal)).toEqual({ code: 'CLOSED', kind: 'usage' })
    await sleep(400)
    expect(sent.sent).toBe(0)
  })

  it('an injected client keeps its own retries and ours do not multiply: 3 requests (SDK default), not 3 × 5', async () => {
    const sealed = await newSealer().seal('x')
    const own = client({ maxAttempts: undefined })
    expect(await own.config.maxAttempts()).toBe(3)
    const calls = countKmsCalls(own)
    failRequests(own, 'ThrottlingException')
    const opener = new EnvelopeOpener({ kms: own, kmsMaxAttempts: 5, kmsRetryBaseDelayMs: 1 })
    expect(await failure(opener.open(toMessage(sealed)))).toEqual({ code: 'KMS_THROTTLED', kind: 'transient' })
    expect(calls).toEqual({ DecryptCommand: 3 })
    // The SDK's own attempts are still on the bill.
    expect(opener.metrics()).toMatchObject({ decryptCalls: 3, retries: 2 })
  })
})
