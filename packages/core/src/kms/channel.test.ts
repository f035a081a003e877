import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MetricsRecorder } from '../metrics.ts'
import { EnvelopeOpener } from '../opener.ts'
import { EnvelopeSealer } from '../sealer.ts'
import { awsError, fakeKms } from '../test-support/fake-kms.ts'
import { KMS_CHANNELS } from './channel.ts'
import { KmsGateway } from './gateway.ts'

const policy = {
  kmsConcurrency: 2,
  kmsMaxAttempts: 4,
  kmsRetryBaseDelayMs: 1,
  kmsRetryMaxDelayMs: 2,
  requestTimeoutMs: 10_000,
}

const listeners: Array<[string, (message: unknown) => void]> = []

/** Every message published on `name` while the test runs. */
function record(name: string): unknown[] {
  const seen: unknown[] = []
  const listener = (message: unknown) => seen.push(message)
  subscribe(name, listener)
  listeners.push([name, listener])
  return seen
}

afterEach(() => {
  for (const [name, listener] of listeners.splice(0)) unsubscribe(name, listener)
  vi.restoreAllMocks()
})

describe('sqs-envelope:kms:request', () => {
  it('one event per request sent: throttled, error and ok, with the stable code and a duration', async () => {
    const events = record(KMS_CHANNELS.request)
    const kms = fakeKms()
    kms.failures.push(awsError('ThrottlingException'), awsError('KMSInternalException', 500))
    const gateway = new KmsGateway(kms.client, policy, new MetricsRecorder())
    const key = await gateway.generateDataKey('alias/x', { tenant: 'secret-context-value' })
    expect(events).toMatchObject([
      { operation: 'GenerateDataKey', outcome: 'throttled', code: 'KMS_THROTTLED' },
      { operation: 'GenerateDataKey', outcome: 'error', code: 'KMS_UNAVAILABLE' },
      { operation: 'GenerateDataKey', outcome: 'ok' },
    ])
    for (const event of events as Array<{ durationMs: number }>) expect(event.durationMs).toBeGreaterThanOrEqual(0)
    expect(Object.keys(events[2] as object).sort()).toEqual(['durationMs', 'operation', 'outcome'])
    // Nothing of the key, its ciphertext or the context is published.
    const text = JSON.stringify(events)
    expect(text).not.toContain(key.plaintext.toString('base64'))
    expect(text).not.toContain(Buffer.from(key.ciphertext).toString('base64'))
    expect(text).not.toContain('secret-context-value')
  })

  it('a permanent Decrypt refusal is one error event', async () => {
    const events = record(KMS_CHANNELS.request)
    const gateway = new KmsGateway(fakeKms().client, policy, new MetricsRecorder())
    await expect(gateway.decrypt(Buffer.from('not ours'), undefined, undefined)).rejects.toThrow()
    expect(events).toMatchObject([{ operation: 'Decrypt', outcome: 'error', code: 'KMS_INVALID_CIPHERTEXT' }])
  })

  it('with no subscriber, no event and no clock read', async () => {
    const now = vi.spyOn(performance, 'now')
    const gateway = new KmsGateway(fakeKms().client, policy, new MetricsRecorder())
    await gateway.generateDataKey('alias/x', undefined)
    expect(now).not.toHaveBeenCalled()
  })
})

describe('sqs-envelope:kms:cache_hit / cache_miss', () => {
  it('the opener reports its unwrap cache: one miss, then hits, as metrics() counts them', async () => {
    const hits = record(KMS_CHANNELS.cache_hit)
    const misses = record(KMS_CHANNELS.cache_miss)
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
    const sealed = await Promise.all([sealer.seal('a'), sealer.seal('b'), sealer.seal('c')])
    await sealer.close()
    // The sealer's own data-key cache is not the unwrap cache: nothing published yet.
    expect([hits.length, misses.length]).toEqual([0, 0])
    const opener = new EnvelopeOpener({ kms: kms.client })
    for (const s of sealed) await opener.open({ Body: s.body, MessageAttributes: s.messageAttributes })
    expect(misses).toEqual([{ cache: 'unwrap' }])
    expect(hits).toEqual([{ cache: 'unwrap' }, { cache: 'unwrap' }])
    expect(opener.metrics()).toMatchObject({ cacheHits: 2, cacheMisses: 1, decryptCalls: 1 })
    // The same frozen message each time: no allocation per open.
    expect(hits[0]).toBe(hits[1])
    await opener.close()
  })
})
