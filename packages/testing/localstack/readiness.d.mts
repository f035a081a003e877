/** What one GET of `/_localstack/health` showed. */
export interface HealthProbe {
  /** Something answered HTTP at the endpoint. */
  readonly reachable: boolean
  /** It served a LocalStack health document. */
  readonly localstack: boolean
  /** LocalStack with `sqs` and `kms` both `available` or `running`. */
  readonly healthy: boolean
  readonly version: string | null
  readonly services: { readonly sqs: string | null; readonly kms: string | null } | null
  /** Short human-readable state, for error messages. */
  readonly detail: string
}

/** What `GET /_localstack/init/ready` showed. */
export interface InitProbe {
  readonly completed: boolean
  /** Names of init scripts in state `ERROR`. */
  readonly failed: readonly string[]
  readonly scripts: readonly { readonly stage?: string; readonly name?: string; readonly state?: string }[]
}

export interface WaitReadyOptions {
  /** @defaultValue 60000 */
  readonly timeoutMs?: number
  /** LocalStack must serve `/_localstack/init/ready` with `completed: true`; otherwise only when served. @defaultValue false */
  readonly requireInit?: boolean
  /** Readiness of an endpoint that is not LocalStack: resolves when SQS and KMS answer (e.g. ListQueues, ListKeys). */
  readonly awsCheck?: () => Promise<unknown>
  /** Returns a reason to give up now (e.g. the process exited), or null. */
  readonly exited?: () => string | null | undefined
  /** @defaultValue 250 */
  readonly pollMs?: number
}

export type WaitReadyResult =
  | { readonly ok: true; readonly kind: 'localstack'; readonly health: HealthProbe; readonly init: InitProbe | null }
  | { readonly ok: true; readonly kind: 'aws'; readonly health: HealthProbe; readonly init: null }
  | {
      readonly ok: false
      readonly reason: string
      readonly health: HealthProbe | null
      readonly init?: InitProbe | null
    }

export function probeHealth(endpoint: string, options?: { readonly timeoutMs?: number }): Promise<HealthProbe>
export function probeInit(endpoint: string, options?: { readonly timeoutMs?: number }): Promise<InitProbe | null>
export function waitReady(endpoint: string, options?: WaitReadyOptions): Promise<WaitReadyResult>
