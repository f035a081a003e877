import { isSqsEnvelopeError } from '@sqs-envelope/core'
import { MAX_TIMER_MS } from '@sqs-envelope/core/internal'
import { CommanderError, InvalidArgumentError } from 'commander'

/** The exit statuses of every command; documented in each command's `--help`. */
export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** The command failed: an AWS call was refused or failed, a line was not sent, a check failed. */
  failed: 1,
  /** The command line is wrong: an unknown or invalid option, a missing value or region, input that is not UTF-8 text. */
  usage: 2,
  /** `receive`: at least one message could not be opened (reported, and handled by the quarantine rules). */
  unopenable: 3,
} as const

export const EXIT_CODES_HELP = `
Exit status:
  0  done
  1  failed (an AWS call was refused or failed; details on stderr)
  2  wrong usage (unknown or invalid option, missing value or region, input that is not UTF-8 text)`

/** A failure the command reports and exits on, with a status from {@link EXIT}. */
export class CommandFailure extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.failed, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CommandFailure'
    this.exitCode = exitCode
  }
}

/** The exit status for what a command threw. */
export function exitStatus(error: unknown): number {
  // Help and version print and exit 0; every other parser error is a usage error.
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage
  if (error instanceof CommandFailure) return error.exitCode
  // A library refusing an option the command passed on (`--context __proto__=x`, a heartbeat
  // without a visibility timeout) is the command line's fault.
  if (isSqsEnvelopeError(error) && error.code === 'OPTION_INVALID') return EXIT.usage
  return EXIT.failed
}

/** One line for an error: its stable code first when it has one; never a payload. */
export function describeError(error: unknown): string {
  if (isSqsEnvelopeError(error)) return `${error.code}: ${error.message}`
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : ''
    return `${name}${error.message}`
  }
  return String(error)
}

/**
 * One line for a handler's error: its name and code, never its message (which may quote the
 * payload) unless `verbose`.
 */
export function describeHandlerError(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return verbose ? `thrown ${typeof error}: ${String(error)}` : `thrown ${typeof error}`
  const code = (error as { code?: unknown }).code
  const named = typeof code === 'string' || typeof code === 'number' ? `${error.name} ${code}` : error.name
  return verbose ? `${named}: ${error.message}` : named
}

/** Parses an integer option within `min`–`max`; the message names the option, the range and the value. */
export function integerIn(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}.`)
    }
    return n
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/

/**
 * Parses `500ms`, `10s`, `2m` or a bare number of seconds into milliseconds, from `minMs` to the
 * longest a Node.js timer can wait (a longer one would fire after 1 ms).
 */
export function durationMs(name: string, minMs = 0) {
  return (value: string): number => {
    const match = DURATION.exec(value.trim())
    if (!match)
      throw new InvalidArgumentError(`${name} must be a duration like 500ms, 10s or 2m; got ${JSON.stringify(value)}.`)
    const n = Number(match[1])
    const unit = match[2] ?? 's'
    const ms = Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000)
    if (ms < minMs || ms > MAX_TIMER_MS) {
      throw new InvalidArgumentError(
        `${name} must be from ${minMs}ms to ${MAX_TIMER_MS}ms (about 24 days); got ${JSON.stringify(value)}.`,
      )
    }
    return ms
  }
}

/**
 * Collects repeatable `key=value` options into a record without a prototype, so that any key
 * (`__proto__` too) is an own entry, which the libraries then accept or refuse by name.
 */
export function keyValue(name: string) {
  return (value: string, previous?: Record<string, string>): Record<string, string> => {
    const at = value.indexOf('=')
    if (at <= 0) throw new InvalidArgumentError(`${name} takes KEY=VALUE; got ${JSON.stringify(value)}.`)
    const record: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, previous)
    record[value.slice(0, at)] = value.slice(at + 1)
    return record
  }
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/**
 * Writes a line to stdout and resolves once it is handed to the system, rejecting when stdout is
 * closed (a reader such as `head` went away): `receive` deletes a message only after its line is out.
 */
export function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${line}\n`, (error) => (error ? reject(error) : resolve()))
  })
}
