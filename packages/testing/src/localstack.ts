import { spawn } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ListKeysCommand } from '@aws-sdk/client-kms'
import { ListQueuesCommand } from '@aws-sdk/client-sqs'
import { waitReady } from '../localstack/readiness.mjs'
import { LocalStackError } from './errors.ts'
import { createKmsClient, createSqsClient } from './resources.ts'

/** Static credentials LocalStack accepts. */
export interface LocalStackCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** How a LocalStack was reached. */
export type LocalStackMode = 'endpoint' | 'container' | 'host'

/** A running LocalStack (or another AWS-compatible endpoint) with SQS and KMS. */
export interface StartedLocalStack extends AsyncDisposable {
  /** e.g. `http://127.0.0.1:4566` */
  readonly endpoint: string
  readonly region: string
  readonly credentials: LocalStackCredentials
  readonly mode: LocalStackMode
  /**
   * The endpoint serves `/_localstack/health`. False for another AWS-compatible endpoint
   * (reached in endpoint mode); tests of LocalStack-only behaviour skip then.
   */
  readonly isLocalStack: boolean
  /** In `auto` mode, why a container engine that answered was not used; otherwise undefined. */
  readonly fallbackReason?: string
  /** Stops what this call started: a container, or a host process it launched. A reused one is left running. */
  stop(): Promise<void>
}

export interface StartLocalStackOptions {
  /**
   * Which way to get LocalStack. `auto`: the endpoint if one is given, else a container when a
   * Docker-API engine answers, else host mode. When an engine answers but the container path
   * fails, `auto` logs why (see `log`) before falling back to host mode; `container` never falls back.
   * @defaultValue `process.env.SQS_ENVELOPE_LOCALSTACK_MODE ?? 'auto'`
   */
  readonly mode?: 'auto' | LocalStackMode
  /**
   * A running LocalStack, or any endpoint serving SQS and KMS. Without `/_localstack/health`,
   * readiness is a ListQueues and a ListKeys call.
   * @defaultValue `process.env.LOCALSTACK_ENDPOINT`
   */
  readonly endpoint?: string
  /** @defaultValue `process.env.AWS_REGION ?? 'us-east-1'` */
  readonly region?: string
  /**
   * Folder with `version`, `launcher.mjs`, `constraints.txt` and `init/`.
   * @defaultValue `process.env.SQS_ENVELOPE_LOCALSTACK_DIR`, else the one shipped in this package
   */
  readonly localstackDir?: string
  /** Host-mode port on 127.0.0.1. @defaultValue `process.env.LOCALSTACK_PORT ?? 4566` */
  readonly port?: number
  /** Docker image for container mode. @defaultValue `localstack/localstack:<version>` */
  readonly image?: string
  /** How long to wait for LocalStack to become ready, in ms (a first host-mode install may add minutes). @defaultValue 240000 */
  readonly startupTimeoutMs?: number
  /** Where progress and fallback reasons go. @defaultValue one line on stderr per message */
  readonly log?: (message: string) => void
}

const CREDENTIALS: LocalStackCredentials = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' })
const MODES = ['auto', 'endpoint', 'container', 'host'] as const
const defaultLog = (message: string) => process.stderr.write(`[@sqs-envelope/testing] ${message}\n`)

/** The `localstack/` folder shipped in this package (beside `src/` and `dist/`). */
export const bundledLocalStackDir: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'localstack')

/**
 * The folder with the pinned `version`, the launcher and the init hooks: an explicit one,
 * else `SQS_ENVELOPE_LOCALSTACK_DIR`, else the one shipped in this package. A folder named
 * by the caller that has no `version` gives undefined (no search behind the caller's back).
 */
export function findLocalStackDir(explicit?: string): string | undefined {
  const named = explicit ?? process.env.SQS_ENVELOPE_LOCALSTACK_DIR
  if (named) return existsSync(join(named, 'version')) ? resolve(named) : undefined
  return bundledLocalStackDir
}

/** The pinned LocalStack version (the `version` file, the one place it is written). */
export function localStackVersion(localstackDir?: string): string {
  const dir = findLocalStackDir(localstackDir)
  if (!dir) {
    throw new LocalStackError(
      'LOCALSTACK_NOT_FOUND',
      `no LocalStack folder with a "version" file at ${localstackDir ?? process.env.SQS_ENVELOPE_LOCALSTACK_DIR}`,
    )
  }
  return readFileSync(join(dir, 'version'), 'utf8').trim()
}

