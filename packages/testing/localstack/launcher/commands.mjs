// @ts-check
// The launcher's commands as functions: start (or reuse), stop, status, logs.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { probeHealth, probeInit, waitReady as waitUntilReady } from '../readiness.mjs'
import {
  defaultLog,
  endpointFor,
  HOST,
  LauncherError,
  localstackVersion,
  paths,
  startTimeoutMs,
  tailFile,
} from './config.mjs'
import { ensureVenv, syncInitHooks } from './discovery.mjs'
import { acquireLock, killGroup, ourPid, readPidFile } from './process.mjs'

/** @typedef {import('./config.mjs').LauncherOptions} LauncherOptions */
/** @typedef {import('./config.mjs').LauncherPaths} LauncherPaths */
/** @typedef {import('node:child_process').ChildProcess} ChildProcess */
/** @typedef {{ endpoint: string, reused: boolean, pid: number | null }} StartResult */

// the lock holder may be doing the first-time pip install (minutes), so wait longer for it
const INSTALL_WAIT_MS = 15 * 60 * 1000

/**
 * The shared readiness probe, plus "the process we started has exited".
 * @param {string} endpoint
 * @param {number} deadline epoch ms
 * @param {{ child?: ChildProcess, requireInit?: boolean }} [options]
 */
async function waitReady(endpoint, deadline, { child, requireInit = true } = {}) {
  /** @type {number | string | null} */
  let exited = null
  /** @param {number | null} code @param {NodeJS.Signals | null} sig */
  const onExit = (code, sig) => {
    exited = sig ?? code
  }
  child?.once('exit', onExit)
  try {
    return await waitUntilReady(endpoint, {
      timeoutMs: Math.max(0, deadline - Date.now()),
      requireInit,
      exited: () => (exited != null ? `LocalStack exited early (${exited})` : null),
    })
  } finally {
    child?.off('exit', onExit)
  }
}

/**
 * Waits for a LocalStack someone else started (or is starting) and answers with it.
 * @param {LauncherPaths} p
 * @param {number} deadline epoch ms
 * @param {(message: string) => void} log
 * @param {string} why
 * @returns {Promise<StartResult>}
 */
async function reuse(p, deadline, log, why) {
  const endpoint = endpointFor({ port: p.port })
  const r = await waitReady(endpoint, deadline, { requireInit: false })
  if (!r.ok) {
    throw new LauncherError(
      `LocalStack at ${endpoint} is not ready: ${r.reason} (log: ${p.logFile}; \`node localstack/launcher.mjs stop\` ends one this launcher started)`,
    )
  }
  if (r.init?.failed.length) log(`warning: init hooks failed: ${r.init.failed.join(', ')} (see ${p.logFile})`)
  const pid = ourPid(p)
  log(`reusing LocalStack ${why} at ${endpoint} (pid ${pid ?? 'unknown'})`)
  return { endpoint, reused: true, pid }
}

/**
 * LocalStack's settings for host mode on loopback, SQS and KMS only, its files under the state folder.
 * @param {LauncherPaths} p
 * @returns {NodeJS.ProcessEnv}
 */
function localstackEnv(p) {
  return {
    ...process.env,
    GATEWAY_LISTEN: `${HOST}:${p.port}`,
    LOCALSTACK_HOST: `${HOST}:${p.port}`,
    SERVICES: 'sqs,kms',
    SQS_ENDPOINT_STRATEGY: 'path',
    DNS_ADDRESS: '0', // no DNS server on port 53
    DISABLE_EVENTS: '1', // no usage events
    SKIP_SSL_CERT_DOWNLOAD: '1', // no DNS here: the download attempt alone costs ~60 s
    // LocalStack treats any /.dockerenv as "inside its own container" and would then use
    // /etc/localstack and /var/lib/localstack, ignoring FILESYSTEM_ROOT (and our init hooks)
    OVERRIDE_IN_DOCKER: '0',
    FILESYSTEM_ROOT: p.fsRoot, // state, tmp and etc/localstack/init live here
    PYTHONUNBUFFERED: '1',
  }
}

/**
 * Spawns LocalStack detached (its own process group, so it outlives the launcher) and records its pid.
 * @param {LauncherPaths} p
 * @returns {Promise<ChildProcess & { pid: number }>}
 */
async function spawnLocalStack(p) {
  fs.mkdirSync(p.state, { recursive: true })
  const logFd = fs.openSync(p.logFile, 'w')
  let child
  try {
    child = spawn(p.venvPython, ['-m', 'localstack.runtime.main'], {
      cwd: p.state,
      env: localstackEnv(p),
      detached: true,
      stdio: ['ignore', logFd, logFd],
    })
  } finally {
    fs.closeSync(logFd)
  }
  const started = child
  /** @type {Error | null} */
  const spawnError = await new Promise((resolve) => {
    started.once('error', resolve)
    started.once('spawn', () => resolve(null))
  })
  if (spawnError || started.pid === undefined) {
    throw new LauncherError(`cannot run ${p.venvPython}: ${spawnError?.message ?? 'no pid'}`)
  }
  fs.writeFileSync(p.pidFile, `${started.pid}\n`)
  return /** @type {ChildProcess & { pid: number }} */ (started)
}

