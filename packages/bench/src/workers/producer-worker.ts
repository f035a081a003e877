// A producer in its own process publishing the largest jobs, for its peak RSS (started by src/workers.ts).
import { readFileSync } from 'node:fs'
import { memoryUsage } from 'node:process'
import { Producer } from '@sqs-envelope/producer'
import { createKmsClient, createSqsClient } from '@sqs-envelope/testing'
import { textOfSize } from '../suites/crypto-peers.ts'
import type { ProducerWorkerConfig, ProducerWorkerReport } from '../workers.ts'

/** Peak resident set size of this process so far (VmHWM), in bytes. */
function peakRss(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return match ? Number(match[1]) * 1024 : Number.NaN
}

const config = JSON.parse(process.env.SQS_ENVELOPE_BENCH_WORKER ?? '{}') as ProducerWorkerConfig
const sqs = createSqsClient(config.target)
const kms = createKmsClient(config.target)
const producer = new Producer({ queueUrl: config.queueUrl, sqs, kms, kmsKeyId: config.kmsKeyId })
const job = textOfSize(config.payloadBytes)
;(globalThis as { gc?: () => void }).gc?.()
const before = memoryUsage().rss
const peakBefore = peakRss()
const jobs = Array.from({ length: config.messages }, () => job)
const results = await producer.send(jobs)
const failed = results.filter((r: object) => !('messageId' in r)).length
await producer.close()
sqs.destroy()
kms.destroy()
const report: ProducerWorkerReport = {
  sent: results.length - failed,
  failed,
  rssBefore: before,
  peakRssBefore: peakBefore,
  peakRss: peakRss(),
}
process.send?.(report, () => process.disconnect())
