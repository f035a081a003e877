#!/usr/bin/env node
// Host-mode LocalStack launcher (no Docker): localstack-core[runtime]==<version> in a
// virtualenv, started as a detached process on 127.0.0.1:<port>. Shipped inside
// @sqs-envelope/testing (with `version`, `constraints.txt` and `init/`), so it works in
// any project; the repository's localstack/launcher.mjs runs it with its own folder as home.
//
//   node launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]
//
// Dependency-free; runs on Node >= 20. Other Node code may import start/stop/status.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { probeHealth, probeInit, waitReady as waitUntilReady } from './readiness.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const DEFAULT_PORT = 4566

/** The files shipped with the launcher: the pinned version, the pip constraints, the init hooks. */
export const ASSETS = Object.freeze({
  root: HERE,
  versionFile: path.join(HERE, 'version'),
  constraints: path.join(HERE, 'constraints.txt'),
  initDir: path.join(HERE, 'init'),
})

/** Where the virtualenv and the runtime state go (no LocalStack files are written next to the launcher). */
function defaultHome() {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(cache, 'sqs-envelope', 'localstack')
}

/**
 * Paths for one launcher configuration. `home` holds `.venv/` and `.state/`; the state folder
 * is per port (`.state` on 4566, `.state-<port>` elsewhere) so LocalStacks on two ports never
 * share a pid file, log or filesystem root, while they share one virtualenv.
 */
export function paths(opts = {}) {
  const port = resolvePort(opts)
  const home = path.resolve(opts.home ?? process.env.SQS_ENVELOPE_LOCALSTACK_HOME ?? defaultHome())
  const venv = path.resolve(opts.venv ?? process.env.SQS_ENVELOPE_LOCALSTACK_VENV ?? path.join(home, '.venv'))
  const state = path.resolve(
    opts.stateDir ??
      process.env.SQS_ENVELOPE_LOCALSTACK_STATE ??
      path.join(home, port === DEFAULT_PORT ? '.state' : `.state-${port}`),
  )
  return {
    ...ASSETS,
    port,
    home,
    venv,
    venvPython: path.join(venv, 'bin', 'python'),
    installMarker: path.join(venv, '.sqs-envelope-installed'),
    state,
    fsRoot: path.join(state, 'fs'),
    logFile: path.join(state, 'localstack.log'),
    pipLog: path.join(state, 'pip-install.log'),
    pidFile: path.join(state, 'localstack.pid'),
    lockFile: path.join(state, 'start.lock'),
  }
}

const HOST = '127.0.0.1'
// localstack-core 4.14.0 says Requires-Python >= 3.10, but its code needs 3.13 (the Python of
// its Docker image): PEP 695 generics in services/sqs/queue.py (SyntaxError before 3.12) and
// `threading.Lock | None` annotations (TypeError before 3.13).
const MIN_PYTHON = [3, 13]
const INSTALL_HINT =
  'LocalStack 4.14 needs Python >= 3.13 with venv: install python3.13 and python3.13-venv ' +
  '(Debian 13: apt-get install python3.13 python3.13-venv; or `pyenv install 3.13`), ' +
  'or point LOCALSTACK_PYTHON at such an interpreter'

