// LocalStack really stopped and started mid-run: a second host-mode LocalStack of this test's own, on a
// free port with its own state folder (the shared one is never touched). LocalStack community keeps no
// state across a restart (PERSISTENCE is a Pro feature): queues, messages and keys vanish with it, so
// the test re-creates the queue (same URL) and a key, sends a second wave, and checks that the running
// consumer rides through the outage and handles every job of the second wave, quarantining nothing
// for a transient cause. What vanished with the broker's state is reported, attributed to it.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { ATTRIBUTE_QUARANTINE_CODE, EnvelopeConsumer } from '@sqs-envelope/consumer'
import { EnvelopeSealer, isPermanentErrorCode } from '@sqs-envelope/core'
import { createKmsClient, createSqsClient, createTestKey, createTestQueue, freePort } from '@sqs-envelope/testing'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type RawMessage, receiveAll, sealedToRaw, sendRaw, waitFor } from '../consumer-support.ts'
import { captureDataKeys, mapLimit } from '../support.ts'
import { CHEAP_POISON_CODES, cheapPoison } from './corpus.ts'
import { findLeaks, Transcript } from './leaks.ts'
import { report, scale } from './scale.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const venv = process.env.SQS_ENVELOPE_LOCALSTACK_VENV ?? join(root, 'localstack', '.venv')
const state = mkdtempSync(join(tmpdir(), 'sqs-envelope-restart-'))
let port: number | undefined

/** The repository's launcher on our own port and state folder; it only ever stops what it started there. */
async function launcher(command: 'start' | 'stop') {
  await run(process.execPath, [join(root, 'localstack', 'launcher.mjs'), command, '--port', String(port)], {
    env: { ...process.env, SQS_ENVELOPE_LOCALSTACK_VENV: venv, SQS_ENVELOPE_LOCALSTACK_STATE: state },
    timeout: 240_000,
  })
}

afterAll(async () => {
  if (port !== undefined) await launcher('stop').catch(() => undefined)
  rmSync(state, { recursive: true, force: true })
}, 60_000)

/** Creates `name`'s DLQ and the queue again (after a restart that forgot them): same names, same URLs. */
async function recreateQueue(sqs: SQSClient, queueUrl: string, dlqUrl: string) {
  const name = (url: string) => url.slice(url.lastIndexOf('/') + 1)
  await sqs.send(new CreateQueueCommand({ QueueName: name(dlqUrl) }))
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  )
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name(queueUrl),
      Attributes: {
        VisibilityTimeout: '5',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 1000 }),
      },
    }),
  )
  expect(QueueUrl).toBe(queueUrl)
}

