import * as timersPromises from 'node:timers/promises'
import { GenerateDataKeyCommand } from '@aws-sdk/client-kms'
import { describe, expect, it, vi } from 'vitest'
import { isSqsEnvelopeError } from '../errors.ts'
import { MetricsRecorder } from '../metrics.ts'
import { awsError, FAKE_KEY_ARN, fakeKms } from '../test-support/fake-kms.ts'

vi.mock('node:timers/promises', { spy: true })

import { backoffMs, KmsGateway } from './gateway.ts'

const policy = { concurrency: 3, maxAttempts: 4, retryBaseDelayMs: 1, retryMaxDelayMs: 2 }

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
      { ...policy, maxAttempts: 10, retryBaseDelayMs: 1000, retryMaxDelayMs: 1000 },
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

  it('backoff is full jitter, capped by kmsRetryMaxDelayMs', () => {
    const p = { retryBaseDelayMs: 100, retryMaxDelayMs: 1000 }
    for (let i = 0; i < 200; i++) {
      expect(backoffMs(1, p)).toBeLessThanOrEqual(100)
      expect(backoffMs(3, p)).toBeLessThanOrEqual(400)
      expect(backoffMs(10, p)).toBeLessThanOrEqual(1000)
      expect(backoffMs(10, p)).toBeGreaterThanOrEqual(0)
    }
  })
})

describe('aborts and close() in the KMS gateway', () => {
  it('a caller aborted while queued in the limiter is released at once with ABORTED, never sent, never counted', async () => {
    const kms = fakeKms()
    kms.delayMs = 200
    const metrics = new MetricsRecorder()
    const gateway = new KmsGateway(kms.client, { ...policy, concurrency: 1 }, metrics)
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
      { ...policy, maxAttempts: 1000, retryBaseDelayMs: 100, retryMaxDelayMs: 100 },
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

  it('backoff sleeps use node:timers/promises, with the signal that ends them', async () => {
    const kms = fakeKms()
    kms.failures.push(awsError('ThrottlingException'))
    vi.mocked(timersPromises.setTimeout).mockClear()
    const gateway = new KmsGateway(kms.client, policy, new MetricsRecorder())
    await gateway.generateDataKey('alias/x', undefined)
    expect(timersPromises.setTimeout).toHaveBeenCalledTimes(1)
    expect(vi.mocked(timersPromises.setTimeout).mock.calls[0]?.[2]).toMatchObject({ signal: expect.any(AbortSignal) })
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
