// The fault proxy itself: each fault reaches the SDK as the real failure would, and everything is bounded.
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms'
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs'
import { startFaultProxy } from '@sqs-envelope/testing'
import { describe, expect, inject, it } from 'vitest'

const target = inject('localstack')

async function clients(lifetimeMs = 60_000, maxRequests?: number) {
  const proxy = await startFaultProxy({
    upstream: target.endpoint,
    lifetimeMs,
    ...(maxRequests === undefined ? {} : { maxRequests }),
  })
  // One attempt: each request shows what the proxy did to it, without the SDK's retries.
  const config = { endpoint: proxy.endpoint, region: target.region, credentials: target.credentials, maxAttempts: 1 }
  return { proxy, kms: new KMSClient(config), sqs: new SQSClient(config) }
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error & { name: string; $metadata?: { httpStatusCode?: number } },
  )

describe('fault proxy', () => {
  it('refuses an upstream that is not on loopback', async () => {
    await expect(startFaultProxy({ upstream: 'http://example.com:4566' })).rejects.toThrow(/loopback/)
    await expect(startFaultProxy({ upstream: 'https://127.0.0.1:4566' })).rejects.toThrow(/loopback/)
  })

  it('throttle → KMS ThrottlingException; 500 → HTTP 500; reset → a network error; only the operations chosen', async () => {
    const { proxy, kms, sqs } = await clients()
    const throttled = proxy.inject({
      service: 'kms',
      operations: ['ListKeys'],
      action: { kind: 'throttle' },
      durationMs: 400,
    })
    expect((await rejection(kms.send(new ListKeysCommand({}))))?.name).toBe('ThrottlingException')
    await sqs.send(new ListQueuesCommand({})) // another service: untouched
    await throttled
    await kms.send(new ListKeysCommand({})) // the fault has ended by itself

    const failing = proxy.inject({ service: 'sqs', action: { kind: 'error500' }, durationMs: 400 })
    expect((await rejection(sqs.send(new ListQueuesCommand({}))))?.$metadata?.httpStatusCode).toBe(500)
    await failing

    const resetting = proxy.inject({ action: { kind: 'reset' }, durationMs: 5_000, maxHits: 1 })
    const reset = await rejection(kms.send(new ListKeysCommand({})))
    expect(reset).toBeInstanceOf(Error)
    expect(reset?.$metadata?.httpStatusCode).toBeUndefined()
    await kms.send(new ListKeysCommand({})) // maxHits: the second request passes within the duration
    expect(proxy.stats().injected).toMatchObject({ throttle: 1, error500: 1, reset: 1 })
    await proxy.close()
    await resetting // close() ends every fault
    kms.destroy()
    sqs.destroy()
  })

  it('delay holds a request for its time, then forwards it', async () => {
    const { proxy, sqs } = await clients()
    void proxy.inject({ action: { kind: 'delay', ms: 300 }, durationMs: 2_000, maxHits: 1 })
    const started = Date.now()
    await sqs.send(new ListQueuesCommand({}))
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    await proxy.close()
    sqs.destroy()
  })

  it('down cuts and refuses connections for its time, then lets them through again', async () => {
    const { proxy, sqs } = await clients()
    const back = proxy.down(500)
    expect(await rejection(sqs.send(new ListQueuesCommand({})))).toBeInstanceOf(Error)
    await back
    await sqs.send(new ListQueuesCommand({}))
    expect(proxy.stats().injected.down).toBeGreaterThan(0)
    await proxy.close()
    sqs.destroy()
  })

  it('closes itself after its lifetime and after its request budget', async () => {
    const short = await clients(300)
    await short.proxy.closed
    expect(await rejection(short.sqs.send(new ListQueuesCommand({})))).toBeInstanceOf(Error)
    short.sqs.destroy()
    short.kms.destroy()

    const budget = await clients(60_000, 2)
    await budget.sqs.send(new ListQueuesCommand({}))
    await rejection(budget.sqs.send(new ListQueuesCommand({})))
    await budget.proxy.closed
    expect(budget.proxy.stats().requests).toBe(2)
    budget.sqs.destroy()
    budget.kms.destroy()
  })
})