/** Starts (or finds) a LocalStack with SQS and KMS. Usable as a vitest globalSetup. */
export async function startLocalStack(options: StartLocalStackOptions = {}): Promise<StartedLocalStack> {
  const mode = options.mode ?? process.env.SQS_ENVELOPE_LOCALSTACK_MODE ?? 'auto'
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new LocalStackError(
      'LOCALSTACK_BAD_OPTION',
      `mode (or SQS_ENVELOPE_LOCALSTACK_MODE) must be one of ${MODES.join(', ')}; received ${JSON.stringify(mode)}`,
    )
  }
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1'
  const endpoint = options.endpoint ?? process.env.LOCALSTACK_ENDPOINT
  const timeoutMs = options.startupTimeoutMs ?? 240_000
  const badOption = (name: string, expected: string, value: unknown) =>
    new LocalStackError('LOCALSTACK_BAD_OPTION', `${name} must be ${expected}; received ${JSON.stringify(value)}`)
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw badOption('startupTimeoutMs', 'a positive integer (milliseconds)', options.startupTimeoutMs)
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535))
    throw badOption('port', 'an integer from 1 to 65535', options.port)
  if (endpoint !== undefined && !URL.canParse(endpoint))
    throw badOption('endpoint (or LOCALSTACK_ENDPOINT)', 'an absolute URL such as http://127.0.0.1:4566', endpoint)
  const log = options.log ?? defaultLog

  if (mode === 'endpoint' || (mode === 'auto' && endpoint)) {
    if (!endpoint)
      throw new LocalStackError(
        'LOCALSTACK_UNAVAILABLE',
        'mode "endpoint" needs LOCALSTACK_ENDPOINT or options.endpoint',
      )
    return startEndpoint(endpoint, region, Math.min(timeoutMs, 60_000))
  }
  if (mode === 'container') return startContainer(options, region, timeoutMs)
  if (mode === 'host') return startHost(options, region, timeoutMs)

  const engine = await containerEngine()
  if (!engine.answers) return startHost(options, region, timeoutMs)
  try {
    return await startContainer(options, region, timeoutMs)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    log(
      `a container engine answers (${engine.where}) but container mode failed, so using host mode instead: ${reason}` +
        ' (set SQS_ENVELOPE_LOCALSTACK_MODE=container to make this an error)',
    )
    const host = await startHost(options, region, timeoutMs)
    return { ...host, fallbackReason: reason }
  }
}

function started(
  fields: Pick<StartedLocalStack, 'endpoint' | 'region' | 'mode' | 'isLocalStack'> & {
    credentials?: LocalStackCredentials
  },
  stopOnce: () => Promise<void>,
): StartedLocalStack {
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= stopOnce()
    return stopping
  }
  return { credentials: CREDENTIALS, ...fields, stop, [Symbol.asyncDispose]: stop }
}

/** Credentials for an endpoint that is not LocalStack: the usual AWS variables when set. */
function credentialsFromEnv(): LocalStackCredentials {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN } = process.env
  if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) return CREDENTIALS
  return {
    accessKeyId: AWS_ACCESS_KEY_ID,
    secretAccessKey: AWS_SECRET_ACCESS_KEY,
    ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
  }
}

/** ListQueues and ListKeys: the cheapest calls that prove SQS and KMS answer with these credentials. */
async function awsAnswers(endpoint: string, region: string, credentials: LocalStackCredentials): Promise<void> {
  const target = { endpoint, region, credentials }
  const sqs = createSqsClient(target)
  const kms = createKmsClient(target)
  try {
    const signal = AbortSignal.timeout(5000)
    await Promise.all([
      sqs.send(new ListQueuesCommand({ MaxResults: 1 }), { abortSignal: signal }),
      kms.send(new ListKeysCommand({ Limit: 1 }), { abortSignal: signal }),
    ])
  } finally {
    sqs.destroy()
    kms.destroy()
  }
}

