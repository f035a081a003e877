// @ts-check
// Finding what host mode runs on: a Python >= 3.13 with venv, the virtualenv with the pinned
// localstack-core in it (installed when missing or stale), and the init hooks in LocalStack's
// filesystem root.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { LauncherError, tailFile } from './config.mjs'

/** @typedef {import('./config.mjs').LauncherPaths} LauncherPaths */
/** @typedef {(message: string) => void} Log */

// localstack-core 4.14.0 says Requires-Python >= 3.10, but its code needs 3.13 (the Python of
// its Docker image): PEP 695 generics in services/sqs/queue.py (SyntaxError before 3.12) and
// `threading.Lock | None` annotations (TypeError before 3.13).
const MIN_PYTHON = [3, 13]
export const INSTALL_HINT =
  'LocalStack 4.14 needs Python >= 3.13 with venv: install python3.13 and python3.13-venv ' +
  '(Debian 13: apt-get install python3.13 python3.13-venv; or `pyenv install 3.13`), ' +
  'or point LOCALSTACK_PYTHON at such an interpreter'

/** @param {readonly number[]} version [major, minor, …] */
const versionOk = ([maj = 0, min = 0]) =>
  maj > (MIN_PYTHON[0] ?? 0) || (maj === MIN_PYTHON[0] && min >= (MIN_PYTHON[1] ?? 0))

/**
 * [major, minor, patch] of a working interpreter that has the venv module, or null.
 * @param {string} python
 * @returns {number[] | null}
 */
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

/** pyenv's interpreters, newest 3.13.x first (what LocalStack 4.14 ships with), then newer minors. */
function pyenvCandidates() {
  const root = process.env.PYENV_ROOT || path.join(process.env.HOME || '/root', '.pyenv')
  /** @type {string[]} */
  let names = []
  try {
    names = fs.readdirSync(path.join(root, 'versions')).filter((n) => /^3\.\d+\.\d+$/.test(n))
  } catch {
    return []
  }
  /** @param {string} n */
  const key = (n) => n.split('.').map(Number)
  names.sort((a, b) => {
    const [x = 0, y = 0, z = 0] = key(a)
    const [u = 0, v = 0, w = 0] = key(b)
    return x - u || y - v || z - w
  })
  const ordered = [
    ...names.filter((n) => n.startsWith('3.13.')).reverse(),
    ...names.filter((n) => !n.startsWith('3.13.')),
  ]
  return ordered.map((n) => path.join(root, 'versions', n, 'bin', 'python3'))
}

/**
 * Find a Python >= 3.13 for the virtualenv: LOCALSTACK_PYTHON, python3.13, pyenv's 3.13.x, python3.
 * @param {Log} log
 */
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

/**
 * [major, minor] of the virtualenv's interpreter from pyvenv.cfg (cheap), or null.
 * @param {LauncherPaths} p
 */
function venvPythonVersion(p) {
  try {
    const cfg = fs.readFileSync(path.join(p.venv, 'pyvenv.cfg'), 'utf8')
    const m = cfg.match(/^version(?:_info)?\s*=\s*(\d+)\.(\d+)/m)
    return m ? [Number(m[1]), Number(m[2])] : null
  } catch {
    return null
  }
}

/** @param {string} version */
const installSpec = (version) => `localstack-core[runtime]==${version}`

/**
 * What the install marker says: the spec and the constraints' hash, so that a change of either reinstalls.
 * @param {string} version
 * @param {LauncherPaths} p
 */
function markerContent(version, p) {
  const constraints = fs.existsSync(p.constraints) ? fs.readFileSync(p.constraints) : Buffer.alloc(0)
  const digest = createHash('sha256').update(constraints).digest('hex').slice(0, 16)
  return `${installSpec(version)}\nconstraints-sha256:${digest}\n`
}

/**
 * @param {string} version
 * @param {LauncherPaths} p
 */
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

/**
 * Runs a command to its end with its output appended to `logFile`.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {string} logFile
 * @returns {Promise<{ code: number, signal?: NodeJS.Signals | null, error?: Error }>}
 */
async function runLogged(cmd, args, logFile) {
  const fd = fs.openSync(logFile, 'a')
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: process.env })
    return await new Promise((resolve) => {
      child.on('error', (error) => resolve({ code: -1, error }))
      child.on('exit', (code, signal) => resolve({ code: code ?? 128, signal }))
    })
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Creates the virtualenv with `python` when it is missing or its own Python is unusable.
 * @param {string} python
 * @param {string} version
 * @param {LauncherPaths} p
 * @param {Log} log
 */
async function createVenv(python, version, p, log) {
  const v = venvPythonVersion(p)
  if (fs.existsSync(p.venv) && (v == null || !versionOk(v) || probePython(p.venvPython) == null)) {
    log(`recreating ${p.venv} (its Python ${v ? v.join('.') : '?'} is unusable for LocalStack ${version})`)
    fs.rmSync(p.venv, { recursive: true, force: true })
  }
  if (fs.existsSync(p.venvPython)) return
  log(`creating virtualenv ${path.relative(process.cwd(), p.venv) || p.venv}`)
  const r = await runLogged(python, ['-m', 'venv', p.venv], p.pipLog)
  if (r.code !== 0) {
    fs.rmSync(p.venv, { recursive: true, force: true })
    throw new LauncherError(`"${python} -m venv" failed: ${INSTALL_HINT}\n${tailFile(p.pipLog, 15)}`, 2)
  }
}

/**
 * A virtualenv with `localstack-core[runtime]==<version>` under the shipped constraints; installs
 * only when the marker does not match.
 * @param {string} version
 * @param {LauncherPaths} p
 * @param {Log} log
 */
export async function ensureVenv(version, p, log) {
  if (venvIsCurrent(version, p)) return { installed: false }
  const python = findPython(log)
  fs.mkdirSync(p.state, { recursive: true })
  fs.writeFileSync(p.pipLog, '')
  await createVenv(python, version, p, log)
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
  const r = await runLogged(p.venvPython, args, p.pipLog)
  if (r.code !== 0) {
    throw new LauncherError(`pip install ${installSpec(version)} failed (exit ${r.code}):\n${tailFile(p.pipLog, 40)}`)
  }
  fs.writeFileSync(p.installMarker, markerContent(version, p))
  log(`installed in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
  return { installed: true }
}

/**
 * Copies the shipped init hooks to $FILESYSTEM_ROOT/etc/localstack/init, where host-mode LocalStack reads them.
 * @param {LauncherPaths} p
 */
export function syncInitHooks(p) {
  const target = path.join(p.fsRoot, 'etc', 'localstack', 'init')
  fs.rmSync(target, { recursive: true, force: true })
  if (fs.existsSync(p.initDir)) copyTree(p.initDir, target)
  return target
}

/**
 * @param {string} src
 * @param {string} dst
 */
function copyTree(src, dst) {
  fs.mkdirSync(dst, { recursive: true })
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name)
    const d = path.join(dst, entry.name)
    if (entry.isDirectory()) copyTree(s, d)
    else if (entry.isFile()) {
      fs.copyFileSync(s, d)
      fs.chmodSync(d, fs.statSync(s).mode & 0o777)
    }
  }
}
