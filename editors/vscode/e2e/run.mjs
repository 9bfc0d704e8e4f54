#!/usr/bin/env node
// End-to-end test of the extension in a real VS Code (code-server + Debian chromium + playwright-core).
//
//   node e2e/run.mjs            (or: npm run e2e)
//
// Environment:
//   CMDT_LSP            path to the cmdt-lsp binary under test; without it the `server` scenario is skipped
//                       (a failure when strict)
//   CMDT_E2E_STRICT     1: any skip is a failure; 0: skips allowed. Default: 1 when CI is set (CI=true), else 0
//   CMDT_TOOLS_DIR      tools folder of .ci/vscode-tools.sh (default: <repo>/.tools); CMDT_CODE_SERVER,
//                       CMDT_CHROMIUM, CMDT_PLAYWRIGHT_DIR override single tools
//   CMDT_VSIX           use this .vsix instead of building one with `npm run package`
//   CMDT_E2E_OUT        where screenshots and logs go (default: a new $TMPDIR/cmdt-vscode-e2e-XXXXXX per run)
//   CMDT_E2E_TIMEOUT_SCALE  multiplies every wait's ceiling (default 3); waits poll for states, never sleep
//   CMDT_E2E_ONLY       comma-separated scenario names to run (default: all)
//   CMDT_E2E_KEEP=1     keep the temp folders (code-server data, workspace) for inspection
//
// Exits non-zero on any failed assertion, after saving a screenshot of the failure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AssertionFailed, CodeServer, check, extDir, findTools, launchBrowser, log, mkTemp, probeServer, run, traceMessages } from './lib.mjs';
import * as ui from './ui.mjs';
import { testingScenario } from './testing.mjs';