async function startEndpoint(endpoint: string, region: string, timeoutMs: number): Promise<StartedLocalStack> {
  const credentials = credentialsFromEnv()
  const ready = await waitReady(endpoint, {
    timeoutMs,
    pollMs: 500,
    awsCheck: () => awsAnswers(endpoint, region, credentials),
  })
  if (!ready.ok) {
    throw new LocalStackError('LOCALSTACK_UNAVAILABLE', `LocalStack at ${endpoint} is not ready: ${ready.reason}`)
  }
  const isLocalStack = ready.kind === 'localstack'
  return started(
    { endpoint, region, mode: 'endpoint', isLocalStack, credentials: isLocalStack ? CREDENTIALS : credentials },
    async () => {},
  )
}

// ------------------------------------------------------------------ container mode

interface EngineProbe {
  readonly answers: boolean
  readonly where: string
}

type DockerApi = { socketPath: string } | { host: string; port: number }

/** Where the Docker API is: DOCKER_HOST (unix:// or tcp://), else the default socket. */
function dockerApi(): { target?: DockerApi; where: string } {
  const dockerHost = process.env.DOCKER_HOST
  if (!dockerHost) return { target: { socketPath: '/var/run/docker.sock' }, where: '/var/run/docker.sock' }
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length)
    return { target: { socketPath }, where: socketPath }
  }
  if (dockerHost.startsWith('tcp://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'))
    return { target: { host: url.hostname, port: Number(url.port || 2375) }, where: dockerHost }
  }
  return { where: `DOCKER_HOST=${dockerHost} (not probed)` }
}

