import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { describe, expect, it, vi } from 'vitest'
import { isSqsEnvelopeError } from '../errors.ts'
import { MetricsRecorder } from '../metrics.ts'
import { awsError, FAKE_KEY_ARN, fakeKms } from '../test-support/fake-kms.ts'

import { KmsGateway } from './gateway.ts'

const policy = {
  kmsConcurrency: 3,
  kmsMaxAttempts: 4,
  kmsRetryBaseDelayMs: 1,
  kmsRetryMaxDelayMs: 2,
  requestTimeoutMs: 10_000,
}

describe('KmsGateway', () => {
  it('never has more requests in flight than kmsConcurrency', async () => {
    const kms = fakeKms()
    kms.delayMs = 5
    const gateway = new KmsGateway(kms.client, policy, new MetricsRecorder())
    await Promise.all(Array.from({ length: 20 }, () => gateway.generateDataKey('alias/x', undefined)))
    expect(kms.calls.generate).toBe(20)
    expect(kms.calls.maxInFlight).toBe(3)
  })

  it('retries throttling and counts throttles, retries and every request sent', async () => {
    const kms = fakeKms()
    kms.failures.push(awsError('ThrottlingException'), awsError('KMSInternalException', 500))
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(kms.client, policy, metrics)
    const key = await gateway.generateDataKey('alias/x', undefined)
    expect(key.plaintext).toHaveLength(32)
    expect(key.keyArn).toBe(FAKE_KEY_ARN)
    expect(metrics.snapshot()).toMatchObject({ generateDataKeyCalls: 3, throttles: 1, retries: 2 })
  })

  it('gives up after kmsMaxAttempts with a transient code', async () => {
    const kms = fakeKms()
    kms.failures.push(...Array.from({ length: 10 }, () => awsError('ThrottlingException')))
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(kms.client, policy, metrics)
    const error = await gateway.generateDataKey('alias/x', undefined).catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && error.code).toBe('KMS_THROTTLED')
    expect(isSqsEnvelopeError(error) && error.kind).toBe('transient')
    expect((error as Error).message).toBe('KMS GenerateDataKey failed with ThrottlingException after 4 attempts')
    expect(kms.calls.generate).toBe(4)
  })

  it('does not retry a permanent answer', async () => {
    const kms = fakeKms()
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(kms.client, policy, metrics)
    const error = await gateway.decrypt(Buffer.from('not ours'), undefined, undefined).catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && error.code).toBe('KMS_INVALID_CIPHERTEXT')
    expect(kms.calls.decrypt).toBe(1)
    expect(metrics.snapshot().retries).toBe(0)
  })

  it('stops retrying when its signal aborts during a backoff', async () => {
    const kms = fakeKms()
    kms.failures.push(...Array.from({ length: 10 }, () => awsError('ThrottlingException')))
    const gateway = new KmsGateway(
      kms.client,
      { ...policy, kmsMaxAttempts: 10, kmsRetryBaseDelayMs: 1000, kmsRetryMaxDelayMs: 1000 },
      new MetricsRecorder(),
    )
    const controller = new AbortController()
    const pending = gateway.generateDataKey('alias/x', undefined, controller.signal).catch((e: unknown) => e)
    setTimeout(() => controller.abort(), 20)
    const error = await pending
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    expect(kms.calls.generate).toBeLessThan(3)
  })

  it('a data key unwrapped by KMS must be 32 bytes', async () => {
    const kms = fakeKms()
    const gateway = new KmsGateway(kms.client, policy, new MetricsRecorder())
    kms.keyBytes = 16
    const short = await gateway.generateDataKey('alias/x', undefined).catch((e: unknown) => e)
    expect(isSqsEnvelopeError(short) && short.message).toBe(
      'a GenerateDataKey answer must hold a 32-byte plaintext key, its CiphertextBlob and the KeyId',
    )
    // A 16-byte key wrapped elsewhere (e.g. AES_128) comes back from Decrypt: permanent, and wiped.
    const fakeGenerate = await kms.client.send(new GenerateDataKeyCommand({ KeyId: 'alias/x' }))
    const error = await gateway
      .decrypt(fakeGenerate.CiphertextBlob as Uint8Array, undefined, undefined)
      .catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && [error.code, error.message]).toEqual([
      'KMS_INVALID_CIPHERTEXT',
      'a data key unwrapped by KMS must be 32 bytes',
    ])
    expect((kms.handedOut.at(-1) as Buffer).every((byte) => byte === 0)).toBe(true)
  })
})

