/**
 * A histogram whose buckets, sum and count are computed from database rows at each scrape. prom-
 * client's Histogram only counts the observations its own process made and offers no way to set
 * its buckets; this collector hands the registry the same exposition lines (`_bucket` with `le`,
 * `_sum`, `_count`) from one aggregate query instead (docs/metrics.md, "Histograms from rows").
 */
import type { Metric } from 'prom-client';

/** One label set's figures: `cumulative[i]` counts the values ≤ `buckets[i]`. */
export interface HistogramRow {
  labels: Record<string, string>;
  cumulative: number[];
  sum: number;
  count: number;
}

export interface RowsHistogramOptions {
  name: string;
  help: string;
  /** Upper bounds, ascending; +Inf is added. */
  buckets: readonly number[];
  read(): Promise<HistogramRow[]>;
}

/** One exposition line as the registry formats it. */
interface ExpositionValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

class RowsHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(private readonly options: RowsHistogramOptions) {}

  get name(): string {
    return this.options.name;
  }

  get help(): string {
    return this.options.help;
  }

  async get() {
    const { name, buckets } = this.options;
    const values: ExpositionValue[] = [];
    for (const row of await this.options.read()) {
      buckets.forEach((le, i) =>
        values.push({
          metricName: `${name}_bucket`,
          labels: { ...row.labels, le },
          value: row.cumulative[i],
        }),
      );
      values.push({
        metricName: `${name}_bucket`,
        labels: { ...row.labels, le: '+Inf' },
        value: row.count,
      });
      values.push({ metricName: `${name}_sum`, labels: row.labels, value: row.sum });
      values.push({ metricName: `${name}_count`, labels: row.labels, value: row.count });
    }
    return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * The collector, typed as the registry's Metric: the registry reads only name, help, type,
 * aggregator and get() of what it is given, which RowsHistogram has.
 */
export function rowsHistogram(options: RowsHistogramOptions): Metric {
  return new RowsHistogram(options) as unknown as Metric;
}
