import { type ChildProcess, fork } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { createTestKey, createTestQueue } from '@sqs-envelope/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { queueDepth, sealJobs, sendRaw, waitFor } from './consumer-support.ts'
import { localstack } from './support.ts'

const { target, sqs, kms } = localstack()
const worker = fileURLToPath(new URL('./fixtures/consumer-worker.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'sqs-envelope-crash-'))

afterAll(() => {
  sqs.destroy()
  kms.destroy()
  rmSync(dir, { recursive: true, force: true })
})

function startWorker(queueUrl: string, out: string): ChildProcess {
  return fork(worker, {
    execArgv: ['--conditions=@sqs-envelope/source', '--no-warnings'],
    env: {
      ...process.env,
      QUEUE_URL: queueUrl,
      OUT_FILE: out,
      AWS_ENDPOINT: target.endpoint,
      AWS_REGION: target.region,
      AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
}

const handledLines = (out: string) => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [])

describe('EnvelopeConsumer: crash', () => {
  it('a worker killed with SIGKILL mid-batch and started again: every job handled at least once, none lost', async () => {
    const key = await createTestKey(kms)
    const queue = await createTestQueue(sqs, { prefix: 'consumer-crash', visibilityTimeoutSeconds: 3 })
    const total = 300
    const sealer = new EnvelopeSealer({ kms, kmsKeyId: key.keyId })
    await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, total, 20))
    const out = join(dir, 'handled.txt')

    const first = startWorker(queue.queueUrl, out)
    await waitFor(() => handledLines(out).length >= 45, 30_000, 'the first worker to handle some jobs')
    const killed = new Promise((resolve) => first.once('exit', resolve))
    first.kill('SIGKILL')
    await killed
    const beforeRestart = new Set(handledLines(out)).size
    expect(beforeRestart).toBeLessThan(total)

    const second = startWorker(queue.queueUrl, out)
    await waitFor(() => new Set(handledLines(out)).size === total, 60_000, 'every job handled after the restart')
    const exited = new Promise<number | null>((resolve) => second.once('exit', resolve))
    second.kill('SIGTERM')
    expect(await exited).toBe(0)

    const lines = handledLines(out)
    console.info(
      `[consumer-crash] ${beforeRestart} handled before SIGKILL, ${lines.length} handler runs for ${total} jobs (${lines.length - total} redelivered)`,
    )
    // Jobs handled but not yet deleted when the process died come again: the kill was mid-batch.
    expect(lines.length).toBeGreaterThan(total)
    expect(new Set(lines)).toEqual(new Set(Array.from({ length: total }, (_, i) => `job-${i}`)))
    await waitFor(async () => (await queueDepth(sqs, queue.queueUrl)) === 0, 15_000, 'the queue to be empty')
    await queue.delete()
  }, 120_000)
})
