import { afterEach, describe, expect, it, vi } from 'vitest'
import { type DataKeyLimits, DataKeyPool } from './data-key-pool.ts'
import { isSqsEnvelopeError } from './errors.ts'
import { KmsGateway } from './kms/gateway.ts'
import { MetricsRecorder } from './metrics.ts'
import { awsError, FAST_KMS_POLICY, fakeKms } from './test-support/fake-kms.ts'

const roomy: DataKeyLimits = {
  reuse: true,
  maxAgeMs: 60_000,
  maxMessages: 1_000_000,
  maxBytes: 1 << 30,
  maxLiveKeys: 1000,
  maxBodyBytes: 1 << 20,
}
const policy = FAST_KMS_POLICY

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

  it('counts the budget in ciphertext bytes: the plaintext padded to the next 16-byte block', async () => {
    // 'é' is 2 UTF-8 bytes: 20 of them are 40 bytes, 48 of ciphertext; two make 96, a third would make 144.
    const { kms, pool } = setup({ maxBytes: 100 })
    for (let i = 0; i < 6; i++) await pool.seal('alias/k', undefined, 'é'.repeat(20))
    expect(kms.calls.generate).toBe(3)
  })

  it('counts a string near the end of the budget exactly (UTF-8, not its length)', async () => {
    // 48 bytes used; 52 left. 'é' × 20: 40 bytes, 48 of ciphertext, fits; its length (20) and 3 × 20
    // (64 bytes of ciphertext) decide nothing. 'é' × 24: 48 bytes, 64 of ciphertext, does not fit.
    const fits = setup({ maxBytes: 100 })
    await fits.pool.seal('alias/k', undefined, new Uint8Array(40))
    await fits.pool.seal('alias/k', undefined, 'é'.repeat(20))
    expect(fits.kms.calls.generate).toBe(1)
    const over = setup({ maxBytes: 100 })
    await over.pool.seal('alias/k', undefined, new Uint8Array(40))
    await over.pool.seal('alias/k', undefined, 'é'.repeat(24))
    expect(over.kms.calls.generate).toBe(2)
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

describe('the sealer bounds its live data keys (LRU over key and context)', () => {
  it('a distinct context per message keeps at most maxLiveKeys keys alive; evicted ones are zero-filled', async () => {
    const { kms, metrics, pool } = setup({ maxLiveKeys: 3 })
    for (let i = 0; i < 10; i++) await pool.seal('alias/k', { tenant: String(i) }, 'x')
    expect(pool.liveKeys).toBe(3)
    expect(kms.calls.generate).toBe(10)
    expect(metrics.snapshot().keysEvicted).toBe(7)
    expect(kms.handedOut.every(allZero)).toBe(true)
  })

  it('evicts the least recently used key, not the oldest one', async () => {
    const { kms, pool } = setup({ maxLiveKeys: 2 })
    await pool.seal('alias/k', { t: 'a' }, 'x')
    await pool.seal('alias/k', { t: 'b' }, 'x')
    await pool.seal('alias/k', { t: 'a' }, 'x') // a is now the most recent
    await pool.seal('alias/k', { t: 'c' }, 'x') // evicts b
    await pool.seal('alias/k', { t: 'a' }, 'x')
    expect(kms.calls.generate).toBe(3)
    await pool.seal('alias/k', { t: 'b' }, 'x')
    expect(kms.calls.generate).toBe(4)
  })

  it('concurrent seals over more contexts than maxLiveKeys all succeed', async () => {
    const { pool } = setup({ maxLiveKeys: 2 })
    const sealed = await Promise.all(
      Array.from({ length: 60 }, (_, i) => pool.seal('alias/k', { t: String(i % 6) }, `m${i}`)),
    )
    expect(sealed).toHaveLength(60)
    expect(pool.liveKeys).toBeLessThanOrEqual(2)
  })
})

describe('key rotation under bursts is linear', () => {
  it('8,000 concurrent seals at 7 messages per key: each seal waits once, not once per new key', async () => {
    const { kms, metrics, pool } = setup({ maxMessages: 7 })
    kms.delayMs = 0
    const n = 8000
    const sealed = await Promise.all(Array.from({ length: n }, (_, i) => pool.seal('alias/k', undefined, `m${i}`)))
    expect(sealed).toHaveLength(n)
    expect(kms.calls.generate).toBe(Math.ceil(n / 7))
    const { singleFlightJoins, cacheHits, cacheMisses } = metrics.snapshot()
    // Work counter: every wait on a GenerateDataKey started by someone else is a join (a wake-up).
    // Waking all waiters on every new key made each of them wait again: for 2,000 seals the
    // previous pool counted 286,429 joins (about n²/2·7); here each seal waits at most once.
    expect(singleFlightJoins).toBeLessThan(n)
    expect(cacheHits + cacheMisses).toBe(n)
    expect(cacheMisses).toBe(Math.ceil(n / 7))
  })
})

describe('size is checked before sealing', () => {
  it('a body over maxBodyBytes fails with MESSAGE_TOO_LARGE before any KMS call or budget is spent', async () => {
    const { kms, metrics, pool } = setup({ maxBodyBytes: 1000 })
    const error = await pool.seal('alias/k', undefined, new Uint8Array(2000)).catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && error.code).toBe('MESSAGE_TOO_LARGE')
    expect((error as Error).message).toBe(
      'the sealed body would be at least 2819 bytes (payload 2000 bytes), over maxBodyBytes (1000)',
    )
    expect(kms.calls.generate).toBe(0)
    expect(metrics.snapshot()).toMatchObject({ cacheHits: 0, cacheMisses: 0 })
  })

  it('with a live key the check is exact and spends none of its budget', async () => {
    const { kms, pool } = setup({ maxBodyBytes: 400, maxMessages: 2 })
    await pool.seal('alias/k', undefined, 'a')
    // The fake KMS's blobs are 48 bytes: a 200-byte payload makes a 51 + 64 + 356 = 471-byte body.
    await expect(pool.seal('alias/k', undefined, new Uint8Array(200))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      message: 'the sealed body would be 471 bytes (payload 200 bytes), over maxBodyBytes (400)',
    })
    await pool.seal('alias/k', undefined, 'b')
    expect(kms.calls.generate).toBe(1)
  })

  it('a string is measured in UTF-8 bytes: near the limit, 3-byte characters are refused where ASCII fits', async () => {
    const { kms, pool } = setup({ maxBodyBytes: 1 << 20 })
    // 300,000 ASCII characters: a body of about 400 kB.
    await pool.seal('alias/k', undefined, 'a'.repeat(300_000))
    // 300,000 × '€' is 900,000 UTF-8 bytes: a body of about 1.2 MB.
    await expect(pool.seal('alias/k', undefined, '€'.repeat(300_000))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      message: expect.stringContaining('(payload 900000 bytes), over maxBodyBytes (1048576)'),
    })
    expect(kms.calls.generate).toBe(1)
  })

  it('a body that fits only a shorter data key is refused after GenerateDataKey, before encryption (reuse: false)', async () => {
    // 51 + base64(1 byte) 4 + token for 200 bytes 356 = 411 fits 440; with the 48-byte blob it is 471.
    const { kms, metrics, pool } = setup({ reuse: false, maxBodyBytes: 440 })
    await expect(pool.seal('alias/k', undefined, new Uint8Array(200))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    })
    expect(kms.calls.generate).toBe(1)
    expect(metrics.snapshot()).toMatchObject({ cacheMisses: 0, keysEvicted: 1 })
    expect(kms.handedOut.every(allZero)).toBe(true)
  })
})

