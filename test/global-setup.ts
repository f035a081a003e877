import { type StartedLocalStack, startLocalStack } from '@sqs-envelope/testing'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    localstack: {
      endpoint: string
      region: string
      credentials: { accessKeyId: string; secretAccessKey: string }
    }
  }
}

let localstack: StartedLocalStack | undefined

/** One LocalStack for every integration test file; each file makes its own queues and keys. */
export async function setup(project: TestProject): Promise<void> {
  localstack = await startLocalStack()
  const { endpoint, region, credentials } = localstack
  project.provide('localstack', { endpoint, region, credentials: { ...credentials } })
}

export async function teardown(): Promise<void> {
  await localstack?.stop()
}
