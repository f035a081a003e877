// A consumer in its own process, for the memory and scale suites (started by src/workers.ts).
// Configuration in SQS_ENVELOPE_BENCH_WORKER (JSON); talks to its parent over IPC.
import { memoryUsage } from 'node:process'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { createKmsClient, createSqsClient } from '@sqs-envelope/testing'
import type { WorkerConfig, WorkerReport, WorkerRequest } from '../workers.ts'

const config = JSON.parse(process.env.SQS_ENVELOPE_BENCH_WORKER ?? '{}') as WorkerConfig
const send = (report: WorkerReport) => process.send?.(report)
const sqs = createSqsClient(config.target)
const kms = createKmsClient(config.target)
let handled = 0
const consumer = new EnvelopeConsumer<string>({
  queueUrl: config.queueUrl,
  sqs,
  kms,
  pollers: config.pollers,
  handleMessage: (job: string) => {
    if (job.length > 0) handled++
  },
})
let reported = 0
let cpuAtStart: NodeJS.CpuUsage | undefined
const ticker = setInterval(() => {
  if (handled !== reported) {
    reported = handled
    send({ type: 'handled', handled })
  }
}, 20)

function memory(): { rss: number; heapUsed: number } {
  ;(globalThis as { gc?: () => void }).gc?.()
  const { rss, heapUsed } = memoryUsage()
  return { rss, heapUsed }
}

process.on('message', (request: WorkerRequest) => {
  if (request.type === 'start') {
    // CPU is counted from start: module loading and client set-up are not per-message work.
    cpuAtStart = process.cpuUsage()
    consumer.start()
  } else if (request.type === 'memory') send({ type: 'memory', handled, ...memory() })
  else if (request.type === 'stop') {
    void (async () => {
      await consumer.stop()
      clearInterval(ticker)
      const cpu = process.cpuUsage(cpuAtStart)
      send({ type: 'stopped', handled, cpuMs: (cpu.user + cpu.system) / 1000, ...memory() })
      sqs.destroy()
      kms.destroy()
      process.disconnect()
    })()
  }
})
send({ type: 'ready' })
