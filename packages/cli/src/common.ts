import { KMSClient } from '@aws-sdk/client-kms'
import { SQSClient } from '@aws-sdk/client-sqs'
import { isSqsEnvelopeError } from '@sqs-envelope/core'
import { type Command, InvalidArgumentError, Option } from 'commander'

/** The exit statuses of every command; documented in each command's `--help`. */
export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** The command failed: an AWS call was refused or failed, a line was not sent, a check failed. */
  failed: 1,
  /** The command line is wrong: an unknown option, a missing or malformed value. */
  usage: 2,
  /** `receive`: at least one message could not be opened (reported, and handled by the quarantine rules). */
  unopenable: 3,
} as const

export const EXIT_CODES_HELP = `
Exit status:
  0  done
  1  failed (an AWS call was refused or failed; details on stderr)
  2  wrong usage (unknown option, missing or malformed value)`

/** Options every command takes. */
export interface AwsOptions {
  readonly endpointUrl?: string
  readonly region?: string
}

/** Adds `--endpoint-url` and `--region` to a command. */
export function withAws(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--endpoint-url <url>',
        "SQS and KMS endpoint, e.g. LocalStack (default: the SDK's, AWS_ENDPOINT_URL)",
      ),
    )
    .addOption(new Option('--region <region>', 'AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION)'))
}

/** The client settings of the SDK's own defaults, plus `AWS_DEFAULT_REGION`, which the JavaScript SDK does not read. */
export function clientConfig(options: AwsOptions): { region?: string; endpoint?: string } {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION
  return {
    ...(region ? { region } : {}),
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
  }
}

export function sqsClient(options: AwsOptions): SQSClient {
  return new SQSClient(clientConfig(options))
}

export function kmsClient(options: AwsOptions): KMSClient {
  return new KMSClient(clientConfig(options))
}

/** A failure the command reports and exits on, with a status from {@link EXIT}. */
export class CommandFailure extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.failed, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CommandFailure'
    this.exitCode = exitCode
  }
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

/** Parses `500ms`, `10s`, `2m` or a bare number of seconds into milliseconds. */
export function durationMs(name: string) {
  return (value: string): number => {
    const match = DURATION.exec(value.trim())
    if (!match)
      throw new InvalidArgumentError(`${name} must be a duration like 500ms, 10s or 2m; got ${JSON.stringify(value)}.`)
    const n = Number(match[1])
    const unit = match[2] ?? 's'
    return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000)
  }
}

/** Collects repeatable `key=value` options into a record. */
export function keyValue(name: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const at = value.indexOf('=')
    if (at <= 0) throw new InvalidArgumentError(`${name} takes KEY=VALUE; got ${JSON.stringify(value)}.`)
    return { ...previous, [value.slice(0, at)]: value.slice(at + 1) }
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
