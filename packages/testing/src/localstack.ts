import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalStackError } from './errors.ts'

/** Static credentials LocalStack accepts. */
export interface LocalStackCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

/** How a LocalStack was reached. */
export type LocalStackMode = 'endpoint' | 'container' | 'host'

/** A running LocalStack with SQS and KMS. */
export interface StartedLocalStack extends AsyncDisposable {
  /** e.g. `http://127.0.0.1:4566` */
  readonly endpoint: string
  readonly region: string
  readonly credentials: LocalStackCredentials
  readonly mode: LocalStackMode
  /** Stops what this call started: a container, or a host process it launched. A reused one is left running. */
  stop(): Promise<void>
}

export interface StartLocalStackOptions {
  /**
   * Which way to get LocalStack. `auto`: `LOCALSTACK_ENDPOINT` if set, else a
   * container when a Docker engine answers, else the host-mode launcher.
   * @defaultValue `'auto'`
   */
  readonly mode?: 'auto' | LocalStackMode
  /** Endpoint of a LocalStack already running. @defaultValue `process.env.LOCALSTACK_ENDPOINT` */
  readonly endpoint?: string
  /** @defaultValue `process.env.AWS_REGION ?? 'us-east-1'` */
  readonly region?: string
  /**
   * Folder with `version`, `launcher.mjs` and `init/`.
   * @defaultValue `SQS_ENVELOPE_LOCALSTACK_DIR`, else the nearest `localstack/` above the working directory
   */
  readonly localstackDir?: string
  /** Docker image for container mode. @defaultValue `localstack/localstack:<localstack/version>` */
  readonly image?: string
  /** How long to wait for LocalStack to become ready, in ms. @defaultValue 240000 */
  readonly startupTimeoutMs?: number
}

const CREDENTIALS: LocalStackCredentials = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' })

/**
 * Finds the repository's `localstack/` folder: an explicit option, then
 * `SQS_ENVELOPE_LOCALSTACK_DIR`, then the nearest one above the working
 * directory or above this module.
 */
export function findLocalStackDir(explicit?: string): string | undefined {
  // A folder named by the caller is used or nothing is: no search behind its back.
  const named = explicit ?? process.env.SQS_ENVELOPE_LOCALSTACK_DIR
  if (named) return existsSync(join(named, 'version')) ? resolve(named) : undefined
  for (const start of [process.cwd(), dirname(fileURLToPath(import.meta.url))]) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'localstack', 'launcher.mjs'))) return join(dir, 'localstack')
      if (dirname(dir) === dir) break
    }
  }
  return undefined
}

/** The pinned LocalStack version, read from `localstack/version` (the one place it is written). */
export function localStackVersion(localstackDir?: string): string {
  const dir = findLocalStackDir(localstackDir)
  if (!dir) {
    throw new LocalStackError(
      'LOCALSTACK_NOT_FOUND',
      'no localstack/ folder found (set SQS_ENVELOPE_LOCALSTACK_DIR or pass localstackDir)',
    )
  }
  return readFileSync(join(dir, 'version'), 'utf8').trim()
}

/** Starts (or finds) a LocalStack with SQS and KMS. Usable as a vitest globalSetup. */
export async function startLocalStack(options: StartLocalStackOptions = {}): Promise<StartedLocalStack> {
  const mode = options.mode ?? 'auto'
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1'
  const endpoint = options.endpoint ?? process.env.LOCALSTACK_ENDPOINT
  const timeoutMs = options.startupTimeoutMs ?? 240_000

  if (mode === 'endpoint' || (mode === 'auto' && endpoint)) {
    if (!endpoint)
      throw new LocalStackError(
        'LOCALSTACK_UNAVAILABLE',
        'mode "endpoint" needs LOCALSTACK_ENDPOINT or options.endpoint',
      )
    await waitHealthy(endpoint, Math.min(timeoutMs, 30_000))
    return started(endpoint, region, 'endpoint', async () => {})
  }
  if (mode === 'container' || (mode === 'auto' && (await dockerAnswers()))) {
    return startContainer(options, region, timeoutMs)
  }
  return startHost(options, region, timeoutMs)
}

