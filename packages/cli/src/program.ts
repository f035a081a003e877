import { readFileSync } from 'node:fs'
import { CONTENT_TYPES, type ContentType } from '@sqs-envelope/core/wire'
import { Command, Option } from 'commander'
import { withAws } from './aws.ts'
import { collect, durationMs, EXIT, EXIT_CODES_HELP, integerIn, keyValue } from './common.ts'
import { type DoctorCommandOptions, doctor } from './doctor.ts'
import { type ReceiveCommandOptions, receive } from './receive.ts'
import { type RunCommandOptions, run } from './run.ts'
import { type SendCommandOptions, sendLines, sendOne } from './send.ts'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** Where a command's exit status goes: set by the action, read by `main`. */
export interface Outcome {
  exitCode: number
}

/**
 * The `sqs-envelope` program. Each action stores its exit status in `outcome`; failures it cannot
 * report as a status are thrown (`CommandFailure` carries its own).
 */
/** The options `receive` and `run` share: which data keys and contexts to accept, where poison goes. */
function withOpenerOptions(command: Command): Command {
  return command
    .option('--allowed-key-arn <arn>', 'accept only data keys of this KMS key (repeatable)', collect)
    .option('--context <key=value>', 'required encryption context entry (repeatable)', keyValue('--context'))
    .option('--quarantine-queue-url <url>', "where unopenable messages go (default: the queue's DLQ)")
}

