// @ts-check
/**
 * One warm "execution environment" of a lab Lambda function: a worker thread
 * that loads the bundled CommonJS handler once (the init phase) and then runs
 * one event at a time, like a Lambda container. Plain CommonJS because it is
 * loaded by `new Worker(file)` outside any TypeScript loader.
 *
 * Messages in:  {type: 'invoke', id, requestId, event (JSON text), deadline (epoch ms)}
 * Messages out: {type: 'initialized'} once, when the handler module is loaded (or failed to)
 *               {type: 'result', id, payload (JSON text | undefined)}
 *               {type: 'error', id, error: {errorType, errorMessage, trace}}
 */
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Module = require('node:module');

if (!parentPort) throw new Error('lambda-worker must run in a worker thread');
const port = parentPort;

/** @type {{handlerFile: string, handlerExport: string, nodePaths: string[], functionName: string, functionArn: string, memoryMb: number}} */
const config = workerData;

// esbuild leaves `@aws-sdk/*` external (the Lambda runtime provides it); in the
// lab it resolves from the repository's node_modules, wherever the bundle is.
if (config.nodePaths.length > 0) {
  const existing = process.env.NODE_PATH ? process.env.NODE_PATH.split(':') : [];
  process.env.NODE_PATH = [...config.nodePaths, ...existing].join(':');
  // @ts-ignore Module._initPaths is internal but stable; it re-reads NODE_PATH.
  Module._initPaths();
}

/** Shapes a thrown value the way the Node.js Lambda runtime reports it. */
function toLambdaError(err) {
  if (err instanceof Error || (err && typeof err === 'object' && 'message' in err)) {
    const e = /** @type {Error} */ (err);
    return {
      errorType: typeof e.name === 'string' && e.name ? e.name : 'Error',
      errorMessage: String(e.message),
      trace: typeof e.stack === 'string' ? e.stack.split('\n') : [],
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

/** @type {Function | undefined} */
let handler;
/** @type {{errorType: string, errorMessage: string, trace: string[]} | undefined} */
let initError;
try {
  const mod = require(config.handlerFile);
  const fn = mod && mod[config.handlerExport];
  if (typeof fn !== 'function') {
    initError = {
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${config.handlerFile}.${config.handlerExport} is undefined or not exported`,
      trace: [],
    };
  } else {
    handler = fn;
  }
} catch (err) {
  const e = toLambdaError(err);
  initError = { errorType: 'Runtime.ImportModuleError', errorMessage: `${e.errorType}: ${e.errorMessage}`, trace: e.trace };
}

function callHandler(event, context) {
  const fn = /** @type {Function} */ (handler);
  // Callback-style handlers (event, context, callback) are still supported by the runtime.
  if (fn.length >= 3) {
    return new Promise((resolve, reject) => {
      const maybe = fn(event, context, (err, result) => (err ? reject(err) : resolve(result)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return Promise.resolve().then(() => fn(event, context));
}

// The Init phase is over: the runtime starts the invocation's timeout now.
port.postMessage({ type: 'initialized' });

port.on('message', async (msg) => {
  if (!msg || msg.type !== 'invoke') return;
  const { id, requestId, deadline } = msg;
  if (initError) {
    port.postMessage({ type: 'error', id, error: initError });
    return;
  }
  const context = {
    awsRequestId: requestId,
    functionName: config.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: config.functionArn,
    memoryLimitInMB: String(config.memoryMb),
    logGroupName: `/aws/lambda/${config.functionName}`,
    logStreamName: `lab/[$LATEST]${requestId.replace(/-/g, '')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const event = JSON.parse(msg.event);
    const result = await callHandler(event, context);
    let payload;
    try {
      payload = result === undefined ? undefined : JSON.stringify(result);
    } catch (err) {
      port.postMessage({
        type: 'error',
        id,
        error: { errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${String(err)}`, trace: [] },
      });
      return;
    }
    port.postMessage({ type: 'result', id, payload });
  } catch (err) {
    port.postMessage({ type: 'error', id, error: toLambdaError(err) });
  }
});
