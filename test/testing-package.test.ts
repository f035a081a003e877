import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import {
  createTestQueue,
  findLocalStackDir,
  LocalStackError,
  localStackVersion,
  startLocalStack,
  uniqueName,
} from '@sqs-envelope/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { localstack } from './support.ts'

const { target, sqs, kms } = localstack()
afterAll(() => {
  sqs.destroy()
  kms.destroy()
})

describe('@sqs-envelope/testing', () => {
  it('reads the pinned LocalStack version from localstack/version, the one place it is written', () => {
    const dir = findLocalStackDir()
    expect(dir).toBeDefined()
    expect(localStackVersion()).toBe(readFileSync(join(dir as string, 'version'), 'utf8').trim())
    expect(localStackVersion()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('mode "endpoint" uses a running LocalStack and stop() leaves it running', async () => {
    const started = await startLocalStack({ mode: 'endpoint', endpoint: target.endpoint })
    expect(started).toMatchObject({ endpoint: target.endpoint, mode: 'endpoint', region: 'us-east-1' })
    await started.stop()
    const health = await fetch(new URL('/_localstack/health', target.endpoint))
    expect(health.ok).toBe(true)
  })

  it('without a launcher, host mode fails with a stable code and says what to install', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-localstack-'))
    const error = await startLocalStack({ mode: 'host', localstackDir: empty }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LocalStackError)
    expect((error as LocalStackError).code).toBe('LOCALSTACK_UNAVAILABLE')
    expect((error as Error).message).toContain('LOCALSTACK_ENDPOINT')
    expect((error as Error).message).toContain('Docker')
    expect((error as Error).message).toContain('python3')
  })

  it('mode "endpoint" without an endpoint is LOCALSTACK_UNAVAILABLE', async () => {
    const saved = process.env.LOCALSTACK_ENDPOINT
    delete process.env.LOCALSTACK_ENDPOINT
    try {
      await expect(startLocalStack({ mode: 'endpoint' })).rejects.toMatchObject({ code: 'LOCALSTACK_UNAVAILABLE' })
    } finally {
      if (saved !== undefined) process.env.LOCALSTACK_ENDPOINT = saved
    }
  })

  it('names are unique and within the SQS limit', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('a-rather-long-prefix-for-a-queue-name')))
    expect(names.size).toBe(1000)
    for (const name of names) expect(name.length).toBeLessThanOrEqual(75)
  })

  it('createTestQueue makes a FIFO queue with a FIFO DLQ', async () => {
    const queue = await createTestQueue(sqs, { fifo: true, deadLetterQueue: true })
    expect(queue.queueUrl.endsWith('.fifo')).toBe(true)
    expect(queue.deadLetterQueue?.queueUrl.endsWith('-dlq.fifo')).toBe(true)
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['FifoQueue', 'RedrivePolicy'] }),
    )
    expect(Attributes?.FifoQueue).toBe('true')
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 })
    await queue.delete()
  })
})
