import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import {
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { EnvelopeConsumer } from '@sqs-envelope/consumer'
import type { EnvelopeSealer } from '@sqs-envelope/core'
import type { LocalStackTarget } from '@sqs-envelope/testing'
import { awsEnv, startNode, stopProcess } from './harness.ts'
import { mapLimit } from './support.ts'

/** One message to send as it is: a body and its attributes. */
export interface RawMessage {
  readonly body: string
  readonly messageAttributes?: Record<string, MessageAttributeValue>
}

/** Sends messages as they are with SendMessageBatch (10 per call, `concurrency` calls at once), bypassing the producer. */
export async function sendRaw(sqs: SQSClient, queueUrl: string, messages: readonly RawMessage[], concurrency = 8) {
  const chunks: RawMessage[][] = []
  for (let i = 0; i < messages.length; i += 10) chunks.push(messages.slice(i, i + 10))
  await mapLimit(chunks, concurrency, async (chunk) => {
    const { Failed } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, i) => ({
          Id: String(i),
          MessageBody: m.body,
          ...(m.messageAttributes ? { MessageAttributes: m.messageAttributes } : {}),
        })),
      }),
    )
    if (Failed && Failed.length > 0) throw new Error(`SendMessageBatch failed for ${Failed.length} entries`)
  })
}

/** Seals `job-0` … `job-<count-1>` (`concurrency` seals at once) as raw messages, in order. */
export async function sealJobs(sealer: EnvelopeSealer, count: number, concurrency = 10): Promise<RawMessage[]> {
  const { results } = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => sealedToRaw(await sealer.seal(`job-${i}`)),
  )
  return results
}

/** Sealed jobs as raw messages. */
export function sealedToRaw(sealed: { body: string; messageAttributes: Record<string, MessageAttributeValue> }) {
  return { body: sealed.body, messageAttributes: sealed.messageAttributes }
}

/** Visible + in-flight + delayed messages of a queue (approximate, as SQS reports them). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  )
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
  )
}

/** Receives everything visible in a queue (with all attributes) until a receive comes back empty. */
export async function receiveAll(sqs: SQSClient, queueUrl: string, expected?: number): Promise<Message[]> {
  const all: Message[] = []
  for (let empty = 0; empty < 2 && (expected === undefined || all.length < expected); ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    )
    if (Messages.length === 0) empty++
    all.push(...Messages)
  }
  return all
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes (then throws, naming `what`). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Collects a consumer's events by name, for assertions. */
export function recordEvents<T>(consumer: EnvelopeConsumer<T>) {
  const seen: Record<string, unknown[][]> = {}
  const names = [
    'started',
    'stopped',
    'message_received',
    'message_processed',
    'processing_error',
    'timeout_error',
    'error',
    'message_quarantined',
    'transient_error',
    'breaker_opened',
    'breaker_closed',
  ] as const
  for (const name of names) {
    seen[name] = []
    consumer.on(name, (...args: unknown[]) => seen[name]?.push(args))
  }
  return seen
}

/** A TCP proxy in front of LocalStack that the test can take down (connections cut, new ones refused) and bring back. */
export async function loopbackProxy(endpoint: string) {
  const upstream = new URL(endpoint)
  const sockets = new Set<Socket>()
  let up = true
  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy()
      return
    }
    const server = connect(Number(upstream.port), upstream.hostname)
    for (const s of [client, server]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(server).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    down() {
      up = false
      for (const s of sockets) s.destroy()
    },
    up() {
      up = true
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const workerScript = fileURLToPath(new URL('./fixtures/consumer-worker.ts', import.meta.url))

/**
 * Starts test/fixtures/consumer-worker.ts in its own process on `queueUrl`, appending handled jobs to
 * `out`; `env` adds its optional settings (POLLERS, HANDLE_DELAY_MS, STATS_FILE).
 */
export function startWorker(
  target: LocalStackTarget,
  queueUrl: string,
  out: string,
  env: Record<string, string> = {},
): ChildProcess {
  return startNode(workerScript, [], {
    nodeArgs: ['--no-warnings'],
    ipc: true,
    output: 'inherit',
    env: { ...awsEnv(target), ...env, QUEUE_URL: queueUrl, OUT_FILE: out },
  })
}

/** The lines a worker wrote to `out` so far (one per handler run). */
export const handledLines = (out: string) =>
  existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []

/** Sends `signal` to a worker and resolves with its exit code once it has exited. */
export const stopWorker: (worker: ChildProcess, signal: NodeJS.Signals) => Promise<number | null> = stopProcess

/**
 * Good traffic going on: sends `messages` one at a time, one every `everyMs`, until `stop()` (which
 * resolves to how many were sent) or they run out. The consumer's breaker quarantines a suspect
 * failure only once some message opened after its data key first failed, so tests of suspect
 * poison keep messages opening until it is quarantined.
 */
export function startTrickle(sqs: SQSClient, queueUrl: string, messages: readonly RawMessage[], everyMs: number) {
  let sent = 0
  let going = true
  const running = (async () => {
    while (going && sent < messages.length) {
      await sendRaw(sqs, queueUrl, [messages[sent] as RawMessage])
      sent++
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    async stop(): Promise<number> {
      going = false
      await running
      return sent
    },
  }
}