/** The HTTP status of one GET on the Docker API, or 0 when nothing answers. */
function dockerGet(target: DockerApi, path: string, timeoutMs: number): Promise<number> {
  if ('socketPath' in target && !existsSync(target.socketPath)) return Promise.resolve(0)
  return new Promise((done) => {
    const req = request({ ...target, path, method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume()
      done(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => done(0))
    req.end()
  })
}

/** GET /_ping on the Docker API (DOCKER_HOST, else the default socket), without loading testcontainers. */
export async function containerEngine(timeoutMs = 3000): Promise<EngineProbe> {
  const { target, where } = dockerApi()
  if (!target) return { answers: false, where }
  return { answers: (await dockerGet(target, '/_ping', timeoutMs)) === 200, where }
}

/** Whether the engine has the image locally (undefined when that cannot be asked). */
async function imagePresent(image: string): Promise<boolean | undefined> {
  const { target } = dockerApi()
  if (!target) return undefined
  const status = await dockerGet(target, `/images/${encodeURIComponent(image)}/json`, 3000)
  return status === 200 ? true : status === 404 ? false : undefined
}

async function startContainer(options: StartLocalStackOptions, region: string, timeoutMs: number) {
  const dir = findLocalStackDir(options.localstackDir)
  const image = options.image ?? `localstack/localstack:${localStackVersion(options.localstackDir)}`
  const fail = (message: string, cause?: unknown): never => {
    throw new LocalStackError('LOCALSTACK_CONTAINER_FAILED', message, { cause })
  }
  // Optional peer dependencies: loaded only here, so host and endpoint modes work without them.
  let LocalstackContainer: typeof import('@testcontainers/localstack').LocalstackContainer
  let runtimeHost: string
  try {
    ;({ LocalstackContainer } = await import('@testcontainers/localstack'))
    const { getContainerRuntimeClient } = await import('testcontainers')
    runtimeHost = (await getContainerRuntimeClient()).info.containerRuntime.host
  } catch (error) {
    return fail(
      'container mode needs testcontainers and @testcontainers/localstack (npm i -D testcontainers @testcontainers/localstack) ' +
        `and a container engine they reach; that failed: ${(error as Error).message}`,
      error,
    )
  }
  // LocalStack writes LOCALSTACK_HOST into queue URLs, and the AWS SDK sends SQS calls to the
  // queue URL's host: with a random mapped port, URLs would name the container's own 4566 (on
  // this machine, perhaps another LocalStack). So the host port is chosen first and named.
  const host = runtimeHost === 'localhost' ? '127.0.0.1' : runtimeHost
  const hostPort = await freePort()
  let container = new LocalstackContainer(image)
    .withExposedPorts({ container: 4566, host: hostPort })
    .withEnvironment({
      SERVICES: 'sqs,kms',
      SQS_ENDPOINT_STRATEGY: 'path',
      LOCALSTACK_HOST: `${host}:${hostPort}`,
      DNS_ADDRESS: '0',
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      ...(process.env.LOCALSTACK_AUTH_TOKEN ? { LOCALSTACK_AUTH_TOKEN: process.env.LOCALSTACK_AUTH_TOKEN } : {}),
    })
    .withStartupTimeout(timeoutMs)
  const readyD = dir && join(dir, 'init', 'ready.d')
  if (readyD && existsSync(readyD)) {
    // realpath: the repository's localstack/init is a symlink into this package, and the copy does not follow it
    const source = realpathSync(readyD)
    container = container.withCopyDirectoriesToContainer([{ source, target: '/etc/localstack/init/ready.d' }])
  }
  let running: Awaited<ReturnType<typeof container.start>>
  try {
    running = await container.start()
  } catch (error) {
    // Say which image is missing: the LocalStack one, or testcontainers' reaper (ryuk).
    const present = await imagePresent(image)
    const hints: string[] = []
    if (present === false)
      hints.push(`${image} is not present and could not be pulled: build it offline with bash ${buildImageScript(dir)}`)
    if (process.env.TESTCONTAINERS_RYUK_DISABLED !== 'true')
      hints.push(
        `${present ? `${image} is present, so this is likely` : 'this may also be'} the reaper image testcontainers pulls: without a registry, set TESTCONTAINERS_RYUK_DISABLED=true`,
      )
    const hint = hints.length > 0 ? ` (${hints.join('; ')})` : ''
    return fail(`the LocalStack container (${image}) did not start: ${(error as Error).message.trim()}${hint}`, error)
  }
  const endpoint = `http://${host}:${running.getPort()}`
  // The container logs "Ready." before the ready.d hooks have run; wait for them too.
  const ready = await waitReady(endpoint, { timeoutMs, requireInit: true })
  if (!ready.ok || (ready.init?.failed.length ?? 0) > 0) {
    const reason = ready.ok ? `init hook(s) failed: ${ready.init?.failed.join(', ')}` : ready.reason
    await running.stop().catch(() => {})
    return fail(`the LocalStack container (${image}) is not ready: ${reason}`)
  }
  return started({ endpoint, region, mode: 'container', isLocalStack: true }, async () => {
    await running.stop()
  })
}

function buildImageScript(dir: string | undefined): string {
  const script = join(dir ?? bundledLocalStackDir, 'build-image.sh')
  return existsSync(script) ? script : join(bundledLocalStackDir, 'build-image.sh')
}

/** A TCP port free on 127.0.0.1 right now (for a host-mode `port`, or a container's host port). */
export function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? done(address.port) : reject(new Error('no port'))))
    })
  })
}

// ------------------------------------------------------------------ host mode

interface LauncherAnswer {
  endpoint: string
  reused: boolean
}

async function startHost(options: StartLocalStackOptions, region: string, timeoutMs: number) {
  const dir = findLocalStackDir(options.localstackDir)
  if (!dir || !existsSync(join(dir, 'launcher.mjs'))) {
    throw new LocalStackError(
      'LOCALSTACK_UNAVAILABLE',
      `no LocalStack launcher in ${dir ?? options.localstackDir}: set LOCALSTACK_ENDPOINT to a running one, ` +
        'start a container engine such as Docker (container mode), or use the host-mode launcher shipped in @sqs-envelope/testing ' +
        '(it needs python3.13 with venv and pip)',
    )
  }
  const port = options.port ?? (process.env.LOCALSTACK_PORT ? Number(process.env.LOCALSTACK_PORT) : undefined)
  const portArgs = port === undefined ? [] : ['--port', String(port)]
  const out = await runLauncher(dir, ['start', '--json', ...portArgs], timeoutMs)
  const answer = JSON.parse(out.trim().split('\n').at(-1) ?? '') as LauncherAnswer
  return started({ endpoint: answer.endpoint, region, mode: 'host', isLocalStack: true }, async () => {
    if (!answer.reused) await runLauncher(dir, ['stop', ...portArgs], 60_000)
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
