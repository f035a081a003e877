#!/usr/bin/env node
// Host-mode LocalStack launcher (no Docker): a virtualenv under localstack/.venv with
// localstack-core[runtime]==<localstack/version>, started as a detached process.
//
//   node localstack/launcher.mjs <start|stop|status|logs> [--json] [-n LINES]
//
// Dependency-free; runs on Node >= 20. Other Node code may import start/stop/status.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const PATHS = Object.freeze({
  root: HERE,
  versionFile: path.join(HERE, 'version'),
  constraints: path.join(HERE, 'constraints.txt'),
  initDir: path.join(HERE, 'init'),
  venv: path.join(HERE, '.venv'),
  venvPython: path.join(HERE, '.venv', 'bin', 'python'),
  installMarker: path.join(HERE, '.venv', '.sqs-envelope-installed'),
  state: path.join(HERE, '.state'),
  fsRoot: path.join(HERE, '.state', 'fs'),
  logFile: path.join(HERE, '.state', 'localstack.log'),
  pipLog: path.join(HERE, '.state', 'pip-install.log'),
  pidFile: path.join(HERE, '.state', 'localstack.pid'),
  lockFile: path.join(HERE, '.state', 'start.lock'),
})

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
  const v = fs.readFileSync(PATHS.versionFile, 'utf8').trim()
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new LauncherError(`bad version in ${PATHS.versionFile}: ${JSON.stringify(v)}`)
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

// ---------------------------------------------------------------- HTTP probes

async function getJson(url, timeoutMs = 2000) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) return null
    return await res.json()
  } catch {
    return null
  }
}

const UP = new Set(['available', 'running'])

/** GET /_localstack/health; healthy when sqs and kms are "available" or "running". */
export async function probeHealth(endpoint) {
  const body = await getJson(`${endpoint}/_localstack/health`)
  const services = body?.services ?? {}
  return {
    healthy: UP.has(services.sqs) && UP.has(services.kms),
    version: body?.version ?? null,
    services: { sqs: services.sqs ?? null, kms: services.kms ?? null },
    raw: body,
  }
}

