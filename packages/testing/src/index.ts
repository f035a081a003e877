export { LocalStackError, type LocalStackErrorCode } from './errors.ts'
export {
  type Fault,
  type FaultAction,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  startFaultProxy,
} from './fault-proxy.ts'
export {
  type LambdaSqsEvent,
  type LambdaSqsMessageAttribute,
  type LambdaSqsRecord,
  toLambdaSqsEvent,
} from './lambda-event.ts'
export {
  bundledLocalStackDir,
  containerEngine,
  findLocalStackDir,
  freePort,
  type LocalStackCredentials,
  type LocalStackMode,
  localStackVersion,
  type StartedLocalStack,
  type StartLocalStackOptions,
  startLocalStack,
} from './localstack.ts'
export {
  createKmsClient,
  createSqsClient,
  createTestKey,
  createTestQueue,
  type LocalStackTarget,
  type TestKey,
  type TestKeyOptions,
  type TestQueue,
  type TestQueueOptions,
  uniqueName,
} from './resources.ts'
