package dev.weft.distributor;

import java.time.Clock;
import java.util.concurrent.Executor;

/**
 * What every ADS stream shares: where configuration comes from (the pipeline and the resource
 * cache), whom to tell what it watches, where to report, the bounded pool streams run on, and what
 * a client may ask.
 *
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
    String generation,
    StreamLimits limits) {}
