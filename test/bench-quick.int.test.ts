import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { formatReport, runBench, writeResults } from '../packages/bench/src/index.ts'

// `pnpm bench` is not a test; this runs its LocalStack suites with tiny sizes so that they never rot.
describe('pnpm bench, LocalStack suites in a tiny mode', () => {
  it('publish, consume, kms, memory and scale run against LocalStack and write JSON of the documented shape', async () => {
    const { endpoint } = inject('localstack')
    const directory = await mkdtemp(join(tmpdir(), 'sqs-envelope-bench-'))
    const rounds = 3
    const messages = 20
    try {
      const results = await runBench({
        settings: {
          rounds: 3,
          minCpuMs: 1,
          warmupCpuMs: 1,
          sizes: [256],
          pipeline: {
            rounds,
            messages,
            sizes: [1024],
            kmsMessages: 20,
            memoryCheckpoints: [20, 40],
            largeMessages: 2,
            scaleMessages: 40,
            workers: [1, 2],
          },
        },
        suites: ['publish', 'consume', 'kms', 'memory', 'scale'],
        endpoint,
      })
      const written = await writeResults(results, directory)
      const json = JSON.parse(await readFile(written.json, 'utf8'))
      expect(json).toEqual(JSON.parse(JSON.stringify(results)))
      expect(await readFile(written.report, 'utf8')).toBe(formatReport(results))

      const ls = json.environment.localstack
      expect(ls.endpoint).toBe(endpoint)
      expect(typeof ls.version).toBe('string')
      expect(ls.serverPid === null || Number.isInteger(ls.serverPid)).toBe(true)
      expect(ls.serverPidSource.length).toBeGreaterThan(0)
      expect(json.suites.map((s: { name: string }) => s.name)).toEqual(['publish', 'consume', 'kms', 'memory', 'scale'])
      const suite = (name: string) => json.suites.find((s: { name: string }) => s.name === name)

      for (const [name, count] of [
        ['publish', 7],
        ['consume', 8],
      ] as const) {
        const s = suite(name)
        expect(s.cases).toEqual([])
        expect(s.figures.cases).toHaveLength(count)
        for (const c of s.figures.cases) {
          expect(c.payloadBytes).toBe(1024)
          expect(c.wireBytes).toBeGreaterThanOrEqual(1024)
          expect(c.runs).toHaveLength(rounds)
          for (const run of c.runs) {
            expect(run.messages).toBe(messages)
            expect(run.wallMs).toBeGreaterThan(0)
            expect(run.clientCpuMs).toBeGreaterThan(0)
            if (ls.serverPid === null) expect(run.serverCpuMs).toBeNull()
            else expect(run.serverCpuMs).toBeGreaterThanOrEqual(0)
          }
        }
        // sealed messages are bigger on the wire than the plaintext ones
        const sealed = s.figures.cases.filter((c: { name: string }) => c.name.includes('sealed size'))
        expect(sealed.length).toBeGreaterThan(0)
        for (const c of sealed) expect(c.wireBytes).toBeGreaterThan(1.5 * 1024)
        for (const check of s.checks) {
          expect(check.ratio.rounds).toHaveLength(rounds)
          expect(check.ratio.min).toBeLessThanOrEqual(check.ratio.median)
          expect(check.ratio.median).toBeLessThanOrEqual(check.ratio.max)
          expect(check.ratio.min).toBeGreaterThan(0)
          const met = check.bound === 'atMost' ? check.ratio.median <= check.target : check.ratio.median >= check.target
          expect(check.meetsTarget).toBe(check.target === null ? null : met)
        }
        // Throughput against the best raw ceiling and client CPU per message, (consume) 1 poller against 1 loop.
        expect(s.checks.filter((c: { target: number | null }) => c.target !== null)).toHaveLength(
          name === 'publish' ? 2 : 3,
        )
        expect(s.checks.filter((c: { bound?: string }) => c.bound === 'atMost')).toHaveLength(1)
        const names = s.figures.cases.map((c: { name: string }) => c.name)
        const [ceiling] = s.figures.ceilings
        expect(s.figures.ceilings).toHaveLength(1)
        expect(ceiling.of).toHaveLength(3)
        for (const of of ceiling.of) expect(names).toContain(of)
        expect(ceiling.best).toHaveLength(rounds)
        for (const best of ceiling.best) expect(ceiling.of).toContain(best)
        expect(ceiling.runs).toHaveLength(rounds)
        const [cpu] = s.figures.cpuPerMessage
        expect(s.figures.cpuPerMessage).toHaveLength(1)
        expect(cpu.payloadBytes).toBe(1024)
        expect(names).toContain(cpu.ours)
        expect(names).toContain(cpu.baseline)
        for (const spread of [cpu.oursMicros, cpu.baselineMicros, cpu.ratio]) {
          expect(spread.rounds).toHaveLength(rounds)
          expect(spread.min).toBeGreaterThan(0)
        }
      }

      const kms = suite('kms').figures
      expect(kms.perMessage).toMatchObject({ generateDataKey: 20, decrypt: 20, messages: 20, per10k: 20_000 })
      expect(kms.ours.messages).toBe(10_000)
      expect(kms.ours.per10k).toBeLessThanOrEqual(2 * kms.ours.keyAgeIntervals)
      expect(kms.month.perMessage.usd).toBeCloseTo(1555.2, 2)

      const memory = suite('memory').figures
      expect(memory.consumer.map((c: { messages: number }) => c.messages)).toEqual([0, 20, 40])
      for (const c of memory.consumer) expect(c.heapUsed).toBeLessThan(c.rss)
      expect(memory.producer).toMatchObject({ sent: 2, failed: 0, messages: 2 })
      expect(memory.producer.payloadBytes).toBeGreaterThan(700 * 1024)
      expect(memory.producer.peakRss).toBeGreaterThanOrEqual(memory.producer.rssBefore)

      const scale = suite('scale').figures
      expect(Object.keys(scale.runs)).toEqual(['1', '2'])
      for (const runs of Object.values(scale.runs) as { messages: number; workersCpuMs: number }[][]) {
        expect(runs).toHaveLength(rounds)
        for (const run of runs) {
          expect(run.messages).toBe(40)
          expect(run.workersCpuMs).toBeGreaterThan(0)
        }
      }
      const report = formatReport(results)
      expect(report).toMatch(/\| 1 KiB: ours \/ raw ceiling, sealed size \| \d+\.\d\d× \(/)
      expect(report).toMatch(
        /\| 1 KiB: client CPU per message, ours \/ raw ×10 in flight, sealed size \| [^|]+ \| ≤ 0\.90× \|/,
      )
      expect(report).toMatch(/### Consume: client CPU per message/)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  }, 90_000)
})