describe('aborts and close() in the KMS gateway', () => {
  it('a caller aborted while queued in the limiter is released at once with ABORTED, never sent, never counted', async () => {
    const kms = fakeKms()
    kms.delayMs = 200
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(kms.client, { ...policy, kmsConcurrency: 1 }, metrics)
    let firstDone = false
    const first = gateway.generateDataKey('alias/x', undefined).finally(() => {
      firstDone = true
    })
    const controller = new AbortController()
    const queued = gateway.generateDataKey('alias/x', undefined, controller.signal).catch((e: unknown) => e)
    await new Promise((resolve) => setTimeout(resolve, 20))
    controller.abort()
    const error = await queued
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    // Released at once: before the request it queued behind has even finished.
    expect(firstDone).toBe(false)
    await first
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(kms.calls.generate).toBe(1)
    expect(metrics.snapshot().generateDataKeyCalls).toBe(1)
  })

  it('close() stops retries: no KMS request is sent after close() returns, and the caller gets CLOSED', async () => {
    const kms = fakeKms()
    // More attempts and failures than a loaded machine can run through before close(): the retry loop is still going.
    kms.failures.push(...Array.from({ length: 1000 }, () => awsError('ThrottlingException')))
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(
      kms.client,
      { ...policy, kmsMaxAttempts: 1000, kmsRetryBaseDelayMs: 100, kmsRetryMaxDelayMs: 100 },
      metrics,
    )
    const pending = gateway.generateDataKey('alias/x', undefined).catch((e: unknown) => e)
    await vi.waitFor(() => expect(metrics.snapshot().retries).toBeGreaterThanOrEqual(1))
    gateway.close()
    const sentAtClose = metrics.snapshot().generateDataKeyCalls
    const error = await pending
    expect(isSqsEnvelopeError(error) && error.code).toBe('CLOSED')
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(metrics.snapshot().generateDataKeyCalls).toBe(sentAtClose)
    await expect(gateway.decrypt(Buffer.from('x'), undefined, undefined)).rejects.toMatchObject({ code: 'CLOSED' })
    expect(metrics.snapshot().decryptCalls).toBe(0)
  })

  it('close() aborts a request in flight; its answer is never handed out', async () => {
    const kms = fakeKms()
    kms.delayMs = 50
    const gateway = new KmsGateway(kms.client, policy, new MetricsRecorder())
    const pending = gateway.generateDataKey('alias/x', undefined).catch((e: unknown) => e)
    await new Promise((resolve) => setTimeout(resolve, 10))
    gateway.close()
    const error = await pending
    expect(isSqsEnvelopeError(error) && error.code).toBe('CLOSED')
  })

  it('backoff waits follow the shared equal-jitter policy: half the ceiling at least, the cap at most', async () => {
    const kms = fakeKms()
    kms.failures.push(awsError('ThrottlingException'), awsError('ThrottlingException'))
    const gateway = new KmsGateway(
      kms.client,
      { ...policy, kmsRetryBaseDelayMs: 80, kmsRetryMaxDelayMs: 100 },
      new MetricsRecorder(),
    )
    const started = performance.now()
    await gateway.generateDataKey('alias/x', undefined)
    // Waits of [40, 80] then [50, 100] ms (the second capped): full jitter could have waited 0.
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(89)
    expect(waited).toBeLessThan(1000)
  })

  it("an injected client's own retries are counted from the SDK's $metadata.attempts", async () => {
    const kms = fakeKms()
    const send = kms.client.send.bind(kms.client)
    kms.client.send = (async (command: never, options: never) => {
      const out = (await send(command, options)) as unknown as Record<string, unknown>
      return { ...out, $metadata: { attempts: 3 } }
    }) as typeof kms.client.send
    const metrics = new MetricsRecorder()
    await new KmsGateway(kms.client, policy, metrics).generateDataKey('alias/x', undefined)
    expect(metrics.snapshot()).toMatchObject({ generateDataKeyCalls: 3, retries: 2 })
  })
})

