import { spread } from '../harness.ts'
import { benchLocalStack } from '../localstack.ts'
import { formatSize, freshQueue, sealedMessage, sendRaw } from '../pipeline-support.ts'
import { largestPayload } from '../sizes.ts'
import type { Suite, SuiteMeasurements } from '../suite.ts'
import { ConsumerWorker, type ProducerWorkerReport, runProducerWorker } from '../workers.ts'
import { pipelineSettings } from './pipeline.ts'

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export const memorySuite: Suite = {
  name: 'memory',
  description:
    'Memory of our consumer (default settings, 4 pollers) in its own process, after a collected heap ' +
    '(--expose-gc): RSS and heap used once started, then after each checkpoint of 1 KiB jobs (sealed copies ' +
    'sent to its queue while it runs). Then the peak RSS (VmHWM) of our producer in its own process ' +
    'publishing the largest job whose sealed message fits 1 MiB.',
  async run(settings, log): Promise<SuiteMeasurements> {
    const p = pipelineSettings(settings)
    const ls = await benchLocalStack()
    const queue = await freshQueue(ls)
    const rows: string[][] = []
    const consumer: { messages: number; rss: number; heapUsed: number; seconds: number }[] = []
    let worker: ConsumerWorker | undefined
    try {
      const sealed = await sealedMessage(ls, 1024)
      worker = new ConsumerWorker({ target: ls.target, queueUrl: queue.queueUrl, pollers: 4 })
      await worker.ready
      worker.start()
      const t0 = performance.now()
      const started = await worker.memory()
      consumer.push({ messages: 0, rss: started.rss, heapUsed: started.heapUsed, seconds: 0 })
      let sent = 0
      for (const checkpoint of p.memoryCheckpoints) {
        await sendRaw(ls.sqs, queue.queueUrl, checkpoint - sent, sealed)
        sent = checkpoint
        await worker.reach(checkpoint)
        const m = await worker.memory()
        const seconds = (performance.now() - t0) / 1000
        consumer.push({ messages: m.handled, rss: m.rss, heapUsed: m.heapUsed, seconds })
        log(`consumer after ${m.handled}: rss ${mib(m.rss)}, heap ${mib(m.heapUsed)} (${seconds.toFixed(0)} s)`)
      }
      await worker.stop()
    } finally {
      worker?.kill()
      await queue.delete()
    }
    for (const c of consumer) {
      rows.push([
        `consumer after ${c.messages.toLocaleString('en-US')} jobs`,
        mib(c.rss),
        mib(c.heapUsed),
        `${c.seconds.toFixed(0)} s`,
      ])
    }

    // The producer: the largest job with this LocalStack's data key blob.
    const sample = await sealedMessage(ls, 16)
    const blobBytes = Buffer.from(
      (JSON.parse(sample.body) as { encrypted_data_key: string }).encrypted_data_key,
      'base64',
    ).length
    const payloadBytes = largestPayload(1_048_576, blobBytes)
    const largeQueue = await freshQueue(ls)
    let producer: ProducerWorkerReport
    try {
      producer = await runProducerWorker({
        target: ls.target,
        queueUrl: largeQueue.queueUrl,
        kmsKeyId: ls.key.keyArn,
        payloadBytes,
        messages: p.largeMessages,
      })
    } finally {
      await largeQueue.delete()
    }
    if (producer.failed > 0) throw new Error(`memory: the producer failed to send ${producer.failed} largest jobs`)
    log(`producer: peak rss ${mib(producer.peakRss)} publishing ${p.largeMessages} × ${formatSize(payloadBytes)}`)
    rows.push(
      [`producer before sending (one ${formatSize(payloadBytes)} job in memory)`, mib(producer.rssBefore), '', ''],
      [`producer peak RSS, ${p.largeMessages} × ${formatSize(payloadBytes)} jobs`, mib(producer.peakRss), '', ''],
    )
    const first = consumer[1]
    const last = consumer[consumer.length - 1]
    const growth = first && last && first !== last ? last.rss / first.rss : 1
    return {
      tables: [{ title: 'Memory', columns: ['', 'RSS', 'heap used', 'elapsed'], rows }],
      checks: [
        {
          what: `consumer RSS after ${last?.messages.toLocaleString('en-US')} / after ${first?.messages.toLocaleString('en-US')} jobs (flat ≈ 1)`,
          ratio: spread([growth]),
          target: null,
          meetsTarget: null,
        },
      ],
      figures: { consumer, producer: { ...producer, payloadBytes, messages: p.largeMessages } },
    }
  },
}
