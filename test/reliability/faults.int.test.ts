// Fault scenarios through the project's fault proxy, each with its accounting: every sent job is
// handled, quarantined for a permanent cause, or still queued — none lost, none quarantined for a
// transient cause, no secret in anything the run said. Fast sizes here; `pnpm soak` runs issue 12's.
import { describe, expect, it } from 'vitest'
import { type FaultScenario, runFaultScenario } from './faults.ts'
import { report, scale } from './scale.ts'

const jobs = scale(150, 1_000)
const poison = scale(15, 100)
const seconds = (fast: number, soak: number) => scale(fast, soak) * 1000

const scenarios: FaultScenario[] = [
  {
    name: 'kms-throttled',
    injected: `KMS Decrypt answers ThrottlingException for ${seconds(3, 30) / 1000} s`,
    goodJobs: jobs,
    poisonJobs: poison,
    fault: (proxy) =>
      proxy.inject({
        service: 'kms',
        operations: ['Decrypt'],
        action: { kind: 'throttle' },
        durationMs: seconds(3, 30),
      }),
    settleMs: 30_000,
  },
  {
    name: 'kms-down',
    injected: `every KMS connection reset for ${seconds(6, 60) / 1000} s`,
    goodJobs: jobs,
    poisonJobs: poison,
    fault: (proxy) => proxy.inject({ service: 'kms', action: { kind: 'reset' }, durationMs: seconds(6, 60) }),
    settleMs: 30_000,
  },
  {
    name: 'sqs-resets',
    injected: `40% of SQS requests (receive, delete, visibility, quarantine sends) reset for ${seconds(4, 30) / 1000} s`,
    goodJobs: jobs,
    poisonJobs: poison,
    fault: (proxy) =>
      proxy.inject({ service: 'sqs', action: { kind: 'reset' }, probability: 0.4, durationMs: seconds(4, 30) }),
    settleMs: 40_000,
  },
  {
    name: 'http-500s-and-delays',
    injected: `30% of all requests answer HTTP 500, the others delayed 300 ms, for ${seconds(4, 30) / 1000} s`,
    goodJobs: jobs,
    poisonJobs: poison,
    fault: (proxy) =>
      Promise.all([
        proxy.inject({ action: { kind: 'error500' }, probability: 0.3, durationMs: seconds(4, 30) }),
        proxy.inject({ action: { kind: 'delay', ms: 300 }, durationMs: seconds(4, 30) }),
      ]).then(() => undefined),
    settleMs: 40_000,
  },
  {
    name: 'localstack-restart-simulated',
    injected: `SQS and KMS both unreachable for ${seconds(5, 30) / 1000} s (connections cut, new ones reset), then back`,
    goodJobs: jobs,
    poisonJobs: poison,
    fault: (proxy) => proxy.down(seconds(5, 30)),
    settleMs: 40_000,
  },
]

describe('fault scenarios: nothing lost, nothing quarantined for a transient cause', () => {
  for (const spec of scenarios) {
    it(
      `${spec.name}: ${spec.injected}`,
      async () => {
        const figures = await runFaultScenario(spec)
        report(figures as unknown as Record<string, unknown>)
        expect(figures.lost).toBe(0)
        expect(figures.quarantinedForTransientCause).toBe(0)
        expect(figures.quarantined).toBe(spec.poisonJobs)
        expect(figures.handled + figures.drained).toBe(spec.goodJobs)
        expect(figures.leaks).toEqual([])
        const injected = Object.values(figures.proxy.injected).reduce((a, b) => a + b, 0)
        expect(injected, 'the fault hit requests').toBeGreaterThan(0)
      },
      120_000 + scale(0, 240_000),
    )
  }
})
