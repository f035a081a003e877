import { KMSClient } from '@aws-sdk/client-kms'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EnvelopeOpener } from './opener.ts'
import { EnvelopeSealer } from './sealer.ts'
import { failureOf } from './test-support/failure.ts'
import { fakeKms } from './test-support/fake-kms.ts'

/** A sealer and an opener on one fake KMS, each holding a data key. */
async function withKeys() {
  const kms = fakeKms()
  const destroy = vi.spyOn(kms.client, 'destroy')
  const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
  const opener = new EnvelopeOpener({ kms: kms.client })
  const sealed = await sealer.seal('job')
  await opener.open({ Body: sealed.body, MessageAttributes: sealed.messageAttributes })
  expect([sealer.liveDataKeys, opener.cachedDataKeys]).toEqual([1, 1])
  return { sealer, opener, sealed, destroy }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('close(): the same lifecycle for the sealer and the opener', () => {
  it('drops every key before it returns, so a caller that does not await it is safe; then resolves', async () => {
    const { sealer, opener } = await withKeys()
    const closing = [sealer.close(), opener.close()]
    // Synchronously: nothing was awaited yet.
    expect([sealer.liveDataKeys, opener.cachedDataKeys]).toEqual([0, 0])
    expect(closing.every((promise) => promise instanceof Promise)).toBe(true)
    expect(await Promise.all(closing)).toEqual([undefined, undefined])
  })

  it('later seals and opens reject with CLOSED; closing again is a no-op that resolves', async () => {
    const { sealer, opener, sealed } = await withKeys()
    await sealer.close()
    await opener.close()
    expect(await failureOf(sealer.seal('later'))).toBe('CLOSED')
    expect(await failureOf(opener.open({ Body: sealed.body }))).toBe('CLOSED')
    await expect(sealer.close()).resolves.toBeUndefined()
    await expect(opener.close()).resolves.toBeUndefined()
  })

  it('never destroys an injected KMS client', async () => {
    const { sealer, opener, destroy } = await withKeys()
    await sealer.close()
    await opener.close()
    expect(destroy).not.toHaveBeenCalled()
  })

  it('destroys a KMS client it built, once, however often it is closed', async () => {
    const destroy = vi.spyOn(KMSClient.prototype, 'destroy')
    const options = { region: 'us-east-1', endpoint: 'http://127.0.0.1:1' }
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', ...options })
    const opener = new EnvelopeOpener(options)
    await Promise.all([sealer.close(), sealer.close(), opener.close(), opener[Symbol.asyncDispose]()])
    expect(destroy).toHaveBeenCalledTimes(2)
  })

  it('await using closes both at the end of the block (Symbol.asyncDispose is close)', async () => {
    const { sealer, opener, sealed } = await withKeys()
    {
      await using disposedSealer = sealer
      await using disposedOpener = opener
      expect([disposedSealer.liveDataKeys, disposedOpener.cachedDataKeys]).toEqual([1, 1])
    }
    expect([sealer.liveDataKeys, opener.cachedDataKeys]).toEqual([0, 0])
    expect(await failureOf(sealer.seal('later'))).toBe('CLOSED')
    expect(await failureOf(opener.open({ Body: sealed.body }))).toBe('CLOSED')
  })

  it('using (Symbol.dispose) still closes both: the work of close() is synchronous', async () => {
    const { sealer, opener } = await withKeys()
    {
      using disposedSealer = sealer
      using disposedOpener = opener
      expect([disposedSealer.liveDataKeys, disposedOpener.cachedDataKeys]).toEqual([1, 1])
    }
    expect([sealer.liveDataKeys, opener.cachedDataKeys]).toEqual([0, 0])
  })
})
