import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { Producer as EnvelopeProducer } from '@sqs-envelope/producer'
import { Consumer } from 'sqs-consumer'
import { Producer } from 'sqs-producer'
import type { BenchSettings, PipelineSettings } from '../harness.ts'
import { type BenchLocalStack, benchLocalStack } from '../localstack.ts'
import {
  bySize,
  CPU_TARGET,
  type CpuPerMessage,
  ceilingAt,
  cpuCheck,
  cpuTable,
  summarise,
  THROUGHPUT_TARGET,
} from '../pipeline-ceiling.ts'
import {
  type CaseRuns,
  caseTable,
  countingSqs,
  drainRaw,
  formatSize,
  freshQueue,
  measureRun,
  oursSqs,
  plainMessage,
  pool,
  type RunCost,
  sealedMessage,
  sendRaw,
  throughputRatio,
  type WireMessage,
  wireBytes,
} from '../pipeline-support.ts'
import type { Suite, SuiteMeasurements, TargetCheck } from '../suite.ts'
import { textOfSize } from './crypto-peers.ts'

/** The quick preset's pipeline settings (`pnpm bench --quick`), also used when a caller gives none. */
export const QUICK_PIPELINE_SETTINGS: PipelineSettings = {
  rounds: 3,
  messages: 100,
  sizes: [1024, 65_536],
  kmsMessages: 200,
  memoryCheckpoints: [300, 1000],
  largeMessages: 5,
  scaleMessages: 300,
  workers: [1, 2, 4],
}

export function pipelineSettings(settings: BenchSettings): PipelineSettings {
  return settings.pipeline ?? QUICK_PIPELINE_SETTINGS
}

/** One case: runs on its own fresh queue, `prepare` fills it (unmeasured), `work` is measured. */
interface PipelineCase {
  readonly name: string
  readonly message: WireMessage
  run(ls: BenchLocalStack, queueUrl: string, count: number): Promise<RunCost>
}

async function runRounds(
  ls: BenchLocalStack,
  p: PipelineSettings,
  casesFor: (bytes: number, plain: WireMessage, sealed: WireMessage) => PipelineCase[],
  log: (line: string) => void,
): Promise<CaseRuns[]> {
  const all: CaseRuns[] = []
  for (const bytes of p.sizes) {
    const plain = plainMessage(bytes)
    const sealed = await sealedMessage(ls, bytes)
    const cases = casesFor(bytes, plain, sealed)
    const results = cases.map((c) => ({
      name: c.name,
      payloadBytes: bytes,
      wireBytes: wireBytes(c.message),
      runs: [] as RunCost[],
    }))
    for (let round = 0; round < p.rounds; round++) {
      // Rotate the order each round, so a burst of load from neighbours does not always hit the same case.
      for (let k = 0; k < cases.length; k++) {
        const index = (k + round) % cases.length
        const c = cases[index] as PipelineCase
        const queue = await freshQueue(ls)
        try {
          const run = await c.run(ls, queue.queueUrl, p.messages)
          ;(results[index] as CaseRuns).runs.push(run)
          log(
            `${formatSize(bytes)} round ${round + 1}/${p.rounds} ${c.name}: ` +
              `${Math.round(run.messages / (run.wallMs / 1000))} msg/s`,
          )
        } finally {
          await queue.delete()
        }
      }
    }
    all.push(...results)
  }
  return all
}

const PUBLISH = {
  producerDefaults: 'sqs-producer, defaults (one send() of all jobs)',
  producerBest: 'sqs-producer, batchSize 10, 10 send()s in flight',
  rawPlain: 'raw SendMessageBatch ×10 in flight, plaintext size',
  rawSealed: 'raw SendMessageBatch ×10 in flight, sealed size',
  rawSealed4: 'raw SendMessageBatch ×4 in flight, sealed size',
  rawSealed16: 'raw SendMessageBatch ×16 in flight, sealed size',
  ours: 'ours: Producer, defaults (seals)',
} as const

// The raw configurations whose best, round by round, is the publish ceiling.
const PUBLISH_CEILING = [PUBLISH.rawSealed4, PUBLISH.rawSealed, PUBLISH.rawSealed16] as const

