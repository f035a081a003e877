import { DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { type AwsOptions, clientConfig, kmsClient, sqsClient } from './aws.ts'
import { describeError, EXIT, writeLine } from './common.ts'

export interface DoctorCommandOptions extends AwsOptions {
  readonly queueUrl?: string
  readonly keyId?: string
}

/** One check: passed (✓), failed (✗, with what to do) or skipped (–, because an earlier one failed). */
export interface CheckResult {
  readonly status: 'pass' | 'fail' | 'skip'
  readonly what: string
  readonly fix?: string
}

const pass = (what: string): CheckResult => ({ status: 'pass', what })
const fail = (what: string, fix: string): CheckResult => ({ status: 'fail', what, fix })
const skip = (what: string): CheckResult => ({ status: 'skip', what })

function errorName(error: unknown): string {
  return (error as { name?: string }).name ?? ''
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? ''
  return (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT'].includes(code) ||
    errorName(error) === 'TimeoutError'
  )
}

async function checkCredentials(sqs: SQSClient): Promise<CheckResult> {
  try {
    const credentials = await sqs.config.credentials()
    // The access key id is not secret, but its start is enough to tell which one was found.
    return pass(`credentials found (access key ${credentials.accessKeyId.slice(0, 4)}…)`)
  } catch (error) {
    return fail(
      `no AWS credentials found (${describeError(error)})`,
      'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role applies',
    )
  }
}

async function checkEndpoint(sqs: SQSClient, options: DoctorCommandOptions): Promise<CheckResult> {
  const where = options.endpointUrl ?? process.env.AWS_ENDPOINT_URL ?? 'the AWS endpoint of the region'
  try {
    const region = await sqs.config.region()
    await sqs.send(new ListQueuesCommand({ MaxResults: 1 }))
    return pass(`SQS answers at ${where} (region ${region})`)
  } catch (error) {
    if (/region is missing/i.test(describeError(error))) {
      return fail('no AWS region set', 'pass --region, or set AWS_REGION (e.g. export AWS_REGION=eu-west-1)')
    }
    if (isNetworkError(error)) {
      return fail(
        `cannot reach SQS at ${where} (${describeError(error)})`,
        'check --endpoint-url (or AWS_ENDPOINT_URL) and that the service, e.g. LocalStack, is running and reachable',
      )
    }
    if (['AccessDenied', 'AccessDeniedException'].includes(errorName(error))) {
      return pass(`SQS answers at ${where}, refusing ListQueues (not needed)`)
    }
    return fail(
      `SQS at ${where} refused the request (${describeError(error)})`,
      'check that the credentials are valid for this account and region (expired session? wrong profile?)',
    )
  }
}

async function checkQueue(sqs: SQSClient, queueUrl: string): Promise<CheckResult[]> {
  let attributes: Record<string, string>
  try {
    ;({ Attributes: attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    ))
  } catch (error) {
    const missing = /NonExistentQueue|QueueDoesNotExist/.test(errorName(error))
    return [
      fail(
        `queue ${queueUrl} ${missing ? 'does not exist' : `cannot be read (${describeError(error)})`}`,
        missing
          ? 'check the URL and the region, or create the queue (with a DLQ: see the next check)'
          : 'grant sqs:GetQueueAttributes on the queue to these credentials',
      ),
      skip('dead-letter queue (the queue could not be read)'),
    ]
  }
  const results = [pass(`queue ${queueUrl} exists (visibility timeout ${attributes.VisibilityTimeout ?? '?'} s)`)]
  const policy = attributes.RedrivePolicy
  const redrive = policy ? (JSON.parse(policy) as { deadLetterTargetArn?: string; maxReceiveCount?: number }) : {}
  const dlqName = redrive.deadLetterTargetArn?.split(':').at(-1)
  if (!dlqName) {
    results.push(
      fail(
        'the queue has no dead-letter queue',
        'create one and set a redrive policy, e.g. aws sqs set-queue-attributes --queue-url URL --attributes ' +
          '\'{"RedrivePolicy":"{\\"deadLetterTargetArn\\":\\"DLQ_ARN\\",\\"maxReceiveCount\\":\\"5\\"}"}\'; ' +
          'without it, jobs that keep failing are retried forever and unopenable ones stay in the queue',
      ),
    )
    return results
  }
  try {
    const account = redrive.deadLetterTargetArn?.split(':')[4]
    await sqs.send(
      new GetQueueUrlCommand({ QueueName: dlqName, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
    )
    results.push(pass(`dead-letter queue ${dlqName} exists (after ${redrive.maxReceiveCount} receives)`))
  } catch (error) {
    results.push(
      fail(
        `the dead-letter queue ${dlqName} of the redrive policy cannot be found (${describeError(error)})`,
        'create it, or point the redrive policy at an existing queue',
      ),
    )
  }
  return results
}

async function checkKey(kms: KMSClient, keyId: string): Promise<CheckResult[]> {
  const blocked = (why: string) => [skip(`GenerateDataKey (${why})`), skip(`Decrypt (${why})`)]
  try {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    if (KeyMetadata?.KeyState !== 'Enabled') {
      return [
        fail(
          `KMS key ${keyId} is ${KeyMetadata?.KeyState ?? 'in an unknown state'} (${KeyMetadata?.Arn})`,
          KeyMetadata?.KeyState === 'Disabled'
            ? `enable it: aws kms enable-key --key-id ${KeyMetadata.KeyId}`
            : 'use an enabled key; a key pending deletion can be kept with aws kms cancel-key-deletion',
        ),
        ...blocked('the key is not enabled'),
      ]
    }
    if (KeyMetadata.KeySpec !== 'SYMMETRIC_DEFAULT' || KeyMetadata.KeyUsage !== 'ENCRYPT_DECRYPT') {
      return [
        fail(
          `KMS key ${keyId} is ${KeyMetadata.KeySpec}/${KeyMetadata.KeyUsage}`,
          'use a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT): only those make data keys',
        ),
        ...blocked('the key cannot make data keys'),
      ]
    }
    const results = [pass(`KMS key ${keyId} exists and is enabled (${KeyMetadata.Arn})`)]
    return [...results, ...(await checkDataKey(kms, keyId))]
  } catch (error) {
    const name = errorName(error)
    if (name === 'NotFoundException') {
      return [
        fail(`KMS key ${keyId} does not exist in this region`, 'check the key id, ARN or alias, and --region'),
        ...blocked('no key'),
      ]
    }
    if (name === 'AccessDeniedException') {
      return [
        fail(
          `KMS key ${keyId} cannot be described (access denied)`,
          'grant kms:DescribeKey on the key to these credentials (only doctor needs it), then run doctor again',
        ),
        ...(await checkDataKey(kms, keyId)),
      ]
    }
    return [
      fail(`KMS key ${keyId} cannot be read (${describeError(error)})`, 'check the endpoint and the credentials'),
      ...blocked('KMS unreachable'),
    ]
  }
}

async function checkDataKey(kms: KMSClient, keyId: string): Promise<CheckResult[]> {
  let blob: Uint8Array | undefined
  try {
    const out = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }))
    out.Plaintext?.fill(0)
    blob = out.CiphertextBlob
  } catch (error) {
    return [
      fail(
        `GenerateDataKey on ${keyId} refused (${describeError(error)})`,
        `grant kms:GenerateDataKey on the key to the role that sends (the producer's); check the key policy and IAM policy`,
      ),
      skip('Decrypt (no data key to decrypt)'),
    ]
  }
  const results = [pass('GenerateDataKey allowed (producers can seal)')]
  try {
    const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob }))
    out.Plaintext?.fill(0)
    results.push(pass('Decrypt allowed (consumers can open)'))
  } catch (error) {
    results.push(
      fail(
        `Decrypt refused (${describeError(error)})`,
        `grant kms:Decrypt on the key to the role that consumes (the worker's); check the key policy and IAM policy`,
      ),
    )
  }
  return results
}

