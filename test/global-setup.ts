import { fileURLToPath } from 'node:url'
import { type LocalStackMode, type StartedLocalStack, startLocalStack } from '@sqs-envelope/testing'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    localstack: {
      endpoint: string
      region: string
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
      /** How the suite reached it: `SQS_ENVELOPE_LOCALSTACK_MODE` or auto. */
      mode: LocalStackMode
      /** False when LOCALSTACK_ENDPOINT names another AWS-compatible endpoint: LocalStack-only tests skip. */
      isLocalStack: boolean
    }
  }
}

// The repository's localstack/ (the package's launcher with its virtualenv and state kept there).
const repoLocalStackDir = fileURLToPath(new URL('../localstack', import.meta.url))

let localstack: StartedLocalStack | undefined

/** One LocalStack for every integration test file; each file makes its own queues and keys. */
export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now()
  localstack = await startLocalStack({ localstackDir: process.env.SQS_ENVELOPE_LOCALSTACK_DIR ?? repoLocalStackDir })
  const { endpoint, region, credentials, mode, isLocalStack } = localstack
  const what = isLocalStack ? 'LocalStack' : 'AWS-compatible endpoint (not LocalStack)'
  process.stderr.write(
    `[integration] ${what} in ${mode} mode at ${endpoint} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
  )
  project.provide('localstack', { endpoint, region, credentials: { ...credentials }, mode, isLocalStack })
}

export async function teardown(): Promise<void> {
  await localstack?.stop()
}