// Each run writes its screenshots and logs to a folder of its own (concurrent or repeated runs never mix them).
const outDir = path.resolve(process.env.CMDT_E2E_OUT || fs.mkdtempSync(path.join(os.tmpdir(), 'cmdt-vscode-e2e-')));
const keep = process.env.CMDT_E2E_KEEP === '1';
// Strict (a skip is a failure) when asked, and by default in CI (CI=true, as CI services set it; any value but
// empty, 0 or false).
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const strict = process.env.CMDT_E2E_STRICT ? process.env.CMDT_E2E_STRICT === '1' : inCI;
const strictWhy = process.env.CMDT_E2E_STRICT ? `CMDT_E2E_STRICT=${process.env.CMDT_E2E_STRICT}` : `CI=${process.env.CI ?? '(unset)'}`;
const only = (process.env.CMDT_E2E_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
const fixtures = path.join(extDir, 'e2e', 'fixtures');
const INSTALL_COMMAND = 'go install github.com/cmdt-dev/cmdt/cmd/cmdt-lsp@latest';
const REQUIRED_COMMANDS = ['cmdt.run', 'cmdt.runNoCache', 'cmdt.update', 'cmdt.accept'];

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

// ------------------------------------------------------------------ scenarios
// Each gets a fresh code-server + browser; `t` holds { page, cs, ws, root }.

/** No server (cmdt.server.path points nowhere): languages, grammar colours, one clear error message. */
async function noServer(t) {
  const { page } = t;
  await ui.openEditor(page, 'demo.cmdt');
  await ui.expectLanguageMode(page, 'cmdt transcript');
  log('demo.cmdt is open in language mode "cmdt transcript"');

  // Grammar: opcodes, command names, output, comments and directive words each get a colour of their own.
  // (Tokenisation is asynchronous: plain text is rendered first.)
  const lines = await ui.waitFor(page, async () => {
    const ls = await ui.lineTokens(page);
    return ls.length >= 9 && ls.every((l) => !l.text.trim() || l.spans.length > 1 || l.spans[0]?.cls !== 'mtk1') ? ls : null;
  }, 'the grammar to colour demo.cmdt', 30_000);
  const tok = (lineStart, text) => {
    const line = lines.find((l) => l.text.startsWith(lineStart));
    check(line, `no editor line starting with ${JSON.stringify(lineStart)}; lines: ${JSON.stringify(lines.map((l) => l.text))}`);
    const s = line.spans.find((x) => x.text.trim() === text || x.text === text);
    check(s, `no token ${JSON.stringify(text)} on line ${JSON.stringify(line.text)}: ${JSON.stringify(line.spans)}`);
    return s;
  };
  const plain = tok('$ ls', 'missing');
  const colours = {
    comment: lines.find((l) => l.text.startsWith('# A transcript'))?.spans.at(-1)?.color,
    opcode: tok('$ echo', '$').color,
    command: tok('$ echo', 'echo').color,
    variable: tok('$ echo', '$USER').color,
    stdout: tok('1 HELLO', 'HELLO ROOT').color,
    exitStatus: tok('? 2', '2').color,
    depKind: tok('% dep file', 'file').color,
    path: tok('% dep file', 'testdata/in.txt').color,
  };
  log(`token colours: ${JSON.stringify(colours)}`);
  for (const [k, c] of Object.entries(colours)) {
    check(c !== plain.color, `${k} is not coloured by the grammar (same colour as plain text, ${c})`);
  }
  check(tok('1 HELLO', '1').color === colours.opcode, 'the stdout opcode 1 is not coloured like the $ opcode');
  check(new Set(Object.values(colours)).size >= 5, `too few distinct colours: ${JSON.stringify(colours)}`);

  // The missing server: exactly one error message, naming the path and the install command.
  const toast = await ui.waitForToast(page, /language server was not found/);
  check(toast.includes('/nonexistent/cmdt-lsp'), `the message does not name the configured path: ${toast}`);
  check(toast.includes(INSTALL_COMMAND), `the message does not give the install command: ${toast}`);
  check(toast.includes('Copy Install Command'), `the message has no "Copy Install Command" button: ${toast}`);
  // A negative check (no second message appears) needs an observation window; it cannot make a good run fail.
  await page.waitForTimeout(3000);
  const again = (await ui.toasts(page)).filter((x) => /cmdt/.test(x));
  check(again.length === 1, `expected ONE cmdt message, got ${again.length}: ${JSON.stringify(again)}`);
  log('one clear "server not found" message with the install command');
  await ui.screenshot(page, path.join(outDir, 'no-server.png'));

  // A palette command without a server says so again (a user action gets an answer), and nothing crashes.
  await ui.runCommand(page, 'Notifications: Clear All Notifications');
  await ui.waitForNoToast(page, /cmdt/);
  await ui.focusEditor(page);
  await ui.runCommand(page, 'cmdt: Run transcript');
  await ui.waitForToast(page, /language server was not found at \/nonexistent\/cmdt-lsp/);
  log('"cmdt: Run transcript" without a server shows the message again');

  // The depfile language.
  await ui.runCommand(page, 'Notifications: Clear All Notifications');
  await ui.openFromExplorer(page, 'cmdt.deps');
  await ui.expectLanguageMode(page, 'cmdt depfile');
  const dlines = await ui.waitFor(page, async () => {
    const ls = await ui.lineTokens(page);
    return ls.some((l) => l.text.startsWith('file ') && l.spans.length > 1) ? ls : null;
  }, 'the grammar to colour cmdt.deps', 30_000);
  const fileLine = dlines.find((l) => l.text.startsWith('file '));
  check(fileLine, `depfile lines: ${JSON.stringify(dlines.map((l) => l.text))}`);
  const kind = fileLine.spans.find((s) => s.text === 'file');
  const value = fileLine.spans.find((s) => s.text.includes('config.json'));
  check(kind && value && kind.color !== value.color, `depfile kind and value are not coloured apart: ${JSON.stringify(fileLine.spans)}`);
  log('cmdt.deps opens as "cmdt depfile" with colours');
  await ui.screenshot(page, path.join(outDir, 'no-server-depfile.png'));

  // A file with another name that the open transcript names as a depfile (% dep < more-deps.txt).
  await ui.openFromExplorer(page, 'more-deps.txt');
  await ui.expectLanguageMode(page, 'cmdt depfile');
  log('more-deps.txt, named by "% dep <" in demo.cmdt, opens as "cmdt depfile"');
}

// ------------------------------------------------------------------ the real server

const CHANNEL = 'cmdt Language Server';
/** A command's time in an inlay hint: `<1 ms`, `12 ms`, `1.2 s`, `1 min 3 s`. */
const DURATION = String.raw`(?:<1 ms|\d+ ms|\d+\.\d s|\d+ min \d+ s)`;
const PASS_HINT = new RegExp(`^✓ ${DURATION}$`);
const FAIL_HINT = new RegExp(`^✗ ${DURATION}$`);

/** The LSP traffic so far (the client traces it at `verbose` into its output channel, which VS Code logs to a file). */
function traffic(t) {
  return traceMessages(t.cs.outputChannel(CHANNEL));
}

/** The workspace/executeCommand requests the client sent so far, each with its answer once there is one. */
function commandsSent(t) {
  const msgs = traffic(t);
  return msgs.flatMap((m, i) => {
    if (!(m.dir === 'Sending' && m.kind === 'request' && m.method === 'workspace/executeCommand')) {
      return [];
    }
    const r = msgs.slice(i + 1).find((x) => x.dir === 'Received' && x.kind === 'response' && x.method === m.method && x.id === m.id);
    return [{ command: m.body?.command, args: m.body?.arguments ?? [], done: !!r, result: r?.body, error: r?.error }];
  });
}

/**
 * Waits for the executeCommand request after the first `n` ones to be answered, checks it is `command` on the
 * transcript, and returns it ({command, args, result, error}).
 */
async function commandAnswered(t, n, command, timeout = 120_000) {
  const c = await ui.waitFor(t.page, () => {
    const sent = commandsSent(t);
    return sent.length > n && sent[n].done ? sent[n] : null;
  }, `the answer to ${command} (request #${n + 1}; sent so far: ${JSON.stringify(commandsSent(t).map((x) => x.command))})`, timeout);
  check(c.command === command, `expected ${command} to be sent, got ${c.command} ${JSON.stringify(c.args)}`);
  check(typeof c.args[0] === 'string' && c.args[0].endsWith('/ws/demo.cmdt'), `${command}: the first argument is not the transcript's URI: ${JSON.stringify(c.args)}`);
  log(`${command} ${JSON.stringify(c.args.slice(1))} -> ${c.error ? `error ${JSON.stringify(c.error)}` : JSON.stringify({ status: c.result?.status, text: c.result?.text })}`);
  return c;
}

/** The message of the Problems row for the check-failed diagnostic (the row's aria-label without its location). */
function problemMessage(row) {
  return row.replace(/^Error: /, '').replace(/ at line \d+ and character \d+\.[\s\S]*$/, '');
}

async function expectLens(page, title, what) {
  await ui.waitFor(page, async () => {
    await ui.nudgeUnclickableLenses(page, title);
    return (await ui.lenses(page)).includes(title);
  }, `the lens "${title}" (${what})`, 30_000).catch(async (err) => {
    throw new AssertionFailed(`${err.message}; lens elements: ${JSON.stringify(await ui.lensElements(page))}`);
  });
}

async function expectStatusItem(page, text, what) {
  let last = null;
  await ui.waitFor(page, async () => (last = await ui.cmdtStatusItem(page)) === text, `the status item "${text}" (${what})`, 30_000).catch((err) => {
    throw new AssertionFailed(`${err.message}; it shows ${JSON.stringify(last)}`);
  });
  log(`status item: ${text}`);
}

/** Waits for the inlay hints of the lines starting with the keys to match the values (regexps). */
async function expectHints(page, want, what, timeout = 30_000) {
  let last = [];
  await ui.waitFor(page, async () => {
    last = await ui.linesWithHints(page);
    return Object.entries(want).every(([start, re]) => {
      const hints = last.find((l) => l.text.startsWith(start))?.hints ?? [];
      return hints.length === 1 && re.test(hints[0]);
    });
  }, `inlay hints ${what}`, timeout).catch((err) => {
    throw new AssertionFailed(`${err.message}; lines: ${JSON.stringify(last.filter((l) => l.hints.length || l.text.startsWith('$')))}`);
  });
  log(`inlay hints: ${JSON.stringify(last.filter((l) => l.hints.length).map((l) => `${l.text.slice(0, 20)}… ${l.hints.join(' ')}`))}`);
}

/**
 * The real cmdt-lsp: a syntax error and a failing command; the run lens, the failure's diff and hints, accept,
 * passing and cached runs, the palette commands, the status item, restart, and runOnSave (run by the server).
 */
async function withServer(t) {
  const { page, ws } = t;
  await ui.openEditor(page, 'demo.cmdt');
  await ui.expectLanguageMode(page, 'cmdt transcript');

  // 1. The syntax error: a squiggle and one error in the status bar and the Problems panel; the missing
  //    declared file is a warning. Nothing has run: the status item and the lens say so.
  await ui.waitFor(page, () => page.locator('.monaco-editor .squiggly-error').count(), 'a syntax-error squiggle', 60_000);
  await ui.waitFor(page, async () => {
    const p = await ui.problemCounts(page);
    return p.errors === 1 && p.warnings === 1;
  }, 'Problems: 1 error, 1 warning', 30_000).catch(async (err) => {
    throw new AssertionFailed(`${err.message}; status bar: ${JSON.stringify(await ui.problemCounts(page))}`);
  });
  await ui.openProblems(page);
  const row = await ui.waitForProblemRow(page, (r) => /opcode/i.test(r) && /line 10\b/.test(r), 'a syntax-error row (line 10)', 30_000);
  log(`problem: ${JSON.stringify(row)}`);
  const dep = await ui.waitForProblemRow(page, (r) => r.includes('input.txt'), 'a diagnostic for the missing input.txt', 30_000);
  log(`dependency diagnostic: ${JSON.stringify(dep)}`);
  log('syntax error: squiggle + Problems count 1 error (and the missing input.txt: 1 warning)');
  await expectStatusItem(page, 'cmdt: not run yet', 'before any run');
  await expectLens(page, '▶ Run · not run yet', 'before any run');

  // Run on a transcript with a syntax error: the server refuses, and the user is told why, from the lens (VS Code
  // shows the server's error) and from the palette (the extension does).
  let n = commandsSent(t).length;
  await ui.clickLens(page, '▶ Run');
  const refusedLens = await commandAnswered(t, n, 'cmdt.run', 30_000);
  check(refusedLens.error && /syntax error/.test(refusedLens.error.message), `cmdt.run with a syntax error: ${JSON.stringify(refusedLens)}`);
  await ui.waitForToast(page, /^cmdt\.run: the transcript has 1 syntax error\(s\); first, line 10: unknown opcode/);
  log('lens Run with a syntax error: the server\'s message is shown');
  await ui.runCommand(page, 'Notifications: Clear All Notifications');
  await ui.waitForNoToast(page, /cmdt/);
  n = commandsSent(t).length;
  await ui.focusEditor(page);
  await ui.runCommand(page, 'cmdt: Run transcript');
  const refused = await commandAnswered(t, n, 'cmdt.run', 30_000);
  check(refused.error && /syntax error/.test(refused.error.message), `cmdt.run with a syntax error: ${JSON.stringify(refused)}`);
  const toast = await ui.waitForToast(page, /cmdt: Run transcript failed: /);
  check(/syntax error/.test(toast), `the message does not say why: ${toast}`);
  log(`palette Run with a syntax error: "${toast.split('\n')[0]}"`);
  await ui.runCommand(page, 'Notifications: Clear All Notifications');
  await ui.waitForNoToast(page, /cmdt/);

  // Creating the declared file on disk clears its warning (the server's file watcher).
  fs.writeFileSync(path.join(ws, 'input.txt'), 'data\n');
  await ui.waitFor(page, async () => !(await ui.problemRows(page)).some((r) => r.includes('input.txt')),
    'the input.txt diagnostic to go once the file exists', 30_000);
  log('creating input.txt on disk cleared its diagnostic');

  // Fix the syntax error (delete the line) and save: the squiggle goes.
  await ui.deleteLineContaining(page, 'this line is a syntax error');
  await ui.save(page);
  await ui.waitFor(page, async () => (await page.locator('.monaco-editor .squiggly-error').count()) === 0, 'the squiggle to go', 30_000);
  await ui.waitFor(page, async () => {
    const p = await ui.problemCounts(page);
    return p.errors === 0 && p.warnings === 0;
  }, 'Problems: 0', 30_000);
  log('syntax error fixed');

  // Restart the server from the palette; it comes back and follows edits (a typed error, then undo).
  await ui.runCommand(page, 'cmdt: Restart server');
  await ui.waitFor(page, async () => /language server restarted/.test(await page.locator('.part.statusbar').innerText()),
    'the "language server restarted" status message', 30_000);
  await ui.typeAtEnd(page, 'oops');
  await ui.waitFor(page, async () => (await ui.problemCounts(page)).errors === 1, 'an error for a typed bad line after the restart', 30_000);
  await page.keyboard.press('Control+Z');
  await ui.waitFor(page, async () => (await ui.problemCounts(page)).errors === 0, 'the error to go after undo', 30_000);
  // Undo brought the buffer back to the saved text: VS Code marks it clean again.
  await ui.waitFor(page, async () => (await page.locator('.part.editor .tab.active.dirty').count()) === 0, 'the tab to be clean after undo', 30_000);
  log('restart: the server is back and follows edits');
  const noise = (await ui.toasts(page)).filter((x) => /cmdt|language server|client/i.test(x));
  check(noise.length === 0, `unexpected notifications: ${JSON.stringify(noise)}`);
  await expectStatusItem(page, 'cmdt: not run yet', 'after the restart');

  // 2. Run through the code lens: the failing command gets a diagnostic with the engine's unified diff and a ✗
  //    hint, the passing one a ✓ hint; the lens, the first line's hint and the status item say "failed".
  n = commandsSent(t).length;
  await ui.clickLens(page, '▶ Run');
  const failedRun = await commandAnswered(t, n, 'cmdt.run');
  check(failedRun.result?.status === 'failed' && failedRun.result?.text === 'failed: 1 of 2 commands',
    `cmdt.run: ${JSON.stringify(failedRun.result)}`);
  const diffRow = await ui.waitForProblemRow(page, (r) => r.includes('output differs'), 'the check-failed diagnostic', 30_000);
  const message = problemMessage(diffRow).split('\n');
  log(`failure diagnostic: ${JSON.stringify(message)}`);
  check(/^output differs from the expectation/.test(message[0]), `diagnostic message: ${JSON.stringify(message)}`);
  check(JSON.stringify(message.slice(1)) === JSON.stringify(['--- expected', '+++ actual', '@@ -1,2 +1,2 @@', ' 1 a', '-1 c', '+1 b']),
    `the diagnostic does not hold the expected unified diff: ${JSON.stringify(message)}`);
  check(/\[Ln 6, Col 1\]|line 6 and character 1\b/.test(diffRow), `the diagnostic is not on the $ line (6): ${diffRow}`);
  await ui.waitFor(page, async () => (await ui.problemCounts(page)).errors === 1, 'Problems: 1 error after the run', 30_000);
  await expectHints(page, { '$ echo hello': PASS_HINT, "$ printf 'a": FAIL_HINT, '# cmdt e2e': /^failed: 1 of 2 commands$/ }, '✓ / ✗ / failed after the failing run');
  await expectLens(page, '▶ Run · failed: 1 of 2 commands', 'after the failing run');
  await expectLens(page, '✓ Accept actual output', 'on the failed command');
  await expectStatusItem(page, 'cmdt: failed: 1 of 2 commands', 'after the failing run');
  await ui.screenshot(page, path.join(outDir, `${t.name}-check-failing.png`));

  // 3. Accept the actual output through the quick fix (code-action menu): the buffer changes, not the file.
  const before = await ui.editorText(page);
  check(before.split('\n').includes('1 c'), `expected "1 c" in the buffer before accepting:\n${before}`);
  n = commandsSent(t).length;
  await ui.quickFix(page, "$ printf 'a", /^Accept actual output/);
  const accepted = await commandAnswered(t, n, 'cmdt.accept', 30_000);
  check(accepted.args[1] === 5, `cmdt.accept: expected line 5 (0-based), got ${JSON.stringify(accepted.args)}`);
  check(accepted.result?.status === 'updated', `cmdt.accept: ${JSON.stringify(accepted.result)}`);
  await ui.waitFor(page, async () => {
    const lines = (await ui.editorText(page)).split('\n');
    return lines.includes('1 b') && !lines.includes('1 c');
  }, 'the buffer to hold the actual output (1 b)', 30_000);
  check(fs.readFileSync(path.join(ws, 'demo.cmdt'), 'utf8').includes('1 c\n'), 'accepting wrote the file (it should edit the buffer only)');
  log('accepted: the buffer now expects "1 b" (file untouched until saved)');
  await ui.save(page);
  let onDisk = '';
  await ui.waitFor(page, () => {
    onDisk = fs.readFileSync(path.join(ws, 'demo.cmdt'), 'utf8');
    return onDisk.includes('1 b\n') && !onDisk.includes('1 c\n');
  }, 'the saved file to hold the accepted output', 15_000).catch((err) => {
    throw new AssertionFailed(`${err.message}; on disk:\n${onDisk}`);
  });
  check(commandsSent(t).length === n + 1, `saving sent commands with cmdt.runOnSave off: ${JSON.stringify(commandsSent(t).slice(n + 1))}`);

  // 4. Run again: it passes (✓ on both commands, no errors); the status is now cached.
  n = commandsSent(t).length;
  await ui.clickLens(page, '▶ Run');
  const passed = await commandAnswered(t, n, 'cmdt.run');
  check(passed.result?.status === 'passed', `second cmdt.run: ${JSON.stringify(passed.result)}`);
  await expectHints(page, { '$ echo hello': PASS_HINT, "$ printf 'a": PASS_HINT }, '✓ on both commands after the passing run');
  await ui.waitFor(page, async () => (await ui.problemCounts(page)).errors === 0, 'no errors after the passing run', 30_000);
  check(!(await ui.hasLens(page, '✓ Accept actual output')), `an Accept lens is left: ${JSON.stringify(await ui.lenses(page))}`);
  await expectLens(page, '▶ Run · cached ✓ just now', 'after the passing run');
  await expectStatusItem(page, 'cmdt: cached ✓ just now', 'after the passing run');

  // 5. And again: the result cache answers (outcome "cached"), the lens, hint and status item still say cached.
  n = commandsSent(t).length;
  await ui.clickLens(page, '▶ Run');
  const cached = await commandAnswered(t, n, 'cmdt.run');
  check(cached.result?.status === 'cached' && /^cached ✓/.test(cached.result?.text ?? ''), `third cmdt.run: ${JSON.stringify(cached.result)}`);
  await expectHints(page, { '$ echo hello': PASS_HINT, "$ printf 'a": PASS_HINT, '# cmdt e2e': /^cached ✓ just now$/ }, 'after the cached run');
  await expectLens(page, '▶ Run · cached ✓ just now', 'after the cached run');
  await expectStatusItem(page, 'cmdt: cached ✓ just now', 'after the cached run');

  // 6. The palette: "Run ignoring cache" runs it anyway; "Update transcript" rewrites a wrong expectation in
  //    the buffer (workspace/applyEdit).
  n = commandsSent(t).length;
  await ui.focusEditor(page);
  await ui.runCommand(page, 'cmdt: Run ignoring cache');
  const nocache = await commandAnswered(t, n, 'cmdt.runNoCache');
  check(nocache.result?.status === 'passed', `cmdt.runNoCache: ${JSON.stringify(nocache.result)}`);

  await ui.replaceLine(page, '1 hello', '1 HELLO');
  await expectStatusItem(page, 'cmdt: stale: transcript changed', 'after an edit');
  n = commandsSent(t).length;
  await ui.runCommand(page, 'cmdt: Update transcript');
  const updated = await commandAnswered(t, n, 'cmdt.update');
  check(updated.result?.status === 'updated', `cmdt.update: ${JSON.stringify(updated.result)}`);
  await ui.waitFor(page, async () => {
    const lines = (await ui.editorText(page)).split('\n');
    return lines.includes('1 hello') && !lines.includes('1 HELLO');
  }, 'Update to restore "1 hello"', 30_000);
  await ui.save(page);
  log('"cmdt: Update transcript" rewrote the expectation');

  // 7. cmdt.runOnSave, switched on in the settings file: the setting reaches the server, and a save runs the
  //    transcript there; the extension sends no command of its own (one run, not two).
  t.cs.writeSettings({ ...t.settings, 'cmdt.runOnSave': true });
  await ui.waitFor(page, () => traffic(t).some((m) => m.method === 'workspace/didChangeConfiguration' && m.body?.settings?.cmdt?.runOnSave === true),
    'workspace/didChangeConfiguration with runOnSave: true', 30_000);
  log('the server was sent runOnSave: true');
  await ui.replaceLine(page, '1 hello', '1 bye');
  n = commandsSent(t).length;
  const saves = traffic(t).filter((m) => m.method === 'textDocument/didSave').length;
  await ui.save(page);
  await expectHints(page, { '$ echo hello': FAIL_HINT, "$ printf 'a": PASS_HINT }, 'from the run on save (✗ on echo)', 120_000);
  await ui.waitForProblemRow(page, (r) => problemMessage(r).split('\n').slice(-2).join('|') === '-1 bye|+1 hello',
    'the diagnostic -1 bye / +1 hello from the run on save', 30_000);
  // In the traffic after this save (the log file can lag behind the screen: wait for the progress to end there):
  // the server began one run, and the extension sent no command.
  const afterSave = await ui.waitFor(page, () => {
    const msgs = traffic(t);
    const i = msgs.map((m) => m.method === 'textDocument/didSave').lastIndexOf(true);
    const rest = msgs.slice(i + 1);
    const ended = rest.some((m) => m.method === '$/progress' && m.body?.value?.kind === 'end');
    return msgs.filter((m) => m.method === 'textDocument/didSave').length > saves && ended ? rest : null;
  }, 'the didSave and the end of the run it started in the LSP traffic', 30_000);
  const began = afterSave.filter((m) => m.method === '$/progress' && m.body?.value?.kind === 'begin').map((m) => m.body.value.title);
  check(began.length === 1 && began[0] === 'cmdt: run demo.cmdt', `expected one run begun by the server after the save, got ${JSON.stringify(began)}`);
  check(commandsSent(t).length === n, `the extension sent commands on save: ${JSON.stringify(commandsSent(t).slice(n))}`);
  log('cmdt.runOnSave: the server ran the transcript on save; the extension sent no command');

  // Accept through the lens this time, and save: the run on save passes and is cached.
  n = commandsSent(t).length;
  await ui.clickLens(page, '✓ Accept actual output');
  const accepted2 = await commandAnswered(t, n, 'cmdt.accept', 30_000);
  check(accepted2.args[1] === 2 && accepted2.result?.status === 'updated', `cmdt.accept from the lens: ${JSON.stringify(accepted2)}`);
  await ui.waitFor(page, async () => (await ui.editorText(page)).split('\n').includes('1 hello'), 'the lens to restore "1 hello"', 30_000);
  await ui.save(page);
  await expectHints(page, { '$ echo hello': PASS_HINT, "$ printf 'a": PASS_HINT, '# cmdt e2e': /^cached ✓ just now$/ }, '✓ after the run on save', 120_000);
  await ui.waitFor(page, async () => (await ui.problemCounts(page)).errors === 0, 'no errors after the passing run on save', 30_000);
  await expectLens(page, '▶ Run · cached ✓ just now', 'after the passing run on save');
  await expectStatusItem(page, 'cmdt: cached ✓ just now', 'after the passing run on save');
  check(commandsSent(t).length === n + 1, `commands sent besides the accept: ${JSON.stringify(commandsSent(t).slice(n + 1))}`);
  const sent = commandsSent(t).map((c) => c.command);
  log(`commands sent in all: ${JSON.stringify(sent)}`);
  // The final state, for the screenshots: the editor with its lenses and hints, without the Problems panel.
  // server-docs.png is the documentation's picture (docs/images/vscode.png: copy it there to refresh it), taken
  // in a smaller window so that it shows the whole workbench without much empty space.
  await ui.closePanel(page);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 1280, height: 460 });
  await expectHints(page, { '$ echo hello': PASS_HINT, "$ printf 'a": PASS_HINT, '# cmdt e2e': /^cached ✓ just now$/ }, 'in the smaller window');
  await expectLens(page, '▶ Run · cached ✓ just now', 'in the smaller window');
  await ui.screenshot(page, path.join(outDir, `${t.name}-docs.png`));
  await page.setViewportSize(size);
}