describe('deterministic KMS client errors are permanent', () => {
  it('ValidationException is KMS_REQUEST_INVALID, sent once, not retried', async () => {
    const kms = fakeKms()
    kms.failures.push(awsError('ValidationException'))
    const metrics = new MetricsRecorder()
    const error = await new KmsGateway(kms.client, policy, metrics)
      .decrypt(Buffer.from('x'), undefined, undefined)
      .catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && [error.code, error.kind]).toEqual(['KMS_REQUEST_INVALID', 'permanent'])
    expect(metrics.snapshot()).toMatchObject({ decryptCalls: 1, retries: 0 })
  })
})

describe('a caller aborted while its request is in flight', () => {
  it('is released at once, even when the client is slow to notice; a late answer is wiped', async () => {
    const kms = fakeKms()
    kms.delayMs = 150
    // A client that ignores the abort signal: its answer still arrives after the caller left.
    const send = kms.client.send.bind(kms.client)
    kms.client.send = ((command: never) => send(command)) as typeof kms.client.send
    const gateway = new KmsGateway(kms.client, policy, new MetricsRecorder())
    const controller = new AbortController()
    const pending = gateway.generateDataKey('alias/x', undefined, controller.signal).catch((e: unknown) => e)
    await new Promise((resolve) => setTimeout(resolve, 20))
    controller.abort()
    const error = await pending
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    // Released before the answer arrived.
    expect(kms.handedOut).toHaveLength(0)
    await vi.waitFor(() => expect(kms.handedOut).toHaveLength(1))
    expect((kms.handedOut[0] as Buffer).every((byte) => byte === 0)).toBe(true)
  })
})

describe('requestTimeoutMs bounds every KMS request, also on an injected client', () => {
  /** A KMS that never answers; it ends a request only when its abortSignal does, as the SDK's handler does. */
  function silentKms() {
    const signals: AbortSignal[] = []
    const client = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          const signal = options?.abortSignal
          if (!signal) return
          signals.push(signal)
          signal.addEventListener('abort', () =>
            reject(Object.assign(new Error('Request aborted'), { name: 'AbortError', cause: signal.reason })),
          )
        }),
      destroy: () => {},
    } as unknown as KMSClient
    return { client, signals }
  }

  it('a request that does not answer in time is KMS_UNAVAILABLE, retried up to kmsMaxAttempts', async () => {
    const kms = silentKms()
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(kms.client, { ...policy, kmsMaxAttempts: 3, requestTimeoutMs: 40 }, metrics)
    const started = performance.now()
    const error = await gateway.decrypt(Buffer.from('x'), undefined, undefined).catch((e: unknown) => e)
    const elapsed = performance.now() - started
    expect(isSqsEnvelopeError(error) && [error.code, error.kind, error.message]).toEqual([
      'KMS_UNAVAILABLE',
      'transient',
      'KMS Decrypt failed with TimeoutError after 3 attempts',
    ])
    expect(kms.signals).toHaveLength(3)
    expect(kms.signals.map((signal) => (signal.reason as DOMException).name)).toEqual([
      'TimeoutError',
      'TimeoutError',
      'TimeoutError',
    ])
    expect(metrics.snapshot()).toMatchObject({ decryptCalls: 3, retries: 2 })
    expect(elapsed).toBeGreaterThanOrEqual(115)
    expect(elapsed).toBeLessThan(2000)
  })

  it("the caller's own abort is still ABORTED, not a timeout, and not retried", async () => {
    const kms = silentKms()
    const gateway = new KmsGateway(kms.client, { ...policy, requestTimeoutMs: 5000 }, new MetricsRecorder())
    const controller = new AbortController()
    const pending = gateway.decrypt(Buffer.from('x'), undefined, undefined, controller.signal).catch((e: unknown) => e)
    await vi.waitFor(() => expect(kms.signals).toHaveLength(1))
    controller.abort()
    const error = await pending
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    expect(kms.signals).toHaveLength(1)
  })
})