function publishCases(bytes: number, plain: WireMessage, sealed: WireMessage): PipelineCase[] {
  const text = textOfSize(bytes)
  const peerMessages = (count: number) => Array.from({ length: count }, (_, i) => ({ id: String(i), body: plain.body }))
  return [
    {
      name: PUBLISH.producerDefaults,
      message: plain,
      run: (ls, queueUrl, count) => {
        const producer = Producer.create({ queueUrl, sqs: ls.sqs })
        const messages = peerMessages(count)
        return measureRun(ls, count, () => producer.send(messages))
      },
    },
    {
      name: PUBLISH.producerBest,
      message: plain,
      run: (ls, queueUrl, count) => {
        const producer = Producer.create({ queueUrl, sqs: ls.sqs, batchSize: 10 })
        const messages = peerMessages(count)
        return measureRun(ls, count, () =>
          pool(Math.ceil(count / 10), 10, (b) => producer.send(messages.slice(b * 10, b * 10 + 10))),
        )
      },
    },
    {
      name: PUBLISH.rawPlain,
      message: plain,
      run: (ls, queueUrl, count) => measureRun(ls, count, () => sendRaw(ls.sqs, queueUrl, count, plain)),
    },
    {
      name: PUBLISH.rawSealed,
      message: sealed,
      run: (ls, queueUrl, count) => measureRun(ls, count, () => sendRaw(ls.sqs, queueUrl, count, sealed)),
    },
    {
      name: PUBLISH.rawSealed4,
      message: sealed,
      run: (ls, queueUrl, count) => measureRun(ls, count, () => sendRaw(ls.sqs, queueUrl, count, sealed, 4)),
    },
    {
      name: PUBLISH.rawSealed16,
      message: sealed,
      run: (ls, queueUrl, count) => measureRun(ls, count, () => sendRaw(ls.sqs, queueUrl, count, sealed, 16)),
    },
    {
      name: PUBLISH.ours,
      message: sealed,
      run: async (ls, queueUrl, count) => {
        const sqs = oursSqs(ls)
        const producer = new EnvelopeProducer({ queueUrl, sqs, kms: ls.kms, kmsKeyId: ls.key.keyArn })
        const jobs = Array.from({ length: count }, () => text)
        try {
          return await measureRun(ls, count, async () => {
            const results = await producer.send(jobs)
            const failed = results.filter((r: object) => !('messageId' in r)).length
            if (failed > 0) throw new Error(`ours: ${failed} of ${count} sends failed`)
          })
        } finally {
          await producer.close()
          sqs.destroy()
        }
      },
    },
  ]
}

const CONSUME = {
  consumerDefaults: 'sqs-consumer, handleMessage, defaults (batchSize 1)',
  consumerBatch: 'sqs-consumer, handleMessageBatch, batchSize 10',
  rawPlain: 'raw 4 × (ReceiveMessage 10 + DeleteMessageBatch), plaintext size',
  rawSealed: 'raw 4 × (ReceiveMessage 10 + DeleteMessageBatch), sealed size',
  rawSingle: 'raw 1 × (ReceiveMessage 10 + DeleteMessageBatch), sealed size',
  rawSealed16: 'raw 16 × (ReceiveMessage 10 + DeleteMessageBatch), sealed size',
  ours1: 'ours: EnvelopeConsumer, 1 poller (opens)',
  ours4: 'ours: EnvelopeConsumer, defaults: 4 pollers (opens)',
} as const

// The raw configurations whose best, round by round, is the consume ceiling.
const CONSUME_CEILING = [CONSUME.rawSingle, CONSUME.rawSealed, CONSUME.rawSealed16] as const

/** Fills the queue (unmeasured), then measures `drain` until `count` messages are deleted. */
async function consumeRun(
  ls: BenchLocalStack,
  queueUrl: string,
  count: number,
  message: WireMessage,
  drain: (counting: ReturnType<typeof countingSqs>) => Promise<() => Promise<unknown>>,
  ours = false,
): Promise<RunCost> {
  await sendRaw(ls.sqs, queueUrl, count, message)
  const counting = countingSqs(ls, ours)
  try {
    let stop: (() => Promise<unknown>) | undefined
    const run = await measureRun(ls, count, async () => {
      stop = await drain(counting)
      await counting.reachDeleted(count)
    })
    await stop?.()
    return run
  } finally {
    counting.sqs.destroy()
  }
}