// ------------------------------------------------------------------ driver

const scenarios = [
  {
    name: 'no-server',
    fixture: 'grammar',
    settings: () => ({ 'cmdt.server.path': '/nonexistent/cmdt-lsp' }),
    fn: noServer,
  },
  {
    name: 'server',
    fixture: 'server',
    needsServer: true,
    // verbose: the harness reads the LSP traffic (commands sent, their answers) from the output channel's log.
    settings: () => ({ 'cmdt.server.path': process.env.CMDT_LSP, 'cmdt.trace.server': 'verbose' }),
    fn: withServer,
  },
  {
    name: 'testing',
    fixture: 'testing',
    needsServer: true,
    settings: () => ({ 'cmdt.server.path': process.env.CMDT_LSP, 'cmdt.trace.server': 'verbose',
      // A failure opens its peek (with the compare view) wherever it is, not only in a visible editor: the
      // Test Results panel the test can also use is not always opened and expanded by VS Code.
      'testing.automaticallyOpenPeekView': 'failureAnywhere' }),
    fn: testingScenario,
  },
];

async function runScenario(sc, tools, extensionsDir) {
  const root = mkTemp(`cmdt-e2e-${sc.name}-`);
  const ws = path.join(root, 'ws');
  copyDir(path.join(fixtures, sc.fixture), ws);
  const cs = new CodeServer(tools, { root, extensionsDir, settings: sc.settings() });
  let ctx;
  let page;
  const t1 = Date.now();
  try {
    await cs.start(ws, { XDG_CACHE_HOME: path.join(root, 'cache') });
    log(`${sc.name}: code-server up on ${cs.url}`);
    ctx = await launchBrowser(tools, path.join(root, 'chromium'));
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(60_000 * ui.timeoutScale);
    await page.goto(cs.openUrl(ws, ui.firstFile(ws)));
    await sc.fn({ name: sc.name, page, cs, ws, root, outDir, settings: sc.settings() });
    await ui.screenshot(page, path.join(outDir, `${sc.name}-final.png`));
    const secs = ((Date.now() - t1) / 1000).toFixed(1);
    log(`${sc.name}: PASS (${secs} s)`);
    return { name: sc.name, ok: true, secs };
  } catch (err) {
    const shot = path.join(outDir, `${sc.name}-FAILED.png`);
    if (page) {
      await ui.screenshot(page, shot).catch(() => undefined);
    }
    const kind = err instanceof AssertionFailed || err?.name === 'TimeoutError' ? 'assertion failed' : 'error';
    console.error(`\n[e2e] ${sc.name}: FAIL (${kind}): ${err?.stack || err}`);
    console.error(`[e2e] screenshot: ${shot}`);
    console.error(`[e2e] code-server log (tail):\n${cs.logTail(25)}`);
    const extLogs = cs.vscodeLogs(/cmdt|exthost/i);
    if (extLogs) {
      fs.writeFileSync(path.join(outDir, `${sc.name}-vscode-logs.txt`), extLogs);
      console.error(`[e2e] VS Code logs: ${path.join(outDir, `${sc.name}-vscode-logs.txt`)}`);
    }
    return { name: sc.name, ok: false, secs: ((Date.now() - t1) / 1000).toFixed(1) };
  } finally {
    const tc = Date.now();
    await ctx?.close().catch(() => undefined);
    const tk = Date.now();
    await cs.stop();
    log(`${sc.name}: browser closed in ${((tk - tc) / 1000).toFixed(1)} s, code-server stopped in ${((Date.now() - tk) / 1000).toFixed(1)} s`);
    if (!keep) {
      fs.rmSync(root, { recursive: true, force: true });
    } else {
      log(`${sc.name}: kept ${root}`);
    }
  }
}

