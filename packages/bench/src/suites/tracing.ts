import { ok } from 'node:assert/strict'
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { Producer, type ProducerSealingOptions } from '@sqs-envelope/producer'
import { fixedKeyKms } from '../fixed-key-kms.ts'
import type { BenchCase, BenchSettings } from '../harness.ts'
import type { Suite } from '../suite.ts'

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/bench'
const JOBS = 10

/** An SQS stand-in that takes every entry at once; keeps the last request's entries for the checks. */
function acceptingSqs(): { client: SQSClient; last: () => readonly SendMessageBatchRequestEntry[] } {
  let last: readonly SendMessageBatchRequestEntry[] = []
  const client = {
    send: async (command: unknown) => {
      if (command instanceof GetQueueAttributesCommand) return { Attributes: { MaximumMessageSize: '1048576' } }
      if (!(command instanceof SendMessageBatchCommand)) throw new Error('acceptingSqs: unexpected command')
      last = command.input.Entries ?? []
      return { Successful: last.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] }
    },
    destroy: () => {},
  } as unknown as SQSClient
  return { client, last: () => last }
}

/**
 * producer.send of 10 jobs (one SendMessageBatch) on stand-ins for KMS and SQS, so that what is
 * measured is the producer's own per-message path: with tracing off as it is by default (the
 * OTel API installed, no SDK registered) against `tracing: false`, which is the path taken when
 * the API is not installed (equal within noise is the target); and with tracing on (an SDK tracer
 * provider recording every span, no exporter) against off: the cost of the spans per message.
 */
export const tracingSuite: Suite = {
  name: 'tracing',
  description:
    'producer.send of 10 jobs into one SendMessageBatch on KMS and SQS stand-ins. "default off" = @opentelemetry/api ' +
    'installed, no SDK registered, no option (tracing is off) against tracing: false (the path taken when the API is ' +
    'not installed): equal within noise is the target. "tracing on" = an SDK BasicTracerProvider recording every ' +
    'span (a create span per job, a send span per request, AWSTraceHeader per entry; no exporter) against off: ' +
    'the ratio is the cost of tracing (per message: (1/ratio − 1) × the time of one send ÷ 10).',
  async setup(settings: BenchSettings) {
    const sqs = acceptingSqs()
    const producers: Producer[] = []
    const producer = (extra: Partial<ProducerSealingOptions>) => {
      const p = new Producer({
        queueUrl: QUEUE_URL,
        sqs: sqs.client,
        kms: fixedKeyKms().client,
        kmsKeyId: 'alias/bench',
        maxMessagesPerDataKey: Number.MAX_SAFE_INTEGER,
        maxBytesPerDataKey: Number.MAX_SAFE_INTEGER,
        ...extra,
      })
      producers.push(p)
      return p
    }
    const absent = producer({ tracing: false })
    const byDefault = producer({})
    const on = producer({ tracerProvider: new BasicTracerProvider() })
    const cases: BenchCase[] = []
    for (const bytes of settings.sizes.filter((b) => b <= 65_536)) {
      const jobs = Array.from({ length: JOBS }, () => 'x'.repeat(bytes))
      const send = (p: Producer) => () => p.send(jobs)
      const sends = async (p: Producer, traced: boolean) => {
        const results = await p.send(jobs)
        ok(results.every((r) => r.ok))
        ok(sqs.last().every((e) => (e.MessageSystemAttributes?.AWSTraceHeader !== undefined) === traced))
      }
      cases.push(
        {
          group: 'send 10 jobs, default off',
          bytes,
          baselineName: 'tracing: false',
          target: 0.9,
          ours: send(byDefault),
          baseline: send(absent),
          check: async () => {
            await sends(byDefault, false)
            await sends(absent, false)
          },
        },
        {
          group: 'send 10 jobs, tracing on',
          bytes,
          baselineName: 'tracing off',
          target: 0,
          ours: send(on),
          baseline: send(absent),
          check: () => sends(on, true),
        },
      )
    }
    return { cases, teardown: () => Promise.all(producers.map((p) => p.close())) }
  },
}
