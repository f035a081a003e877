import { mkdir, writeFile } from 'node:fs/promises'
import { arch, cpus, loadavg, platform } from 'node:os'
import { join } from 'node:path'
import { type BenchSettings, type CaseResult, measureCase, type PipelineSettings, type Spread } from './harness.ts'
import { benchLocalStack, closeBenchLocalStack } from './localstack.ts'
import { largestPayload } from './sizes.ts'
import type { Suite, Table, TargetCheck } from './suite.ts'
import { cryptoSuite } from './suites/crypto.ts'
import { hostileSuite } from './suites/hostile.ts'
import { kmsSuite } from './suites/kms.ts'
import { memorySuite } from './suites/memory.ts'
import { consumeSuite, publishSuite, QUICK_PIPELINE_SETTINGS } from './suites/pipeline.ts'
import { scaleSuite } from './suites/scale.ts'
import { sdkSuite } from './suites/sdk.ts'
import { tracingSuite } from './suites/tracing.ts'

export type { BenchCase, BenchSettings, CaseResult, Operation, PipelineSettings, Spread } from './harness.ts'
export { measureCase, opsPerCpuSecond, spread } from './harness.ts'
export type { Suite, SuiteMeasurements, Table, TargetCheck } from './suite.ts'

/** Every suite, by name, in the order `pnpm bench` runs them. */
export const SUITES: Readonly<Record<string, Suite>> = {
  crypto: cryptoSuite,
  hostile: hostileSuite,
  sdk: sdkSuite,
  publish: publishSuite,
  consume: consumeSuite,
  kms: kmsSuite,
  memory: memorySuite,
  scale: scaleSuite,
  tracing: tracingSuite,
}

/** The suites that need LocalStack. */
export const LOCALSTACK_SUITES: readonly string[] = ['publish', 'consume', 'kms', 'memory', 'scale']

/** 256 B to 256 KiB, and the largest job whose sealed message fits SQS's 1 MiB. */
const SIZES = [256, 4096, 65_536, 262_144, largestPayload()]

const FULL_PIPELINE: PipelineSettings = {
  rounds: 3,
  messages: 5000,
  sizes: [1024, 65_536],
  kmsMessages: 10_000,
  memoryCheckpoints: [5000, 50_000],
  largeMessages: 100,
  scaleMessages: 5000,
  workers: [1, 2, 4],
}

/** `--quick`: small counts, still 3 rounds (the suites' default when no pipeline settings are given). */
const QUICK_PIPELINE: PipelineSettings = QUICK_PIPELINE_SETTINGS

/** `full`: what `pnpm bench` runs; `quick`: a faster look (`pnpm bench --quick`), still ≥ 3 rounds. */
export const PRESETS = {
  full: { rounds: 25, minCpuMs: 60, warmupCpuMs: 200, sizes: SIZES, pipeline: FULL_PIPELINE },
  quick: { rounds: 5, minCpuMs: 15, warmupCpuMs: 30, sizes: SIZES, pipeline: QUICK_PIPELINE },
} as const satisfies Record<string, BenchSettings>

export interface SuiteResult {
  readonly name: string
  readonly description: string
  /** Harness cases (ops per CPU-second against a baseline); empty for self-measuring suites. */
  readonly cases: readonly CaseResult[]
  /** Self-measuring suites: ratios against targets (or reported without one). */
  readonly checks: readonly TargetCheck[]
  readonly tables: readonly Table[]
  readonly figures: Readonly<Record<string, unknown>>
}

/** Everything one run measured; written as JSON next to the human report. */
export interface BenchResults {
  readonly schemaVersion: 2
  readonly startedAt: string
  readonly finishedAt: string
  readonly environment: {
    readonly node: string
    readonly openssl: string
    readonly platform: string
    readonly arch: string
    readonly cpu: string
    readonly cpus: number
    /** 1, 5 and 15-minute load averages at the start: how busy the machine was. */
    readonly loadAverage: readonly number[]
    /** The LocalStack the pipeline suites used; absent when none ran. */
    readonly localstack?: {
      readonly endpoint: string
      readonly mode: string
      readonly version: string
      /** The server process whose CPU is reported, or why it could not be read. */
      readonly serverPid: number | null
      readonly serverPidSource: string
    }
  }
  readonly settings: BenchSettings
  readonly suites: readonly SuiteResult[]
  /** True when every case met its target. */
  readonly allTargetsMet: boolean
}