async function main() {
  const start = Date.now();
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of fs.readdirSync(outDir)) {
    if (/\.(png|txt)$/.test(f)) {
      fs.rmSync(path.join(outDir, f)); // results of an earlier run
    }
  }
  const tools = findTools();
  log(`strict (a skip is a failure): ${strict ? 'yes' : 'no'} (${strictWhy})`);

  let vsix = process.env.CMDT_VSIX;
  if (!vsix) {
    if (!fs.existsSync(path.join(extDir, 'node_modules', '.bin', 'vsce'))) {
      log('npm ci');
      run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: extDir, quiet: true });
    }
    log('npm run package');
    run('npm', ['run', 'package'], { cwd: extDir, quiet: true });
    vsix = path.join(extDir, 'cmdt.vsix');
  }
  vsix = path.resolve(vsix);
  check(fs.existsSync(vsix), `no .vsix at ${vsix}`);

  const shared = mkTemp('cmdt-e2e-ext-');
  const installer = new CodeServer(tools, { root: shared, extensionsDir: path.join(shared, 'extensions'), settings: {} });
  log(`installing ${path.basename(vsix)} into code-server`);
  installer.installExtension(vsix);
  const installed = fs.readdirSync(installer.extensionsDir).filter((d) => d.startsWith('cmdt-dev.cmdt-'));
  check(installed.length === 1, `extension not installed: ${fs.readdirSync(installer.extensionsDir).join(', ')}`);

  const lsp = process.env.CMDT_LSP ? path.resolve(process.env.CMDT_LSP) : '';
  if (lsp) {
    process.env.CMDT_LSP = lsp;
  }
  // A server without what the scenario drives (an old build) fails here, with what it lacks, not half-way through.
  let serverProblem = '';
  if (lsp && fs.existsSync(lsp)) {
    const init = await probeServer(lsp);
    const caps = init?.capabilities ?? {};
    const commands = caps.executeCommandProvider?.commands ?? [];
    const lacks = [
      ...REQUIRED_COMMANDS.filter((c) => !commands.includes(c)),
      ...(caps.codeLensProvider ? [] : ['code lenses']),
      ...(caps.inlayHintProvider ? [] : ['inlay hints']),
    ];
    serverProblem = lacks.length ? `${lsp} lacks ${lacks.join(', ')}` : '';
    log(`server ${lsp}: ${init?.serverInfo?.name ?? '?'} ${init?.serverInfo?.version ?? ''}; commands ${JSON.stringify(commands)}`);
  }
  const results = [];
  for (const sc of scenarios) {
    if (only.length && !only.includes(sc.name)) {
      continue;
    }
    if (sc.needsServer && !(lsp && fs.existsSync(lsp))) {
      const why = lsp ? `CMDT_LSP=${lsp} does not exist` : 'CMDT_LSP is not set';
      if (strict) {
        console.error(`[e2e] ${sc.name}: FAIL: ${why} (strict: ${strictWhy})`);
        results.push({ name: sc.name, ok: false });
      } else {
        log(`${sc.name}: SKIPPED (${why})`);
        results.push({ name: sc.name, ok: true, skipped: true });
      }
      continue;
    }
    if (sc.needsServer && serverProblem) {
      console.error(`[e2e] ${sc.name}: FAIL: ${serverProblem}`);
      results.push({ name: sc.name, ok: false });
      continue;
    }
    results.push(await runScenario(sc, tools, installer.extensionsDir));
  }
  if (!keep) {
    fs.rmSync(shared, { recursive: true, force: true });
  }

  const passed = results.filter((r) => r.ok && !r.skipped).length;
  const failed = results.filter((r) => !r.ok).length;
  const skipped = results.filter((r) => r.skipped).length;
  log(`screenshots in ${outDir}`);
  const times = results.filter((r) => r.secs).map((r) => `${r.name} ${r.secs} s, `).join('');
  log(`times: ${times}total ${((Date.now() - start) / 1000).toFixed(1)} s`);
  console.log(`e2e: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(`[e2e] ${err?.stack || err}`);
  process.exitCode = 2;
});
