// The demo: a few thousand encrypted jobs through the LocalStack demo queue. The producer seals and
// sends them (data keys reused), the consumer runner opens and handles them (several pollers, one key
// cache), and a report says what it cost in KMS calls. Exit 0 only if every job of this run was handled.
//
// Environment (all optional): LOCALSTACK_ENDPOINT (http://127.0.0.1:4566), DEMO_QUEUE_URL and
// DEMO_KMS_KEY_ID (the demo queue and key the LocalStack init hook creates), DEMO_JOBS (5000),
// DEMO_POLLERS (4).
import { randomUUID } from 'node:crypto'
import { KMSClient } from '@aws-sdk/client-kms'
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer, type QuarantineEvent } from '@sqs-envelope/consumer'
import { Producer } from '@sqs-envelope/producer'
import { Presets, SingleBar } from 'cli-progress'

const endpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566'
const region = process.env.AWS_REGION ?? 'us-east-1'
// LocalStack's account for these keys; real AWS keys in the environment would name another account.
const client = { endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
const jobs = Number(process.env.DEMO_JOBS ?? 5000)
const pollers = Number(process.env.DEMO_POLLERS ?? 4)
const kmsKeyId = process.env.DEMO_KMS_KEY_ID ?? 'alias/sqs-envelope-demo'
/** The public AWS KMS price: USD 0.03 per 10,000 requests (symmetric keys, most regions). */
const USD_PER_KMS_REQUEST = 0.03 / 10_000
/** With no progress for this long, the demo gives up and reports what is missing. */
const STALL_MS = 30_000

interface DemoJob {
  readonly run: string
  readonly n: number
  readonly kind: 'thumbnail'
  readonly imageUrl: string
}

const sqs = new SQSClient(client)
const kms = new KMSClient(client)

function progress(label: string, total: number) {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        format: `${label.padEnd(9)} [{bar}] {value}/{total} jobs | {rate}/s`,
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    )
    bar.start(total, 0, { rate: 0 })
    return { update: (n: number, rate: number) => bar.update(n, { rate: Math.round(rate) }), stop: () => bar.stop() }
  }
  // Not a terminal (CI, a pipe): a line a second instead of a bar.
  let lastLine = 0
  return {
    update(n: number, rate: number) {
      if (Date.now() - lastLine < 1000 && n < total) return
      lastLine = Date.now()
      process.stderr.write(`${label} ${n}/${total} jobs, ${Math.round(rate)}/s\n`)
    },
    stop() {},
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(2)
const perSecond = (n: number, ms: number) => Math.round(n / Math.max(ms / 1000, 0.001))
const usd = (amount: number) => `$${amount.toFixed(amount < 0.01 ? 4 : 2)}`

async function main(): Promise<boolean> {
  const queueUrl =
    process.env.DEMO_QUEUE_URL ??
    (await sqs.send(new GetQueueUrlCommand({ QueueName: 'sqs-envelope-demo' }))).QueueUrl ??
    'sqs-envelope-demo'
  const run = randomUUID()
  console.log(`demo run ${run.slice(0, 8)}: ${jobs} jobs through ${queueUrl}, key ${kmsKeyId}, ${pollers} pollers`)

  // 1. Publish. One producer: its sealer reuses a data key for many jobs (within its limits).
  const producer = Producer.create<'json'>({
    queueUrl,
    kmsKeyId,
    sqs,
    kms,
    contentType: 'json',
    encryptionContext: { app: 'sqs-envelope-demo' },
  })
  const sendBar = progress('sending', jobs)
  const sendStart = performance.now()
  let sent = 0
  let sendFailures = 0
  const chunk = 500
  for (let from = 0; from < jobs; from += chunk) {
    const batch: DemoJob[] = []
    for (let n = from; n < Math.min(jobs, from + chunk); n++) {
      batch.push({ run, n, kind: 'thumbnail', imageUrl: `s3://demo-images/${n}.png` })
    }
    for (const result of await producer.send(batch.map((body) => ({ body })))) {
      if (result.ok) sent++
      else {
        sendFailures++
        console.error(`job ${from + result.index} not sent: ${result.error.code}`)
      }
    }
    sendBar.update(sent, sent / ((performance.now() - sendStart) / 1000))
  }
  const sendMs = performance.now() - sendStart
  sendBar.stop()
  await producer.close()
  const generateDataKeyCalls = producer.metrics().kms.generateDataKeyCalls

  // 2. Consume with the runner. Jobs left by an earlier, interrupted run are handled (deleted) too,
  //    but only this run's count toward the result.
  const handled = new Set<number>()
  let leftovers = 0
  let duplicates = 0
  const quarantined: QuarantineEvent[] = []
  let lastProgress = Date.now()
  const consumer = new EnvelopeConsumer<DemoJob>({
    queueUrl,
    sqs,
    kms,
    pollers,
    waitTimeSeconds: 1,
    requiredEncryptionContext: { app: 'sqs-envelope-demo' },
    handleMessage: async (job) => {
      lastProgress = Date.now()
      if (job.run !== run) {
        leftovers++
        return
      }
      if (handled.has(job.n)) duplicates++
      handled.add(job.n)
    },
  })
  consumer.on('message_quarantined', (event) => {
    quarantined.push(event)
    console.error(`quarantined ${event.messageId}: ${event.code} (moved: ${event.moved})`)
  })
  consumer.on('error', (error) => console.error(`consumer error: ${error.message}`))
  const receiveBar = progress('handling', sent)
  const receiveStart = performance.now()
  consumer.start()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      receiveBar.update(handled.size, handled.size / ((performance.now() - receiveStart) / 1000))
      if (handled.size >= sent || Date.now() - lastProgress > STALL_MS) {
        clearInterval(timer)
        resolve()
      }
    }, 100)
  })
  const receiveMs = performance.now() - receiveStart
  receiveBar.stop()
  await consumer.stop()
  const { kmsDecryptCalls, cacheHitRatio } = consumer.metrics()

  // 3. Report.
  const kmsCalls = generateDataKeyCalls + kmsDecryptCalls
  const oneKeyPerMessage = 2 * sent // a GenerateDataKey to seal each, a Decrypt to open each
  const perMillion = (calls: number) => (sent === 0 ? 0 : (calls / sent) * 1_000_000 * USD_PER_KMS_REQUEST)
  const missing = sent - handled.size
  const lines = [
    '',
    'report',
    `  jobs sent        ${sent} of ${jobs} in ${seconds(sendMs)} s (${perSecond(sent, sendMs)} messages/s)`,
    `  jobs handled     ${handled.size} of ${sent} in ${seconds(receiveMs)} s (${perSecond(handled.size, receiveMs)} messages/s, ${pollers} pollers)`,
    `  KMS calls        ${kmsCalls} (${generateDataKeyCalls} GenerateDataKey + ${kmsDecryptCalls} Decrypt; key cache hit ratio ${(cacheHitRatio * 100).toFixed(2)}%)`,
    `  one key per msg  ${oneKeyPerMessage} calls (${sent} GenerateDataKey + ${sent} Decrypt), ${(oneKeyPerMessage / Math.max(kmsCalls, 1)).toFixed(0)}× as many`,
    `  KMS cost per 1M  ${usd(perMillion(kmsCalls))} with key reuse vs ${usd(perMillion(oneKeyPerMessage))} with one key per message (at this run's ratio, $0.03 per 10,000 requests)`,
    `  quarantined      ${quarantined.length}`,
    ...(leftovers > 0 ? [`  earlier runs     ${leftovers} leftover jobs drained`] : []),
    ...(duplicates > 0 ? [`  redelivered      ${duplicates} (handled twice: at-least-once)`] : []),
  ]
  console.log(lines.join('\n'))
  const ok = sendFailures === 0 && sent === jobs && missing === 0 && quarantined.length === 0
  console.log(ok ? '\ndemo passed: every job was handled' : `\ndemo FAILED: ${missing} of ${sent} jobs not handled`)
  return ok
}

try {
  process.exitCode = (await main()) ? 0 : 1
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
  console.error('is LocalStack running? `pnpm localstack start`, or `npm run demo` from the repository root')
  process.exitCode = 1
} finally {
  sqs.destroy()
  kms.destroy()
}
