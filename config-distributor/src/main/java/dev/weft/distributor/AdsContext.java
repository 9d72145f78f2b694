package dev.weft.distributor;

import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * What every ADS stream shares: where configuration comes from (the pipeline and the resource
 * cache), whom to tell what it watches, where to report, the bounded pool streams run on, and what
 * a client may ask.
 *
 * @param clock the wall clock, for the timestamps of status
 * @param nanoClock the monotonic clock every latency and age is measured on, the one the pipeline
 *     stamps versions with: {@link System#nanoTime()} in production, a test's fake clock in tests
 * @param generation the first part of every version string: the control plane's start time in
 *     milliseconds, so versions sent after a restart compare as newer
 */
record AdsContext(
    ConfigPipeline pipeline,
    ResourceCache cache,
    WatcherIndex watchers,
    ProxyTable proxies,
    XdsMetrics metrics,
    Executor pushPool,
    Clock clock,
    LongSupplier nanoClock,
    String generation,
    StreamLimits limits) {}
