import { afterEach, describe, expect, it, vi } from 'vitest'
import { DataKeyPool } from './data-key-pool.ts'
import { KmsGateway } from './kms/gateway.ts'
import { MetricsRecorder } from './metrics.ts'
import { awsError, FAKE_KEY_ARN, FAST_KMS_POLICY, fakeKms } from './test-support/fake-kms.ts'
import { UnwrapCache, type UnwrapCacheLimits } from './unwrap-cache.ts'

const policy = FAST_KMS_POLICY
const OTHER_ARN = 'arn:aws:kms:us-east-1:000000000000:key/99999999-2222-3333-4444-555555555555'

function setup(limits: Partial<UnwrapCacheLimits> = {}, allowed: string[] = []) {
  const kms = fakeKms()
  const metrics = new MetricsRecorder()
  const gateway = new KmsGateway(kms.client, policy, metrics)
  const sender = new DataKeyPool(
    gateway,
    { reuse: false, maxAgeMs: 1000, maxMessages: 1, maxBytes: 1000, maxLiveKeys: 1, maxBodyBytes: 1 << 20 },
    new MetricsRecorder(),
  )
  const cache = new UnwrapCache(
    gateway,
    { maxEntries: 100, ttlMs: 60_000, failedTtlMs: 60_000, ...limits },
    { allowedKeyArns: new Set(allowed) },
    metrics,
  )
  /** One data key (from a fresh GenerateDataKey) sealing `text`. */
  const seal = async (text: string) => sender.seal('alias/k', undefined, text)
  const open = (sealed: { encryptedDataKey: Uint8Array; token: string }, signal?: AbortSignal) =>
    cache.withKey(sealed.encryptedDataKey, undefined, (f) => f.decrypt(sealed.token).toString(), signal)
  return { kms, metrics, cache, seal, open }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('UnwrapCache', () => {
  it('concurrent opens of one data key make one Decrypt (single-flight)', async () => {
    const { kms, metrics, seal, open } = setup()
    const sealed = await seal('hello')
    const opened = await Promise.all(Array.from({ length: 50 }, () => open(sealed)))
    expect(opened.every((t) => t === 'hello')).toBe(true)
    expect(kms.calls.decrypt).toBe(1)
    expect(metrics.snapshot()).toMatchObject({ decryptCalls: 1, cacheMisses: 1, cacheHits: 49, singleFlightJoins: 49 })
  })

  it('holds at most maxEntries keys, evicting the least recently used', async () => {
    const { kms, cache, seal, open } = setup({ maxEntries: 2 })
    const [a, b, c] = [await seal('a'), await seal('b'), await seal('c')]
    await open(a)
    await open(b)
    await open(a) // a is now the most recent
    await open(c) // evicts b
    expect(cache.size).toBe(2)
    expect(kms.calls.decrypt).toBe(3)
    await open(a)
    expect(kms.calls.decrypt).toBe(3)
    await open(b)
    expect(kms.calls.decrypt).toBe(4)
  })

  it('drops and zero-fills a key ttlMs after it was unwrapped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { kms, metrics, cache, seal, open } = setup({ ttlMs: 1000 })
    const sealedP = seal('a')
    await vi.advanceTimersByTimeAsync(5)
    const sealed = await sealedP
    const first = open(sealed)
    await vi.advanceTimersByTimeAsync(5)
    await first
    const unwrapped = kms.handedOut.at(-1) as Buffer
    expect(unwrapped.every((byte) => byte === 0)).toBe(true)
    expect(cache.size).toBe(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(cache.size).toBe(0)
    expect(metrics.snapshot().keysEvicted).toBe(1)
    const again = open(sealed)
    await vi.advanceTimersByTimeAsync(5)
    await again
    expect(kms.calls.decrypt).toBe(2)
  })

  it('accepts a data key whose KMS key is in the allowlist', async () => {
    const { seal, open } = setup({}, [FAKE_KEY_ARN, OTHER_ARN])
    await expect(open(await seal('ok'))).resolves.toBe('ok')
  })

  it('rejects a data key whose KMS key is not in the allowlist, and caches nothing', async () => {
    const { cache, kms, seal, open } = setup({}, [OTHER_ARN, 'arn:aws:kms:us-east-1:000000000000:key/third'])
    await expect(open(await seal('no'))).rejects.toMatchObject({ code: 'KMS_KEY_NOT_ALLOWED' })
    expect(cache.size).toBe(0)
    expect((kms.handedOut.at(-1) as Buffer).every((byte) => byte === 0)).toBe(true)
  })

  it('the cache key includes the encryption context', async () => {
    const { kms, cache, seal } = setup()
    const sealed = await seal('x')
    const use = (f: { decrypt(t: string): Buffer }) => f.decrypt(sealed.token).toString()
    await cache.withKey(sealed.encryptedDataKey, undefined, use)
    // The fake KMS ignores context; a real one would refuse. Either way it is a separate lookup.
    await cache.withKey(sealed.encryptedDataKey, { queue: 'q' }, use)
    expect(kms.calls.decrypt).toBe(2)
  })

  it('close() zero-fills every cached key and later opens throw CLOSED', async () => {
    const { cache, metrics, seal, open } = setup()
    const sealed = await seal('x')
    await open(sealed)
    cache.close()
    expect(metrics.snapshot().keysEvicted).toBe(1)
    await expect(open(sealed)).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

describe('a data key KMS refused for good costs one Decrypt, not one per delivery (negative cache)', () => {
  const junk = { encryptedDataKey: Buffer.alloc(60, 9), token: 'gAAAAA==' }

  it('the same junk opened again fails at once with the same permanent code and no Decrypt', async () => {
    const { kms, metrics, open } = setup()
    for (let i = 0; i < 5; i++) {
      await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT', kind: 'permanent' })
    }
    expect(kms.calls.decrypt).toBe(1)
    expect(metrics.snapshot()).toMatchObject({ decryptCalls: 1, failedDataKeyCacheHits: 4 })
  })

  it('is keyed like the cache: the same blob under another context is asked again', async () => {
    const { kms, cache } = setup()
    const use = () => 'never'
    await expect(cache.withKey(junk.encryptedDataKey, undefined, use)).rejects.toMatchObject({
      code: 'KMS_INVALID_CIPHERTEXT',
    })
    await expect(cache.withKey(junk.encryptedDataKey, { q: '1' }, use)).rejects.toMatchObject({
      code: 'KMS_INVALID_CIPHERTEXT',
    })
    expect(kms.calls.decrypt).toBe(2)
  })

  it('remembers a key outside allowedKmsKeyArns too', async () => {
    const { kms, seal, open } = setup({}, [OTHER_ARN, 'arn:aws:kms:us-east-1:000000000000:key/third'])
    const sealed = await seal('no')
    await expect(open(sealed)).rejects.toMatchObject({ code: 'KMS_KEY_NOT_ALLOWED' })
    await expect(open(sealed)).rejects.toMatchObject({ code: 'KMS_KEY_NOT_ALLOWED' })
    expect(kms.calls.decrypt).toBe(1)
  })

  it('is short-lived: after failedTtlMs KMS is asked again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { kms, open } = setup({ failedTtlMs: 1000 })
    const first = expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT' })
    await vi.advanceTimersByTimeAsync(5)
    await first
    await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT' })
    expect(kms.calls.decrypt).toBe(1)
    await vi.advanceTimersByTimeAsync(1000)
    const again = expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT' })
    await vi.advanceTimersByTimeAsync(5)
    await again
    expect(kms.calls.decrypt).toBe(2)
  })

  it('is bounded by maxEntries: the oldest refusal is forgotten first', async () => {
    const { kms, cache } = setup({ maxEntries: 2 })
    const use = () => 'never'
    const blobs = [1, 2, 3].map((n) => Buffer.alloc(60, n))
    for (const blob of blobs) await cache.withKey(blob, undefined, use).catch(() => undefined)
    expect(kms.calls.decrypt).toBe(3)
    await cache.withKey(blobs[2] as Buffer, undefined, use).catch(() => undefined)
    expect(kms.calls.decrypt).toBe(3)
    await cache.withKey(blobs[0] as Buffer, undefined, use).catch(() => undefined)
    expect(kms.calls.decrypt).toBe(4)
  })

  it('never remembers what an operator can undo (access denied, disabled key) or a transient failure', async () => {
    const { kms, open } = setup()
    kms.failures.push(awsError('AccessDeniedException'), awsError('DisabledException'))
    await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_ACCESS_DENIED' })
    await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_KEY_DISABLED' })
    await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT' })
    expect(kms.calls.decrypt).toBe(3)
  })

  it('failedTtlMs 0 turns it off', async () => {
    const { kms, open } = setup({ failedTtlMs: 0 })
    await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT' })
    await expect(open(junk)).rejects.toMatchObject({ code: 'KMS_INVALID_CIPHERTEXT' })
    expect(kms.calls.decrypt).toBe(2)
  })
})

describe('aborts in the unwrap cache', () => {
  it('a single-flight joiner whose signal aborts is released at once with ABORTED', async () => {
    const { kms, seal, open } = setup()
    const sealed = await seal('x')
    kms.delayMs = 200
    let leaderDone = false
    const leader = open(sealed).finally(() => {
      leaderDone = true
    })
    const controller = new AbortController()
    const joiner = open(sealed, controller.signal)
    await new Promise((resolve) => setTimeout(resolve, 10))
    controller.abort()
    await expect(joiner).rejects.toMatchObject({ code: 'ABORTED' })
    // Released at once: before the Decrypt it joined has answered.
    expect(leaderDone).toBe(false)
    await expect(leader).resolves.toBe('x')
    expect(kms.calls.decrypt).toBe(1)
  })
})
