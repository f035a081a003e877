import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { ATTRIBUTE_QUARANTINE_SOURCE } from '@sqs-envelope/consumer'
import { afterAll, describe, expect, it } from 'vitest'
import { finished, runCli, startCli } from './cli-support.ts'
import { queueDepth, receiveAll, sealJobs, sendRaw, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, newKey, newQueue, newQueueWithKey } = localstackFixture()
const dir = mkdtempSync(join(tmpdir(), 'sqs-envelope-cli-'))

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('sqs-envelope CLI against LocalStack', () => {
  it('send --lines of 1,000 lines through one producer, then receive --json: every line back, once, with its attributes', async () => {
    const key = await newKey({ aliasPrefix: 'cli-lines' })
    const queue = await newQueue({ prefix: 'cli-lines' })
    const lines = Array.from({ length: 1000 }, (_, i) => `job ${i} · ünïcødé "quoted" \\ ${'x'.repeat(i % 50)}`)
    const file = join(dir, 'lines.txt')
    writeFileSync(file, `${lines.join('\n')}\n`)

    const sent = await runCli(target, [
      'send',
      '--queue-url',
      queue.queueUrl,
      '--key-id',
      key.alias as string,
      '--lines',
      file,
      '--attribute',
      'tenant=t1',
    ])
    expect(sent.stderr).toBe('') // stderr is not a TTY here: no progress bar, and no failure
    expect(sent.code).toBe(0)
    // One data key sealed all 1,000 (the sealer's default limits allow it).
    expect(sent.stdout.trim()).toBe(
      'sent 1000, failed 0, KMS calls 1 (GenerateDataKey; 1000 with one data key per message)',
    )

    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--max', '1000', '--json'])
    expect(received.stderr).toBe('')
    expect(received.code).toBe(0)
    const records = received.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { messageId: string; body: string; attributes: Record<string, string> })
    expect(records.map((r) => r.body).sort()).toEqual([...lines].sort())
    expect(new Set(records.map((r) => r.messageId)).size).toBe(1000)
    expect(records.every((r) => JSON.stringify(r.attributes) === '{"tenant":"t1"}')).toBe(true)
    // Deleted what it printed.
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 120_000)

  it('send BODY prints the MessageId; receive --keep prints it and leaves it in the queue', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-one' })
    const sent = await runCli(target, [
      'send',
      '--queue-url',
      queue.queueUrl,
      '--key-id',
      key.keyId,
      '--content-type',
      'json',
      '{"orderId":7}',
    ])
    expect(sent.code).toBe(0)
    const messageId = sent.stdout.trim()
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/)

    const kept = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--keep'])
    expect(kept.code).toBe(0)
    expect(kept.stdout).toBe('{"orderId":7}\n')
    // Made visible again at the end: the next receive gets it at once.
    const again = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--json', '--wait-seconds', '0'])
    expect(JSON.parse(again.stdout)).toEqual({ messageId, body: { orderId: 7 }, attributes: {} })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('a missing queue: send, receive and run exit 1 and say why', async () => {
    const key = await newKey()
    const missing = `${target.endpoint}/000000000000/cli-no-such-queue-${Date.now()}`
    const sent = await runCli(target, ['send', '--queue-url', missing, '--key-id', key.keyId, 'hello'])
    expect(sent.code).toBe(1)
    expect(sent.stderr).toMatch(/SQS_REJECTED.*QueueDoesNotExist/)
    const received = await runCli(target, ['receive', '--queue-url', missing])
    expect(received.code).toBe(1)
    expect(received.stderr).toMatch(/cannot receive from .*QueueDoesNotExist/)
    const handler = join(dir, 'never-called.mjs')
    writeFileSync(handler, 'export default async () => {}\n')
    const ran = await runCli(target, ['run', '--queue-url', missing, '--handler', handler])
    expect(ran.code).toBe(1)
    expect(ran.stderr).toMatch(/^sqs-envelope: cannot read queue .*QueueDoesNotExist/)
  }, 60_000)

  it('a wrong key: send to a key that does not exist exits 1 with KMS_KEY_NOT_FOUND; nothing is sent', async () => {
    const queue = await newQueue({ prefix: 'cli-wrong-key' })
    const file = join(dir, 'wrong-key.txt')
    writeFileSync(file, 'a\nb\nc\n')
    const sent = await runCli(target, [
      'send',
      '--queue-url',
      queue.queueUrl,
      '--key-id',
      'alias/sqs-envelope-no-such-key',
      '--lines',
      file,
    ])
    expect(sent.code).toBe(1)
    expect(sent.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^line 1: KMS_KEY_NOT_FOUND/),
      expect.stringMatching(/^line 2: KMS_KEY_NOT_FOUND/),
      expect.stringMatching(/^line 3: KMS_KEY_NOT_FOUND/),
    ])
    expect(sent.stdout).toMatch(/^sent 0, failed 3/)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('a wrong key on receive: a job of another key than --allowed-key-arn is left in the queue, not quarantined (the allowlist may be what is wrong); exit 3', async () => {
    const other = await newKey()
    const { queue, sealer } = await newQueueWithKey({ prefix: 'cli-not-allowed', deadLetterQueue: true })
    const [job] = await sealJobs(sealer, 1)
    sealer.close()
    await sendRaw(sqs, queue.queueUrl, [job as { body: string }])
    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--allowed-key-arn', other.keyArn])
    expect(received.code).toBe(3)
    expect(received.stdout).toBe('')
    // The opener asks KMS to decrypt under the allowed key only, so KMS itself refuses the other one.
    const reported =
      /^message [0-9a-f-]{36}: (KMS_INCORRECT_KEY|KMS_KEY_NOT_ALLOWED): left in the queue \(suspect: this reader may be misconfigured\)\n$/.exec(
        received.stderr,
      )
    expect(reported, received.stderr).not.toBeNull()
    expect(await queueDepth(sqs, queue.deadLetterQueue?.queueUrl as string)).toBe(0)
    const [left] = await receiveAll(sqs, queue.queueUrl, 1)
    expect(left?.Body).toBe(job?.body)
    await queue.delete()
  }, 60_000)

  it('a poison message: reported with its id and code, moved intact to the DLQ, the good ones printed; exit 3', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-poison', deadLetterQueue: true })
    const { MessageId: poisonId } = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.queueUrl,
        MessageBody: 'not an envelope',
        MessageAttributes: { origin: { DataType: 'String', StringValue: 'legacy' } },
      }),
    )
    const good = await runCli(target, ['send', '--queue-url', queue.queueUrl, '--key-id', key.keyId, 'fine'])
    expect(good.code).toBe(0)

    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--max', '5'])
    expect(received.code).toBe(3)
    expect(received.stdout).toBe('fine\n')
    expect(received.stderr).toBe(
      `message ${poisonId}: BODY_NOT_JSON: moved intact to ${queue.deadLetterQueue?.queueUrl}\n`,
    )
    const [moved] = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(moved?.Body).toBe('not an envelope')
    expect(moved?.MessageAttributes?.origin?.StringValue).toBe('legacy')
    expect(moved?.MessageAttributes?.[ATTRIBUTE_QUARANTINE_SOURCE]?.StringValue).toBe(queue.queueUrl)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('a disabled key: receive quarantines none (no evidence that this reader opens others) and leaves all 6; exit 3', async () => {
    const { key, queue, sealer } = await newQueueWithKey({ prefix: 'cli-disabled', deadLetterQueue: true })
    await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, 6))
    sealer.close()
    await key.disable()
    const received = await runCli(target, [
      'receive',
      '--queue-url',
      queue.queueUrl,
      '--max',
      '6',
      '--wait-seconds',
      '1',
    ])
    expect(received.code).toBe(3)
    const lines = received.stderr.trim().split('\n')
    expect(lines).toHaveLength(6)
    expect(lines.every((line) => / KMS_KEY_DISABLED: /.test(line))).toBe(true)
    expect(lines.filter((line) => line.endsWith('-dlq'))).toHaveLength(0)
    // The breaker's threshold (3) suspect failures in a row, then it opens.
    expect(lines.filter((line) => line.endsWith('(suspect: this reader may be misconfigured)'))).toHaveLength(3)
    expect(lines.filter((line) => line.endsWith('left in the queue (the KMS breaker is open)'))).toHaveLength(3)
    expect(await queueDepth(sqs, queue.deadLetterQueue?.queueUrl as string)).toBe(0)
    expect(await receiveAll(sqs, queue.queueUrl, 6)).toHaveLength(6)
    await queue.delete()
  }, 60_000)

  it('a poison message with no DLQ is reported and left in the queue, never deleted; exit 3', async () => {
    const queue = await newQueue({ prefix: 'cli-poison-no-dlq' })
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: '{}' }))
    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl])
    expect(received.code).toBe(3)
    expect(received.stderr).toBe(
      `message ${MessageId}: BODY_SHAPE: left in the queue: it has no DLQ and no --quarantine-queue-url was given\n`,
    )
    const [left] = await receiveAll(sqs, queue.queueUrl, 1)
    expect(left?.MessageId).toBe(MessageId)
    await queue.delete()
  }, 60_000)

  it('doctor: all checks pass on a queue with a DLQ and an enabled key; exit 0', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-doctor-ok', deadLetterQueue: true })
    const result = await runCli(target, ['doctor', '--queue-url', queue.queueUrl, '--key-id', key.keyId])
    expect(result.code).toBe(0)
    const marks = result.stdout
      .split('\n')
      .filter((line) => /^[✓✗–] /.test(line))
      .map((line) => line[0])
    expect(marks).toEqual(['✓', '✓', '✓', '✓', '✓', '✓', '✓'])
    expect(result.stdout).toMatch(/all checks passed\n$/)
    await queue.delete()
  }, 60_000)

  it('doctor reports a missing DLQ and a disabled key, each with what to do; exit 1', async () => {
    const key = await newKey()
    await key.disable()
    const queue = await newQueue({ prefix: 'cli-doctor-bad' })
    const result = await runCli(target, ['doctor', '--queue-url', queue.queueUrl, '--key-id', key.keyId])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('✗ the queue has no dead-letter queue\n    → create one and set a redrive policy')
    expect(result.stdout).toContain(`✗ KMS key ${key.keyId} is Disabled`)
    expect(result.stdout).toContain(`    → enable it: aws kms enable-key --key-id ${key.keyId}`)
    expect(result.stdout).toMatch(/2 checks failed\n$/)
    await queue.delete()
  }, 60_000)

  it('doctor with an endpoint nothing listens on: ✗ cannot reach SQS, with what to check; exit 1', async () => {
    const result = await runCli(target, [
      'doctor',
      '--endpoint-url',
      'http://127.0.0.1:9',
      '--queue-url',
      'http://127.0.0.1:9/q',
    ])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('✗ cannot reach SQS at http://127.0.0.1:9')
    expect(result.stdout).toContain('    → check --endpoint-url (or AWS_ENDPOINT_URL)')
    expect(result.stdout).toContain('– queue (SQS not reachable)')
  }, 60_000)

  it('send --lines - reads stdin; json lines are checked, a line that is not JSON fails alone', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-stdin' })
    const sent = await runCli(
      target,
      ['send', '--queue-url', queue.queueUrl, '--key-id', key.keyId, '--lines', '-', '--content-type', 'json'],
      '{"n":1}\nnot json\n\n{"n":2}\n',
    )
    expect(sent.code).toBe(1)
    expect(sent.stderr).toMatch(/^line 2: PAYLOAD_UNSEALABLE: not JSON/)
    expect(sent.stdout).toMatch(/^sent 2, failed 1, /)
    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--json'])
    expect(received.code).toBe(0)
    const bodies = received.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { body: { n: number } }).body.n)
    expect(bodies.sort()).toEqual([1, 2])
    await queue.delete()
  }, 60_000)

  it('usage errors exit 2; --help documents the exit codes', async () => {
    const missingOption = await runCli(target, ['receive'])
    expect(missingOption.code).toBe(2)
    expect(missingOption.stderr).toContain("required option '--queue-url <url>' not specified")
    const badNumber = await runCli(target, ['receive', '--queue-url', 'x', '--max', 'lots'])
    expect(badNumber.code).toBe(2)
    expect(badNumber.stderr).toContain('--max must be an integer from 1')
    const help = await runCli(target, ['receive', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('3  at least one message could not be opened')
  }, 60_000)

  it('run: a handler file without a default export, or missing, is a usage error (exit 2) naming it', async () => {
    const handler = join(dir, 'no-default.ts')
    writeFileSync(handler, 'export const handle = async (job: string): Promise<void> => {}\n')
    const result = await runCli(target, ['run', '--queue-url', 'http://127.0.0.1:1/q', '--handler', handler])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      `sqs-envelope: --handler ${handler} must have a default export: an async function (job, context) => void; got undefined\n`,
    )
    const missing = await runCli(target, [
      'run',
      '--queue-url',
      'http://127.0.0.1:1/q',
      '--handler',
      join(dir, 'nope.mjs'),
    ])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('no such file')
  }, 60_000)

  it('run with a handler file: SIGTERM while jobs are in flight drains them and exits 0; no job lost', async () => {
    // A short visibility timeout: a long poll aborted by the stop may have taken messages on the SQS side
    // that the worker never saw; they come back after it (at least once), and the test waits for them.
    const { queue, sealer } = await newQueueWithKey({ prefix: 'cli-run', visibilityTimeoutSeconds: 8 })
    const total = 200
    await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, total, 20))
    sealer.close()
    const out = join(dir, 'run-handled.txt')
    const started = join(dir, 'run-started.txt')
    const handler = join(dir, 'handler.mjs')
    writeFileSync(
      handler,
      `import { appendFileSync } from 'node:fs'
export default async function (job, { messageId }) {
  appendFileSync(${JSON.stringify(started)}, job + '\\n')
  await new Promise((resolve) => setTimeout(resolve, 800))
  appendFileSync(${JSON.stringify(out)}, job + ' ' + Date.now() + '\\n')
}
`,
    )
    const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
    const child = startCli(target, [
      'run',
      '--queue-url',
      queue.queueUrl,
      '--handler',
      handler,
      '--pollers',
      '2',
      '--wait-seconds',
      '1',
      '--status-interval',
      '500ms',
      '--drain-timeout',
      '10s',
    ])
    const result = finished(child)
    // SIGTERM when some jobs are done and others are running.
    await waitFor(
      () => lines(out).length >= 20 && lines(started).length > lines(out).length,
      30_000,
      'the worker to handle some jobs and be running others',
    )
    const killedAt = Date.now()
    child.kill('SIGTERM')
    const { code, stderr } = await result
    expect(code).toBe(0)
    expect(stderr).toMatch(
      /handled \d+ \([\d.]+\/s\), in flight \d+, failed 0, quarantined 0, KMS calls 1, cache hit ratio/,
    )
    expect(stderr).toContain('SIGTERM: stopping')
    // Every job that started finished (drained), none twice; the rest are still in the queue.
    const finishes = lines(out).map((line) => line.split(' '))
    const handled = finishes.map(([job]) => job as string)
    // Drained: jobs running at SIGTERM finished after it, and were acknowledged.
    expect(finishes.some(([, at]) => Number(at) > killedAt)).toBe(true)
    expect(handled.length).toBeLessThan(total)
    expect([...lines(started)].sort()).toEqual([...handled].sort())
    expect(new Set(handled).size).toBe(handled.length)
    const rest = new Set<string>()
    await waitFor(
      async () => {
        for (const message of await receiveAll(sqs, queue.queueUrl, total - handled.length - rest.size)) {
          rest.add(message.MessageId as string)
        }
        return rest.size >= total - handled.length
      },
      40_000,
      'every job not handled to be in the queue',
    )
    expect(rest.size).toBe(total - handled.length)
    await queue.delete()
  }, 90_000)
})