function consumeCases(_bytes: number, plain: WireMessage, sealed: WireMessage): PipelineCase[] {
  // The raw ceiling: `loops` concurrent ReceiveMessage + DeleteMessageBatch loops, no decryption.
  const raw =
    (message: typeof sealed, loops: number): PipelineCase['run'] =>
    (ls, queueUrl, count) =>
      consumeRun(ls, queueUrl, count, message, async ({ sqs }) => {
        const done = drainRaw(sqs, queueUrl, count, loops)
        return () => done
      })
  const ours = (pollers: number): PipelineCase['run'] => {
    return (ls, queueUrl, count) =>
      consumeRun(
        ls,
        queueUrl,
        count,
        sealed,
        async ({ sqs }) => {
          let opened = 0
          const consumer = new EnvelopeConsumer<string>({
            queueUrl,
            sqs,
            kms: ls.kms,
            pollers,
            handleMessage: (job: string) => {
              if (job.length > 0) opened++
            },
          })
          consumer.start()
          return async () => {
            await consumer.stop()
            if (opened < count) throw new Error(`ours: ${opened} of ${count} jobs reached the handler`)
          }
        },
        true,
      )
  }
  return [
    {
      name: CONSUME.consumerDefaults,
      message: plain,
      run: (ls, queueUrl, count) =>
        consumeRun(ls, queueUrl, count, plain, async ({ sqs }) => {
          const consumer = Consumer.create({ queueUrl, sqs, handleMessage: async (message) => message })
          consumer.start()
          return async () => consumer.stop({ abort: true })
        }),
    },
    {
      name: CONSUME.consumerBatch,
      message: plain,
      run: (ls, queueUrl, count) =>
        consumeRun(ls, queueUrl, count, plain, async ({ sqs }) => {
          const consumer = Consumer.create({
            queueUrl,
            sqs,
            batchSize: 10,
            handleMessageBatch: async (messages) => messages,
          })
          consumer.start()
          return async () => consumer.stop({ abort: true })
        }),
    },
    { name: CONSUME.rawPlain, message: plain, run: raw(plain, 4) },
    { name: CONSUME.rawSealed, message: sealed, run: raw(sealed, 4) },
    { name: CONSUME.rawSingle, message: sealed, run: raw(sealed, 1) },
    { name: CONSUME.rawSealed16, message: sealed, run: raw(sealed, 16) },
    { name: CONSUME.ours1, message: sealed, run: ours(1) },
    { name: CONSUME.ours4, message: sealed, run: ours(4) },
  ]
}

export const publishSuite: Suite = {
  name: 'publish',
  description:
    'Publishing N jobs to a fresh standard queue on LocalStack, each case on its own queue, all cases in each ' +
    'round (order rotated): sqs-producer (plaintext, no encryption) with its defaults and with its best batch ' +
    'settings, the raw SQS client alone (default SQSClient, SendMessageBatch of 10) with 10 requests in flight at ' +
    'plaintext size and with 4, 10 and 16 in flight with the exact bytes of one of our sealed messages, and ours ' +
    '(Producer with defaults, sealing every job with a LocalStack KMS data key, on an SQS client with the settings ' +
    'of the one it builds: MD5 checks off, the stringify JSON codec). The raw ceiling is, round by ' +
    'round, the best of the three sealed-size configurations. Targets: ours ≥ 0.9× the ceiling, and client CPU ' +
    'per message ≤ 0.9× the raw client with the same 10 requests in flight as ours.',
  async run(settings, log): Promise<SuiteMeasurements> {
    const p = pipelineSettings(settings)
    const ls = await benchLocalStack()
    const results = await runRounds(ls, p, publishCases, log)
    const { ceilings, cpu } = summarise(results, p.sizes, PUBLISH_CEILING, PUBLISH.ours, PUBLISH.rawSealed)
    const checks: TargetCheck[] = []
    for (const [i, bytes] of p.sizes.entries()) {
      const get = bySize(results, bytes)
      const size = formatSize(bytes)
      checks.push(
        throughputRatio(
          `${size}: ours / raw ceiling, sealed size`,
          get(PUBLISH.ours),
          ceilingAt(ceilings, bytes, results),
          THROUGHPUT_TARGET,
        ),
        cpuCheck(
          `${size}: client CPU per message, ours / raw ×10 in flight, sealed size`,
          cpu[i] as CpuPerMessage,
          CPU_TARGET,
        ),
        throughputRatio(
          `${size}: ours / raw ×10 in flight, sealed size`,
          get(PUBLISH.ours),
          get(PUBLISH.rawSealed),
          null,
        ),
        throughputRatio(`${size}: ours / raw ceiling, plaintext size`, get(PUBLISH.ours), get(PUBLISH.rawPlain), null),
        throughputRatio(
          `${size}: ours / sqs-producer defaults`,
          get(PUBLISH.ours),
          get(PUBLISH.producerDefaults),
          null,
        ),
        throughputRatio(`${size}: ours / sqs-producer best`, get(PUBLISH.ours), get(PUBLISH.producerBest), null),
        throughputRatio(
          `${size}: sqs-producer best / raw ceiling, plaintext size`,
          get(PUBLISH.producerBest),
          get(PUBLISH.rawPlain),
          null,
        ),
        throughputRatio(
          `${size}: raw sealed size / raw plaintext size`,
          get(PUBLISH.rawSealed),
          get(PUBLISH.rawPlain),
          null,
        ),
      )
    }
    return {
      tables: [caseTable('Publish', results, ls), cpuTable('Publish: client CPU per message', cpu)],
      checks,
      figures: { messagesPerCase: p.messages, rounds: p.rounds, cases: results, ceilings, cpuPerMessage: cpu },
    }
  },
}