export function createProgram(outcome: Outcome = { exitCode: EXIT.ok }): Command {
  const program = new Command('sqs-envelope')
    .description('End-to-end encrypted jobs on Amazon SQS: send, receive, run a worker, check a setup.')
    .version(version)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Credentials come from the AWS SDK's usual chain (environment, AWS_PROFILE, SSO, instance or task role).
${EXIT_CODES_HELP}
  3  receive: a message could not be opened`,
    )

  withAws(
    program
      .command('send')
      .summary('seal and send one message, or one per line of a file')
      .description(
        'Seals BODY (or stdin) with a KMS data key and sends it; prints its MessageId. With --lines, sends one\n' +
          'message per non-empty line of FILE (or stdin with -) through one producer, so data keys are reused\n' +
          'across lines; a progress bar on a terminal, failures on stderr with their codes, a summary at the end.',
      )
      .argument('[body]', 'the message (default: stdin)')
      .requiredOption('--queue-url <url>', 'the queue')
      .requiredOption('--key-id <key>', 'KMS key id, ARN, alias (alias/name) or alias ARN')
      .option('--lines <file>', 'send one message per line of FILE; - reads stdin')
      .addOption(
        new Option('--content-type <type>', 'how the receiver decodes the payload; json lines are parsed (and checked)')
          .choices(CONTENT_TYPES as readonly string[])
          .default('text'),
      )
      .option(
        '--attribute <name=value>',
        'a String message attribute (repeatable); attributes travel in clear',
        keyValue('--attribute'),
      )
      .option(
        '--context <key=value>',
        'KMS encryption context entry (repeatable); travels in clear',
        keyValue('--context'),
      )
      .option('--group-id <id>', 'MessageGroupId (FIFO queues)')
      .option('--deduplication-id <id>', 'MessageDeduplicationId (FIFO); with --lines, ID-<line number>')
      .option('--deduplication-secret <secret>', 'HMAC secret for content-based deduplication of encrypted jobs (FIFO)')
      .option('--delay-seconds <s>', 'DelaySeconds, 0-900 (standard queues)', integerIn('--delay-seconds', 0, 900))
      .option('--no-reuse', 'one data key per message (one GenerateDataKey each), as the original recipe does')
      .addHelpText(
        'after',
        `
Examples:
  sqs-envelope send --queue-url "$QUEUE_URL" --key-id alias/orders '{"orderId":1}' --content-type json
  sqs-envelope send --queue-url "$QUEUE_URL" --key-id alias/orders --lines jobs.txt --attribute tenant=t1
${EXIT_CODES_HELP} (with --lines: some line was not sent)`,
      ),
  ).action(
    async (body: string | undefined, options: Omit<SendCommandOptions, 'contentType'> & { contentType: string }) => {
      const resolved = { ...options, contentType: options.contentType as ContentType }
      if (options.lines !== undefined && body !== undefined) {
        program.error('give either BODY or --lines, not both', { exitCode: EXIT.usage })
      }
      outcome.exitCode =
        options.lines !== undefined ? await sendLines(options.lines, resolved) : await sendOne(body, resolved)
    },
  )

  withAws(
    withOpenerOptions(
      program
        .command('receive')
        .summary('receive, open and print messages')
        .description(
          'Receives up to --max messages, opens each and prints its payload, one per line (JSON payloads as one\n' +
            'line of JSON, bytes in base64); with --json, one object per line {"messageId","body","attributes"}.\n' +
            'Deletes what it printed unless --keep (kept messages become visible again when it ends). Stops early\n' +
            'when a receive returns nothing. A message that cannot be opened is reported on stderr with its id and\n' +
            "code and handled by the consumer's rules: moved intact to --quarantine-queue-url or the queue's DLQ\n" +
            '(left in place when there is neither, when the cause may pass, or when KMS refuses several in a row).',
        )
        .requiredOption('--queue-url <url>', 'the queue')
        .option('--max <n>', 'at most this many messages', integerIn('--max', 1), 10)
        .option('--wait-seconds <s>', 'long-poll wait of each receive, 0-20', integerIn('--wait-seconds', 0, 20), 2)
        .option(
          '--visibility-timeout <s>',
          "visibility timeout of received messages (default: the queue's)",
          integerIn('--visibility-timeout', 0, 43_200),
        )
        .option('--keep', 'do not delete what was printed', false)
        .option('--json', 'one JSON object per line: {"messageId","body","attributes"}', false)
        .addHelpText(
          'after',
          `
Examples:
  sqs-envelope receive --queue-url "$QUEUE_URL" --max 100 --json > jobs.jsonl
  sqs-envelope receive --queue-url "$QUEUE_URL" --keep    # look without consuming
${EXIT_CODES_HELP}
  3  at least one message could not be opened`,
        ),
    ),
  ).action(async (options: ReceiveCommandOptions) => {
    outcome.exitCode = await receive(options)
  })

  withAws(
    withOpenerOptions(
      program
        .command('run')
        .summary('run a worker: the consumer runner with a handler file')
        .description(
          'Runs the consumer runner on the queue(s) with the default export of FILE as the handler, an async\n' +
            'function (job, context): resolve to acknowledge, throw to leave the job for redelivery. SIGTERM or\n' +
            'SIGINT stops it gracefully: nothing new is received, in-flight jobs get --drain-timeout to finish.\n' +
            'Every --status-interval a status line on stderr: handled/s, in flight, quarantined, KMS calls, cache hits.',
        )
        .requiredOption('--queue-url <url>', 'the queue (repeatable)', collect)
        .requiredOption(
          '--handler <file>',
          'module whose default export handles one job (.js, .mjs; .ts on Node ≥ 22.18)',
        )
        .option('--pollers <n>', 'receive loops per queue (default 4)', integerIn('--pollers', 1, 64))
        .option('--batch-size <n>', 'messages per receive (default 10)', integerIn('--batch-size', 1, 10))
        .option('--kms-concurrency <n>', 'KMS calls in flight at most (default 10)', integerIn('--kms-concurrency', 1))
        .option('--wait-seconds <s>', 'long-poll wait, 1-20 (default 20)', integerIn('--wait-seconds', 1, 20))
        .option(
          '--visibility-timeout <s>',
          "visibility timeout of received jobs (default: the queue's)",
          integerIn('--visibility-timeout', 1, 43_200),
        )
        .option(
          '--heartbeat-interval <s>',
          'renew the visibility of running jobs this often',
          integerIn('--heartbeat-interval', 1, 43_199),
        )
        .option(
          '--handler-timeout <duration>',
          "abort a handler's signal after this long and count it failed",
          durationMs('--handler-timeout', 1),
        )
        .option(
          '--drain-timeout <duration>',
          'how long in-flight jobs may run after a stop signal',
          durationMs('--drain-timeout'),
          30_000,
        )
        .option(
          '--status-interval <duration>',
          'how often to print a status line',
          durationMs('--status-interval', 1),
          5_000,
        )
        .option(
          '--handler-load-timeout <duration>',
          'how long the handler module may take to load (exit 2 after)',
          durationMs('--handler-load-timeout', 1),
          10_000,
        )
        .option('--verbose', "print a failed handler's error message too (it may quote the job)", false)
        .addHelpText(
          'after',
          `
Durations: 500ms, 10s, 2m, or a number of seconds.

Example (handler.mjs: export default async function (job, { messageId }) { await process(job) }):
  sqs-envelope run --queue-url "$QUEUE_URL" --handler ./handler.mjs --pollers 8 --drain-timeout 20s
A failed job is printed with its error's name and code; the message only with --verbose.
${EXIT_CODES_HELP}
  0 also after a stop signal once in-flight jobs finished or the drain timeout passed
  1 also when the stop itself did not finish within the drain timeout plus 2 s (the process exits regardless)`,
        ),
    ),
  ).action(async (options: RunCommandOptions) => {
    outcome.exitCode = await run(options)
  })

  withAws(
    program
      .command('doctor')
      .summary('check credentials, endpoint, queue, DLQ and KMS key')
      .description(
        'Checks that credentials are found, that SQS answers, that the queue exists and has a dead-letter queue,\n' +
          'that the KMS key exists and is enabled, and that GenerateDataKey and Decrypt are allowed. Prints each\n' +
          'check with ✓ or ✗, and for each ✗ what to do.',
      )
      .option('--queue-url <url>', 'the queue to check')
      .option('--key-id <key>', 'the KMS key to check (id, ARN, alias)')
      .addHelpText(
        'after',
        `
Example:
  sqs-envelope doctor --queue-url "$QUEUE_URL" --key-id alias/orders
${EXIT_CODES_HELP.replace('1  failed (an AWS call was refused or failed; details on stderr)', '1  a check failed')}`,
      ),
  ).action(async (options: DoctorCommandOptions) => {
    outcome.exitCode = await doctor(options)
  })

  return program
}
