import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  RUN_TEST_METHOD,
  RunTestResult,
  STALE_METHOD,
  StaleParams,
  TEST_TREE_METHOD,
  TestTranscript,
  WATCH_METHOD,
  WatchResult,
  folderLabel,
  transcriptsToRun,
} from './testProtocol';

/**
 * Transcripts in VS Code's Testing view, driven by the server's test capability (docs/lsp.md, "Tests"):
 * cmdt/testTree discovers transcripts and their command blocks without running anything; cmdt/runTest runs one;
 * continuous runs turn on the server's watcher (cmdt/watch) and run exactly what each cmdt/stale notification
 * names, never everything on save.
 */
export class TranscriptTests implements vscode.Disposable {
  readonly controller = vscode.tests.createTestController('cmdt', 'cmdt transcripts');
  private readonly disposables: vscode.Disposable[] = [this.controller];
  private client: LanguageClient | undefined;
  private notification: vscode.Disposable | undefined;
  /** Continuous runs in progress: each with the items it covers (undefined: all) and its profile. */
  private readonly continuous = new Set<{ include?: readonly vscode.TestItem[]; update: boolean }>();
  private readonly runProfile: vscode.TestRunProfile;

  constructor(
    private readonly getClient: () => Promise<LanguageClient | undefined>,
    private readonly output: vscode.OutputChannel,
  ) {
    this.controller.resolveHandler = async (item) => {
      if (!item) {
        await this.discover();
      }
    };
    this.controller.refreshHandler = async () => this.discover();
    this.runProfile = this.controller.createRunProfile(
      'Run',
      vscode.TestRunProfileKind.Run,
      (req, token) => this.run(req, token, false),
      true,
      undefined,
      true, // supportsContinuousRun
    );
    this.controller.createRunProfile('Update expectations', vscode.TestRunProfileKind.Run, (req, token) => this.run(req, token, true), false);
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.cmdt');
    this.disposables.push(
      watcher,
      watcher.onDidCreate((u) => void this.refresh([u])),
      watcher.onDidChange((u) => void this.refresh([u])),
      watcher.onDidDelete((u) => this.remove(u)),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d.languageId === 'cmdt') {
          void this.refresh([d.uri]);
        }
      }),
    );
  }

  /** Called when a (new) language client is running: listens for the stale set and re-lists the tree. */
  attach(c: LanguageClient): void {
    this.client = c;
    this.notification?.dispose();
    this.notification = c.onNotification(STALE_METHOD, (p: StaleParams) => void this.onStale(p));
    if (this.continuous.size > 0) {
      void this.setWatch(true);
    }
    void this.discover();
  }

  dispose(): void {
    this.notification?.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  private async ready(): Promise<LanguageClient | undefined> {
    return this.client ?? (await this.getClient());
  }

  /** Lists every transcript of the workspace. */
  private async discover(): Promise<void> {
    const c = await this.ready();
    if (!c) {
      return;
    }
    try {
      const res = await c.sendRequest<{ transcripts: TestTranscript[] }>(TEST_TREE_METHOD, {});
      const seen = new Set(res.transcripts.map((t) => t.uri));
      this.forEachTranscript((item) => {
        if (!seen.has(item.id)) {
          this.remove(item.uri!);
        }
      });
      for (const t of res.transcripts) {
        this.upsert(t);
      }
    } catch (err) {
      this.output.appendLine(`${TEST_TREE_METHOD}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Re-lists some transcripts (created, changed or saved). */
  private async refresh(uris: vscode.Uri[]): Promise<void> {
    const c = await this.ready();
    const files = uris.filter((u) => u.scheme === 'file' && vscode.workspace.getWorkspaceFolder(u));
    if (!c || files.length === 0) {
      return;
    }
    try {
      const res = await c.sendRequest<{ transcripts: TestTranscript[] }>(TEST_TREE_METHOD, { uris: files.map((u) => u.toString()) });
      for (const t of res.transcripts) {
        this.upsert(t);
      }
    } catch (err) {
      this.output.appendLine(`${TEST_TREE_METHOD}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private forEachTranscript(fn: (item: vscode.TestItem) => void): void {
    this.controller.items.forEach((top) => {
      if (top.uri && top.id === top.uri.toString()) {
        fn(top);
      } else {
        top.children.forEach(fn);
      }
    });
  }

  private findTranscript(id: string): vscode.TestItem | undefined {
    let found: vscode.TestItem | undefined;
    this.forEachTranscript((item) => {
      if (item.id === id) {
        found = item;
      }
    });
    return found;
  }

  /** The collection a transcript goes in: its folder's group, or the top level for a workspace folder's root. */
  private parentCollection(uri: vscode.Uri): vscode.TestItemCollection {
    const ws = vscode.workspace.getWorkspaceFolder(uri);
    const label = folderLabel(ws?.uri.fsPath ?? path.dirname(uri.fsPath), uri.fsPath, (vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? ws?.name : undefined);
    if (!label) {
      return this.controller.items;
    }
    let group = this.controller.items.get(`folder:${label}`);
    if (!group) {
      group = this.controller.createTestItem(`folder:${label}`, label, vscode.Uri.file(path.dirname(uri.fsPath)));
      this.controller.items.add(group);
    }
    return group.children;
  }

  private upsert(t: TestTranscript): void {
    const uri = vscode.Uri.parse(t.uri);
    let item = this.findTranscript(t.uri);
    if (!item) {
      item = this.controller.createTestItem(t.uri, path.basename(uri.fsPath), uri);
      this.parentCollection(uri).add(item);
    }
    item.range = new vscode.Range(0, 0, 0, 0);
    item.error = t.errors?.length ? `line ${t.errors[0].line + 1}: ${t.errors[0].message}` : undefined;
    const children: vscode.TestItem[] = [];
    for (const cmd of t.commands) {
      const first = cmd.command.split('\n')[0];
      const child = this.controller.createTestItem(`${t.uri}#${cmd.line}`, `$ ${first}`, uri);
      child.range = new vscode.Range(cmd.line, 0, cmd.endLine, 0);
      children.push(child);
    }
    item.children.replace(children);
  }

  private remove(uri: vscode.Uri): void {
    const id = uri.toString();
    this.controller.items.delete(id);
    this.controller.items.forEach((top) => {
      top.children.delete(id);
      if (top.id.startsWith('folder:') && top.children.size === 0) {
        this.controller.items.delete(top.id);
      }
    });
  }

  /** Runs the requested transcripts once, or, for a continuous request, whatever goes stale until cancelled. */
  private async run(req: vscode.TestRunRequest, token: vscode.CancellationToken, update: boolean): Promise<void> {
    if (req.continuous) {
      const session = { include: req.include, update };
      this.continuous.add(session);
      await this.setWatch(true);
      await new Promise<void>((resolve) => token.onCancellationRequested(() => resolve()));
      this.continuous.delete(session);
      if (this.continuous.size === 0) {
        await this.setWatch(false);
      }
      return;
    }
    const transcripts = transcriptsToRun(this.all(), req.include, req.exclude);
    await this.runTranscripts(req, transcripts, update, token);
  }

  private all(): vscode.TestItem[] {
    const out: vscode.TestItem[] = [];
    this.forEachTranscript((i) => out.push(i));
    return out;
  }

  private async runTranscripts(req: vscode.TestRunRequest, items: vscode.TestItem[], update: boolean, token: vscode.CancellationToken, reasons?: Map<string, string[]>): Promise<void> {
    const run = this.controller.createTestRun(req, undefined, true);
    const c = await this.ready();
    for (const item of items) {
      run.enqueued(item);
    }
    // A few at a time: each is a process tree of its own.
    const queue = [...items];
    const worker = async () => {
      for (let item = queue.shift(); item && !token.isCancellationRequested; item = queue.shift()) {
        await this.runOne(run, c, item, update, token, reasons?.get(item.id));
      }
    };
    await Promise.all([worker(), worker()]);
    run.end();
  }

  private async runOne(run: vscode.TestRun, c: LanguageClient | undefined, item: vscode.TestItem, update: boolean, token: vscode.CancellationToken, why?: string[]): Promise<void> {
    run.started(item);
    item.children.forEach((child) => run.started(child));
    if (!c) {
      run.errored(item, new vscode.TestMessage('the cmdt language server is not running'));
      return;
    }
    if (why?.length) {
      run.appendOutput(`${item.label}: ${why.join(', ')}\r\n`, undefined, item);
    }
    let res: RunTestResult;
    try {
      if (update) {
        await vscode.workspace.openTextDocument(item.uri!); // the update is an edit of the document
      }
      res = await c.sendRequest<RunTestResult>(RUN_TEST_METHOD, { uri: item.id, update }, token);
    } catch (err) {
      run.errored(item, new vscode.TestMessage(err instanceof Error ? err.message : String(err)));
      return;
    }
    reportResult(run, item, res);
  }

  /** A batch of changes made transcripts stale: continuous runs run exactly those. */
  private async onStale(p: StaleParams): Promise<void> {
    for (const u of p.removed ?? []) {
      this.remove(vscode.Uri.parse(u));
    }
    if (p.stale.length === 0) {
      return;
    }
    const unknown = p.stale.filter((s) => !this.findTranscript(s.uri)).map((s) => vscode.Uri.parse(s.uri));
    if (unknown.length) {
      await this.refresh(unknown);
    }
    for (const session of this.continuous) {
      const all = p.stale.map((s) => this.findTranscript(s.uri)).filter((i): i is vscode.TestItem => !!i);
      const items = session.include ? transcriptsToRun(all, session.include, undefined).filter((i) => all.includes(i)) : all;
      if (items.length === 0) {
        continue;
      }
      const reasons = new Map(p.stale.map((s) => [s.uri, s.reasons]));
      this.output.appendLine(`continuous run: ${items.map((i) => `${i.label} (${reasons.get(i.id)?.join(', ')})`).join('; ')}`);
      const req = new vscode.TestRunRequest(items, undefined, this.runProfile, true);
      await this.runTranscripts(req, items, false, new vscode.CancellationTokenSource().token, reasons);
    }
  }

  private async setWatch(enabled: boolean): Promise<void> {
    const c = await this.ready();
    if (!c) {
      return;
    }
    try {
      const res = await c.sendRequest<WatchResult>(WATCH_METHOD, { enabled });
      this.output.appendLine(enabled ? `watching ${res.directories} directories for continuous runs` : 'continuous runs stopped');
    } catch (err) {
      this.output.appendLine(`${WATCH_METHOD}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Reports a transcript's result on its item and its command items. */
function reportResult(run: vscode.TestRun, item: vscode.TestItem, res: RunTestResult): void {
  const uri = item.uri!;
  item.description = res.cached ? 'cached ✓' : undefined;
  if (res.status === 'error') {
    run.errored(item, new vscode.TestMessage(res.error || res.text));
    item.children.forEach((child) => run.skipped(child));
    return;
  }
  if (res.status === 'cancelled') {
    run.skipped(item);
    item.children.forEach((child) => run.skipped(child));
    return;
  }
  const byLine = new Map((res.commands ?? []).map((cmd) => [cmd.line, cmd]));
  const failures: vscode.TestMessage[] = [];
  item.children.forEach((child) => {
    const line = Number(child.id.slice(child.id.lastIndexOf('#') + 1));
    const cmd = byLine.get(line);
    if (res.cached) {
      run.passed(child);
    } else if (!cmd) {
      run.skipped(child); // did not run (an earlier `exit`), or the text changed since the tree was listed
    } else if (cmd.status === 'failed') {
      const msg = cmd.expected !== undefined && cmd.actual !== undefined && (cmd.expected || cmd.actual)
        ? vscode.TestMessage.diff(cmd.message ?? 'failed', cmd.expected, cmd.actual)
        : new vscode.TestMessage(cmd.message ?? 'failed');
      msg.location = new vscode.Location(uri, new vscode.Position(cmd.line, 0));
      failures.push(msg);
      run.failed(child, msg, cmd.durationMs);
    } else {
      run.passed(child, cmd.durationMs);
    }
  });
  if (failures.length > 0 || res.status === 'failed') {
    run.failed(item, failures.length ? failures : [new vscode.TestMessage(res.text)], res.durationMs);
  } else {
    run.passed(item, res.durationMs);
  }
}
