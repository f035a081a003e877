import { afterEach, describe, expect, it, vi } from 'vitest'
import { type DataKeyLimits, DataKeyPool } from './data-key-pool.ts'
import { isSqsEnvelopeError } from './errors.ts'
import { KmsGateway } from './kms/gateway.ts'
import { MetricsRecorder } from './metrics.ts'
import { awsError, fakeKms } from './test-support/fake-kms.ts'

const roomy: DataKeyLimits = {
  reuse: true,
  maxAgeMs: 60_000,
  maxMessages: 1_000_000,
  maxBytes: 1 << 30,
  maxLiveKeys: 1000,
  maxBodyBytes: 1 << 20,
}
const policy = { concurrency: 4, maxAttempts: 3, retryBaseDelayMs: 1, retryMaxDelayMs: 1 }

function setup(limits: Partial<DataKeyLimits> = {}) {
  const kms = fakeKms()
  const metrics = new MetricsRecorder()
  const pool = new DataKeyPool(new KmsGateway(kms.client, policy, metrics), { ...roomy, ...limits }, metrics)
  return { kms, metrics, pool }
}

const allZero = (b: Buffer) => b.every((byte) => byte === 0)

afterEach(() => {
  vi.useRealTimers()
})

describe('DataKeyPool', () => {
  it('concurrent seals on a cold pool make one GenerateDataKey (single-flight)', async () => {
    const { kms, metrics, pool } = setup()
    const sealed = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.seal('alias/k', undefined, `m${i}`)))
    expect(kms.calls.generate).toBe(1)
    expect(new Set(sealed.map((s) => Buffer.from(s.encryptedDataKey).toString('hex'))).size).toBe(1)
    expect(metrics.snapshot()).toMatchObject({ cacheMisses: 1, cacheHits: 199, singleFlightJoins: 199 })
  })

  it('keeps one key per (KMS key id, encryption context)', async () => {
    const { kms, pool } = setup()
    await pool.seal('alias/a', undefined, 'x')
    await pool.seal('alias/a', { tenant: '1' }, 'x')
    await pool.seal('alias/a', { tenant: '1' }, 'x')
    await pool.seal('alias/b', { tenant: '1' }, 'x')
    await pool.seal('alias/a', { b: '2', a: '1' }, 'x')
    await pool.seal('alias/a', { a: '1', b: '2' }, 'x')
    expect(kms.calls.generate).toBe(4)
  })

  it('retires a key after maxMessages, so 1,000 seals at 100 per key make 10 keys', async () => {
    const { kms, metrics, pool } = setup({ maxMessages: 100 })
    await Promise.all(Array.from({ length: 1000 }, () => pool.seal('alias/k', undefined, 'payload')))
    expect(kms.calls.generate).toBe(10)
    expect(metrics.snapshot().keysEvicted).toBe(10)
  })

  it('retires a key before it would exceed maxBytes', async () => {
    const { kms, pool } = setup({ maxBytes: 100 })
    for (let i = 0; i < 10; i++) await pool.seal('alias/k', undefined, new Uint8Array(30))
    // 3 messages (90 bytes) fit one key; the 4th would pass 100.
    expect(kms.calls.generate).toBe(4)
  })

  it('a message larger than maxBytes still gets sealed, under a key of its own', async () => {
    const { kms, pool } = setup({ maxBytes: 10 })
    await pool.seal('alias/k', undefined, new Uint8Array(50))
    await pool.seal('alias/k', undefined, new Uint8Array(50))
    expect(kms.calls.generate).toBe(2)
  })

  it('retires and zero-fills a key at maxAge even when nothing else is sealed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { kms, metrics, pool } = setup({ maxAgeMs: 1000 })
    const first = pool.seal('alias/k', undefined, 'a')
    await vi.advanceTimersByTimeAsync(5)
    await first
    expect(kms.handedOut).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(metrics.snapshot().keysEvicted).toBe(1)
    const second = pool.seal('alias/k', undefined, 'b')
    await vi.advanceTimersByTimeAsync(5)
    await second
    expect(kms.calls.generate).toBe(2)
  })

  it('zero-fills the plaintext data key KMS returned as soon as the Fernet holds it', async () => {
    const { kms, pool } = setup()
    await pool.seal('alias/k', undefined, 'a')
    expect(kms.handedOut).toHaveLength(1)
    expect(allZero(kms.handedOut[0] as Buffer)).toBe(true)
  })

  it('reuse: false makes one GenerateDataKey per message', async () => {
    const { kms, metrics, pool } = setup({ reuse: false })
    await Promise.all(Array.from({ length: 25 }, () => pool.seal('alias/k', undefined, 'a')))
    expect(kms.calls.generate).toBe(25)
    expect(metrics.snapshot()).toMatchObject({ cacheMisses: 25, keysEvicted: 25 })
  })

  it('a failed GenerateDataKey fails its joiners too, and the next seal tries again', async () => {
    const { kms, pool } = setup()
    kms.failures.push(awsError('AccessDeniedException'))
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => pool.seal('alias/k', undefined, 'a')))
    for (const r of results) {
      expect(r.status).toBe('rejected')
      const reason = (r as PromiseRejectedResult).reason
      expect(isSqsEnvelopeError(reason) && reason.code).toBe('KMS_ACCESS_DENIED')
    }
    await expect(pool.seal('alias/k', undefined, 'a')).resolves.toMatchObject({ keyArn: expect.any(String) })
    expect(kms.calls.generate).toBe(2)
  })

  it('a joiner whose leader was aborted tries again under its own signal', async () => {
    const { kms, pool } = setup()
    kms.delayMs = 20
    const controller = new AbortController()
    const leader = pool.seal('alias/k', undefined, 'a', controller.signal)
    const joiner = pool.seal('alias/k', undefined, 'b')
    controller.abort()
    await expect(leader).rejects.toMatchObject({ code: 'ABORTED' })
    await expect(joiner).resolves.toMatchObject({ keyArn: expect.any(String) })
  })

  it('close() zero-fills live keys and later seals throw CLOSED', async () => {
    const { metrics, pool } = setup()
    await pool.seal('alias/k', undefined, 'a')
    pool.close()
    expect(metrics.snapshot().keysEvicted).toBe(1)
    await expect(pool.seal('alias/k', undefined, 'a')).rejects.toMatchObject({ code: 'CLOSED' })
  })
})
