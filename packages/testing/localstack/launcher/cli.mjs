// @ts-check
// The command line: `node launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]`.

import { logs, start, status, stop } from './commands.mjs'
import { LauncherError } from './config.mjs'

/** @typedef {import('./config.mjs').LauncherOptions} LauncherOptions */

const USAGE = 'usage: node launcher.mjs <start|stop|status|logs> [--port N] [--json] [-n LINES]'
const VALUED = new Set(['-n', '--lines', '--port'])

/**
 * The command, its options and flags from argv.
 * @param {readonly string[]} argv
 * @param {LauncherOptions} defaults
 */
function parse(argv, defaults) {
  /** @param {string[]} names */
  const argValue = (...names) => {
    const i = argv.findIndex((a) => names.includes(a))
    return i >= 0 ? argv[i + 1] : undefined
  }
  const linesArg = argValue('-n', '--lines')
  const portArg = argValue('--port')
  const lines = linesArg != null ? Number(linesArg) : 100
  const [cmd] = argv.filter((a, i) => !a.startsWith('-') && !VALUED.has(argv[i - 1] ?? ''))
  /** @type {LauncherOptions} */
  const opts = {
    ...defaults,
    home: process.env.SQS_ENVELOPE_LOCALSTACK_HOME ?? defaults.home,
    ...(portArg != null ? { port: Number(portArg) } : {}),
  }
  return { cmd, opts, json: argv.includes('--json'), lines: Number.isInteger(lines) && lines > 0 ? lines : 100 }
}

/**
 * `status` as one line of text.
 * @param {Awaited<ReturnType<typeof status>>} s
 */
function describeStatus(s) {
  const svc = `sqs: ${s.services?.sqs ?? '-'}, kms: ${s.services?.kms ?? '-'}`
  return s.healthy
    ? `healthy at ${s.endpoint} (LocalStack ${s.version}, pid ${s.pid ?? 'unknown'}, ${svc}, init ${s.init?.completed ? 'completed' : 'pending'})`
    : `not healthy at ${s.endpoint} (${s.pid != null ? `pid ${s.pid} running` : 'no LocalStack started by this launcher'}; ${svc})`
}

/**
 * The command line. `defaults` are what a wrapper fixes (the repository's localstack/launcher.mjs
 * passes its own folder as `home`); the environment still overrides them.
 * @param {readonly string[]} argv
 * @param {LauncherOptions} [defaults]
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, defaults = {}) {
  const { cmd, opts, json, lines } = parse(argv, defaults)
  /** @param {unknown} obj @param {string} [text] */
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
      out(s, describeStatus(s))
      return s.healthy ? 0 : 1
    }
    case 'logs':
      process.stdout.write(`${logs(lines, opts)}\n`)
      return 0
    default:
      process.stderr.write(`${USAGE}\n`)
      return 2
  }
}

/**
 * A LauncherError's exit code (or any error's numeric `exitCode`), else 1.
 * @param {unknown} err
 */
function exitCodeOf(err) {
  const code = typeof err === 'object' && err !== null && 'exitCode' in err ? err.exitCode : undefined
  return typeof code === 'number' ? code : 1
}

/**
 * Runs `main` as the process's command: exit code, and errors printed without a stack for known failures.
 * @param {readonly string[]} argv
 * @param {LauncherOptions} [defaults]
 */
export function runMain(argv, defaults = {}) {
  main(argv, defaults).then(
    (code) => process.exit(code),
    /** @param {unknown} err */
    (err) => {
      const known = err instanceof LauncherError
      const text = known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)
      process.stderr.write(`[localstack] error: ${text}\n`)
      process.exit(exitCodeOf(err))
    },
  )
}