describe('LocalStack restarted mid-run (a second LocalStack of our own)', () => {
  it(
    'the consumer rides through the stop and start, then handles every job sent after it; nothing quarantined for a transient cause',
    async (context) => {
      if (!existsSync(join(venv, 'bin', 'python'))) {
        context.skip(
          `no host-mode LocalStack virtualenv at ${venv} (run \`node localstack/launcher.mjs start\` once, or set SQS_ENVELOPE_LOCALSTACK_VENV)`,
        )
        return
      }
      const started = Date.now()
      port = await freePort()
      await launcher('start')
      const shared = inject('localstack')
      const target = { ...shared, endpoint: `http://127.0.0.1:${port}` }
      const sqs = createSqsClient(target)
      const kms = createKmsClient(target)
      const producerKeys = captureDataKeys(kms)
      const firstKey = await createTestKey(kms)
      const queue = await createTestQueue(sqs, {
        prefix: 'rel-restart',
        visibilityTimeoutSeconds: 5,
        deadLetterQueue: { maxReceiveCount: 1000 },
      })
      const dlq = queue.deadLetterQueue?.queueUrl as string
      const marker = `MARKER-restart-${Math.random().toString(36).slice(2)}`
      const wave = async (keyId: string, name: string, count: number) => {
        const sealer = new EnvelopeSealer({ kms, kmsKeyId: keyId, reuse: false })
        const { results: good } = await mapLimit(
          Array.from({ length: count }, (_, i) => i),
          16,
          async (i) => sealedToRaw(await sealer.seal(`${marker}:${name}:${i}`)),
        )
        const poison = good.slice(0, count / 10).map((g, i) => cheapPoison(g, i))
        await sendRaw(sqs, queue.queueUrl, [...good, ...poison])
        return { good, poison }
      }
      const perWave = scale(300, 2_000)
      await wave(firstKey.keyId, 'a', perWave)

      const consumerKms = createKmsClient(target)
      const consumerKeys = captureDataKeys(consumerKms)
      const transcript = new Transcript()
      transcript.listenDiagnostics()
      const handled = new Map<string, number>()
      const quarantines: Array<{ code: string; at: number }> = []
      let errors = 0
      const consumer = new EnvelopeConsumer<string>({
        queueUrl: queue.queueUrl,
        sqs: createSqsClient(target),
        kms: consumerKms,
        waitTimeSeconds: 1,
        transientBackoff: { baseDelaySeconds: 1, maxDelaySeconds: 5 },
        logger: transcript.logger,
        handleMessage: async (job) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          handled.set(job, (handled.get(job) ?? 0) + 1)
        },
      })
      transcript.watch(consumer)
      consumer.on('message_quarantined', (event) => quarantines.push({ code: event.code, at: Date.now() }))
      consumer.on('error', () => errors++)
      const handledOf = (name: string) => [...handled.keys()].filter((job) => job.includes(`:${name}:`)).length
      consumer.start()
      await waitFor(() => handledOf('a') >= perWave * 0.3, 60_000, 'a third of the first wave handled')

      const downAt = Date.now()
      await launcher('stop')
      const handledBeforeStop = handledOf('a')
      await new Promise((resolve) => setTimeout(resolve, scale(3_000, 20_000)))
      await launcher('start')
      const upAt = Date.now()

      // The restarted LocalStack forgot everything: the same queue again, a new key, a second wave.
      await recreateQueue(sqs, queue.queueUrl, dlq)
      const secondKey = await createTestKey(kms)
      const second = await wave(secondKey.keyId, 'b', perWave)
      await waitFor(() => handledOf('b') === perWave, scale(90_000, 240_000), 'every job of the second wave handled')
      await waitFor(
        () => quarantines.filter((q) => q.at > upAt).length >= second.poison.length,
        30_000,
        'the second wave’s poison quarantined',
      )
      await consumer.stop({ timeoutMs: 10_000 })
      transcript.add(consumer.metrics())
      transcript.close()

      const moved = await receiveAll(sqs, dlq)
      const secondGood = new Set(second.good.map((g: RawMessage) => g.body))
      const secondPoison = new Set(second.poison.map((p: RawMessage) => p.body))
      const poisonMoved = moved.filter(
        (m) =>
          secondPoison.has(m.Body as string) &&
          CHEAP_POISON_CODES.includes(m.MessageAttributes?.[ATTRIBUTE_QUARANTINE_CODE]?.StringValue ?? ''),
      )
      const figures = {
        scenario: 'localstack-restarted',
        injected: `our own LocalStack stopped (SIGTERM) and started again after ${(upAt - downAt) / 1000} s; its state is wiped (community edition)`,
        messages: 2 * (perWave + perWave / 10),
        firstWave: {
          sent: perWave + perWave / 10,
          handledBeforeStop,
          handledInAll: handledOf('a'),
          vanishedWithBrokerState: perWave - handledOf('a'),
        },
        secondWave: {
          sent: second.good.length + second.poison.length,
          handled: handledOf('b'),
          quarantinedIdentical: new Set(poisonMoved.map((m) => m.Body)).size,
          lost:
            second.good.length - handledOf('b') + second.poison.length - new Set(poisonMoved.map((m) => m.Body)).size,
        },
        duplicates: [...handled.values()].reduce((a, b) => a + b, 0) - handled.size,
        quarantinedWhileDown: quarantines.filter((q) => q.at >= downAt && q.at <= upAt).length,
        quarantineCodes: Object.fromEntries(
          [...new Set(quarantines.map((q) => q.code))].map((c) => [c, quarantines.filter((q) => q.code === c).length]),
        ),
        errorEvents: errors,
        leaks: findLeaks(transcript.parts, marker, [...producerKeys, ...consumerKeys]),
        seconds: Math.round((Date.now() - started) / 1000),
      }
      report(figures)
      expect(figures.secondWave.lost).toBe(0)
      expect(moved.filter((m) => secondGood.has(m.Body as string))).toEqual([])
      expect(figures.quarantinedWhileDown).toBe(0)
      expect(quarantines.every((q) => isPermanentErrorCode(q.code as never))).toBe(true)
      expect(figures.leaks).toEqual([])
      sqs.destroy()
      kms.destroy()
      consumerKms.destroy()
    },
    scale(240_000, 600_000),
  )
})
