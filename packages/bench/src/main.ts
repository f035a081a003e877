// pnpm bench [--quick] [--suite crypto[,…]] [--rounds N] [--min-cpu-ms N] [--sizes 256,4096] [--out DIR]
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type BenchSettings, formatRatio, formatReport, PRESETS, runBench, SUITES, writeResults } from './index.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    suite: { type: 'string' },
    rounds: { type: 'string' },
    'min-cpu-ms': { type: 'string' },
    sizes: { type: 'string' },
    out: { type: 'string' },
  },
})

function positiveInteger(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}; got ${text}`)
  return value
}

const preset = values.quick ? PRESETS.quick : PRESETS.full
const settings: BenchSettings = {
  rounds: positiveInteger('rounds', values.rounds, preset.rounds, 3),
  minCpuMs: positiveInteger('min-cpu-ms', values['min-cpu-ms'], preset.minCpuMs),
  warmupCpuMs: preset.warmupCpuMs,
  sizes: values.sizes === undefined ? preset.sizes : values.sizes.split(',').map((s) => positiveInteger('sizes', s, 0)),
}
const suites = values.suite === undefined ? Object.keys(SUITES) : values.suite.split(',')
const out = values.out ?? fileURLToPath(new URL('../bench-results', import.meta.url))

const results = await runBench({
  settings,
  suites,
  onCase: (suite, c) => console.error(`${suite}: ${c.group} ${c.bytes} B: ${formatRatio(c)} of ${c.baselineName}`),
})
const written = await writeResults(results, out)
console.log(formatReport(results))
console.log(`Written: ${written.report}, ${written.json}`)
