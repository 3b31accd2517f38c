// `hybridgl serve`: argument handling, start-up and the graceful shutdown on SIGTERM/SIGINT around the service.
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

import type { Command, Log } from '../command.ts';
import { UsageError } from '../errors.ts';

const SUMMARY = `  serve --models DIR [--host 127.0.0.1] [--port 8080] [--token T] [--allow-dir DIR] [--max-pixels N] [options]
      An HTTP service, models loaded once: POST /v1/segment, GET /healthz, GET /metrics, a web page at /
      (all options: hybridgl serve --help).`;

const help = (defaultMaxPixels: number) => `usage: hybridgl serve --models DIR [options]

  --host H             address to bind (default 127.0.0.1; anything else exposes the service: use --token)
  --port N             port (default 8080; 0 picks a free one, printed on stderr)
  --token T            require "Authorization: Bearer T" on every route but the page and /healthz, checked on
                       the route served (or set $HYBRIDGL_SERVE_TOKEN)
  --allow-dir DIR      let requests name image files (imagePath) inside DIR; without it no server-side path is read
  --max-pixels N|inf   largest image, width × height from its header, checked before decoding (default ${defaultMaxPixels},
                       as for segment: what keeps the image-dependent memory within 4 GB)
  --max-body-mb N      largest request body and image file in MiB (default 32)
  --timeout-ms N       deadline of a segment request, waiting and running, and of receiving its body (408)
                       (default 60000)
  --queue N            requests that may wait while one runs; more get 503 with Retry-After (default 16)
  --cache-entries N    prepared images kept (default 16; 0 turns the cache off)
  --cache-mb N         their estimated size bound in MiB (default 1024)
  --fusion F  --device D  --precision P  --no-guidance  --vocab FILE  --colour-managed  --exif-orientation
                       as for segment

Stops on SIGTERM or SIGINT: refuses new requests, finishes those accepted, exits 0.`;

export const serveCommand: Command = {
  summary: SUMMARY,
  // The default image limit is the library's (sharp loads with it): read when the help is asked for.
  help: async () => help((await import('../../pipeline/imageBudget.ts')).DEFAULT_MAX_PIXELS),
  run: runServe,
};

function positiveInt(values: Record<string, string | boolean | undefined>, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${raw}'`);
  return n;
}

async function runServe(args: string[], log: Log): Promise<number> {
  const [{ SEGMENTER_FLAGS, segmenterOptions }, { DEFAULT_MAX_PIXELS }, { createService }, { startWorkerEngine }, { commandAllocatorTuning }] =
    await Promise.all([import('../segmenterFlags.ts'), import('../../pipeline/imageBudget.ts'), import('../../serve/server.ts'),
      import('../../serve/workerEngine.ts'), import('../../models/allocatorTuning.ts')]);
  const { values } = parseArgs({
    args,
    options: {
      ...SEGMENTER_FLAGS, host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' },
      'allow-dir': { type: 'string' }, 'max-body-mb': { type: 'string' },
      'timeout-ms': { type: 'string' }, queue: { type: 'string' }, 'cache-entries': { type: 'string' },
      'cache-mb': { type: 'string' },
    },
  });
  const host = values.host ?? '127.0.0.1';
  const port = positiveInt(values, 'port', 8080, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const token = values.token ?? process.env.HYBRIDGL_SERVE_TOKEN;
  if (token !== undefined && token.length === 0) throw new UsageError('--token must not be empty');
  const allowDir = values['allow-dir'];
  if (allowDir !== undefined && !statSync(allowDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--allow-dir ${allowDir} is not a directory`);
  }
  const options = { ...segmenterOptions(values), load: { allocator: commandAllocatorTuning() } };
  // One limit: the header check answers 413 before decoding; the segmenter holds the same one.
  const settings = {
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxBodyBytes: positiveInt(values, 'max-body-mb', 32) * 2 ** 20,
    timeoutMs: positiveInt(values, 'timeout-ms', 60_000),
    maxQueue: positiveInt(values, 'queue', 16, 0),
  };
  const cache = { maxEntries: positiveInt(values, 'cache-entries', 16, 0), maxBytes: positiveInt(values, 'cache-mb', 1024, 0) * 2 ** 20 };
  const t0 = performance.now();
  log(`loading models from ${options.models} (${options.device ?? 'auto'}, ${options.precision ?? 'fp32'}) in the model worker`);
  const engine = await startWorkerEngine(options, cache, log);
  log(`models ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const service = await createService({ engine, token, allowDir, log, ...settings });
  let address;
  try {
    address = await service.listen(host, port);
  } catch (err) {
    await engine.close();
    throw err;
  }
  const url = `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  log(`listening on ${url} (page ${url}/, API ${url}/v1/segment${token ? ', bearer token required' : ''})`);
  if (!token && !['127.0.0.1', '::1', 'localhost'].includes(host)) log(`warning: bound to ${host} without --token: anyone who can reach it can use it`);

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      log(`${signal}: shutting down (refusing new requests, finishing those accepted)`);
      service.shutdown()
        .then(() => {
          log('stopped');
          resolve(0);
        }, (err) => {
          log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          resolve(1);
        });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}
