import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import {
  CONSUMER_DEFAULTS,
  type ConsumerMetrics,
  type ConsumerOptions,
  EnvelopeConsumer,
  type MessageHandler,
} from '@sqs-envelope/consumer'
import { type AwsOptions, type AwsSettings, resolveAws, sqsClient } from './aws.ts'
import { CommandFailure, describeError, describeHandlerError, EXIT } from './common.ts'
import { loadHandler } from './handler.ts'

export interface RunCommandOptions extends AwsOptions {
  readonly queueUrl: string[]
  readonly handler: string
  readonly handlerLoadTimeout: number
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
  readonly verbose: boolean
}

/** How long past `--drain-timeout` a stop may take (the last status line, closing the clients) before the process exits regardless. */
export const STOP_MARGIN_MS = 2000

/** Fails fast, before any poller starts, on a queue that does not exist or cannot be read. */
async function checkQueues(queueUrls: readonly string[], aws: AwsSettings): Promise<void> {
  const sqs = sqsClient(aws)
  try {
    for (const queueUrl of queueUrls) {
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

function consumerOptions(
  options: RunCommandOptions,
  aws: AwsSettings,
  handleMessage: MessageHandler,
): ConsumerOptions<unknown> {
  const { region, endpoint } = aws
  return {
    queueUrl: options.queueUrl,
    handleMessage,
    drainTimeoutMs: options.drainTimeout,
    region,
    ...(endpoint ? { endpoint } : {}),
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
      // Errors are printed from the 'error' event (see printErrors), with their codes; not twice.
      error: () => {},
    },
  }
}

/** Failures on stderr; a handler's error by name and code, its message (which may quote the payload) only when verbose. */
function printErrors(consumer: EnvelopeConsumer<unknown>, verbose: boolean): void {
  consumer.on('error', (error, where) => process.stderr.write(`error: ${describeError(error)} (${where.queueUrl})\n`))
  consumer.on('processing_error', (error, ref) =>
    process.stderr.write(
      `job ${ref.messageId} failed (receive ${ref.receiveCount}): ${describeHandlerError(error, verbose)}\n`,
    ),
  )
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once (nothing unhandled is deleted). */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
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
}

/**
 * Stops within the drain timeout, whatever the handlers do: the consumer's own bound, and behind it
 * a hard deadline (unref'd: it never keeps the process alive) that exits 1 if the stop itself hangs.
 */
function exitIfStopHangs(drainTimeoutMs: number): NodeJS.Timeout {
  const limitMs = drainTimeoutMs + STOP_MARGIN_MS
  return setTimeout(() => {
    process.stderr.write(
      `sqs-envelope: the stop did not finish within ${limitMs} ms; exiting (unfinished jobs come back)\n`,
    )
    process.exit(EXIT.failed)
  }, limitMs).unref()
}

/**
 * `run`: the consumer runner with the handler of FILE until SIGTERM or SIGINT, then a graceful stop
 * (in-flight jobs finish within the drain timeout). A second signal exits at once.
 */
export async function run(options: RunCommandOptions): Promise<number> {
  const aws = await resolveAws(options)
  const handleMessage = await loadHandler(options.handler, options.handlerLoadTimeout)
  // Built (its options checked) before anything is asked of SQS; started only after the check.
  const consumer = new EnvelopeConsumer(consumerOptions(options, aws, handleMessage))
  try {
    await checkQueues(options.queueUrl, aws)
  } catch (error) {
    await consumer[Symbol.asyncDispose]()
    throw error
  }
  printErrors(consumer, options.verbose)

  let last: { metrics: ConsumerMetrics; at: number } | undefined
  const printStatus = () => {
    const now = { metrics: consumer.metrics(), at: performance.now() }
    const seconds = last ? (now.at - last.at) / 1000 : options.statusInterval / 1000
    process.stderr.write(`${statusLine(now.metrics, last?.metrics, seconds)}\n`)
    last = now
  }

  const stopped = stopSignal()
  consumer.start()
  process.stderr.write(
    `running on ${options.queueUrl.join(', ')} (${options.pollers ?? CONSUMER_DEFAULTS.pollers} pollers per queue); SIGTERM or Ctrl-C stops\n`,
  )
  const timer = setInterval(printStatus, options.statusInterval)
  const signal = await stopped
  clearInterval(timer)
  process.stderr.write(`${signal}: stopping; in-flight jobs get ${options.drainTimeout} ms\n`)
  const deadline = exitIfStopHangs(options.drainTimeout)
  await consumer.stop({ timeoutMs: options.drainTimeout })
  printStatus()
  await consumer[Symbol.asyncDispose]()
  clearTimeout(deadline)
  process.stderr.write('stopped\n')
  return EXIT.ok
}
