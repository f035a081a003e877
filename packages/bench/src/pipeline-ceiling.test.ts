import { describe, expect, it } from 'vitest'
import { bestOf, ceilingCase, cpuCheck, cpuPerMessage } from './pipeline-ceiling.ts'
import type { CaseRuns, RunCost } from './pipeline-support.ts'

/** A case whose rounds took these wall and client CPU times for 100 messages. */
function runs(name: string, rounds: readonly [wallMs: number, clientCpuMs: number][]): CaseRuns {
  return {
    name,
    payloadBytes: 1024,
    wireBytes: 1800,
    runs: rounds.map(([wallMs, clientCpuMs]): RunCost => ({ messages: 100, wallMs, clientCpuMs, serverCpuMs: null })),
  }
}

describe('the raw ceiling and client CPU per message', () => {
  it('the ceiling is, round by round, the fastest raw configuration of that round', () => {
    const one = runs('1 loop', [
      [100, 5],
      [50, 5],
      [300, 5],
    ])
    const four = runs('4 loops', [
      [80, 5],
      [60, 5],
      [200, 5],
    ])
    const sixteen = runs('16 loops', [
      [90, 5],
      [70, 5],
      [100, 5],
    ])
    const ceiling = bestOf([one, four, sixteen])
    expect(ceiling.of).toEqual(['1 loop', '4 loops', '16 loops'])
    expect(ceiling.best).toEqual(['4 loops', '1 loop', '16 loops'])
    expect(ceiling.runs.map((r) => r.wallMs)).toEqual([80, 50, 100])
    expect(ceilingCase(ceiling, 1800)).toMatchObject({ payloadBytes: 1024, wireBytes: 1800 })
    expect(() => bestOf([one, undefined])).toThrow('missing raw case')
  })

  it('CPU per message is compared round by round, and a cost meets its target at or below it', () => {
    const ours = runs('ours', [
      [100, 20],
      [100, 30],
      [100, 10],
    ])
    const raw = runs('raw', [
      [100, 25],
      [100, 30],
      [100, 20],
    ])
    const cpu = cpuPerMessage(ours, raw)
    expect(cpu.oursMicros.rounds).toEqual([200, 300, 100])
    expect(cpu.baselineMicros.median).toBe(250)
    expect(cpu.ratio.rounds).toEqual([0.8, 1, 0.5])
    expect(cpuCheck('x', cpu, 0.9)).toMatchObject({ target: 0.9, bound: 'atMost', meetsTarget: true })
    expect(cpuCheck('x', cpu, 0.7).meetsTarget).toBe(false)
    expect(() => cpuPerMessage(ours, undefined)).toThrow('missing case')
  })
})
