// @ts-check
// Where the launcher's files are and what one configuration resolves to: ports, paths, the pinned
// version, timeouts. No process is started here.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * What a caller may fix; the environment fills in the rest (see the README's table).
 * @typedef {object} LauncherOptions
 * @property {number} [port] gateway port on 127.0.0.1 (`LOCALSTACK_PORT`, else 4566)
 * @property {string} [home] folder for `.venv/` and the state folders (`SQS_ENVELOPE_LOCALSTACK_HOME`)
 * @property {string} [venv] the virtualenv (`SQS_ENVELOPE_LOCALSTACK_VENV`)
 * @property {string} [stateDir] pid file, log, filesystem root (`SQS_ENVELOPE_LOCALSTACK_STATE`)
 * @property {number} [timeoutMs] readiness wait of `start`, SIGKILL delay of `stop`
 * @property {(message: string) => void} [log] progress messages (stderr by default)
 * @property {boolean} [handleSignals] `start` kills what it started on SIGINT/SIGTERM
 */

/**
 * @typedef {typeof ASSETS & {
 *   port: number, home: string, venv: string, venvPython: string, installMarker: string, state: string,
 *   fsRoot: string, logFile: string, pipLog: string, pidFile: string, lockFile: string
 * }} LauncherPaths
 */

/** The launcher's own folder (packages/testing/localstack), one level up from this module. */
const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
export const HOST = '127.0.0.1'
export const DEFAULT_PORT = 4566

/** The files shipped with the launcher: the pinned version, the pip constraints, the init hooks. */
export const ASSETS = Object.freeze({
  root: HERE,
  versionFile: path.join(HERE, 'version'),
  constraints: path.join(HERE, 'constraints.txt'),
  initDir: path.join(HERE, 'init'),
})

/** A failure the command line reports without a stack, with its exit code. */
export class LauncherError extends Error {
  /**
   * @param {string} message
   * @param {number} [exitCode]
   */
  constructor(message, exitCode = 1) {
    super(message)
    this.name = 'LauncherError'
    this.exitCode = exitCode
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** @param {string} message */
export const defaultLog = (message) => {
  process.stderr.write(`[localstack] ${message}\n`)
}

/** The pinned LocalStack version from the shipped `version` file. */
export function localstackVersion() {
  const v = fs.readFileSync(ASSETS.versionFile, 'utf8').trim()
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new LauncherError(`bad version in ${ASSETS.versionFile}: ${JSON.stringify(v)}`)
  return v
}

/** @param {LauncherOptions} [opts] */
function resolvePort(opts = {}) {
  const port = Number(opts.port ?? process.env.LOCALSTACK_PORT ?? DEFAULT_PORT)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LauncherError(`bad LOCALSTACK_PORT: ${port}`, 2)
  return port
}

/** @param {LauncherOptions} [opts] */
export function endpointFor(opts = {}) {
  return `http://${HOST}:${resolvePort(opts)}`
}

/** @param {LauncherOptions} opts */
export function startTimeoutMs(opts) {
  if (opts.timeoutMs != null) return opts.timeoutMs
  const s = Number(process.env.LOCALSTACK_START_TIMEOUT ?? 120)
  return (Number.isFinite(s) && s > 0 ? s : 120) * 1000
}

/** Where the virtualenv and the runtime state go (no LocalStack files are written next to the launcher). */
function defaultHome() {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(cache, 'sqs-envelope', 'localstack')
}

/**
 * Paths for one launcher configuration. `home` holds `.venv/` and `.state/`; the state folder
 * is per port (`.state` on 4566, `.state-<port>` elsewhere) so LocalStacks on two ports never
 * share a pid file, log or filesystem root, while they share one virtualenv.
 * @param {LauncherOptions} [opts]
 * @returns {LauncherPaths}
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

/**
 * The last `lines` lines of a log file, or a note that there is none.
 * @param {string} file
 * @param {number} [lines]
 * @param {{ dropProbes?: boolean }} [options] leave out the readiness polls LocalStack logs as requests
 */
export function tailFile(file, lines = 40, { dropProbes = false } = {}) {
  try {
    let all = fs.readFileSync(file, 'utf8').trimEnd().split('\n')
    if (dropProbes) all = all.filter((l) => !/GET \/_localstack\/(health|init)/.test(l))
    return all.slice(-lines).join('\n')
  } catch {
    return `(no log at ${file})`
  }
}