function started(
  endpoint: string,
  region: string,
  mode: LocalStackMode,
  stopOnce: () => Promise<void>,
): StartedLocalStack {
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= stopOnce()
    return stopping
  }
  return { endpoint, region, credentials: CREDENTIALS, mode, stop, [Symbol.asyncDispose]: stop }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await withTimeout(getContainerRuntimeClient(), 15_000)
    return true
  } catch {
    return false
  }
}

async function startContainer(options: StartLocalStackOptions, region: string, timeoutMs: number) {
  const { LocalstackContainer } = await import('@testcontainers/localstack')
  const dir = findLocalStackDir(options.localstackDir)
  const image = options.image ?? `localstack/localstack:${localStackVersion(options.localstackDir)}`
  let container = new LocalstackContainer(image)
    .withEnvironment({
      SERVICES: 'sqs,kms',
      SQS_ENDPOINT_STRATEGY: 'path',
      ...(process.env.LOCALSTACK_AUTH_TOKEN ? { LOCALSTACK_AUTH_TOKEN: process.env.LOCALSTACK_AUTH_TOKEN } : {}),
    })
    .withStartupTimeout(timeoutMs)
  if (dir && existsSync(join(dir, 'init', 'ready.d'))) {
    container = container.withCopyDirectoriesToContainer([
      { source: join(dir, 'init', 'ready.d'), target: '/etc/localstack/init/ready.d' },
    ])
  }
  const running = await container.start()
  const endpoint = running.getConnectionUri()
  return started(endpoint, region, 'container', async () => {
    await running.stop()
  })
}

interface LauncherAnswer {
  endpoint: string
  reused: boolean
}

async function startHost(options: StartLocalStackOptions, region: string, timeoutMs: number) {
  const dir = findLocalStackDir(options.localstackDir)
  if (!dir || !existsSync(join(dir, 'launcher.mjs'))) {
    throw new LocalStackError(
      'LOCALSTACK_UNAVAILABLE',
      'no LocalStack: set LOCALSTACK_ENDPOINT to a running one, install and start Docker, ' +
        'or run inside the sqs-envelope repository (its host-mode launcher needs python3.13 with venv and pip)',
    )
  }
  const out = await runLauncher(dir, ['start', '--json'], timeoutMs)
  const answer = JSON.parse(out.trim().split('\n').at(-1) ?? '') as LauncherAnswer
  return started(answer.endpoint, region, 'host', async () => {
    if (!answer.reused) await runLauncher(dir, ['stop'], 60_000)
  })
}

function runLauncher(dir: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(dir, 'launcher.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOCALSTACK_START_TIMEOUT: String(Math.ceil(timeoutMs / 1000)) },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    // The first start also installs LocalStack into a virtualenv (minutes); only a hang is cut short.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs + 15 * 60_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(
        new LocalStackError('LOCALSTACK_LAUNCHER_FAILED', `could not run the LocalStack launcher`, { cause: error }),
      )
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) return resolvePromise(stdout)
      const tail = stderr.trim().split('\n').slice(-20).join('\n')
      reject(
        new LocalStackError(
          'LOCALSTACK_LAUNCHER_FAILED',
          `the LocalStack launcher (${args[0]}) exited with ${code}:\n${tail}`,
        ),
      )
    })
  })
}

async function waitHealthy(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const res = await fetch(new URL('/_localstack/health', endpoint), { signal: AbortSignal.timeout(2000) })
      if (res.ok) {
        const health = (await res.json()) as { services?: Record<string, string> }
        const ok = (s: string | undefined) => s === 'available' || s === 'running'
        if (ok(health.services?.sqs) && ok(health.services?.kms)) return
        last = new Error(`sqs: ${health.services?.sqs}, kms: ${health.services?.kms}`)
      }
    } catch (error) {
      last = error
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new LocalStackError('LOCALSTACK_UNAVAILABLE', `LocalStack at ${endpoint} is not healthy`, { cause: last })
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
