import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LambdaFunctionRunner, LambdaSpec } from '../../local/lambda-runner';

/* The Lambda runner against small handlers written to a temp folder: real worker threads, real timers. */

let dir: string;
const runners: LambdaFunctionRunner[] = [];

function handlerDir(name: string, source: string): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'index.js'), source);
  return d;
}

function runner(
  name: string,
  source: string,
  overrides: Partial<LambdaSpec> = {},
  lines: string[] = [],
): LambdaFunctionRunner {
  const r = new LambdaFunctionRunner(
    {
      functionName: name,
      handler: 'index.handler',
      codeDir: handlerDir(name, source),
      environment: {},
      timeoutSeconds: 3,
      region: 'eu-west-1',
      ...overrides,
    },
    { log: (_fn, line) => lines.push(line) },
  );
  runners.push(r);
  return r;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-runner-'));
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('each function sees its own environment, and module state survives between invocations', async () => {
  const source = `let n = 0; exports.handler = async (e) => ({ n: ++n, who: process.env.WHO, region: process.env.AWS_REGION, e });`;
  const a = runner('env-a', source, { environment: { WHO: 'a' } });
  const b = runner('env-b', source, { environment: { WHO: 'b' } });

  const a1 = await a.invoke({ x: 1 });
  const a2 = await a.invoke({ x: 2 });
  const b1 = await b.invoke({});

  expect(a1).toMatchObject({ ok: true, payload: { n: 1, who: 'a', region: 'eu-west-1', e: { x: 1 } } });
  expect(a2).toMatchObject({ ok: true, payload: { n: 2, who: 'a' } });
  expect(b1).toMatchObject({ ok: true, payload: { n: 1, who: 'b' } });
  expect(process.env.WHO).toBeUndefined();
});

test('callback-style handlers work', async () => {
  const r = runner(
    'callback',
    `exports.handler = (event, context, cb) => setTimeout(() => cb(null, { name: context.functionName }), 5);`,
  );

  expect(await r.invoke({})).toMatchObject({ ok: true, payload: { name: 'callback' } });
});

test('an error is returned with its type and message', async () => {
  const r = runner('throws', `exports.handler = async () => { const e = new TypeError('bad thing'); throw e; };`);

  expect(await r.invoke({})).toMatchObject({
    ok: false,
    errorType: 'TypeError',
    errorMessage: 'bad thing',
    timedOut: false,
  });
});

test('past its Timeout an invocation fails and its environment is replaced (module state is gone)', async () => {
  const r = runner(
    'slow',
    `let n = 0; exports.handler = async (e) => { n++; if (e.hang) await new Promise(() => {}); return n; };`,
    { timeoutSeconds: 1 },
  );
  expect(await r.invoke({})).toMatchObject({ ok: true, payload: 1 });

  const timedOut = await r.invoke({ hang: true });
  const after = await r.invoke({});

  expect(timedOut).toMatchObject({ ok: false, timedOut: true, errorMessage: 'Task timed out after 1.00 seconds' });
  expect(after).toMatchObject({ ok: true, payload: 1 });
});

test('concurrent invocations run in separate environments', async () => {
  const r = runner(
    'concurrent',
    `let busy = false; exports.handler = async () => { const was = busy; busy = true; await new Promise((s) => setTimeout(s, 100)); busy = false; return was; };`,
  );

  const results = await Promise.all([r.invoke({}), r.invoke({}), r.invoke({})]);

  // No environment ever saw another invocation in flight: one invocation per environment at a time.
  expect(results.map((x) => (x.ok ? x.payload : 'error'))).toEqual([false, false, false]);
});

test('a module that fails to load fails every invocation with an import error', async () => {
  const r = runner('broken', `throw new Error('cannot load');`);

  expect(await r.invoke({})).toMatchObject({ ok: false, errorType: 'Runtime.ImportModuleError' });
});

test('a missing handler export is reported', async () => {
  const r = runner('noexport', `exports.other = async () => 1;`);

  expect(await r.invoke({})).toMatchObject({ ok: false, errorType: 'Runtime.HandlerNotFound' });
});

test("the function's output reaches the log sink line by line", async () => {
  const lines: string[] = [];
  const r = runner(
    'logs',
    `exports.handler = async () => { console.log('one'); console.log(JSON.stringify({ two: 2 })); return null; };`,
    {},
    lines,
  );

  await r.invoke({});
  // Worker output is piped asynchronously: wait (bounded) until both lines have arrived.
  for (let i = 0; i < 100 && lines.length < 2; i++) await new Promise((s) => setTimeout(s, 20));

  expect(lines).toEqual(expect.arrayContaining(['one', '{"two":2}']));
});

test('invocations are counted', async () => {
  const r = runner('counted', `exports.handler = async () => 1;`);

  await r.invoke({});
  await r.invoke({});

  expect(r.invocations).toBe(2);
});
