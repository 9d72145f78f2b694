'use strict';
// Calls the greeter through @grpc/grpc-js-xds and prints what happened as one JSON line, for
// GrpcJsXdsInteropTest (config-distributor). The xDS bootstrap comes from the environment, as for
// any grpc-js-xds client: GRPC_XDS_BOOTSTRAP (a file) or GRPC_XDS_BOOTSTRAP_CONFIG (the JSON).
//
//   node client.js '{"target": "xds:///greeter.demo.svc.cluster.local:50051", "calls": 100}' ...
//
// Each argument is a call plan; the plans run one after another, each on a channel of its own
// (loading grpc-js-xds takes about half a second, so one process serves several plans):
//   target       required; usually xds:///<service>.<namespace>.svc.cluster.local:<port>
//   method       "SayHello" (default) or "SayGoodbye"
//   calls        how many calls (default 1)
//   concurrency  how many calls in flight at once (default 1)
//   metadata     headers sent with every call, {"name": "value"}
//   deadlineMs   each call's deadline (default 10000)
//   request      the name sent; call i sends "<request>-<i>", so every call is a distinct request
//   warmup       calls made first and left out of the result (default 0), so that the ones counted
//                do not include connecting to the control plane and the backends
//
// The result, on stdout, is one line: an array with one object per plan, in order:
//   [{"calls": 100, "backends": {"v1": 90, "v2": 10}, "statuses": {"OK": 100},
//     "details": {"UNAVAILABLE": "first description seen"},
//     "latencyMs": {"OK": {"min": 0.4, "p50": 0.9, "p99": 3.1, "max": 40.2}}, "elapsedMs": 310}]
// backends counts the successful calls by the backend named in the reply; details and latencies
// are per status code name. The exit code is 0 once the plans ran, whatever the calls' outcomes;
// 2 for a bad plan.

const path = require('path');
const grpc = require('@grpc/grpc-js');
const grpcXds = require('@grpc/grpc-js-xds');
const protoLoader = require('@grpc/proto-loader');

const METHODS = ['SayHello', 'SayGoodbye'];

function fail(message) {
  process.stderr.write(`client.js: ${message}\n`);
  process.exit(2);
}

function parsePlan(argument) {
  let plan;
  try {
    plan = JSON.parse(argument);
  } catch (e) {
    fail(`each argument must be a JSON call plan: ${e.message}: ${argument}`);
  }
  if (typeof plan.target !== 'string' || plan.target === '') {
    fail(`a plan needs a target: ${argument}`);
  }
  const method = plan.method ?? 'SayHello';
  if (!METHODS.includes(method)) {
    fail(`no method ${method}; the greeter has ${METHODS.join(', ')}`);
  }
  return {
    target: plan.target,
    method,
    calls: plan.calls ?? 1,
    concurrency: Math.max(1, plan.concurrency ?? 1),
    metadata: plan.metadata ?? {},
    deadlineMs: plan.deadlineMs ?? 10000,
    request: plan.request ?? 'node',
    warmup: plan.warmup ?? 0,
  };
}

/** The backend a reply names: "hello NAME from BACKEND". */
function backendOf(greeting) {
  const from = greeting.lastIndexOf(' from ');
  return from < 0 ? greeting : greeting.substring(from + ' from '.length);
}

function summary(latencies) {
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  const round = (ms) => Math.round(ms * 1000) / 1000;
  return {
    min: round(latencies[0]),
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(latencies[latencies.length - 1]),
  };
}

async function runPlan(Greeter, plan) {
  const client = new Greeter(plan.target, grpc.credentials.createInsecure());
  const call = client[plan.method].bind(client);
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(plan.metadata)) {
    metadata.set(name, String(value));
  }

  const backends = {};
  const statuses = {};
  const details = {};
  const latencies = {};
  const count = (map, key) => {
    map[key] = (map[key] ?? 0) + 1;
  };

  function one(name, record) {
    return new Promise((resolve) => {
      const start = process.hrtime.bigint();
      const deadline = new Date(Date.now() + plan.deadlineMs);
      call({ value: name }, metadata, { deadline }, (error, reply) => {
        if (record) {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          const code = error ? grpc.status[error.code] ?? String(error.code) : 'OK';
          count(statuses, code);
          (latencies[code] ??= []).push(ms);
          if (error) {
            details[code] ??= error.details;
          } else {
            count(backends, backendOf(reply.value));
          }
        }
        resolve();
      });
    });
  }

  for (let i = 0; i < plan.warmup; i++) {
    await one(`${plan.request}-warmup-${i}`, false);
  }
  const started = process.hrtime.bigint();
  let next = 0;
  async function worker() {
    while (next < plan.calls) {
      await one(`${plan.request}-${next++}`, true);
    }
  }
  await Promise.all(Array.from({ length: Math.min(plan.concurrency, plan.calls) }, worker));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  client.close();

  const latencyMs = {};
  for (const [code, values] of Object.entries(latencies)) {
    latencyMs[code] = summary(values);
  }
  return {
    calls: plan.calls,
    backends,
    statuses,
    details,
    latencyMs,
    elapsedMs: Math.round(elapsedMs),
  };
}

async function main() {
  const arguments_ = process.argv.slice(2);
  if (arguments_.length === 0) {
    fail('give one or more JSON call plans as arguments');
  }
  const plans = arguments_.map(parsePlan);
  grpcXds.register();
  const definition = protoLoader.loadSync(path.join(__dirname, 'greeter.proto'));
  const Greeter = grpc.loadPackageDefinition(definition).weft.demo.Greeter;
  const results = [];
  for (const plan of plans) {
    results.push(await runPlan(Greeter, plan));
  }
  process.stdout.write(
    JSON.stringify(results) + '\n',
    // The xDS client keeps its ADS stream (and so the event loop) alive: exit once printed.
    () => process.exit(0),
  );
}

main().catch((e) => {
  process.stderr.write(`client.js: ${e.stack ?? e}\n`);
  process.exit(1);
});