/**
 * Installs when needed, starts LocalStack and waits for it; on failure, ends what it started.
 * Runs under the start lock; `running.child` lets a signal handler end the child.
 * @param {string} version
 * @param {LauncherPaths} p
 * @param {() => number} deadline a deadline from now (epoch ms): the readiness wait starts after the install
 * @param {(message: string) => void} log
 * @param {{ child: ChildProcess & { pid: number } | null }} running
 * @returns {Promise<StartResult>}
 */
async function startLocked(version, p, deadline, log, running) {
  const endpoint = endpointFor({ port: p.port })
  // someone may have finished starting it while we waited for the lock
  if ((await probeHealth(endpoint)).healthy) return reuse(p, deadline(), log, 'already running')
  const existing = ourPid(p)
  if (existing != null) {
    log(`LocalStack pid ${existing} (from ${p.pidFile}) is running but not healthy yet; waiting for it`)
    return reuse(p, deadline(), log, 'started earlier')
  }
  fs.rmSync(p.pidFile, { force: true })

  // LocalStacks on other ports (other state folders) may share this virtualenv: one installer at a time
  const releaseVenv = await acquireLock(`${p.venv}.install.lock`, deadline() + INSTALL_WAIT_MS, log, 'is installing')
  try {
    await ensureVenv(version, p, log)
  } finally {
    releaseVenv()
  }
  const initRoot = syncInitHooks(p)
  const t0 = Date.now()
  log(`starting LocalStack ${version} on ${endpoint} (init hooks: ${initRoot}; log: ${p.logFile})`)
  const child = await spawnLocalStack(p)
  running.child = child

  const r = await waitReady(endpoint, deadline(), { child })
  const hookErrors = r.ok ? (r.init?.failed ?? []) : []
  if (!r.ok || hookErrors.length) {
    const reason = r.ok ? `init hook(s) failed: ${hookErrors.join(', ')}` : r.reason
    log(
      `${reason}; last 40 lines of ${p.logFile} (readiness polls left out):\n${tailFile(p.logFile, 40, { dropProbes: true })}`,
    )
    await killGroup(child.pid, { timeoutMs: 10000, log })
    fs.rmSync(p.pidFile, { force: true })
    throw new LauncherError(`LocalStack failed to start: ${reason}`)
  }
  child.unref()
  log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid})`)
  return { endpoint, reused: false, pid: child.pid }
}

/**
 * Start LocalStack (or reuse one answering healthy at the endpoint).
 * @param {LauncherOptions} [opts]
 * @returns {Promise<StartResult>}
 */
export async function start(opts = {}) {
  const log = opts.log ?? defaultLog
  const p = paths(opts)
  const deadline = () => Date.now() + startTimeoutMs(opts)
  if ((await probeHealth(endpointFor({ port: p.port }))).healthy) return reuse(p, deadline(), log, 'already running')

  const version = localstackVersion()
  const release = await acquireLock(p.lockFile, deadline() + INSTALL_WAIT_MS, log)
  /** @type {{ child: ChildProcess & { pid: number } | null }} */
  const running = { child: null }
  const cleanupOnSignal = async () => {
    if (running.child) await killGroup(running.child.pid, { timeoutMs: 5000 })
    fs.rmSync(p.pidFile, { force: true })
    release()
    process.exit(130)
  }
  if (opts.handleSignals) {
    process.once('SIGINT', cleanupOnSignal)
    process.once('SIGTERM', cleanupOnSignal)
  }
  try {
    return await startLocked(version, p, deadline, log, running)
  } finally {
    if (opts.handleSignals) {
      process.off('SIGINT', cleanupOnSignal)
      process.off('SIGTERM', cleanupOnSignal)
    }
    release()
  }
}

/**
 * Stop the LocalStack this launcher started (the process group in the pid file). Never touches others.
 * @param {LauncherOptions} [opts]
 * @returns {Promise<{ stopped: boolean, pid: number | null, signal?: 'SIGTERM' | 'SIGKILL' }>}
 */
export async function stop(opts = {}) {
  const log = opts.log ?? defaultLog
  const p = paths(opts)
  const recorded = readPidFile(p)
  if (recorded == null) {
    log(`no pid file (${p.pidFile}); nothing to stop`)
    return { stopped: false, pid: null }
  }
  const pid = ourPid(p)
  if (pid == null) {
    log(`pid ${recorded} from ${p.pidFile} is not a running LocalStack; removing stale pid file`)
    fs.rmSync(p.pidFile, { force: true })
    return { stopped: false, pid: recorded }
  }
  log(`stopping LocalStack pid ${pid}`)
  const signal = await killGroup(pid, { timeoutMs: opts.timeoutMs ?? 20000, log })
  fs.rmSync(p.pidFile, { force: true })
  log(`stopped (${signal})`)
  return { stopped: true, pid, signal }
}

/**
 * Health, version, services and init hooks of the LocalStack at the endpoint, and our pid if we started it.
 * @param {LauncherOptions} [opts]
 */
export async function status(opts = {}) {
  const p = paths(opts)
  const endpoint = endpointFor(opts)
  const health = await probeHealth(endpoint)
  const init = health.healthy ? await probeInit(endpoint) : null
  return {
    endpoint,
    healthy: health.healthy,
    version: health.version,
    pid: ourPid(p),
    services: health.services,
    init: init && { completed: init.completed, scripts: init.scripts },
  }
}

/**
 * The last `lines` lines of the LocalStack log.
 * @param {number} [lines]
 * @param {LauncherOptions} [opts]
 */
export function logs(lines = 100, opts = {}) {
  return tailFile(paths(opts).logFile, lines)
}
