import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms'
import { afterEach, describe, expect, it } from 'vitest'
import corePackage from '../../package.json' with { type: 'json' }
import { createAwsClient, USER_AGENT } from './aws-client.ts'

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }

interface HandlerConfig {
  readonly requestTimeout?: number
  readonly connectionTimeout?: number
  readonly throwOnRequestTimeout?: boolean
}

function handlerConfig(client: KMSClient): Promise<HandlerConfig> {
  return (client.config.requestHandler as unknown as { configProvider: Promise<HandlerConfig> }).configProvider
}

describe('createAwsClient: the client config', () => {
  it('names this library in the user agent, and sets region, endpoint, SDK attempts and the timeouts', async () => {
    const kms = createAwsClient(KMSClient, {
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:1',
      requestTimeoutMs: 2500,
      maxAttempts: 1,
    })
    expect(USER_AGENT).toEqual(['sqs-envelope', corePackage.version])
    expect(kms.config.customUserAgent).toEqual([USER_AGENT])
    expect(await kms.config.region()).toBe('eu-west-1')
    expect(await kms.config.maxAttempts()).toBe(1)
    expect((await kms.config.endpoint?.())?.hostname).toBe('127.0.0.1')
    expect(await handlerConfig(kms)).toMatchObject({
      requestTimeout: 2500,
      connectionTimeout: 2500,
      throwOnRequestTimeout: true,
    })
    kms.destroy()
  })

  it('connecting gets at most 5 s of a longer request timeout; region and endpoint stay the SDK’s when absent', async () => {
    const kms = createAwsClient(KMSClient, { requestTimeoutMs: 30_000, maxAttempts: 3 })
    expect(await handlerConfig(kms)).toMatchObject({ requestTimeout: 30_000, connectionTimeout: 5000 })
    expect(await kms.config.maxAttempts()).toBe(3)
    expect(kms.config.endpoint).toBeUndefined()
    kms.destroy()
  })
})

describe('createAwsClient: the request timeout holds on a real socket', () => {
  let server: Server | undefined

  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve))
    server = undefined
  })

  /** A local HTTP endpoint that answers KMS's ListKeys after `answerAfterMs`, or never. */
  async function endpoint(answerAfterMs: number | undefined): Promise<string> {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      if (answerAfterMs === undefined) return
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        res.end('{"Keys":[],"Truncated":false}')
      }, answerAfterMs)
    })
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it('a request with no answer fails with a TimeoutError after requestTimeoutMs', async () => {
    const kms = createAwsClient(KMSClient, {
      region: 'us-east-1',
      endpoint: await endpoint(undefined),
      requestTimeoutMs: 150,
      maxAttempts: 1,
    })
    kms.config.credentials = async () => credentials
    const started = performance.now()
    const error = await kms.send(new ListKeysCommand({})).catch((e: unknown) => e as Error)
    const elapsed = performance.now() - started
    expect((error as Error).name).toBe('TimeoutError')
    expect(elapsed).toBeGreaterThanOrEqual(140)
    expect(elapsed).toBeLessThan(3000)
    kms.destroy()
  }, 10_000)

  it('one request may wait longer by passing requestTimeout to send (a long poll)', async () => {
    const kms = createAwsClient(KMSClient, {
      region: 'us-east-1',
      endpoint: await endpoint(300),
      requestTimeoutMs: 100,
      maxAttempts: 1,
    })
    kms.config.credentials = async () => credentials
    expect((await kms.send(new ListKeysCommand({}), { requestTimeout: 2000 })).Keys).toEqual([])
    expect(((await kms.send(new ListKeysCommand({})).catch((e: unknown) => e)) as Error).name).toBe('TimeoutError')
    kms.destroy()
  }, 10_000)
})
