import { KMSClient } from '@aws-sdk/client-kms'
import { describe, expect, it } from 'vitest'
import corePackage from '../../package.json' with { type: 'json' }
import { USER_AGENT } from '../internal/aws-client.ts'
import { resolveKmsOptions } from '../options.ts'
import { attemptsFor, kmsClientFor } from './client.ts'

describe('kmsClientFor', () => {
  it('clients we build carry a customUserAgent naming the library and its version', () => {
    const { kms, owned } = kmsClientFor(resolveKmsOptions({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' }))
    expect(owned).toBe(true)
    expect(USER_AGENT).toEqual(['sqs-envelope', corePackage.version])
    expect(kms.config.customUserAgent).toEqual([USER_AGENT])
    kms.destroy()
  })

  it('clients we build time out a request after requestTimeoutMs on their HTTP handler', async () => {
    const { kms } = kmsClientFor(resolveKmsOptions({ region: 'us-east-1', requestTimeoutMs: 1234 }))
    const handler = kms.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> }
    expect(await handler.configProvider).toMatchObject({
      requestTimeout: 1234,
      connectionTimeout: 1234,
      throwOnRequestTimeout: true,
    })
    kms.destroy()
  })

  it('an injected client is used as it is', () => {
    const injected = new KMSClient({ region: 'us-east-1' })
    const { kms, owned } = kmsClientFor(resolveKmsOptions({ kms: injected }))
    expect([kms === injected, owned]).toEqual([true, false])
    expect(injected.config.customUserAgent).toBeUndefined()
    injected.destroy()
  })
})

describe('one retry layer: ours do not multiply with an injected client', () => {
  it('a client we build (SDK retries off) gets kmsMaxAttempts', async () => {
    const { kms } = kmsClientFor(resolveKmsOptions({ region: 'us-east-1' }))
    expect(await kms.config.maxAttempts()).toBe(1)
    expect(await attemptsFor(kms, true, 5)).toBe(5)
    kms.destroy()
  })

  it('an injected client that retries itself (SDK default 3) keeps its own: ours make one attempt', async () => {
    const injected = new KMSClient({ region: 'us-east-1' })
    expect(await injected.config.maxAttempts()).toBe(3)
    expect(await attemptsFor(injected, false, 5)).toBe(1)
    injected.destroy()
  })

  it('an injected client with SDK retries off (maxAttempts: 1) gets ours', async () => {
    const injected = new KMSClient({ region: 'us-east-1', maxAttempts: 1 })
    expect(await attemptsFor(injected, false, 5)).toBe(5)
    injected.destroy()
  })
})
