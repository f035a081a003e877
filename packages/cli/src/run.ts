import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import { CONSUMER_DEFAULTS, type ConsumerMetrics, EnvelopeConsumer, type MessageHandler } from '@sqs-envelope/consumer'
import { type AwsOptions, CommandFailure, clientConfig, describeError, EXIT, sqsClient } from './common.ts'

export interface RunCommandOptions extends AwsOptions {
  readonly queueUrl: string[]
  readonly handler: string
  readonly pollers?: number
  readonly batchSize?: number
  readonly kmsConcurrency?: number
  readonly waitSeconds?: number
  readonly visibilityTimeout?: number
  readonly heartbeatInterval?: number
  readonly handlerTimeout?: number
  readonly drainTimeout: number
  readonly statusInterval: number
  readonly allowedKeyArn?: string[]
  readonly context?: Record<string, string>
  readonly quarantineQueueUrl?: string
}

/** Loads the handler: the default export of FILE (a `.js`, `.mjs` or, on Node ≥ 22.18, `.ts` module). */
export async function loadHandler(file: string): Promise<MessageHandler> {
  const path = resolve(file)
  if (!existsSync(path)) throw new CommandFailure(`--handler ${file}: no such file`, EXIT.usage)
  let module: { default?: unknown }
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown }
  } catch (error) {
    throw new CommandFailure(`--handler ${file} could not be loaded: ${describeError(error)}`, EXIT.usage, {
      cause: error,
    })
  }
  if (typeof module.default !== 'function') {
    throw new CommandFailure(
      `--handler ${file} must have a default export: an async function (job, context) => void; got ${typeof module.default}`,
      EXIT.usage,
    )
  }
  return module.default as MessageHandler
}

/** Fails fast, before any poller starts, on a queue that does not exist or cannot be read. */
async function checkQueues(options: RunCommandOptions): Promise<void> {
  const sqs = sqsClient(options)
  try {
    for (const queueUrl of options.queueUrl) {
      await sqs
        .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
        .catch((error: unknown) => {
          throw new CommandFailure(`cannot read queue ${queueUrl}: ${describeError(error)}`, EXIT.failed, {
            cause: error,
          })
        })
    }
  } finally {
    sqs.destroy()
  }
}

/** One status line: rates since the last line, totals since the start. No payload, no key. */
export function statusLine(now: ConsumerMetrics, before: ConsumerMetrics | undefined, seconds: number): string {
  const rate = (now.processed - (before?.processed ?? 0)) / Math.max(seconds, 0.001)
  return [
    `handled ${now.processed} (${rate.toFixed(1)}/s)`,
    `in flight ${now.inFlight}`,
    `failed ${now.failed}`,
    `quarantined ${now.quarantined}`,
    `KMS calls ${now.kmsDecryptCalls}`,
    `cache hit ratio ${(now.cacheHitRatio * 100).toFixed(1)}%`,
    ...(now.breaker === 'closed' ? [] : [`KMS breaker ${now.breaker}`]),
  ].join(', ')
}

/**
 * `run`: the consumer runner with the handler of FILE until SIGTERM or SIGINT, then a graceful stop
 * (in-flight jobs finish within the drain timeout). A second signal exits at once.
 */
export async function run(options: RunCommandOptions): Promise<number> {
  const handleMessage = await loadHandler(options.handler)
  await checkQueues(options)
  const { region, endpoint } = clientConfig(options)
  const consumer = new EnvelopeConsumer({
    queueUrl: options.queueUrl,
    handleMessage,
    drainTimeoutMs: options.drainTimeout,
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint, sqsEndpoint: endpoint } : {}),
    ...(options.pollers !== undefined ? { pollers: options.pollers } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.kmsConcurrency !== undefined ? { kmsConcurrency: options.kmsConcurrency } : {}),
    ...(options.waitSeconds !== undefined ? { waitTimeSeconds: options.waitSeconds } : {}),
    ...(options.visibilityTimeout !== undefined ? { visibilityTimeout: options.visibilityTimeout } : {}),
    ...(options.heartbeatInterval !== undefined ? { heartbeatInterval: options.heartbeatInterval } : {}),
    ...(options.handlerTimeout !== undefined ? { handlerTimeoutMs: options.handlerTimeout } : {}),
    ...(options.allowedKeyArn ? { allowedKmsKeyArns: options.allowedKeyArn } : {}),
    ...(options.context ? { requiredEncryptionContext: options.context } : {}),
    ...(options.quarantineQueueUrl ? { quarantineQueueUrl: options.quarantineQueueUrl } : {}),
    logger: {
      warn: (message, details) => process.stderr.write(`${message} ${JSON.stringify(details ?? {})}\n`),
      // Errors are printed from the 'error' event below, with their codes; not twice.
      error: () => {},
    },
  })
  consumer.on('error', (error, where) => process.stderr.write(`error: ${describeError(error)} (${where.queueUrl})\n`))
  consumer.on('processing_error', (error, ref) =>
    process.stderr.write(`job ${ref.messageId} failed (receive ${ref.receiveCount}): ${describeError(error)}\n`),
  )

  let last: { metrics: ConsumerMetrics; at: number } | undefined
  const printStatus = () => {
    const now = { metrics: consumer.metrics(), at: performance.now() }
    const seconds = last ? (now.at - last.at) / 1000 : options.statusInterval / 1000
    process.stderr.write(`${statusLine(now.metrics, last?.metrics, seconds)}\n`)
    last = now
  }

  const stopped = new Promise<string>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      // A second signal while draining: give up on the drain (nothing unhandled is deleted).
      const hard = (again: NodeJS.Signals) => {
        process.stderr.write(`${again} again: exiting without waiting for in-flight jobs\n`)
        process.exit(again === 'SIGINT' ? 130 : 143)
      }
      process.once('SIGTERM', hard)
      process.once('SIGINT', hard)
      resolveStop(signal)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  const queues = options.queueUrl.join(', ')
  consumer.start()
  process.stderr.write(
    `running on ${queues} (${options.pollers ?? CONSUMER_DEFAULTS.pollers} pollers per queue); SIGTERM or Ctrl-C stops\n`,
  )
  const timer = setInterval(printStatus, options.statusInterval)
  const signal = await stopped
  clearInterval(timer)
  process.stderr.write(`${signal}: stopping; in-flight jobs get ${options.drainTimeout} ms\n`)
  await consumer.stop({ timeoutMs: options.drainTimeout })
  printStatus()
  await consumer[Symbol.asyncDispose]()
  process.stderr.write('stopped\n')
  return EXIT.ok
}
