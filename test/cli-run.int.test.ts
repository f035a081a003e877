// `run`: a bounded stop, quiet handler errors and usage exit codes (issue 23 items 5, 9, 10, 11), through the real bin.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { finished, runCli, startCli } from './cli-support.ts'
import { sealJobs, sendRaw, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, newQueue, newQueueWithKey } = localstackFixture()
const dir = mkdtempSync(join(tmpdir(), 'sqs-envelope-cli-run-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function queueWithJobs(prefix: string, count: number) {
  const { queue, sealer } = await newQueueWithKey({ prefix, visibilityTimeoutSeconds: 30 })
  await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, count))
  sealer.close()
  return queue
}

function writeHandler(name: string, source: string): string {
  const file = join(dir, name)
  writeFileSync(file, source)
  return file
}

describe('sqs-envelope run', () => {
  it('SIGTERM with a handler that ignores its signal (a 60 s timer): exits 0 within --drain-timeout 1s plus the 2 s margin', async () => {
    const queue = await queueWithJobs('cli-run-stubborn', 1)
    const started = join(dir, 'stubborn-started')
    const handler = writeHandler(
      'stubborn.mjs',
      `import { writeFileSync } from 'node:fs'
export default async function () {
  writeFileSync(${JSON.stringify(started)}, 'started')
  await new Promise((resolve) => setTimeout(resolve, 60_000))
}
`,
    )
    const child = startCli(target, [
      'run',
      '--queue-url',
      queue.queueUrl,
      '--handler',
      handler,
      '--wait-seconds',
      '1',
      '--drain-timeout',
      '1s',
    ])
    const result = finished(child)
    await waitFor(() => existsSync(started), 30_000, 'the handler to start')
    const signalledAt = performance.now()
    child.kill('SIGTERM')
    const { code, stderr } = await result
    const tookMs = performance.now() - signalledAt
    expect(stderr).toContain('SIGTERM: stopping; in-flight jobs get 1000 ms')
    expect(code).toBe(0)
    // 1 s of drain, up to 2 s of margin; before the fix, the handler's timer kept it alive for the full 60 s.
    expect(tookMs).toBeLessThan(3500)
    expect(tookMs).toBeGreaterThanOrEqual(900)
  }, 60_000)

  it("a failed job is printed by its error's name and code, never its message; --verbose adds the message", async () => {
    const handler = writeHandler(
      'leaky.mjs',
      `export default async function (job) {
  throw Object.assign(new TypeError('cannot charge card 4111111111111111 for ' + job), { code: 'E_CARD' })
}
`,
    )
    for (const verbose of [false, true]) {
      const queue = await queueWithJobs(`cli-run-errors-${verbose}`, 1)
      const child = startCli(target, [
        'run',
        '--queue-url',
        queue.queueUrl,
        '--handler',
        handler,
        '--wait-seconds',
        '1',
        ...(verbose ? ['--verbose'] : []),
      ])
      let stderr = ''
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const result = finished(child)
      await waitFor(() => / failed \(receive 1\): /.test(stderr), 30_000, 'the job to fail')
      child.kill('SIGTERM')
      const { code } = await result
      expect(code).toBe(0)
      const line = stderr.split('\n').find((l) => / failed \(receive 1\): /.test(l)) as string
      if (verbose) {
        expect(line).toMatch(
          /^job [0-9a-f-]{36} failed \(receive 1\): TypeError E_CARD: cannot charge card 4111111111111111 for job-0$/,
        )
      } else {
        expect(line).toMatch(/^job [0-9a-f-]{36} failed \(receive 1\): TypeError E_CARD$/)
        expect(stderr).not.toContain('4111')
        expect(stderr).not.toContain('job-0')
      }
    }
  }, 90_000)

  it('a handler module whose import never settles: exit 2 after --handler-load-timeout, naming it (not Node 13, not a hang)', async () => {
    const queue = await newQueue({ prefix: 'cli-run-import' })
    // One that keeps the event loop busy (would hang forever), one that does not (Node would exit 13).
    const busy = writeHandler(
      'busy.mjs',
      'setInterval(() => {}, 1000)\nawait new Promise(() => {})\nexport default async () => {}\n',
    )
    const idle = writeHandler('idle.mjs', 'await new Promise(() => {})\nexport default async () => {}\n')
    for (const handler of [busy, idle]) {
      const startedAt = performance.now()
      const result = await runCli(target, [
        'run',
        '--queue-url',
        queue.queueUrl,
        '--handler',
        handler,
        '--handler-load-timeout',
        '1s',
      ])
      expect(result.code, handler).toBe(2)
      expect(result.stderr).toBe(`sqs-envelope: --handler ${handler} did not finish loading within 1000 ms\n`)
      expect(performance.now() - startedAt).toBeLessThan(10_000)
    }
  }, 60_000)

  it('options the consumer refuses are usage errors (exit 2): --heartbeat-interval without --visibility-timeout, --context __proto__=x', async () => {
    const queue = await newQueue({ prefix: 'cli-run-usage' })
    const handler = writeHandler('never-called.mjs', 'export default async () => {}\n')
    const heartbeat = await runCli(target, [
      'run',
      '--queue-url',
      queue.queueUrl,
      '--handler',
      handler,
      '--heartbeat-interval',
      '5',
    ])
    expect(heartbeat.code).toBe(2)
    expect(heartbeat.stderr).toMatch(/^sqs-envelope: OPTION_INVALID: .*heartbeatInterval/)
    const context = await runCli(target, [
      'run',
      '--queue-url',
      queue.queueUrl,
      '--handler',
      handler,
      '--context',
      '__proto__=x',
    ])
    expect(context.code).toBe(2)
    expect(context.stderr).toMatch(/^sqs-envelope: OPTION_INVALID: .*"__proto__"/)
  }, 60_000)
})
