// @ts-check
// Process control: which pid is ours, ending a process group, and the lock that lets one
// launcher at a time start LocalStack (or install its virtualenv).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { LauncherError, sleep } from './config.mjs'

/** @typedef {import('./config.mjs').LauncherPaths} LauncherPaths */

/**
 * Whether a signal-0 to `target` (a pid, or -pgid for a group) finds it; EPERM means it exists.
 * @param {number} target
 */
function exists(target) {
  try {
    process.kill(target, 0)
    return true
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM'
  }
}

/** @param {number} pid */
export const isAlive = (pid) => exists(pid)

/** @param {number} pgid */
const groupAlive = (pgid) => exists(-pgid)

/**
 * true if pid runs LocalStack's runtime; null if we cannot tell.
 * @param {number} pid
 */
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

/** @param {LauncherPaths} p */
export function readPidFile(p) {
  try {
    const pid = Number(fs.readFileSync(p.pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/**
 * The pid from the pid file if it still names our LocalStack process (group).
 * @param {LauncherPaths} p
 */
export function ourPid(p) {
  const pid = readPidFile(p)
  if (pid == null) return null
  if (isAlive(pid)) return isLocalstackProcess(pid) === false ? null : pid
  return groupAlive(pid) ? pid : null
}

/**
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal)
  } catch {
    try {
      process.kill(pgid, signal)
    } catch {
      // already gone
    }
  }
}

/**
 * SIGTERM to the process group, SIGKILL after `timeoutMs`; resolves with the signal that ended it.
 * @param {number} pgid
 * @param {{ timeoutMs?: number, log?: (message: string) => void }} [options]
 * @returns {Promise<'SIGTERM' | 'SIGKILL'>}
 */
export async function killGroup(pgid, { timeoutMs = 20000, log = () => {} } = {}) {
  const gone = () => !groupAlive(pgid) && !isAlive(pgid)
  signalGroup(pgid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (gone()) return 'SIGTERM'
    await sleep(200)
  }
  log(`pid ${pgid} still running after ${Math.round(timeoutMs / 1000)}s, sending SIGKILL`)
  signalGroup(pgid, 'SIGKILL')
  for (let i = 0; i < 50 && !gone(); i++) await sleep(100)
  return 'SIGKILL'
}

/**
 * Takes the lock file (O_EXCL), waiting while a live process holds it; a dead holder's lock is taken over.
 * Resolves with the function that releases it.
 * @param {string} lockFile
 * @param {number} deadline epoch ms
 * @param {(message: string) => void} log
 * @param {string} [what] what the holder is doing, for the waiting message
 * @returns {Promise<() => void>}
 */
export async function acquireLock(lockFile, deadline, log, what = 'is starting LocalStack') {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true })
  let announced = false
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
      return () => fs.rmSync(lockFile, { force: true })
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST') throw e
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
