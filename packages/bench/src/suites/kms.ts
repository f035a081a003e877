import type { KMSClient } from '@aws-sdk/client-kms'
import { DEFAULTS, EnvelopeOpener, EnvelopeSealer } from '@sqs-envelope/core'
import { createKmsClient } from '@sqs-envelope/testing'
import { spread } from '../harness.ts'
import { benchLocalStack } from '../localstack.ts'
import type { Suite, SuiteMeasurements } from '../suite.ts'
import { textOfSize } from './crypto-peers.ts'
import { pipelineSettings } from './pipeline.ts'

/** AWS KMS list price of symmetric requests (GenerateDataKey, Decrypt): $0.03 per 10,000. */
export const KMS_USD_PER_10K_REQUESTS = 0.03
const MONTH_SECONDS = 30 * 24 * 3600
const RATE = 100

/** Counts the requests a KMS client sends, per command, once per attempt. */
function countCalls(kms: KMSClient): Record<string, number> {
  const counts: Record<string, number> = {}
  kms.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '')
      counts[name] = (counts[name] ?? 0) + 1
      return next(args)
    },
    { step: 'deserialize', name: 'sqsEnvelopeBenchCountKmsCalls' },
  )
  return counts
}

async function sealAndOpen(
  keyArn: string,
  kms: KMSClient,
  messages: number,
  reuse: boolean,
): Promise<{ generateDataKey: number; decrypt: number; seconds: number }> {
  const counts = countCalls(kms)
  const sealer = new EnvelopeSealer({ kmsKeyId: keyArn, kms, reuse })
  const opener = new EnvelopeOpener({ kms })
  const text = textOfSize(1024)
  const t0 = performance.now()
  try {
    // Sealed and opened in chunks, as a producer and a consumer would see them.
    for (let done = 0; done < messages; done += 100) {
      const chunk = Math.min(100, messages - done)
      const sealed = await Promise.all(Array.from({ length: chunk }, () => sealer.seal(text)))
      const opened = await Promise.all(
        sealed.map((s) => opener.open({ Body: s.body, MessageAttributes: s.messageAttributes })),
      )
      if (opened.some((o) => o.value !== text)) throw new Error('kms suite: a job did not open to its text')
    }
  } finally {
    sealer.close()
    opener.close()
  }
  return {
    generateDataKey: counts.GenerateDataKey ?? 0,
    decrypt: counts.Decrypt ?? 0,
    seconds: (performance.now() - t0) / 1000,
  }
}

function usd(n: number): string {
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
}

export const kmsSuite: Suite = {
  name: 'kms',
  description:
    'KMS requests per 10,000 jobs, counted at the KMS client (a middleware, once per attempt) against LocalStack: ' +
    'one data key per message (the original recipe: `reuse: false`, every open a cache miss) against ours with ' +
    'default settings (the sealer reuses a data key for 5 minutes or 10,000 messages; the opener caches it). ' +
    'Then the monthly cost of each at the AWS list price ($0.03 per 10,000 requests) for a steady 100 jobs/s ' +
    '(30-day month), one producer and one consumer process.',
  async run(settings, log): Promise<SuiteMeasurements> {
    const p = pipelineSettings(settings)
    const ls = await benchLocalStack()
    const perMessageKms = createKmsClient(ls.target)
    const oursKms = createKmsClient(ls.target)
    try {
      const perMessage = await sealAndOpen(ls.key.keyArn, perMessageKms, p.kmsMessages, false)
      log(`one key per message: ${perMessage.generateDataKey} + ${perMessage.decrypt} calls for ${p.kmsMessages}`)
      const ours = await sealAndOpen(ls.key.keyArn, oursKms, 10_000, true)
      log(`ours: ${ours.generateDataKey} + ${ours.decrypt} calls for 10,000`)
      const scale = 10_000 / p.kmsMessages
      const perMessagePer10k = (perMessage.generateDataKey + perMessage.decrypt) * scale
      const oursPer10k = ours.generateDataKey + ours.decrypt
      // Intervals of the key age that the measurement spanned: each may add one call per side.
      const intervals = Math.ceil((ours.seconds * 1000) / DEFAULTS.maxDataKeyAgeMs)
      const targetCalls = 2 * intervals
      const monthMessages = RATE * MONTH_SECONDS
      const perMessageMonth = monthMessages * 2
      // A data key is retired after maxMessagesPerDataKey or maxDataKeyAgeMs, whichever comes first.
      const messagesPerKey = Math.min(DEFAULTS.maxMessagesPerDataKey, (RATE * DEFAULTS.maxDataKeyAgeMs) / 1000)
      const oursMonth = (monthMessages / messagesPerKey) * 2
      const cost = (requests: number) => (requests / 10_000) * KMS_USD_PER_10K_REQUESTS
      return {
        tables: [
          {
            title: 'KMS requests per 10,000 jobs',
            note:
              p.kmsMessages === 10_000
                ? 'Both measured on 10,000 jobs.'
                : `One key per message measured on ${p.kmsMessages} jobs and scaled to 10,000 (it is linear); ours measured on 10,000.`,
            columns: [
              '',
              'GenerateDataKey',
              'Decrypt',
              'total per 10,000',
              'requests / month at 100 jobs/s',
              'cost / month',
            ],
            rows: [
              [
                'one key per message',
                String(Math.round(perMessage.generateDataKey * scale)),
                String(Math.round(perMessage.decrypt * scale)),
                String(Math.round(perMessagePer10k)),
                perMessageMonth.toLocaleString('en-US'),
                usd(cost(perMessageMonth)),
              ],
              [
                'ours, defaults',
                String(ours.generateDataKey),
                String(ours.decrypt),
                String(oursPer10k),
                oursMonth.toLocaleString('en-US'),
                usd(cost(oursMonth)),
              ],
            ],
          },
        ],
        checks: [
          {
            // allowed / measured: ≥ 1 when ours stays within 2 requests per key-age interval spanned.
            what: `ours: KMS requests per 10,000 jobs (${oursPer10k}) within 2 per key-age interval spanned (${targetCalls}); allowed / measured`,
            ratio: spread([targetCalls / Math.max(1, oursPer10k)]),
            target: 1,
            meetsTarget: oursPer10k <= targetCalls,
          },
        ],
        figures: {
          perMessage: { ...perMessage, messages: p.kmsMessages, per10k: perMessagePer10k },
          ours: { ...ours, messages: 10_000, per10k: oursPer10k, keyAgeIntervals: intervals },
          month: {
            jobsPerSecond: RATE,
            seconds: MONTH_SECONDS,
            usdPer10kRequests: KMS_USD_PER_10K_REQUESTS,
            perMessage: { requests: perMessageMonth, usd: cost(perMessageMonth) },
            ours: { requests: oursMonth, usd: cost(oursMonth), messagesPerDataKey: messagesPerKey },
          },
        },
      }
    } finally {
      perMessageKms.destroy()
      oursKms.destroy()
    }
  },
}
