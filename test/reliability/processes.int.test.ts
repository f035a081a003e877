// Worker processes under SIGKILL at random moments, and under load with poison mixed in: every job
// handled at least once (duplicates counted), every poison message in the DLQ byte-identical, memory flat.
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Message } from '@aws-sdk/client-sqs'
import { ATTRIBUTE_QUARANTINE_CODE } from '@sqs-envelope/consumer'
import { afterAll, describe, expect, it } from 'vitest'
import {
  handledLines,
  queueDepth,
  type RawMessage,
  receiveAll,
  sealJobs,
  sendRaw,
  startWorker,
  stopWorker,
  waitFor,
} from '../consumer-support.ts'
import { localstackFixture } from '../support.ts'
import { CHEAP_POISON_CODES, cheapPoison } from './corpus.ts'
import { report, scale } from './scale.ts'

const { target, sqs, newQueueWithKey } = localstackFixture()
const dir = mkdtempSync(join(tmpdir(), 'sqs-envelope-reliability-'))

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex')

describe('worker processes', () => {
  const crashJobs = scale(800, 5_000)
  it(
    `SIGKILL at random moments while ${crashJobs} jobs flow through 2 workers, restarted: every job handled at least once`,
    async () => {
      const started = Date.now()
      const { queue, sealer } = await newQueueWithKey({ prefix: 'rel-crash', visibilityTimeoutSeconds: 3 })
      await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, crashJobs, 20))
      const out = join(dir, 'crash.txt')
      // Staggered handler durations (the fixture's default), so kills land mid-batch.
      const env = { POLLERS: '2' }
      const workers: ChildProcess[] = [
        startWorker(target, queue.queueUrl, out, env),
        startWorker(target, queue.queueUrl, out, env),
      ]
      const unique = () => new Set(handledLines(out)).size
      const maxKills = scale(6, 25)
      let kills = 0
      const killedAt: number[] = []
      while (kills < maxKills && unique() < crashJobs * 0.9) {
        await sleep(300 + Math.random() * 1_500)
        const i = Math.floor(Math.random() * workers.length)
        killedAt.push(unique())
        await stopWorker(workers[i] as ChildProcess, 'SIGKILL')
        kills++
        workers[i] = startWorker(target, queue.queueUrl, out, env)
      }
      await waitFor(() => unique() === crashJobs, scale(90_000, 300_000), 'every job handled after the kills')
      for (const worker of workers) expect(await stopWorker(worker, 'SIGTERM')).toBe(0)
      const lines = handledLines(out)
      expect(new Set(lines)).toEqual(new Set(Array.from({ length: crashJobs }, (_, i) => `job-${i}`)))
      await waitFor(async () => (await queueDepth(sqs, queue.queueUrl)) === 0, 30_000, 'the queue to be empty')
      expect(kills).toBeGreaterThan(0)
      report({
        scenario: 'crash',
        injected: `${kills} SIGKILLs at random moments (after ${killedAt.join(', ')} jobs handled), each worker restarted`,
        messages: crashJobs,
        handled: crashJobs,
        handlerRuns: lines.length,
        duplicates: lines.length - crashJobs,
        lost: crashJobs - new Set(lines).size,
        seconds: Math.round((Date.now() - started) / 1000),
      })
      await queue.delete()
    },
    scale(180_000, 600_000),
  )

  const loadJobs = scale(2_000, 20_000)
  it(
    `load: ${loadJobs} jobs through 2 worker processes × 4 pollers with 10% poison: none lost, DLQ byte-identical, memory flat`,
    async () => {
      const started = Date.now()
      const { queue, sealer } = await newQueueWithKey({
        prefix: 'rel-load',
        visibilityTimeoutSeconds: 30,
        deadLetterQueue: { maxReceiveCount: 100 },
      })
      const dlq = queue.deadLetterQueue?.queueUrl as string
      const goodCount = Math.round(loadJobs * 0.9)
      const good = await sealJobs(sealer, goodCount, 50)
      const poison: RawMessage[] = []
      for (let i = 0; i < loadJobs - goodCount; i++) {
        const raw = cheapPoison(good[i] as RawMessage, i)
        poison.push({
          body: raw.body,
          messageAttributes: {
            ...raw.messageAttributes,
            'app.trace': { DataType: 'String', StringValue: `trace-${i}` },
            'app.blob': { DataType: 'Binary', BinaryValue: new Uint8Array([0, 255, i & 255]) },
          },
        })
      }
      const mixed: RawMessage[] = []
      let p = 0
      for (let i = 0; i < good.length; i++) {
        mixed.push(good[i] as RawMessage)
        if (i % 9 === 8 && p < poison.length) mixed.push(poison[p++] as RawMessage)
      }
      while (p < poison.length) mixed.push(poison[p++] as RawMessage)
      expect(mixed).toHaveLength(loadJobs)
      const sendStarted = Date.now()
      await sendRaw(sqs, queue.queueUrl, mixed, 8)
      const sendSeconds = (Date.now() - sendStarted) / 1000

      const out = join(dir, 'load.txt')
      const stats = [join(dir, 'load-mem-0.txt'), join(dir, 'load-mem-1.txt')]
      const consumeStarted = Date.now()
      const workers = stats.map((file) =>
        startWorker(target, queue.queueUrl, out, { POLLERS: '4', HANDLE_DELAY_MS: '0', STATS_FILE: file }),
      )
      const unique = () => new Set(handledLines(out)).size
      await waitFor(
        async () => unique() === goodCount && (await queueDepth(sqs, queue.queueUrl)) === 0,
        scale(120_000, 480_000),
        'every good job handled and the queue empty',
      )
      const consumeSeconds = (Date.now() - consumeStarted) / 1000
      for (const worker of workers) expect(await stopWorker(worker, 'SIGTERM')).toBe(0)

      const lines = handledLines(out)
      expect(new Set(lines).size).toBe(goodCount)
      const moved: Message[] = await receiveAll(sqs, dlq, poison.length)
      const byBody = new Map(moved.map((m) => [m.Body as string, m]))
      let identical = 0
      for (const p of poison) {
        const copy = byBody.get(p.body)
        expect(copy, 'poison in the DLQ').toBeDefined()
        expect(copy?.MD5OfBody).toBe(md5(p.body))
        for (const [name, value] of Object.entries(p.messageAttributes ?? {})) {
          const got = copy?.MessageAttributes?.[name]
          expect(got?.DataType).toBe(value.DataType)
          if (value.StringValue !== undefined) expect(got?.StringValue).toBe(value.StringValue)
          if (value.BinaryValue !== undefined)
            expect(Buffer.from(got?.BinaryValue ?? [])).toEqual(Buffer.from(value.BinaryValue))
        }
        expect(CHEAP_POISON_CODES).toContain(copy?.MessageAttributes?.[ATTRIBUTE_QUARANTINE_CODE]?.StringValue)
        identical++
      }
      expect(moved.length).toBe(poison.length)

      // Memory: the second half of the run must not use markedly more than the first half.
      const memory = stats.map((file) => {
        const samples = readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(' ').map(Number) as [number, number])
        const half = Math.floor(samples.length / 2)
        const peak = (xs: Array<[number, number]>, i: 0 | 1) => Math.max(...xs.map((x) => x[i]))
        return {
          samples: samples.length,
          rssMiB: [peak(samples.slice(0, half), 0), peak(samples.slice(half), 0)].map((b) => Math.round(b / 2 ** 20)),
          heapMiB: [peak(samples.slice(0, half), 1), peak(samples.slice(half), 1)].map((b) => Math.round(b / 2 ** 20)),
        }
      })
      for (const m of memory) {
        expect(m.samples).toBeGreaterThan(4)
        const [firstRss, secondRss] = m.rssMiB as [number, number]
        const [firstHeap, secondHeap] = m.heapMiB as [number, number]
        expect(secondRss, `RSS first half ${firstRss} MiB, second half ${secondRss} MiB`).toBeLessThanOrEqual(
          firstRss * 1.3 + 32,
        )
        expect(secondHeap, `heap first half ${firstHeap} MiB, second ${secondHeap} MiB`).toBeLessThanOrEqual(
          firstHeap * 1.5 + 16,
        )
      }
      report({
        scenario: 'load',
        injected: `${poison.length} poison (10%) among ${goodCount} good jobs; 2 worker processes × 4 pollers`,
        messages: loadJobs,
        handled: goodCount,
        handlerRuns: lines.length,
        duplicates: lines.length - goodCount,
        quarantinedIdentical: identical,
        lost: loadJobs - new Set(lines).size - identical,
        sendSeconds,
        consumeSeconds,
        jobsPerSecond: Math.round(loadJobs / consumeSeconds),
        memory,
        seconds: Math.round((Date.now() - started) / 1000),
      })
      await queue.delete()
    },
    scale(240_000, 900_000),
  )
})
