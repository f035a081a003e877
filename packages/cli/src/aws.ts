import { KMSClient } from '@aws-sdk/client-kms'
import { SQSClient } from '@aws-sdk/client-sqs'
import { CORE_DEFAULTS } from '@sqs-envelope/core'
import { createAwsClient } from '@sqs-envelope/core/internal'
import { type Command, Option } from 'commander'
import { CommandFailure, EXIT } from './common.ts'

/** Options every command takes. */
export interface AwsOptions {
  readonly endpointUrl?: string
  readonly region?: string
}

/** Where the AWS clients of a command go; the region is always known. */
export interface AwsSettings {
  readonly region: string
  readonly endpoint?: string
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

export const MISSING_REGION =
  'no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or give the profile a region in ~/.aws/config'

/**
 * The settings of {@link clientConfig}, the region resolved now: from the options and the environment,
 * else the SDK's chain (the profile's config file). Without one, every AWS call would fail later
 * with the SDK's "Region is missing"; this says which setting is missing and how to set it (exit 2).
 */
export async function resolveAws(options: AwsOptions): Promise<AwsSettings> {
  const { region, endpoint } = clientConfig(options)
  const settings = (resolved: string): AwsSettings => ({ region: resolved, ...(endpoint ? { endpoint } : {}) })
  if (region) return settings(region)
  const probe = new SQSClient({})
  try {
    return settings(await probe.config.region())
  } catch {
    throw new CommandFailure(MISSING_REGION, EXIT.usage)
  } finally {
    probe.destroy()
  }
}

/**
 * The SQS client of a command: the SDK's standard retries, as the consumer's client has; each
 * request bounded by the core's request timeout, plus `longPollSeconds` for a long poll.
 */
export function sqsClient(aws: Partial<AwsSettings>, longPollSeconds = 0): SQSClient {
  return createAwsClient(SQSClient, {
    ...aws,
    requestTimeoutMs: CORE_DEFAULTS.requestTimeoutMs + longPollSeconds * 1000,
    maxAttempts: 3,
  })
}

/** The KMS client of `doctor`'s checks: the SDK's standard retries, as it has no retry loop of its own. */
export function kmsClient(aws: Partial<AwsSettings>): KMSClient {
  return createAwsClient(KMSClient, { ...aws, requestTimeoutMs: CORE_DEFAULTS.requestTimeoutMs, maxAttempts: 3 })
}
