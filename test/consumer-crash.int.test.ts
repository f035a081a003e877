import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { handledLines, queueDepth, sealJobs, sendRaw, startWorker, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, newQueueWithKey } = localstackFixture()
const dir = mkdtempSync(join(tmpdir(), 'sqs-envelope-crash-'))

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('EnvelopeConsumer: crash', () => {
  it('a worker killed with SIGKILL mid-batch and started again: every job handled at least once, none lost', async () => {
    const { queue, sealer } = await newQueueWithKey({ prefix: 'consumer-crash', visibilityTimeoutSeconds: 3 })
    const total = 300
    await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, total, 20))
    const out = join(dir, 'handled.txt')

    const first = startWorker(target, queue.queueUrl, out)
    await waitFor(() => handledLines(out).length >= 45, 30_000, 'the first worker to handle some jobs')
    const killed = new Promise((resolve) => first.once('exit', resolve))
    first.kill('SIGKILL')
    await killed
    const beforeRestart = new Set(handledLines(out)).size
    expect(beforeRestart).toBeLessThan(total)

    const second = startWorker(target, queue.queueUrl, out)
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
