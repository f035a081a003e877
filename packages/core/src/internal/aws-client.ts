import { createRequire } from 'node:module'
import { sqsClientConfig } from './sqs-client.ts'

/**
 * What every client we build adds to its user agent: this library and, when known, its version.
 * @internal
 */
export const USER_AGENT: [name: string, version?: string] = ['sqs-envelope', packageVersion()]

function packageVersion(): string | undefined {
  try {
    // package.json is two levels up from both src/internal and dist/internal; a bundle may not have it.
    const { version } = createRequire(import.meta.url)('../../package.json') as { version?: unknown }
    return typeof version === 'string' ? version : undefined
  } catch {
    return undefined
  }
}

/**
 * How to build one AWS client.
 * @internal
 */
export interface AwsClientOptions {
  /** Undefined: the SDK's (AWS_REGION, profile). */
  readonly region?: string | undefined
  /** Undefined: AWS's. */
  readonly endpoint?: string | undefined
  /** Longest wait for an answer's headers, in ms; the connection itself gets at most 5 s of it. */
  readonly requestTimeoutMs: number
  /** SDK attempts per request: 1 where our own loop retries (KMS, producer sends), else the SDK's 3. */
  readonly maxAttempts: number
  /** An SQS client: MD5 checks off and the cheaper JSON codec ({@link sqsClientConfig}). Default false. */
  readonly sqs?: boolean | undefined
}

// Connecting takes milliseconds when the endpoint is up; longer means it is not.
const MAX_CONNECTION_TIMEOUT_MS = 5000

/**
 * The one AWS client builder: user agent `sqs-envelope/<version>`, region and endpoint when
 * given, SDK `maxAttempts`, and a request timeout on the HTTP handler that throws (the SDK's
 * default only logs a warning). A request that must wait longer than `requestTimeoutMs` (a
 * long poll) passes its own in `send`'s options: `send(command, { abortSignal, requestTimeout })`.
 * With `sqs: true`, the SQS settings of {@link sqsClientConfig}.
 * @internal
 */
// biome-ignore lint/suspicious/noExplicitAny: each SDK client declares its own config type.
export function createAwsClient<C>(Client: new (config: any) => C, options: AwsClientOptions): C {
  return new Client({
    customUserAgent: [USER_AGENT],
    maxAttempts: options.maxAttempts,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs,
      connectionTimeout: Math.min(options.requestTimeoutMs, MAX_CONNECTION_TIMEOUT_MS),
      throwOnRequestTimeout: true,
    },
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.sqs === true ? sqsClientConfig() : {}),
  })
}

/**
 * The injected client as it is (`owned: false`: never destroyed by us), or one built by
 * {@link createAwsClient} (`owned: true`). The one place where "built only when absent" is decided.
 * @internal
 */
// biome-ignore lint/suspicious/noExplicitAny: each SDK client declares its own config type.
export function clientFor<C>(Client: new (config: any) => C, injected: C | undefined, options: AwsClientOptions) {
  return injected === undefined
    ? { client: createAwsClient(Client, options), owned: true }
    : { client: injected, owned: false }
}
