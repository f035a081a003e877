import { performance } from 'node:perf_hooks'
import { cpuUsage } from 'node:process'
import {
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { sqsClientConfig } from '@sqs-envelope/core/internal'
import { createSqsClient, createTestQueue, type TestQueue } from '@sqs-envelope/testing'
import { type Spread, spread } from './harness.ts'
import { type BenchLocalStack, processCpuMicros } from './localstack.ts'
import type { Table, TargetCheck } from './suite.ts'
import { textOfSize } from './suites/crypto-peers.ts'

/** What one run of one case cost: wall time, our process's CPU, LocalStack's CPU. */
export interface RunCost {
  readonly messages: number
  readonly wallMs: number
  readonly clientCpuMs: number
  /** `null` when LocalStack's process cannot be read. */
  readonly serverCpuMs: number | null
}

/** Runs `work` and measures it. */
export async function measureRun(
  ls: BenchLocalStack,
  messages: number,
  work: () => Promise<unknown>,
): Promise<RunCost> {
  const server0 = processCpuMicros(ls.server.pid)
  const client0 = cpuUsage()
  const t0 = performance.now()
  await work()
  const wallMs = performance.now() - t0
  const client = cpuUsage(client0)
  const server1 = processCpuMicros(ls.server.pid)
  return {
    messages,
    wallMs,
    clientCpuMs: (client.user + client.system) / 1000,
    serverCpuMs: server0 === undefined || server1 === undefined ? null : (server1 - server0) / 1000,
  }
}

/** A fresh queue that takes messages up to 1 MiB; deleted after the case. */
export function freshQueue(ls: BenchLocalStack): Promise<TestQueue> {
  return createTestQueue(ls.sqs, { prefix: 'sqs-envelope-bench', attributes: { MaximumMessageSize: '1048576' } })
}

/** One message as the SDK sends it. */
export interface WireMessage {
  readonly body: string
  readonly attributes?: Record<string, MessageAttributeValue>
}

/** Plain job text of `bytes` bytes, as the peers send it. */
export function plainMessage(bytes: number): WireMessage {
  return { body: textOfSize(bytes) }
}

/**
 * A job of `bytes` bytes sealed by our sealer with a real LocalStack data key: the exact body and
 * attributes ours puts on the wire. The raw ceiling at sealed size sends these bytes without the crypto.
 */
export async function sealedMessage(ls: BenchLocalStack, bytes: number): Promise<WireMessage> {
  const sealer = new EnvelopeSealer({ kmsKeyId: ls.key.keyArn, kms: ls.kms })
  try {
    const sealed = await sealer.seal(textOfSize(bytes))
    return { body: sealed.body, attributes: sealed.messageAttributes as Record<string, MessageAttributeValue> }
  } finally {
    sealer.close()
  }
}

/** Runs `fn` over 0..count-1 with `limit` in flight. */
export async function pool(count: number, limit: number, fn: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await fn(next++)
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker))
}

/** The raw ceiling: SendMessageBatch of 10 with `concurrency` requests in flight; throws if an entry fails. */
export async function sendRaw(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  message: WireMessage,
  concurrency = 10,
): Promise<void> {
  const batches = Math.ceil(count / 10)
  await pool(batches, concurrency, async (b) => {
    const size = Math.min(10, count - b * 10)
    const Entries = Array.from({ length: size }, (_, i) => ({
      Id: String(i),
      MessageBody: message.body,
      ...(message.attributes ? { MessageAttributes: message.attributes } : {}),
    }))
    const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }))
    if (Failed?.length) throw new Error(`SendMessageBatch: ${Failed.length} failed (${Failed[0]?.Code})`)
  })
}

/**
 * An SQS client with the SDK settings the Producer and EnvelopeConsumer give the clients they build
 * (`sqsClientConfig`: MD5 checks off, the cheaper JSON codec), for ours. The bench injects it rather than
 * letting ours build one so that it can reach LocalStack with its credentials and count deletes.
 */
export function oursSqs(ls: BenchLocalStack): SQSClient {
  const { endpoint, region, credentials } = ls.target
  return new SQSClient({ endpoint, region, credentials: { ...credentials }, ...sqsClientConfig() })
}

/**
 * An SQS client whose successful deletes (DeleteMessage, DeleteMessageBatch entries) are counted: the
 * default client (raw and peers), or `oursSqs`'s settings when `ours`.
 */
