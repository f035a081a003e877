// The SDK's in-memory metric reader, for the traces and metrics integration tests.
import type { Attributes } from '@opentelemetry/api'
import {
  AggregationTemporality,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'

export interface Point {
  readonly attributes: Attributes
  readonly value: number | Histogram
}

/**
 * A meter provider whose reader collects on demand: its data points by instrument name, the
 * units, the sums of its counters (a histogram adds its count), and the whole export as text.
 */
export function meterWithReader() {
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  })
  const meterProvider = new MeterProvider({ readers: [reader] })
  const collect = async () => {
    const { resourceMetrics } = await reader.collect()
    const points = new Map<string, Point[]>()
    const sums: Record<string, number> = {}
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const name = metric.descriptor.name
        const list = points.get(name) ?? []
        for (const p of metric.dataPoints) {
          const value = p.value as number | Histogram
          list.push({ attributes: p.attributes, value })
          sums[name] = (sums[name] ?? 0) + (typeof value === 'number' ? value : value.count)
        }
        points.set(name, list)
      }
    }
    const units = Object.fromEntries(
      resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => [m.descriptor.name, m.descriptor.unit])),
    )
    return { points, units, sums, text: JSON.stringify(resourceMetrics.scopeMetrics) }
  }
  return { meterProvider, collect }
}