export const consumeSuite: Suite = {
  name: 'consume',
  description:
    'Draining N jobs from a fresh standard queue on LocalStack (filled beforehand, unmeasured; the clock stops ' +
    'when the N-th delete succeeds, counted at the SQS client), each case on its own queue, all cases in each ' +
    'round: sqs-consumer (plaintext) with handleMessage at its defaults and handleMessageBatch with batchSize 10, ' +
    'the raw SQS client alone (default SQSClient, concurrent ReceiveMessage + DeleteMessageBatch loops) with 4 ' +
    'loops at plaintext size and with 1, 4 and 16 at sealed size, and ours (EnvelopeConsumer opening every job: ' +
    'KMS Decrypt once, then the cache; on an SQS client with the settings of the one it builds: MD5 checks off, ' +
    'the stringify JSON codec) with 1 poller and with its default 4. Sealed messages are copies of one ' +
    'sealed job. The raw ceiling is, round by round, the best of the 1, 4 and 16 loops at sealed size. Targets: ' +
    'ours at defaults ≥ 0.9× the ceiling, 1 poller ≥ 0.9× 1 raw loop, and client CPU per message ≤ 0.9× the raw ' +
    'client with the same 4 loops as ours.',
  async run(settings, log): Promise<SuiteMeasurements> {
    const p = pipelineSettings(settings)
    const ls = await benchLocalStack()
    const results = await runRounds(ls, p, consumeCases, log)
    const { ceilings, cpu } = summarise(results, p.sizes, CONSUME_CEILING, CONSUME.ours4, CONSUME.rawSealed)
    const checks: TargetCheck[] = []
    for (const [i, bytes] of p.sizes.entries()) {
      const get = bySize(results, bytes)
      const size = formatSize(bytes)
      checks.push(
        throughputRatio(
          `${size}: ours, defaults (4 pollers) / raw ceiling (best of 1, 4, 16 loops), sealed size`,
          get(CONSUME.ours4),
          ceilingAt(ceilings, bytes, results),
          THROUGHPUT_TARGET,
        ),
        cpuCheck(
          `${size}: client CPU per message, ours defaults / raw 4 loops, sealed size`,
          cpu[i] as CpuPerMessage,
          CPU_TARGET,
        ),
        throughputRatio(
          `${size}: ours, defaults / raw 4 loops, sealed size`,
          get(CONSUME.ours4),
          get(CONSUME.rawSealed),
          null,
        ),
        throughputRatio(
          `${size}: ours, 1 poller / raw single loop, sealed size`,
          get(CONSUME.ours1),
          get(CONSUME.rawSingle),
          THROUGHPUT_TARGET,
        ),
        throughputRatio(
          `${size}: ours, defaults / raw ceiling, plaintext size`,
          get(CONSUME.ours4),
          get(CONSUME.rawPlain),
          null,
        ),
        throughputRatio(
          `${size}: ours, defaults / sqs-consumer handleMessage defaults`,
          get(CONSUME.ours4),
          get(CONSUME.consumerDefaults),
          null,
        ),
        throughputRatio(
          `${size}: ours, defaults / sqs-consumer handleMessageBatch`,
          get(CONSUME.ours4),
          get(CONSUME.consumerBatch),
          null,
        ),
        throughputRatio(
          `${size}: sqs-consumer handleMessage defaults / raw ceiling, plaintext size`,
          get(CONSUME.consumerDefaults),
          get(CONSUME.rawPlain),
          null,
        ),
        throughputRatio(
          `${size}: sqs-consumer handleMessageBatch / raw ceiling, plaintext size`,
          get(CONSUME.consumerBatch),
          get(CONSUME.rawPlain),
          null,
        ),
      )
    }
    return {
      tables: [caseTable('Consume', results, ls), cpuTable('Consume: client CPU per message', cpu)],
      checks,
      figures: { messagesPerCase: p.messages, rounds: p.rounds, cases: results, ceilings, cpuPerMessage: cpu },
    }
  },
}