/** Runs the named suites one case at a time; `onCase` sees each result as soon as it is measured. */
export async function runBench(options: {
  settings: BenchSettings
  suites?: readonly string[]
  onCase?: (suite: string, result: CaseResult) => void
  /** Progress lines of the self-measuring suites. */
  log?: (line: string) => void
  /** LocalStack (or another SQS + KMS endpoint) for the pipeline suites. @defaultValue `startLocalStack()`'s choice */
  endpoint?: string
}): Promise<BenchResults> {
  const startedAt = new Date().toISOString()
  const loadAverage = loadavg().map((n) => Math.round(n * 100) / 100)
  const names = options.suites ?? Object.keys(SUITES)
  for (const name of names) {
    if (!SUITES[name])
      throw new Error(`unknown suite ${JSON.stringify(name)}; known: ${Object.keys(SUITES).join(', ')}`)
  }
  const log = options.log ?? (() => {})
  const suites: SuiteResult[] = []
  let localstack: BenchResults['environment']['localstack']
  try {
    for (const name of names) {
      const suite = SUITES[name] as Suite
      if (LOCALSTACK_SUITES.includes(name) && !localstack) {
        const ls = await benchLocalStack(options.endpoint)
        localstack = {
          endpoint: ls.target.endpoint,
          mode: ls.target.mode,
          version: ls.version,
          serverPid: ls.server.pid,
          serverPidSource: ls.server.pid === null ? ls.server.why : ls.server.how,
        }
      }
      const results: CaseResult[] = []
      if (suite.setup) {
        const { cases, teardown } = await suite.setup(options.settings)
        try {
          for (const benchCase of cases) {
            const result = await measureCase(benchCase, options.settings)
            results.push(result)
            options.onCase?.(name, result)
          }
        } finally {
          await teardown()
        }
      }
      const measured = suite.run ? await suite.run(options.settings, (line) => log(`${name}: ${line}`)) : undefined
      suites.push({
        name,
        description: suite.description,
        cases: results,
        checks: measured?.checks ?? [],
        tables: measured?.tables ?? [],
        figures: measured?.figures ?? {},
      })
    }
  } finally {
    await closeBenchLocalStack()
  }
  return {
    schemaVersion: 2,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      openssl: process.versions.openssl ?? 'unknown',
      platform: platform(),
      arch: arch(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      loadAverage,
      ...(localstack ? { localstack } : {}),
    },
    settings: options.settings,
    suites,
    allTargetsMet: suites.every(
      (suite) => suite.cases.every((c) => c.meetsTarget) && suite.checks.every((c) => c.meetsTarget !== false),
    ),
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${bytes} B`
}

function formatOps(ops: number): string {
  return ops >= 100 ? Math.round(ops).toLocaleString('en-US') : ops.toFixed(1)
}

/** `0.93× (0.91–0.95, 0.85–1.02)`: median ratio, the middle half of the rounds, then the lowest and highest round. */
export function formatRatio(result: { readonly ratio: Spread }): string {
  const { median, p25, p75, min, max } = result.ratio
  const f = (n: number) => n.toFixed(2)
  return `${f(median)}× (${f(p25)}–${f(p75)}, ${f(min)}–${f(max)})`
}

function markdownTable(table: Table): string[] {
  const lines = ['', `### ${table.title}`, '']
  if (table.note) lines.push(table.note, '')
  lines.push(`| ${table.columns.join(' | ')} |`, `| ${table.columns.map(() => '---').join(' | ')} |`)
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`)
  return lines
}

function checkRows(checks: readonly TargetCheck[]): string[] {
  if (checks.length === 0) return []
  const lines = ['', '### Ratios (median of rounds; middle half, lowest–highest)', '']
  lines.push('| ratio | measured | target | |', '| --- | ---: | ---: | --- |')
  for (const c of checks) {
    const target = c.target === null ? '—' : `${c.bound === 'atMost' ? '≤' : '≥'} ${c.target.toFixed(2)}×`
    const verdict = c.meetsTarget === null ? '' : c.meetsTarget ? 'met' : 'NOT met'
    lines.push(`| ${c.what} | ${formatRatio(c)} | ${target} | ${verdict} |`)
  }
  return lines
}

/** The human report: one markdown table per suite. */
export function formatReport(results: BenchResults): string {
  const { environment: env, settings } = results
  const ls = env.localstack
  const lines = [
    `# sqs-envelope bench, ${results.startedAt}`,
    '',
    `Node ${env.node} (OpenSSL ${env.openssl}), ${env.platform}/${env.arch}, ${env.cpus} × ${env.cpu}; ` +
      `load average at the start ${env.loadAverage.join(', ')}; finished ${results.finishedAt}.` +
      (ls
        ? ` LocalStack ${ls.version} (${ls.mode} mode, ${ls.endpoint}); server CPU from ` +
          (ls.serverPid === null
            ? `nowhere: ${ls.serverPidSource}.`
            : `/proc/${ls.serverPid}/stat (${ls.serverPidSource}).`)
        : ''),
    '',
    'Crypto suites: ' +
      `Ops per CPU-second (process.cpuUsage, all threads); ${settings.rounds} rounds of ≥ ${settings.minCpuMs} ms CPU ` +
      'per side; ratio = ours / baseline measured back to back in each round: ' +
      'median (middle half of the rounds, lowest–highest round). ' +
      (typeof (globalThis as { gc?: unknown }).gc === 'function'
        ? 'Each slice starts from a collected heap (--expose-gc).'
        : 'Run without --expose-gc: GC work may carry over between sides.'),
  ]
  for (const suite of results.suites) {
    lines.push('', `## ${suite.name}`, '', suite.description)
    for (const table of suite.tables) lines.push(...markdownTable(table))
    lines.push(...checkRows(suite.checks))
    if (suite.cases.length === 0) continue
    lines.push(
      '',
      '| case | size | ours ops/CPU-s | baseline | baseline ops/CPU-s | ours / baseline | target | |',
      '| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |',
    )
    for (const c of suite.cases) {
      lines.push(
        `| ${c.group} | ${formatBytes(c.bytes)} | ${formatOps(c.oursOpsPerCpuSecond.median)} | ${c.baselineName} | ` +
          `${formatOps(c.baselineOpsPerCpuSecond.median)} | ${formatRatio(c)} | ≥ ${c.target.toFixed(2)}× | ` +
          `${c.meetsTarget ? 'ok' : 'BELOW'} |`,
      )
    }
  }
  lines.push(
    '',
    results.allTargetsMet ? 'All targets met.' : 'Some targets NOT met (rows marked BELOW or NOT met).',
    '',
  )
  return lines.join('\n')
}

/** Writes `latest.json` and `latest.md`, plus copies named by the start time, into `directory`. */
export async function writeResults(
  results: BenchResults,
  directory: string,
): Promise<{ json: string; report: string }> {
  await mkdir(directory, { recursive: true })
  const stamp = results.startedAt.replace(/[:.]/g, '-')
  const json = `${JSON.stringify(results, null, 2)}\n`
  const report = formatReport(results)
  await Promise.all([
    writeFile(join(directory, `${stamp}.json`), json),
    writeFile(join(directory, `${stamp}.md`), report),
    writeFile(join(directory, 'latest.json'), json),
    writeFile(join(directory, 'latest.md'), report),
  ])
  return { json: join(directory, 'latest.json'), report: join(directory, 'latest.md') }
}
