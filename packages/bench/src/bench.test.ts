import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sealedBodyBytes } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import { formatReport, PRESETS, runBench, writeResults } from './index.ts'
import { DATA_KEY_BLOB_BYTES, largestPayload, SEALED_ATTRIBUTE_BYTES } from './sizes.ts'

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
      expect(json).toMatchObject({ schemaVersion: 2, settings: { rounds: 3, sizes: [256] } })
      expect(json.environment.openssl).toBe(process.versions.openssl)
      expect(json.environment.localstack).toBeUndefined()
      expect(json.environment.node).toBe(process.version)
      expect(json.suites.map((s: { name: string }) => s.name)).toEqual(['crypto'])
      const groups = json.suites[0].cases.map((c: { group: string }) => c.group)
      expect(groups).toEqual([
        'Fernet.encrypt',
        'Fernet.decrypt',
        'seal bytes',
        'open bytes',
        'seal json',
        'open json',
        ...['Fernet.encrypt', 'Fernet.decrypt', 'Fernet.encrypt', 'Fernet.decrypt'],
        ...['seal text', 'open text', 'seal text', 'open text'],
      ])
      expect(json.suites[0].cases.map((c: { baselineName: string }) => c.baselineName).slice(6)).toEqual([
        'fernet 0.4 (npm)',
        'fernet 0.4 (npm)',
        'fernet-nodejs',
        'fernet-nodejs',
        '@aws-crypto raw AES, default suite',
        '@aws-crypto raw AES, default suite',
        '@aws-crypto committing, no signing, cached',
        '@aws-crypto committing, no signing, cached',
      ])
      expect(json.suites[0]).toMatchObject({ checks: [], tables: [], figures: {} })
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
        /\| open bytes \| 256 B \| [\d,]+ \| floor \| [\d,]+ \| \d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d, \d+\.\d\d–\d+\.\d\d\) \|/,
      )
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  }, 20_000)

  it('the largest job sqs-envelope can send fills, sealed with its attributes, SQS 1 MiB and no more', () => {
    const largest = largestPayload()
    const withAttributes = (bytes: number) => sealedBodyBytes(bytes, DATA_KEY_BLOB_BYTES) + SEALED_ATTRIBUTE_BYTES
    expect(withAttributes(largest)).toBeLessThanOrEqual(1_048_576)
    expect(withAttributes(largest + 1)).toBeGreaterThan(1_048_576)
    expect(PRESETS.full.sizes).toContain(largest)
  })

  it('refuses an unknown suite by name', async () => {
    await expect(
      runBench({ settings: { rounds: 3, minCpuMs: 1, warmupCpuMs: 1, sizes: [256] }, suites: ['nope'] }),
    ).rejects.toThrow('unknown suite "nope"; known: crypto, hostile, sdk, publish, consume, kms, memory, scale')
  })
})
