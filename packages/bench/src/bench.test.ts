import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatReport, runBench, writeResults } from './index.ts'

describe('pnpm bench', () => {
  it('runs the crypto suite in a tiny mode and writes a report and JSON of the documented shape', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'sqs-envelope-bench-'))
    try {
      const seen: string[] = []
      const results = await runBench({
        settings: { rounds: 3, minCpuMs: 1, warmupCpuMs: 1, sizes: [256] },
        suites: ['crypto'],
        onCase: (suite, c) => seen.push(`${suite}/${c.group}`),
      })
      const written = await writeResults(results, directory)
      const json = JSON.parse(await readFile(written.json, 'utf8'))
      expect(json).toEqual(JSON.parse(JSON.stringify(results)))
      expect(json).toMatchObject({ schemaVersion: 1, settings: { rounds: 3, sizes: [256] } })
      expect(json.environment.node).toBe(process.version)
      expect(json.suites.map((s: { name: string }) => s.name)).toEqual(['crypto'])
      const groups = json.suites[0].cases.map((c: { group: string }) => c.group)
      expect(groups).toEqual(['Fernet.encrypt', 'Fernet.decrypt', 'seal bytes', 'open bytes', 'seal json', 'open json'])
      expect(seen).toEqual(groups.map((g: string) => `crypto/${g}`))
      for (const c of json.suites[0].cases) {
        for (const spread of [c.oursOpsPerCpuSecond, c.baselineOpsPerCpuSecond, c.ratio]) {
          expect(spread.rounds).toHaveLength(3)
          expect(spread.min).toBeLessThanOrEqual(spread.p25)
          expect(spread.p25).toBeLessThanOrEqual(spread.median)
          expect(spread.median).toBeLessThanOrEqual(spread.p75)
          expect(spread.p75).toBeLessThanOrEqual(spread.max)
          expect(spread.min).toBeGreaterThan(0)
        }
        expect(c.meetsTarget).toBe(c.ratio.median >= c.target)
        expect(c.bytes).toBeGreaterThanOrEqual(256)
      }
      const report = await readFile(written.report, 'utf8')
      expect(report).toBe(formatReport(results))
      expect(report).toMatch(
        /\| open bytes \| 256 B \| [\d,]+ \| floor \| [\d,]+ \| \d\.\d\d× \(\d\.\d\d–\d\.\d\d, \d\.\d\d–\d\.\d\d\) \|/,
      )
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  }, 10_000)

  it('refuses an unknown suite by name', async () => {
    await expect(
      runBench({ settings: { rounds: 3, minCpuMs: 1, warmupCpuMs: 1, sizes: [256] }, suites: ['nope'] }),
    ).rejects.toThrow('unknown suite "nope"; known: crypto, hostile')
  })
})
