import { spread } from '../harness.ts'
import { benchLocalStack } from '../localstack.ts'
import { freshQueue, measureRun, type RunCost, sealedMessage, sendRaw } from '../pipeline-support.ts'
import type { Suite, SuiteMeasurements } from '../suite.ts'
import { ConsumerWorker } from '../workers.ts'
import { pipelineSettings } from './pipeline.ts'

export const scaleSuite: Suite = {
  name: 'scale',
  description:
    'Scale-out: 1, 2 and 4 worker processes (each an EnvelopeConsumer with default settings) draining one queue ' +
    'of N sealed 1 KiB jobs (filled beforehand; the clock runs from start until the N-th job reached a handler). ' +
    'Client CPU is the sum of the workers’ CPU time.',
  async run(settings, log): Promise<SuiteMeasurements> {
    const p = pipelineSettings(settings)
    const ls = await benchLocalStack()
    const sealed = await sealedMessage(ls, 1024)
    const runs: Record<number, (RunCost & { workersCpuMs: number })[]> = {}
    for (let round = 0; round < p.rounds; round++) {
      for (const count of p.workers) {
        const queue = await freshQueue(ls)
        const workers = Array.from(
          { length: count },
          () => new ConsumerWorker({ target: ls.target, queueUrl: queue.queueUrl, pollers: 4 }),
        )
        try {
          await sendRaw(ls.sqs, queue.queueUrl, p.scaleMessages, sealed)
          await Promise.all(workers.map((w) => w.ready))
          const total = () => workers.reduce((sum, w) => sum + w.handled, 0)
          const run = await measureRun(ls, p.scaleMessages, async () => {
            for (const w of workers) w.start()
            while (total() < p.scaleMessages) await Promise.race(workers.map((w) => w.reach(w.handled + 1)))
          })
          const stopped = await Promise.all(workers.map((w) => w.stop()))
          const workersCpuMs = stopped.reduce((sum, s) => sum + s.cpuMs, 0)
          const list = runs[count] ?? []
          list.push({ ...run, workersCpuMs })
          runs[count] = list
          log(`round ${round + 1}: ${count} workers: ${Math.round(p.scaleMessages / (run.wallMs / 1000))} msg/s`)
        } finally {
          for (const w of workers) w.kill()
          await queue.delete()
        }
      }
    }
    const rate = (r: RunCost) => r.messages / (r.wallMs / 1000)
    const one = runs[p.workers[0] as number] ?? []
    const rows = p.workers.map((count) => {
      const r = runs[count] ?? []
      const s = spread(r.map(rate))
      const speedup = spread(r.map((x, i) => rate(x) / rate(one[i] as RunCost)))
      const server = r.every((x) => x.serverCpuMs !== null)
      return [
        String(count),
        `${Math.round(s.median).toLocaleString('en-US')} (${Math.round(s.min)}–${Math.round(s.max)})`,
        `${speedup.median.toFixed(2)}× (${speedup.min.toFixed(2)}–${speedup.max.toFixed(2)})`,
        spread(r.map((x) => (x.workersCpuMs * 1000) / x.messages)).median.toFixed(0),
        server ? spread(r.map((x) => ((x.serverCpuMs as number) * 1000) / x.messages)).median.toFixed(0) : 'n/a',
      ]
    })
    return {
      tables: [
        {
          title: `Scale-out on one queue (${p.scaleMessages.toLocaleString('en-US')} jobs per run)`,
          note: 'Median (lowest–highest round); speed-up against 1 worker in the same round.',
          columns: ['workers', 'msg/s', 'speed-up', 'workers CPU µs/msg', 'LocalStack CPU µs/msg'],
          rows,
        },
      ],
      checks: p.workers.slice(1).map((count) => ({
        what: `${count} workers / 1 worker (msg/s)`,
        ratio: spread((runs[count] ?? []).map((x, i) => rate(x) / rate(one[i] as RunCost))),
        target: null,
        meetsTarget: null,
      })),
      figures: { messagesPerRun: p.scaleMessages, runs },
    }
  },
}
