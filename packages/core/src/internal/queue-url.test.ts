import { describe, expect, it } from 'vitest'
import { failure } from '../test-support/failure.ts'
import { queueUrlOption } from './queue-url.ts'

describe('queueUrlOption', () => {
  it.each([
    'https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
    'https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo',
    'http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/jobs',
    'http://127.0.0.1:4566/000000000000/jobs',
  ])('accepts %s as it is', (url) => {
    expect(queueUrlOption('queueUrl', url)).toBe(url)
  })

  it.each([
    ['orders', '"orders"'],
    ['sqs.eu-west-1.amazonaws.com/1/orders', '"sqs.eu-west-1.amazonaws.com/1/orders"'],
    ['ftp://host/1/q', '"ftp://host/1/q"'],
    ['https://host/1/my queue', '"https://host/1/my queue"'],
    ['https://', '"https://"'],
    ['', '""'],
    [42, '42'],
    [undefined, 'undefined'],
  ])('rejects %j with OPTION_INVALID naming the option, the expectation and the value', (value, described) => {
    const { code, message } = failure(() => queueUrlOption('quarantineQueueUrl', value))
    expect(code).toBe('OPTION_INVALID')
    expect(message).toBe(
      `quarantineQueueUrl must be an http(s) SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>); received ${described}`,
    )
  })
})
