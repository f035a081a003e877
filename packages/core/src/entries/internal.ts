// TEMPORARY shim on branch `consumer` for the `core-shared` helper's `@sqs-envelope/core/internal`
// (signatures from the shared brief). Replaced by main's version at `git merge main`.
import { isSqsEnvelopeError, SqsEnvelopeError, type SqsEnvelopeErrorCode } from '../errors.ts'
import { invalidOption } from '../options.ts'

export {
  booleanOption,
  contentTypeOption,
  integerOption,
  invalidOption,
  MAX_TIMER_MS,
  timerOption,
} from '../options.ts'
export { describeValue } from '../redaction.ts'

export function queueUrlOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value))
    throw invalidOption(name, 'an http(s) SQS queue URL', value)
  return value
}
export interface BackoffPolicy {
  readonly baseMs: number
  readonly maxMs: number
}
function jitter(attempt: number, base: number, max: number, random: () => number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 30))
  return Math.min(max, Math.round(ceiling / 2 + (random() * ceiling) / 2))
}
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return jitter(attempt, policy.baseMs, policy.maxMs, random)
}
export function backoffSeconds(
  attempt: number,
  policy: { readonly baseDelaySeconds: number; readonly maxDelaySeconds: number },
  random: () => number = Math.random,
): number {
  return jitter(attempt, policy.baseDelaySeconds, policy.maxDelaySeconds, random)
}
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
export function abortedWaiting(signal: AbortSignal): SqsEnvelopeError {
  return new SqsEnvelopeError('ABORTED', 'aborted while waiting', { cause: signal.reason })
}
export function requestSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}
export interface AwsClientOptions {
  readonly region?: string
  readonly endpoint?: string
  readonly requestTimeoutMs: number
  readonly maxAttempts: number
}
// biome-ignore lint/suspicious/noExplicitAny: any AWS SDK v3 client constructor
export function createAwsClient<C>(Client: new (config: any) => C, options: AwsClientOptions): C {
  return new Client({
    maxAttempts: options.maxAttempts,
    customUserAgent: [['sqs-envelope', '0.1.0']],
    requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: options.requestTimeoutMs },
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  })
}
export type OpenVerdict = 'poison' | 'suspect' | 'retry'
export const SUSPECT_CODES: ReadonlySet<SqsEnvelopeErrorCode> = new Set<SqsEnvelopeErrorCode>([
  'KMS_ACCESS_DENIED',
  'KMS_KEY_DISABLED',
  'KMS_KEY_NOT_FOUND',
  'KMS_KEY_NOT_ALLOWED',
  'KMS_INCORRECT_KEY',
  'CONTEXT_MISMATCH',
])
export function openFailure(caught: unknown): { readonly verdict: OpenVerdict; readonly error: SqsEnvelopeError } {
  const error = isSqsEnvelopeError(caught)
    ? caught
    : new SqsEnvelopeError('KMS_UNAVAILABLE', 'opening failed unexpectedly', { cause: caught })
  if (error.kind !== 'permanent') return { verdict: 'retry', error }
  return { verdict: SUSPECT_CODES.has(error.code) ? 'suspect' : 'poison', error }
}