/** GET /_localstack/init/ready -> {"completed": bool, "scripts": [{stage, name, state}]} */
async function probeInit(endpoint) {
  const body = await getJson(`${endpoint}/_localstack/init/ready`)
  if (!body) return null
  const scripts = Array.isArray(body.scripts) ? body.scripts : []
  return {
    completed: body.completed === true,
    failed: scripts.filter((s) => s.state === 'ERROR').map((s) => s.name),
    scripts,
  }
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

function readPidFile() {
  try {
    const pid = Number(fs.readFileSync(PATHS.pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** The pid from the pid file if it still names our LocalStack process (group). */
function ourPid() {
  const pid = readPidFile()
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
function venvPythonVersion() {
  try {
    const cfg = fs.readFileSync(path.join(PATHS.venv, 'pyvenv.cfg'), 'utf8')
    const m = cfg.match(/^version(?:_info)?\s*=\s*(\d+)\.(\d+)/m)
    return m ? [Number(m[1]), Number(m[2])] : null
  } catch {
    return null
  }
}

function installSpec(version) {
  return `localstack-core[runtime]==${version}`
}

function markerContent(version) {
  const constraints = fs.existsSync(PATHS.constraints) ? fs.readFileSync(PATHS.constraints) : Buffer.alloc(0)
  const digest = createHash('sha256').update(constraints).digest('hex').slice(0, 16)
  return `${installSpec(version)}\nconstraints-sha256:${digest}\n`
}

function venvIsCurrent(version) {
  try {
    const v = venvPythonVersion()
    return (
      v != null &&
      versionOk(v) &&
      fs.existsSync(PATHS.venvPython) &&
      fs.readFileSync(PATHS.installMarker, 'utf8') === markerContent(version)
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

async function ensureVenv(version, log) {
  if (venvIsCurrent(version)) return { installed: false }
  const python = findPython(log)
  fs.mkdirSync(PATHS.state, { recursive: true })
  fs.writeFileSync(PATHS.pipLog, '')
  const v = venvPythonVersion()
  if (fs.existsSync(PATHS.venv) && (v == null || !versionOk(v) || probePython(PATHS.venvPython) == null)) {
    log(`recreating ${PATHS.venv} (its Python ${v ? v.join('.') : '?'} is unusable for LocalStack ${version})`)
    fs.rmSync(PATHS.venv, { recursive: true, force: true })
  }
  if (!fs.existsSync(PATHS.venvPython)) {
    log(`creating virtualenv ${path.relative(process.cwd(), PATHS.venv) || PATHS.venv}`)
    const r = await run(python, ['-m', 'venv', PATHS.venv], { logFile: PATHS.pipLog })
    if (r.code !== 0) {
      fs.rmSync(PATHS.venv, { recursive: true, force: true })
      throw new LauncherError(`"${python} -m venv" failed: ${INSTALL_HINT}\n${tailFile(PATHS.pipLog, 15)}`, 2)
    }
  }
  fs.rmSync(PATHS.installMarker, { force: true })
  const t0 = Date.now()
  log(`installing ${installSpec(version)} (takes a few minutes the first time; log: ${PATHS.pipLog})`)
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input']
  if (fs.existsSync(PATHS.constraints)) args.push('-c', PATHS.constraints)
  args.push(installSpec(version))
  const r = await run(PATHS.venvPython, args, { logFile: PATHS.pipLog })
  if (r.code !== 0) {
    throw new LauncherError(
      `pip install ${installSpec(version)} failed (exit ${r.code}):\n${tailFile(PATHS.pipLog, 40)}`,
      1,
    )
  }
  fs.writeFileSync(PATHS.installMarker, markerContent(version))
  log(`installed in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
  return { installed: true }
}

// Host-mode LocalStack reads init hooks from $FILESYSTEM_ROOT/etc/localstack/init/<stage>.d
function syncInitHooks() {
  const target = path.join(PATHS.fsRoot, 'etc', 'localstack', 'init')
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
  if (fs.existsSync(PATHS.initDir)) copy(PATHS.initDir, target)
  return target
}

// ---------------------------------------------------------------- start lock

async function acquireLock(deadline, log) {
  fs.mkdirSync(PATHS.state, { recursive: true })
  let announced = false
  for (;;) {
    try {
      fs.writeFileSync(PATHS.lockFile, String(process.pid), { flag: 'wx' })
      return () => fs.rmSync(PATHS.lockFile, { force: true })
    } catch (e) {
      if (e.code !== 'EEXIST') throw e
    }
    let holder = 0
    try {
      holder = Number(fs.readFileSync(PATHS.lockFile, 'utf8').trim() || 0)
    } catch {
      continue // released meanwhile
    }
    if (!holder || !isAlive(holder)) {
      fs.rmSync(PATHS.lockFile, { force: true })
      continue
    }
    if (!announced) log(`another launcher (pid ${holder}) is starting LocalStack; waiting`)
    announced = true
    if (Date.now() > deadline)
      throw new LauncherError(`timed out waiting for launcher pid ${holder} (${PATHS.lockFile})`)
    await sleep(500)
  }
}

// ---------------------------------------------------------------- commands

async function waitReady(endpoint, deadline, { child, requireInit = true } = {}) {
  let exited = null
  const onExit = (code, sig) => (exited = sig ?? code)
  child?.once('exit', onExit)
  try {
    let health
    for (;;) {
      if (exited != null) return { ok: false, reason: `LocalStack exited early (${exited})` }
      health = await probeHealth(endpoint)
      if (health.healthy) break
      if (Date.now() > deadline) return { ok: false, reason: 'LocalStack did not become healthy in time' }
      await sleep(250)
    }
    let init
    for (;;) {
      if (exited != null) return { ok: false, reason: `LocalStack exited early (${exited})` }
      init = await probeInit(endpoint)
      if (init?.completed || (init == null && !requireInit)) break
      if (Date.now() > deadline)
        return { ok: false, reason: 'ready.d init hooks did not complete in time', health, init }
      await sleep(500)
    }
    return { ok: true, health, init }
  } finally {
    child?.off('exit', onExit)
  }
}

/**
 * Start LocalStack (or reuse one answering healthy at the endpoint).
 * @param {{port?: number, timeoutMs?: number, log?: (msg: string) => void, handleSignals?: boolean}} opts
 * @returns {Promise<{endpoint: string, reused: boolean, pid: number|null}>}
 */
export async function start(opts = {}) {
  const log = opts.log ?? defaultLog
  const port = resolvePort(opts)
  const endpoint = endpointFor({ port })
  const deadline = () => Date.now() + startTimeoutMs(opts)

  const reuse = async (why) => {
    const r = await waitReady(endpoint, deadline(), { requireInit: false })
    if (!r.ok) {
      throw new LauncherError(
        `LocalStack at ${endpoint} is not ready: ${r.reason} (log: ${PATHS.logFile}; \`node localstack/launcher.mjs stop\` ends one this launcher started)`,
      )
    }
    if (r.init?.failed.length) log(`warning: init hooks failed: ${r.init.failed.join(', ')} (see ${PATHS.logFile})`)
    const pid = ourPid()
    log(`reusing LocalStack ${why} at ${endpoint} (pid ${pid ?? 'unknown'})`)
    return { endpoint, reused: true, pid }
  }

  if ((await probeHealth(endpoint)).healthy) return reuse('already running')

  const version = localstackVersion()
  // the lock holder may be doing the first-time pip install (minutes), so wait longer for it
  const release = await acquireLock(deadline() + 15 * 60 * 1000, log)
  let child = null
  const cleanupOnSignal = async () => {
    if (child?.pid) await killGroup(child.pid, { timeoutMs: 5000 })
    fs.rmSync(PATHS.pidFile, { force: true })
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
    const existing = ourPid()
    if (existing != null) {
      log(`LocalStack pid ${existing} (from ${PATHS.pidFile}) is running but not healthy yet; waiting for it`)
      return await reuse('started earlier')
    }
    fs.rmSync(PATHS.pidFile, { force: true })

    await ensureVenv(version, log)
    const initRoot = syncInitHooks()

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
      FILESYSTEM_ROOT: PATHS.fsRoot, // state, tmp and etc/localstack/init live here
      PYTHONUNBUFFERED: '1',
    }
    fs.mkdirSync(PATHS.state, { recursive: true })
    const logFd = fs.openSync(PATHS.logFile, 'w')
    const t0 = Date.now()
    log(`starting LocalStack ${version} on ${endpoint} (init hooks: ${initRoot}; log: ${PATHS.logFile})`)
    try {
      child = spawn(PATHS.venvPython, ['-m', 'localstack.runtime.main'], {
        cwd: PATHS.state,
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
    if (spawnError) throw new LauncherError(`cannot run ${PATHS.venvPython}: ${spawnError.message}`)
    fs.writeFileSync(PATHS.pidFile, `${child.pid}\n`)

    const r = await waitReady(endpoint, deadline(), { child })
    const hookErrors = r.ok ? r.init.failed : []
    if (!r.ok || hookErrors.length) {
      const reason = r.ok ? `init hook(s) failed: ${hookErrors.join(', ')}` : r.reason
      log(
        `${reason}; last 40 lines of ${PATHS.logFile} (readiness polls left out):\n${tailFile(PATHS.logFile, 40, { dropProbes: true })}`,
      )
      await killGroup(child.pid, { timeoutMs: 10000, log })
      fs.rmSync(PATHS.pidFile, { force: true })
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
  const recorded = readPidFile()
  if (recorded == null) {
    log(`no pid file (${PATHS.pidFile}); nothing to stop`)
    return { stopped: false, pid: null }
  }
  const pid = ourPid()
  if (pid == null) {
    log(`pid ${recorded} from ${PATHS.pidFile} is not a running LocalStack; removing stale pid file`)
    fs.rmSync(PATHS.pidFile, { force: true })
    return { stopped: false, pid: recorded }
  }
  log(`stopping LocalStack pid ${pid}`)
  const signal = await killGroup(pid, { timeoutMs: opts.timeoutMs ?? 20000, log })
  fs.rmSync(PATHS.pidFile, { force: true })
  log(`stopped (${signal})`)
  return { stopped: true, pid, signal }
}

/** @returns {Promise<{endpoint, healthy, pid, services, init}>} */
export async function status(opts = {}) {
  const endpoint = endpointFor(opts)
  const health = await probeHealth(endpoint)
  const init = health.healthy ? await probeInit(endpoint) : null
  return {
    endpoint,
    healthy: health.healthy,
    version: health.version,
    pid: ourPid(),
    services: health.services,
    init: init && { completed: init.completed, scripts: init.scripts },
  }
}

export function logs(lines = 100) {
  return tailFile(PATHS.logFile, lines)
}

// ---------------------------------------------------------------- CLI

const USAGE = 'usage: node localstack/launcher.mjs <start|stop|status|logs> [--json] [-n LINES]'

async function main(argv) {
  const json = argv.includes('--json')
  const nIdx = argv.findIndex((a) => a === '-n' || a === '--lines')
  const lines = nIdx >= 0 ? Number(argv[nIdx + 1]) : 100
  const positional = argv.filter((a, i) => !a.startsWith('-') && !(nIdx >= 0 && i === nIdx + 1))
  const [cmd] = positional
  const out = (obj, text) => process.stdout.write(`${json ? JSON.stringify(obj) : text}\n`)

  switch (cmd) {
    case 'start': {
      const r = await start({ handleSignals: true })
      out(r, r.endpoint)
      return 0
    }
    case 'stop': {
      const r = await stop()
      if (json) out(r)
      return 0
    }
    case 'status': {
      const s = await status()
      const svc = `sqs: ${s.services.sqs ?? '-'}, kms: ${s.services.kms ?? '-'}`
      const text = s.healthy
        ? `healthy at ${s.endpoint} (LocalStack ${s.version}, pid ${s.pid ?? 'unknown'}, ${svc}, init ${s.init?.completed ? 'completed' : 'pending'})`
        : `not healthy at ${s.endpoint} (${s.pid != null ? `pid ${s.pid} running` : 'no LocalStack started by this launcher'}; ${svc})`
      out(s, text)
      return s.healthy ? 0 : 1
    }
    case 'logs':
      process.stdout.write(`${logs(Number.isInteger(lines) && lines > 0 ? lines : 100)}\n`)
      return 0
    default:
      process.stderr.write(`${USAGE}\n`)
      return 2
  }
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

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`[localstack] error: ${err instanceof LauncherError ? err.message : (err?.stack ?? err)}\n`)
      process.exit(err?.exitCode ?? 1)
    },
  )
}