export function countingSqs(
  ls: BenchLocalStack,
  ours = false,
): {
  sqs: SQSClient
  deleted: () => number
  reachDeleted: (n: number) => Promise<void>
} {
  const sqs = ours ? oursSqs(ls) : createSqsClient(ls.target)
  let deleted = 0
  let waiting: { n: number; resolve: () => void } | undefined
  sqs.middlewareStack.add(
    (next, context) => async (args: Parameters<typeof next>[0]) => {
      const result = await next(args)
      if (context.commandName === 'DeleteMessageCommand') deleted++
      else if (context.commandName === 'DeleteMessageBatchCommand') {
        deleted += (result.output as { Successful?: unknown[] }).Successful?.length ?? 0
      }
      if (waiting && deleted >= waiting.n) waiting.resolve()
      return result
    },
    { step: 'initialize', name: 'sqsEnvelopeBenchCountDeletes' },
  )
  return {
    sqs,
    deleted: () => deleted,
    reachDeleted: (n) =>
      deleted >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiting = { n, resolve }
          }),
  }
}

/** The raw consumer: `loops` concurrent ReceiveMessage (10) + DeleteMessageBatch loops until `count` are deleted. */
export async function drainRaw(sqs: SQSClient, queueUrl: string, count: number, loops: number): Promise<void> {
  let deleted = 0
  const controller = new AbortController()
  const loop = async () => {
    while (deleted < count) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 20,
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: controller.signal },
      )
      if (!Messages?.length) continue
      const { Successful } = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      )
      deleted += Successful?.length ?? 0
      if (deleted >= count) controller.abort()
    }
  }
  await Promise.all(
    Array.from({ length: loops }, () =>
      loop().catch((error: unknown) => {
        if (!controller.signal.aborted) throw error
      }),
    ),
  )
}

/** Per-round figures of one case at one size. */
export interface CaseRuns {
  readonly name: string
  readonly payloadBytes: number
  /** Body + attribute bytes of one message on the wire. */
  readonly wireBytes: number
  readonly runs: RunCost[]
}

export function messagesPerSecond(run: RunCost): number {
  return run.messages / (run.wallMs / 1000)
}

/** Ratio of two cases' throughput, round by round (both measured in the same round). */
export function throughputRatio(
  what: string,
  ours: CaseRuns | undefined,
  baseline: CaseRuns | undefined,
  target: number | null,
): TargetCheck {
  if (!ours || !baseline) throw new Error(`missing case for ${what}`)
  const ratios = ours.runs.map((run, i) => messagesPerSecond(run) / messagesPerSecond(baseline.runs[i] as RunCost))
  const ratio = spread(ratios)
  return { what, ratio, target, meetsTarget: target === null ? null : ratio.median >= target }
}

function f0(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function spreadText(s: Spread, digits = 0): string {
  const f = (n: number) => (digits === 0 ? f0(n) : n.toFixed(digits))
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KiB`
  return `${bytes} B`
}

/** Table rows: throughput, client and server CPU per message, median (lowest–highest round). */
export function caseRows(cases: readonly CaseRuns[]): string[][] {
  return cases.map((c) => {
    const server = c.runs.every((r) => r.serverCpuMs !== null)
    return [
      c.name,
      formatSize(c.payloadBytes),
      formatSize(c.wireBytes),
      String(c.runs[0]?.messages ?? 0),
      spreadText(spread(c.runs.map(messagesPerSecond))),
      spreadText(spread(c.runs.map((r) => (r.clientCpuMs * 1000) / r.messages))),
      server ? spreadText(spread(c.runs.map((r) => ((r.serverCpuMs as number) * 1000) / r.messages))) : 'n/a',
      spreadText(spread(c.runs.map((r) => r.clientCpuMs / r.wallMs)), 2),
      server ? spreadText(spread(c.runs.map((r) => (r.serverCpuMs as number) / r.wallMs)), 2) : 'n/a',
    ]
  })
}

export const CASE_COLUMNS = [
  'case',
  'job',
  'on the wire',
  'messages',
  'msg/s',
  'client CPU µs/msg',
  'LocalStack CPU µs/msg',
  'client CPU-s/s',
  'LocalStack CPU-s/s',
] as const

/** Bytes SQS counts for one message. */
export function wireBytes(message: WireMessage): number {
  let bytes = Buffer.byteLength(message.body)
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    bytes +=
      Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '')
  }
  return bytes
}

/** The suite's table of cases: throughput and CPU per message of the client and of LocalStack. */
export function caseTable(title: string, results: readonly CaseRuns[], ls: BenchLocalStack): Table {
  return {
    title,
    note:
      'Median (lowest–highest round). msg/s is wall-clock throughput; CPU µs/msg is CPU time per message of this ' +
      'process (client) and of the LocalStack process (server' +
      (ls.server.pid === null ? `: not measured, ${ls.server.why})` : `, /proc/${ls.server.pid}/stat)`) +
      '; CPU-s/s is CPU seconds per wall second (2 cores: 2.00 is the whole machine).',
    columns: CASE_COLUMNS,
    rows: caseRows(results),
  }
}
