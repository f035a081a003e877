// requestTimeoutMs: a KMS request that is accepted and never answered in time ends, counts as
// KMS_UNAVAILABLE (transient, retried), and a caller's own abort stays ABORTED. The fault proxy
// holds chosen KMS requests in front of LocalStack's real KMS.
import { KMSClient } from '@aws-sdk/client-kms'
import { EnvelopeOpener, EnvelopeSealer, isSqsEnvelopeError } from '@sqs-envelope/core'
import { createTestKey, type FaultProxy, startFaultProxy } from '@sqs-envelope/testing'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { localstack, toMessage } from './support.ts'

const { target, kms } = localstack()
const proxies: FaultProxy[] = []
const clients: KMSClient[] = []

afterEach(async () => {
  vi.unstubAllEnvs()
  for (const client of clients.splice(0)) client.destroy()
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()))
})

afterAll(() => kms.destroy())

async function proxy(): Promise<FaultProxy> {
  const started = await startFaultProxy({ upstream: target.endpoint, lifetimeMs: 60_000 })
  proxies.push(started)
  return started
}

/** An injected client through the proxy, SDK retries off (so ours apply) and no timeout of its own. */
function injectedThrough(faults: FaultProxy): KMSClient {
  const client = new KMSClient({
    endpoint: faults.endpoint,
    region: target.region,
    credentials: target.credentials,
    maxAttempts: 1,
  })
  clients.push(client)
  return client
}

/** Holds KMS `operation` requests (all, or the first `maxHits`) far longer than any test waits. */
function hold(faults: FaultProxy, operation: 'GenerateDataKey' | 'Decrypt', maxHits?: number): void {
  void faults.inject({
    service: 'kms',
    operations: [operation],
    action: { kind: 'delay', ms: 20_000 },
    durationMs: 20_000,
    ...(maxHits === undefined ? {} : { maxHits }),
  })
}

const fastRetries = { kmsRetryBaseDelayMs: 10, kmsRetryMaxDelayMs: 10 }

async function timed<T>(promise: Promise<T>): Promise<{ result: T | unknown; ms: number }> {
  const started = performance.now()
  const result = await promise.catch((e: unknown) => e)
  return { result, ms: performance.now() - started }
}

describe('requestTimeoutMs bounds KMS requests (fault proxy holding requests to LocalStack)', () => {
  it('a GenerateDataKey held past the timeout is abandoned and retried; the retry seals', async () => {
    const faults = await proxy()
    const key = await createTestKey(kms)
    const sealer = new EnvelopeSealer({
      kms: injectedThrough(faults),
      kmsKeyId: key.keyArn,
      requestTimeoutMs: 500,
      kmsMaxAttempts: 2,
      ...fastRetries,
    })
    hold(faults, 'GenerateDataKey', 1)
    const { result, ms } = await timed(sealer.seal('held once'))
    expect(isSqsEnvelopeError(result)).toBe(false)
    expect(ms).toBeGreaterThanOrEqual(490)
    expect(ms).toBeLessThan(10_000)
    expect(sealer.metrics()).toMatchObject({ generateDataKeyCalls: 2, retries: 1 })
    expect(faults.stats().injected.delay).toBe(1)
    // The sealed message opens with LocalStack's KMS directly.
    const opened = await new EnvelopeOpener({ kms }).open(toMessage(result as Awaited<ReturnType<typeof sealer.seal>>))
    expect(opened.value).toBe('held once')
    await sealer.close()
  })

  it('a Decrypt held on every attempt fails as KMS_UNAVAILABLE (transient) after kmsMaxAttempts, long before KMS would answer', async () => {
    const faults = await proxy()
    const key = await createTestKey(kms)
    const sealed = await new EnvelopeSealer({ kms, kmsKeyId: key.keyArn }).seal('never opened in time')
    const opener = new EnvelopeOpener({
      kms: injectedThrough(faults),
      requestTimeoutMs: 300,
      kmsMaxAttempts: 3,
      ...fastRetries,
    })
    hold(faults, 'Decrypt')
    const { result, ms } = await timed(opener.open(toMessage(sealed)))
    expect(isSqsEnvelopeError(result) && [result.code, result.kind, result.message]).toEqual([
      'KMS_UNAVAILABLE',
      'transient',
      'KMS Decrypt failed with TimeoutError after 3 attempts',
    ])
    expect(ms).toBeGreaterThanOrEqual(880)
    expect(ms).toBeLessThan(10_000)
    expect(opener.metrics()).toMatchObject({ decryptCalls: 3, retries: 2 })
    expect(faults.stats().injected.delay).toBe(3)
    await opener.close()
  })

  it("the caller's abort during a held request is ABORTED at once, not a timeout, and not retried", async () => {
    const faults = await proxy()
    const key = await createTestKey(kms)
    const sealed = await new EnvelopeSealer({ kms, kmsKeyId: key.keyArn }).seal('aborted')
    const opener = new EnvelopeOpener({ kms: injectedThrough(faults), requestTimeoutMs: 10_000, ...fastRetries })
    hold(faults, 'Decrypt')
    const controller = new AbortController()
    const pending = timed(opener.open(toMessage(sealed), { signal: controller.signal }))
    await vi.waitFor(() => expect(faults.stats().injected.delay).toBe(1), { timeout: 5000, interval: 20 })
    controller.abort()
    const { result, ms } = await pending
    expect(isSqsEnvelopeError(result) && result.code).toBe('ABORTED')
    expect(ms).toBeLessThan(5000)
    expect(opener.metrics()).toMatchObject({ decryptCalls: 1, retries: 0 })
    await opener.close()
  })

  it('a client we build (endpoint given) times out a held request too', async () => {
    const faults = await proxy()
    const key = await createTestKey(kms)
    vi.stubEnv('AWS_ACCESS_KEY_ID', target.credentials.accessKeyId)
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', target.credentials.secretAccessKey)
    const sealer = new EnvelopeSealer({
      endpoint: faults.endpoint,
      region: target.region,
      kmsKeyId: key.keyArn,
      requestTimeoutMs: 400,
      kmsMaxAttempts: 2,
      ...fastRetries,
    })
    hold(faults, 'GenerateDataKey')
    const { result, ms } = await timed(sealer.seal('x'))
    expect(isSqsEnvelopeError(result) && [result.code, result.kind]).toEqual(['KMS_UNAVAILABLE', 'transient'])
    expect(ms).toBeGreaterThanOrEqual(790)
    expect(ms).toBeLessThan(10_000)
    expect(sealer.metrics()).toMatchObject({ generateDataKeyCalls: 2, retries: 1 })
    await sealer.close()
  })
})
