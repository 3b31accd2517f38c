// `hybridgl serve`: the HTTP service around one segment engine (models loaded once, engine.ts). POST /v1/segment
// answers the CLI's result JSON; the engine caches prepared images by their bytes' sha256; work goes through a
// bounded queue; GET /healthz, GET /metrics (Prometheus) and the web page at / complete it.
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import multipart from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

import { errorText } from '../errorText.ts';
import type { ExpressionResultJson } from '../resultJson.ts';
import { SegmentError } from '../segmenter.ts';
import type { SegmentEngine } from './engine.ts';
import { createMetrics, type ServiceMetrics } from './metrics.ts';
import { QueueClosedError, QueueFullError, QueueTimeoutError, WorkQueue } from './queue.ts';
import { HttpError, readSegmentRequest, MAX_FIELD_BYTES, type SegmentRequest } from './request.ts';

export interface ServerOptions {
  /** Runs the jobs: createLocalEngine (this thread) or startWorkerEngine (a worker thread, as the CLI does). */
  engine: SegmentEngine;
  /** Requests to every route but the page and /healthz (checked on the route matched, however its path was spelt)
   *  must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** imagePath may name files inside this directory only; undefined: no server-side paths. */
  allowDir?: string;
  /** Most pixels of an image, checked from its header before decoding. */
  maxPixels: number;
  /** Most bytes of a request body (and of an image however given). */
  maxBodyBytes: number;
  /** Deadline of a segment request, waiting and running, in ms; also of receiving any request's body (408). */
  timeoutMs: number;
  /** Requests that may wait while one runs; one more gets 503. */
  maxQueue: number;
  log?: (message: string) => void;
}

export interface SegmentResponse {
  /** Whether the prepared image (proposals, hybrid and GEM features) came from the cache. */
  cached: boolean;
  image: { sha256: string; height: number; width: number; proposals: number };
  /** Milliseconds: queue wait, hash, the image stages (absent when cached), expressions, overlay, total. */
  timings: Record<string, number>;
  /** Exactly what `hybridgl segment` prints for the same image and expressions. */
  results: ExpressionResultJson[];
  /** With overlay=true: one PNG per expression (the CLI's --out picture), base64. */
  overlays?: string[];
}

export interface Service {
  readonly app: FastifyInstance;
  readonly metrics: ServiceMetrics;
  /** Starts listening; resolves to the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Refuses new work, lets every accepted request finish, then closes the listener. */
  shutdown(): Promise<void>;
}

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
// The page loads nothing from elsewhere; images are drawn from blobs and data URLs.
const PAGE_CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** Routes anyone may call; every other route, and every unmatched path, needs the token when one is set. */
interface RouteConfig { public?: boolean }
const PUBLIC: RouteConfig = { public: true };

/** The request's deadline passed while its body was still arriving: 408, then the connection is closed. */
function cutSlowBody(request: FastifyRequest, reply: FastifyReply, timeoutMs: number): void {
  if (request.raw.complete) return; // the body is in: the work's own deadline (the queue's) applies
  const socket = request.raw.socket;
  if (reply.sent) {
    socket.destroy();
    return;
  }
  reply.raw.once('finish', () => socket.destroy());
  sendError(reply, 408, 'body', `the request body did not arrive within the ${timeoutMs} ms deadline`, { Connection: 'close' });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function sendError(reply: FastifyReply, status: number, field: string | undefined, message: string, headers: Record<string, string> = {}) {
  return reply.code(status).headers(headers).type('application/json; charset=utf-8')
    .send({ error: message, ...(field !== undefined ? { field } : {}) });
}

/** Fastify's and the multipart plugin's own errors, as the service's JSON errors naming what was wrong. */
function frameworkError(err: FastifyError, maxBodyBytes: number): HttpError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'body', `the request body is larger than ${maxBodyBytes} bytes`);
    case 'FST_REQ_FILE_TOO_LARGE':
      return new HttpError(413, 'image', `the image is larger than ${maxBodyBytes} bytes`);
    case 'FST_FILES_LIMIT':
      return new HttpError(413, 'image', 'send one image per request');
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new HttpError(413, 'body', 'too many form fields');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'Content-Type', 'send multipart/form-data, application/json, or the image itself (image/*, application/octet-stream)');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new HttpError(415, 'Content-Type', 'the request is not multipart/form-data');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'body', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_PROTO_VIOLATION':
      return new HttpError(400, 'body', `the body is not valid JSON: ${err.message}`);
    default:
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new HttpError(err.statusCode, 'body', err.message);
      return undefined;
  }
}

