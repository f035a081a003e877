import { mkdir, writeFile } from 'node:fs/promises'
import { arch, cpus, platform } from 'node:os'
import { join } from 'node:path'
import { type BenchSettings, type CaseResult, measureCase } from './harness.ts'
import type { Suite } from './suite.ts'
import { cryptoSuite } from './suites/crypto.ts'
import { hostileSuite } from './suites/hostile.ts'

export type { BenchCase, BenchSettings, CaseResult, Operation, Spread } from './harness.ts'
export { measureCase, opsPerCpuSecond, spread } from './harness.ts'
export type { Suite } from './suite.ts'

/** Every suite, by name. */
export const SUITES: Readonly<Record<string, Suite>> = { crypto: cryptoSuite, hostile: hostileSuite }

const SIZES = [256, 4096, 65_536, 262_144]

/** `full`: what `pnpm bench` runs; `quick`: a faster look (`pnpm bench --quick`), still ≥ 3 rounds. */
export const PRESETS = {
  full: { rounds: 15, minCpuMs: 60, warmupCpuMs: 200, sizes: SIZES },
  quick: { rounds: 7, minCpuMs: 20, warmupCpuMs: 50, sizes: SIZES },
} as const satisfies Record<string, BenchSettings>

export interface SuiteResult {
  readonly name: string
  readonly description: string
  readonly cases: readonly CaseResult[]
}

/** Everything one run measured; written as JSON next to the human report. */
export interface BenchResults {
  readonly schemaVersion: 1
  readonly startedAt: string
  readonly environment: {
    readonly node: string
    readonly platform: string
    readonly arch: string
    readonly cpu: string
    readonly cpus: number
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
}): Promise<BenchResults> {
  const startedAt = new Date().toISOString()
  const names = options.suites ?? Object.keys(SUITES)
  const suites: SuiteResult[] = []
  for (const name of names) {
    const suite = SUITES[name]
    if (!suite) throw new Error(`unknown suite ${JSON.stringify(name)}; known: ${Object.keys(SUITES).join(', ')}`)
    const { cases, teardown } = await suite.setup(options.settings)
    const results: CaseResult[] = []
    try {
      for (const benchCase of cases) {
        const result = await measureCase(benchCase, options.settings)
        results.push(result)
        options.onCase?.(name, result)
      }
    } finally {
      await teardown()
    }
    suites.push({ name, description: suite.description, cases: results })
  }
  return {
    schemaVersion: 1,
    startedAt,
    environment: {
      node: process.version,
      platform: platform(),
      arch: arch(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
    },
    settings: options.settings,
    suites,
    allTargetsMet: suites.every((suite) => suite.cases.every((c) => c.meetsTarget)),
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
export function formatRatio(result: CaseResult): string {
  const { median, p25, p75, min, max } = result.ratio
  const f = (n: number) => n.toFixed(2)
  return `${f(median)}× (${f(p25)}–${f(p75)}, ${f(min)}–${f(max)})`
}

/** The human report: one markdown table per suite. */
export function formatReport(results: BenchResults): string {
  const { environment: env, settings } = results
  const lines = [
    `# sqs-envelope bench, ${results.startedAt}`,
    '',
    `Node ${env.node}, ${env.platform}/${env.arch}, ${env.cpus} × ${env.cpu}. ` +
      `Ops per CPU-second (process.cpuUsage, all threads); ${settings.rounds} rounds of ≥ ${settings.minCpuMs} ms CPU ` +
      'per side; ratio = ours / baseline measured back to back in each round: ' +
      'median (middle half of the rounds, lowest–highest round). ' +
      (typeof (globalThis as { gc?: unknown }).gc === 'function'
        ? 'Each slice starts from a collected heap (--expose-gc).'
        : 'Run without --expose-gc: GC work may carry over between sides.'),
  ]
  for (const suite of results.suites) {
    lines.push(
      '',
      `## ${suite.name}`,
      '',
      suite.description,
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
  lines.push('', results.allTargetsMet ? 'All targets met.' : 'Some targets NOT met (rows marked BELOW).', '')
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