export class LauncherError extends Error {
  constructor(message, exitCode = 1) {
    super(message)
    this.name = 'LauncherError'
    this.exitCode = exitCode
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const defaultLog = (msg) => process.stderr.write(`[localstack] ${msg}\n`)

export function localstackVersion() {
  const v = fs.readFileSync(ASSETS.versionFile, 'utf8').trim()
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new LauncherError(`bad version in ${ASSETS.versionFile}: ${JSON.stringify(v)}`)
  return v
}

function resolvePort(opts = {}) {
  const port = Number(opts.port ?? process.env.LOCALSTACK_PORT ?? 4566)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LauncherError(`bad LOCALSTACK_PORT: ${port}`, 2)
  return port
}

export function endpointFor(opts = {}) {
  return `http://${HOST}:${resolvePort(opts)}`
}

function startTimeoutMs(opts) {
  if (opts.timeoutMs != null) return opts.timeoutMs
  const s = Number(process.env.LOCALSTACK_START_TIMEOUT ?? 120)
  return (Number.isFinite(s) && s > 0 ? s : 120) * 1000
}

// ------------------------------------------------------------- processes

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

/** true if pid runs LocalStack's runtime; null if we cannot tell. */
function isLocalstackProcess(pid) {
  let cmd = null
  try {
    cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    try {
      cmd = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
    } catch {
      return null
    }
  }
  return cmd.includes('localstack.runtime.main')
}

function readPidFile(p) {
  try {
    const pid = Number(fs.readFileSync(p.pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** The pid from the pid file if it still names our LocalStack process (group). */
function ourPid(p) {
  const pid = readPidFile(p)
  if (pid == null) return null
  if (isAlive(pid)) return isLocalstackProcess(pid) === false ? null : pid
  return groupAlive(pid) ? pid : null
}

async function killGroup(pgid, { timeoutMs = 20000, log = () => {} } = {}) {
  const signal = (sig) => {
    try {
      process.kill(-pgid, sig)
    } catch {
      try {
        process.kill(pgid, sig)
      } catch {
        /* gone */
      }
    }
  }
  const gone = () => !groupAlive(pgid) && !isAlive(pgid)
  signal('SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (gone()) return 'SIGTERM'
    await sleep(200)
  }
  log(`pid ${pgid} still running after ${Math.round(timeoutMs / 1000)}s, sending SIGKILL`)
  signal('SIGKILL')
  for (let i = 0; i < 50 && !gone(); i++) await sleep(100)
  return 'SIGKILL'
}

function tailFile(file, lines = 40, { dropProbes = false } = {}) {
  try {
    let all = fs.readFileSync(file, 'utf8').trimEnd().split('\n')
    // LocalStack logs every request, including this launcher's own readiness polls
    if (dropProbes) all = all.filter((l) => !/GET \/_localstack\/(health|init)/.test(l))
    return all.slice(-lines).join('\n')
  } catch {
    return `(no log at ${file})`
  }
}

// ---------------------------------------------------------------- python / venv

const versionOk = ([maj, min]) => maj > MIN_PYTHON[0] || (maj === MIN_PYTHON[0] && min >= MIN_PYTHON[1])

/** [major, minor, patch] of a working interpreter that has the venv module, or null. */
function probePython(python) {
  try {
    const out = execFileSync(python, ['-c', 'import sys, venv, ensurepip; print("%d.%d.%d" % sys.version_info[:3])'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10000,
    }).trim()
    return /^\d+\.\d+\.\d+$/.test(out) ? out.split('.').map(Number) : null
  } catch {
    return null
  }
}

function pyenvCandidates() {
  const root = process.env.PYENV_ROOT || path.join(process.env.HOME || '/root', '.pyenv')
  let names = []
  try {
    names = fs.readdirSync(path.join(root, 'versions')).filter((n) => /^3\.\d+\.\d+$/.test(n))
  } catch {
    return []
  }
  const key = (n) => n.split('.').map(Number)
  names.sort((a, b) => {
    const [x, y] = [key(a), key(b)]
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
  })
  // prefer the newest 3.13.x (what LocalStack 4.14 ships with), then newer minors
  const ordered = [
    ...names.filter((n) => n.startsWith('3.13.')).reverse(),
    ...names.filter((n) => !n.startsWith('3.13.')),
  ]
  return ordered.map((n) => path.join(root, 'versions', n, 'bin', 'python3'))
}

/** Find a Python >= 3.13 for the virtualenv: LOCALSTACK_PYTHON, python3.13, pyenv's 3.13.x, python3. */
function findPython(log) {
  const explicit = process.env.LOCALSTACK_PYTHON
  const candidates = explicit ? [explicit] : ['python3.13', ...pyenvCandidates(), 'python3']
  const seen = []
  for (const python of candidates) {
    const v = probePython(python)
    seen.push(`${python}: ${v ? v.join('.') : 'not usable (missing, or no venv/ensurepip)'}`)
    if (v && versionOk(v)) {
      log(`using ${python} (Python ${v.join('.')})`)
      return python
    }
  }
  throw new LauncherError(`no usable Python found (${seen.join('; ')}).\n${INSTALL_HINT}`, 2)
}

/** [major, minor] of the virtualenv's interpreter from pyvenv.cfg (cheap), or null. */
function venvPythonVersion(p) {
  try {
    const cfg = fs.readFileSync(path.join(p.venv, 'pyvenv.cfg'), 'utf8')
    const m = cfg.match(/^version(?:_info)?\s*=\s*(\d+)\.(\d+)/m)
    return m ? [Number(m[1]), Number(m[2])] : null
  } catch {
    return null
  }
}

function installSpec(version) {
  return `localstack-core[runtime]==${version}`
}

function markerContent(version, p) {
  const constraints = fs.existsSync(p.constraints) ? fs.readFileSync(p.constraints) : Buffer.alloc(0)
  const digest = createHash('sha256').update(constraints).digest('hex').slice(0, 16)
  return `${installSpec(version)}\nconstraints-sha256:${digest}\n`
}

function venvIsCurrent(version, p) {
  try {
    const v = venvPythonVersion(p)
    return (
      v != null &&
      versionOk(v) &&
      fs.existsSync(p.venvPython) &&
      fs.readFileSync(p.installMarker, 'utf8') === markerContent(version, p)
    )
  } catch {
    return false
  }
}

async function run(cmd, args, { logFile, env } = {}) {
  const fd = fs.openSync(logFile, 'a')
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env })
    return await new Promise((resolve) => {
      child.on('error', (e) => resolve({ code: -1, error: e }))
      child.on('exit', (code, sig) => resolve({ code: code ?? 128, signal: sig }))
    })
  } finally {
    fs.closeSync(fd)
  }
}

async function ensureVenv(version, p, log) {
  if (venvIsCurrent(version, p)) return { installed: false }
  const python = findPython(log)
  fs.mkdirSync(p.state, { recursive: true })
  fs.writeFileSync(p.pipLog, '')
  const v = venvPythonVersion(p)
  if (fs.existsSync(p.venv) && (v == null || !versionOk(v) || probePython(p.venvPython) == null)) {
    log(`recreating ${p.venv} (its Python ${v ? v.join('.') : '?'} is unusable for LocalStack ${version})`)
    fs.rmSync(p.venv, { recursive: true, force: true })
  }
  if (!fs.existsSync(p.venvPython)) {
    log(`creating virtualenv ${path.relative(process.cwd(), p.venv) || p.venv}`)
    const r = await run(python, ['-m', 'venv', p.venv], { logFile: p.pipLog })
    if (r.code !== 0) {
      fs.rmSync(p.venv, { recursive: true, force: true })
      throw new LauncherError(`"${python} -m venv" failed: ${INSTALL_HINT}\n${tailFile(p.pipLog, 15)}`, 2)
    }
  }
  fs.rmSync(p.installMarker, { force: true })
  const t0 = Date.now()
  log(`installing ${installSpec(version)} (takes a few minutes the first time; log: ${p.pipLog})`)
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input']
  if (fs.existsSync(p.constraints)) args.push('-c', p.constraints)
  // Wheels already built (e.g. by build-image.sh): install from them alone, no index, no network.
  const wheels = process.env.SQS_ENVELOPE_LOCALSTACK_WHEELS
  if (wheels) {
    log(`installing from the wheels in ${wheels} only (SQS_ENVELOPE_LOCALSTACK_WHEELS)`)
    args.push('--no-index', '--find-links', wheels)
  }
  args.push(installSpec(version))
  const r = await run(p.venvPython, args, { logFile: p.pipLog })
  if (r.code !== 0) {
    throw new LauncherError(
      `pip install ${installSpec(version)} failed (exit ${r.code}):\n${tailFile(p.pipLog, 40)}`,
      1,
    )
  }
  fs.writeFileSync(p.installMarker, markerContent(version, p))
  log(`installed in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
  return { installed: true }
}

// Host-mode LocalStack reads init hooks from $FILESYSTEM_ROOT/etc/localstack/init/<stage>.d
function syncInitHooks(p) {
  const target = path.join(p.fsRoot, 'etc', 'localstack', 'init')
  fs.rmSync(target, { recursive: true, force: true })
  const copy = (src, dst) => {
    fs.mkdirSync(dst, { recursive: true })
    for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
      const s = path.join(src, entry.name)
      const d = path.join(dst, entry.name)
      if (entry.isDirectory()) copy(s, d)
      else if (entry.isFile()) {
        fs.copyFileSync(s, d)
        fs.chmodSync(d, fs.statSync(s).mode & 0o777)
      }
    }
  }
  if (fs.existsSync(p.initDir)) copy(p.initDir, target)
  return target
}

// ---------------------------------------------------------------- start lock

async function acquireLock(lockFile, deadline, log, what = 'is starting LocalStack') {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true })
  let announced = false
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
      return () => fs.rmSync(lockFile, { force: true })
    } catch (e) {
      if (e.code !== 'EEXIST') throw e
    }
    let holder = 0
    try {
      holder = Number(fs.readFileSync(lockFile, 'utf8').trim() || 0)
    } catch {
      continue // released meanwhile
    }
    if (!holder || !isAlive(holder)) {
      fs.rmSync(lockFile, { force: true })
      continue
    }
    if (!announced) log(`another launcher (pid ${holder}) ${what}; waiting`)
    announced = true
    if (Date.now() > deadline) throw new LauncherError(`timed out waiting for launcher pid ${holder} (${lockFile})`)
    await sleep(500)
  }
}

// ---------------------------------------------------------------- commands

/** The shared readiness probe, plus "the process we started has exited". */
async function waitReady(endpoint, deadline, { child, requireInit = true } = {}) {
  let exited = null
  const onExit = (code, sig) => (exited = sig ?? code)
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
 * Start LocalStack (or reuse one answering healthy at the endpoint).
 * @param {{port?: number, home?: string, venv?: string, stateDir?: string, timeoutMs?: number, log?: (msg: string) => void, handleSignals?: boolean}} opts
 * @returns {Promise<{endpoint: string, reused: boolean, pid: number|null}>}
 */
export async function start(opts = {}) {
  const log = opts.log ?? defaultLog
  const p = paths(opts)
  const port = p.port
  const endpoint = endpointFor({ port })
  const deadline = () => Date.now() + startTimeoutMs(opts)

  const reuse = async (why) => {
    const r = await waitReady(endpoint, deadline(), { requireInit: false })
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

  if ((await probeHealth(endpoint)).healthy) return reuse('already running')

  const version = localstackVersion()
  // the lock holder may be doing the first-time pip install (minutes), so wait longer for it
  const release = await acquireLock(p.lockFile, deadline() + 15 * 60 * 1000, log)
  let child = null
  const cleanupOnSignal = async () => {
    if (child?.pid) await killGroup(child.pid, { timeoutMs: 5000 })
    fs.rmSync(p.pidFile, { force: true })
    release()
    process.exit(130)
  }
  if (opts.handleSignals) {
    process.once('SIGINT', cleanupOnSignal)
    process.once('SIGTERM', cleanupOnSignal)
  }
  try {
    // someone may have finished starting it while we waited for the lock
    if ((await probeHealth(endpoint)).healthy) return await reuse('already running')
    const existing = ourPid(p)
    if (existing != null) {
      log(`LocalStack pid ${existing} (from ${p.pidFile}) is running but not healthy yet; waiting for it`)
      return await reuse('started earlier')
    }
    fs.rmSync(p.pidFile, { force: true })

    // LocalStacks on other ports (other state folders) may share this virtualenv: one installer at a time
    const releaseVenv = await acquireLock(`${p.venv}.install.lock`, deadline() + 15 * 60 * 1000, log, 'is installing')
    try {
      await ensureVenv(version, p, log)
    } finally {
      releaseVenv()
    }
    const initRoot = syncInitHooks(p)

    const env = {
      ...process.env,
      GATEWAY_LISTEN: `${HOST}:${port}`,
      LOCALSTACK_HOST: `${HOST}:${port}`,
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
    fs.mkdirSync(p.state, { recursive: true })
    const logFd = fs.openSync(p.logFile, 'w')
    const t0 = Date.now()
    log(`starting LocalStack ${version} on ${endpoint} (init hooks: ${initRoot}; log: ${p.logFile})`)
    try {
      child = spawn(p.venvPython, ['-m', 'localstack.runtime.main'], {
        cwd: p.state,
        env,
        detached: true, // own process group; survives the launcher
        stdio: ['ignore', logFd, logFd],
      })
    } finally {
      fs.closeSync(logFd)
    }
    const spawnError = await new Promise((resolve) => {
      child.once('error', resolve)
      child.once('spawn', () => resolve(null))
    })
    if (spawnError) throw new LauncherError(`cannot run ${p.venvPython}: ${spawnError.message}`)
    fs.writeFileSync(p.pidFile, `${child.pid}\n`)

    const r = await waitReady(endpoint, deadline(), { child })
    const hookErrors = r.ok ? r.init.failed : []
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
 * @returns {Promise<{stopped: boolean, pid: number|null, signal?: string}>}
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

/** @returns {Promise<{endpoint, healthy, pid, services, init}>} */
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

export function logs(lines = 100, opts = {}) {
  return tailFile(paths(opts).logFile, lines)
}

// ---------------------------------------------------------------- CLI

const USAGE = 'usage: node launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]'

/**
 * The command line. `defaults` are what a wrapper fixes (the repository's localstack/launcher.mjs
 * passes its own folder as `home`); the environment still overrides them.
 */
export async function main(argv, defaults = {}) {
  const json = argv.includes('--json')
  const argValue = (...names) => {
    const i = argv.findIndex((a) => names.includes(a))
    return i >= 0 ? argv[i + 1] : undefined
  }
  const linesArg = argValue('-n', '--lines')
  const portArg = argValue('--port')
  const lines = linesArg != null ? Number(linesArg) : 100
  const valued = new Set(['-n', '--lines', '--port'])
  const positional = argv.filter((a, i) => !a.startsWith('-') && !valued.has(argv[i - 1]))
  const [cmd] = positional
  const opts = {
    ...defaults,
    home: process.env.SQS_ENVELOPE_LOCALSTACK_HOME ?? defaults.home,
    ...(portArg != null ? { port: Number(portArg) } : {}),
  }
  const out = (obj, text) => process.stdout.write(`${json ? JSON.stringify(obj) : text}\n`)

  switch (cmd) {
    case 'start': {
      const r = await start({ ...opts, handleSignals: true })
      out(r, r.endpoint)
      return 0
    }
    case 'stop': {
      const r = await stop(opts)
      if (json) out(r)
      return 0
    }
    case 'status': {
      const s = await status(opts)
      const svc = `sqs: ${s.services?.sqs ?? '-'}, kms: ${s.services?.kms ?? '-'}`
      const text = s.healthy
        ? `healthy at ${s.endpoint} (LocalStack ${s.version}, pid ${s.pid ?? 'unknown'}, ${svc}, init ${s.init?.completed ? 'completed' : 'pending'})`
        : `not healthy at ${s.endpoint} (${s.pid != null ? `pid ${s.pid} running` : 'no LocalStack started by this launcher'}; ${svc})`
      out(s, text)
      return s.healthy ? 0 : 1
    }
    case 'logs':
      process.stdout.write(`${logs(Number.isInteger(lines) && lines > 0 ? lines : 100, opts)}\n`)
      return 0
    default:
      process.stderr.write(`${USAGE}\n`)
      return 2
  }
}

/** Runs `main` as the process's command: exit code, and errors printed without a stack for known failures. */
export function runMain(argv, defaults = {}) {
  main(argv, defaults).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`[localstack] error: ${err instanceof LauncherError ? err.message : (err?.stack ?? err)}\n`)
      process.exit(err?.exitCode ?? 1)
    },
  )
}

function isMain() {
  if (!process.argv[1]) return false
  try {
    return (
      pathToFileURL(fs.realpathSync(process.argv[1])).href ===
      pathToFileURL(fs.realpathSync(fileURLToPath(import.meta.url))).href
    )
  } catch {
    return false
  }
}

if (isMain()) runMain(process.argv.slice(2))