const MARK = { pass: '✓', fail: '✗', skip: '–' } as const

/** `doctor`: runs the checks in order, prints each, and exits 1 if any failed. */
export async function doctor(options: DoctorCommandOptions): Promise<number> {
  // Not resolveAws: a missing region is one of the checks here.
  const sqs = sqsClient(clientConfig(options))
  const kms = kmsClient(clientConfig(options))
  const results: CheckResult[] = []
  const print = async (checks: CheckResult[]) => {
    for (const check of checks) {
      results.push(check)
      await writeLine(`${MARK[check.status]} ${check.what}`)
      if (check.fix) await writeLine(`    → ${check.fix}`)
    }
  }
  try {
    const credentials = await checkCredentials(sqs)
    await print([credentials])
    const region = clientConfig(options).region ?? (await sqs.config.region().catch(() => undefined))
    const endpoint =
      credentials.status === 'pass' ? await checkEndpoint(sqs, options) : skip('endpoint (no credentials)')
    await print([endpoint])
    const reachable = endpoint.status === 'pass'
    if (options.queueUrl) {
      await print(reachable ? await checkQueue(sqs, options.queueUrl) : [skip('queue (SQS not reachable)')])
    }
    if (options.keyId) {
      await print(
        credentials.status === 'pass' && region
          ? await checkKey(kms, options.keyId)
          : [skip('KMS key (no credentials or region)')],
      )
    }
    if (!options.queueUrl && !options.keyId) {
      await writeLine('(give --queue-url and --key-id to check a queue and a key too)')
    }
  } finally {
    sqs.destroy()
    kms.destroy()
  }
  const failed = results.filter((r) => r.status === 'fail').length
  await writeLine(failed === 0 ? 'all checks passed' : `${failed} check${failed === 1 ? '' : 's'} failed`)
  return failed === 0 ? EXIT.ok : EXIT.failed
}
