import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { LocalStackTarget } from '@sqs-envelope/testing'

export interface WorkerConfig {
  readonly target: LocalStackTarget
  readonly queueUrl: string
  readonly pollers: number
}

export type WorkerRequest = { readonly type: 'start' } | { readonly type: 'memory' } | { readonly type: 'stop' }

export type WorkerReport =
  | { readonly type: 'ready' }
  | { readonly type: 'handled'; readonly handled: number }
  | { readonly type: 'memory'; readonly handled: number; readonly rss: number; readonly heapUsed: number }
  | {
      readonly type: 'stopped'
      readonly handled: number
      readonly cpuMs: number
      readonly rss: number
      readonly heapUsed: number
    }

export interface ProducerWorkerConfig {
  readonly target: LocalStackTarget
  readonly queueUrl: string
  readonly kmsKeyId: string
  readonly payloadBytes: number
  readonly messages: number
}

export interface ProducerWorkerReport {
  readonly sent: number
  readonly failed: number
  readonly rssBefore: number
  readonly peakRssBefore: number
  readonly peakRss: number
}

function target(t: LocalStackTarget): LocalStackTarget {
  return { endpoint: t.endpoint, region: t.region, credentials: { ...t.credentials } }
}

function spawn(script: string, config: unknown): ChildProcess {
  return fork(fileURLToPath(new URL(`./workers/${script}`, import.meta.url)), [], {
    execArgv: ['--expose-gc', '--conditions=@sqs-envelope/source'],
    env: { ...process.env, SQS_ENVELOPE_BENCH_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
}

/** A consumer worker process: start it, read its handled count and memory, stop it. */
export class ConsumerWorker {
  readonly #child: ChildProcess
  #handled = 0
  #waiters: { n: number; resolve: () => void }[] = []
  #pending: ((report: WorkerReport) => void) | undefined
  readonly ready: Promise<void>
  readonly #exited: Promise<void>

  constructor(config: WorkerConfig) {
    this.#child = spawn('consumer-worker.ts', { ...config, target: target(config.target) })
    let ready = () => {}
    this.ready = new Promise<void>((resolve) => {
      ready = resolve
    })
    this.#exited = new Promise<void>((resolve, reject) => {
      this.#child.once('exit', (code) =>
        code === 0 || code === null ? resolve() : reject(new Error(`worker exited ${code}`)),
      )
    })
    this.#exited.catch(() => {})
    this.#child.on('message', (report: WorkerReport) => {
      if (report.type === 'ready') ready()
      else if (report.type === 'handled') this.#setHandled(report.handled)
      else {
        this.#setHandled(report.handled)
        const pending = this.#pending
        this.#pending = undefined
        pending?.(report)
      }
    })
  }

  #setHandled(n: number) {
    this.#handled = n
    const due = this.#waiters.filter((w) => w.n <= n)
    this.#waiters = this.#waiters.filter((w) => w.n > n)
    for (const w of due) w.resolve()
  }

  get handled(): number {
    return this.#handled
  }

  /** Resolves once the worker has handled at least `n` jobs. */
  reach(n: number): Promise<void> {
    if (this.#handled >= n) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ n, resolve }))
  }

  start(): void {
    this.#child.send({ type: 'start' } satisfies WorkerRequest)
  }

  #ask(request: WorkerRequest): Promise<WorkerReport> {
    return new Promise((resolve) => {
      this.#pending = resolve
      this.#child.send(request)
    })
  }

  async memory(): Promise<{ handled: number; rss: number; heapUsed: number }> {
    const report = await this.#ask({ type: 'memory' })
    if (report.type !== 'memory') throw new Error(`unexpected worker report ${report.type}`)
    return report
  }

  async stop(): Promise<{ handled: number; cpuMs: number; rss: number; heapUsed: number }> {
    const report = await this.#ask({ type: 'stop' })
    if (report.type !== 'stopped') throw new Error(`unexpected worker report ${report.type}`)
    await this.#exited
    return report
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill()
  }
}

/** Runs the producer worker to the end and returns its report. */
export function runProducerWorker(config: ProducerWorkerConfig): Promise<ProducerWorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn('producer-worker.ts', { ...config, target: target(config.target) })
    let report: ProducerWorkerReport | undefined
    child.on('message', (message: ProducerWorkerReport) => {
      report = message
    })
    child.once('exit', (code) =>
      report ? resolve(report) : reject(new Error(`producer worker exited ${code} without a report`)),
    )
  })
}