export async function createService(options: ServerOptions): Promise<Service> {
  const { engine, log = () => {} } = options;
  const queue = new WorkQueue({ concurrency: 1, maxWaiting: options.maxQueue });
  const metrics = createMetrics({ queue: () => ({ depth: queue.depth, active: queue.active }), cache: () => engine.cacheStats() });
  const page = Object.fromEntries(Object.entries(PAGE_FILES).map(([route, { file, type }]) =>
    [route, { type, body: readFileSync(new URL(`./page/${file}`, import.meta.url)) }]));
  const tokenDigest = options.token !== undefined ? digest(`Bearer ${options.token}`) : undefined;
  let closing = false;

  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    // Receiving a request (a slow client) has its own limit; the work's deadline is timeoutMs.
    requestTimeout: options.timeoutMs,
    return503OnClosing: true,
  });
  await app.register(multipart, { limits: { fileSize: options.maxBodyBytes, fieldSize: MAX_FIELD_BYTES } });
  app.removeContentTypeParser('text/plain'); // an expression is not a body: 415, not a silent 'no expressions'
  const rawImage = (_req: FastifyRequest, body: Buffer | string, done: (err: null, body: Buffer | string) => void) => done(null, body);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, rawImage);
  app.addContentTypeParser(/^image\/[\w.+-]+$/, { parseAs: 'buffer' }, rawImage);

  const started = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (request, reply) => {
    started.set(request, performance.now());
    // The body has the request's deadline in all: a client trickling it byte by byte is cut there, not later.
    const deadline = setTimeout(() => cutSlowBody(request, reply, options.timeoutMs), options.timeoutMs);
    reply.raw.once('close', () => clearTimeout(deadline));
    // On the route the router chose (after its percent-decoding), not on the URL as sent: every route but the
    // public ones, and every path that matches none, needs the token.
    if (tokenDigest && !(request.routeOptions.config as RouteConfig | undefined)?.public) {
      const given = digest(request.headers.authorization ?? '');
      if (!timingSafeEqual(given, tokenDigest)) {
        return sendError(reply, 401, 'Authorization', 'this server needs the header "Authorization: Bearer <token>"', { 'WWW-Authenticate': 'Bearer' });
      }
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const t0 = started.get(request);
    const route = request.routeOptions.url ?? 'unmatched';
    if (t0 !== undefined) metrics.request(route, request.method, reply.statusCode, (performance.now() - t0) / 1000);
  });

  // While closing, every answer ends its connection: a kept-alive client must not hold the shutdown open.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('Connection', 'close');
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = err instanceof HttpError ? err : frameworkError(err, options.maxBodyBytes);
    if (known) return sendError(reply, known.status, known.field, known.message, known.headers);
    log(`${request.method} ${request.url}: ${errorText(err)}`);
    return sendError(reply, 500, undefined, 'internal error (logged on the server)');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'url', `no route ${request.method} ${request.url.split('?')[0]} (POST /v1/segment, GET /healthz, GET /metrics, GET /)`));

  for (const [route, { type, body }] of Object.entries(page)) {
    app.get(route, { config: PUBLIC }, (_request, reply) => reply.type(type).header('Content-Security-Policy', PAGE_CSP).header('Cache-Control', 'no-cache').send(body));
  }

  app.get('/healthz', { config: PUBLIC }, (_request, reply) => {
    if (closing) return reply.code(503).send({ status: 'shutting down' });
    return reply.send({
      status: 'ok', uptimeSeconds: Math.round(process.uptime()), models: engine.models,
      queue: { running: queue.active, waiting: queue.depth }, cache: engine.cacheStats(),
    });
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));

  async function segmentJob(req: SegmentRequest, waitedMs: number): Promise<SegmentResponse> {
    const t0 = performance.now();
    const { cache: _stats, ...answer } = await engine.run({ image: req.image, expressions: req.expressions, options: req.options, overlay: req.overlay });
    const timings = { queue: waitedMs, ...answer.timings, total: waitedMs + performance.now() - t0 };
    metrics.stages(timings);
    for (const r of answer.results) metrics.stages(r.timings);
    return { ...answer, timings };
  }

  app.post('/v1/segment', async (request, reply) => {
    if (closing) throw new HttpError(503, undefined, 'the server is shutting down', { Connection: 'close' });
    const req = await readSegmentRequest(request, {
      maxImageBytes: options.maxBodyBytes, maxPixels: options.maxPixels, allowDir: options.allowDir,
    });
    let response: SegmentResponse;
    try {
      response = await queue.run((waitedMs) => segmentJob(req, waitedMs), options.timeoutMs);
    } catch (err) {
      if (err instanceof QueueFullError) {
        metrics.rejected();
        throw new HttpError(503, undefined, err.message, { 'Retry-After': String(err.retryAfterSeconds) });
      }
      if (err instanceof QueueTimeoutError) {
        metrics.timedOut(err.phase);
        if (err.phase === 'queued') throw new HttpError(503, undefined, err.message, { 'Retry-After': String(err.retryAfterSeconds) });
        throw new HttpError(504, undefined, err.message);
      }
      if (err instanceof QueueClosedError) throw new HttpError(503, undefined, err.message, { Connection: 'close' });
      if (err instanceof SegmentError) {
        if (err.kind === 'badInput') throw new HttpError(400, req.imageField, err.message);
        if (err.kind === 'noProposal') throw new HttpError(422, req.imageField, err.message);
      }
      throw err;
    }
    log(`POST /v1/segment ${req.width}×${req.height} ${req.expressions.length} expr cached=${response.cached} ${response.timings.total.toFixed(0)} ms`);
    return reply.send(response);
  });

  return {
    app,
    metrics,
    async listen(host, port) {
      await app.listen({ host, port });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error(`unexpected listen address ${address}`);
      return { host: address.address, port: address.port };
    },
    async shutdown() {
      closing = true;
      // app.close stops accepting, answers 503 on kept-alive connections and waits for requests in flight (each
      // gets its deadline, then its connection is cut); a job whose request timed out may still be running, so
      // the queue is drained too.
      const cut = setTimeout(() => app.server.closeAllConnections(), options.timeoutMs + 5000);
      await app.close();
      clearTimeout(cut);
      await queue.close();
      await engine.close();
    },
  };
}