describe('aborts and close() in the pool', () => {
  it('a seal queued behind a GenerateDataKey is released at once with ABORTED; the others still get the key', async () => {
    const { kms, pool } = setup()
    kms.delayMs = 200
    const controller = new AbortController()
    let firstDone = false
    const first = pool.seal('alias/k', undefined, 'a').finally(() => {
      firstDone = true
    })
    const aborted = pool.seal('alias/k', undefined, 'b', controller.signal)
    controller.abort()
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' })
    expect(firstDone).toBe(false)
    await expect(first).resolves.toMatchObject({ keyArn: expect.any(String) })
    expect(kms.calls.generate).toBe(1)
  })

  it('when every seal waiting on a GenerateDataKey aborts, the request is aborted too', async () => {
    const { kms, metrics, pool } = setup()
    kms.delayMs = 50
    const controller = new AbortController()
    const seals = [
      pool.seal('alias/k', undefined, 'a', controller.signal),
      pool.seal('alias/k', undefined, 'b', controller.signal),
    ]
    await new Promise((resolve) => setTimeout(resolve, 10)) // the request is in flight now
    controller.abort()
    for (const seal of seals) await expect(seal).rejects.toMatchObject({ code: 'ABORTED' })
    await new Promise((resolve) => setTimeout(resolve, 80))
    // The fake counts only requests that reached its answer: the aborted one did not.
    expect(kms.calls.generate).toBe(0)
    expect(metrics.snapshot().generateDataKeyCalls).toBe(1)
    await expect(pool.seal('alias/k', undefined, 'c')).resolves.toMatchObject({ keyArn: expect.any(String) })
  })

  it('close() ends queued seals with CLOSED at once', async () => {
    const { kms, pool } = setup()
    kms.delayMs = 200
    const seals = [pool.seal('alias/k', undefined, 'a'), pool.seal('alias/k', undefined, 'b')]
    pool.close()
    for (const seal of seals) await expect(seal).rejects.toMatchObject({ code: 'CLOSED' })
  })
})
