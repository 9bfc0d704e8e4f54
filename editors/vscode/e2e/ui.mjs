// Page helpers for VS Code 1.139 (code-server) driven by playwright-core. Selectors per /work/shared/notes/vscode-e2e.md.
import * as fs from 'node:fs';
import { AssertionFailed, log } from './lib.mjs';

const EDITOR = '.part.editor .editor-group-container.active .monaco-editor';

export function firstFile(ws) {
  return fs.readdirSync(ws).filter((f) => f.endsWith('.cmdt')).sort()[0];
}

/**
 * Ceilings are multiplied by CMDT_E2E_TIMEOUT_SCALE (default 3): a ceiling only bounds how long a broken run takes
 * to fail, so it is generous; a passing run never waits for it (every wait polls for a state, none sleeps).
 */
export const timeoutScale = Math.max(1, Number(process.env.CMDT_E2E_TIMEOUT_SCALE) || 3);

/** Polls fn until it returns a truthy value (returned), or fails with a message naming what was awaited. */
export async function waitFor(page, fn, what, timeout = 60_000) {
  timeout *= timeoutScale;
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) {
        return v;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new AssertionFailed(`timed out after ${timeout / 1000} s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await page.waitForTimeout(250);
  }
}

export async function screenshot(page, file) {
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}

/** Waits until the workbench shows an editor for `name` with rendered text. */
export async function openEditor(page, name) {
  await waitFor(page, () => page.locator(`.part.editor .tab.active`).filter({ hasText: name }).count(), `an editor tab for ${name}`, 90_000);
  await waitFor(page, () => page.locator(`${EDITOR} .view-line`).count(), `the text of ${name}`);
}

/** Focuses the active editor by clicking one of its rendered lines (only visible lines are in the DOM). */
export async function focusEditor(page) {
  await page.locator(`${EDITOR} .view-line`).last().click({ position: { x: 2, y: 2 } });
}

export async function languageMode(page) {
  return (await page.locator('#status\\.editor\\.mode').innerText()).trim();
}

export async function expectLanguageMode(page, mode) {
  await waitFor(page, async () => (await languageMode(page)) === mode, `language mode "${mode}"`, 30_000).catch(async (err) => {
    throw new AssertionFailed(`${err.message}; status bar shows "${await languageMode(page).catch(() => '?')}"`);
  });
}

/** The active editor's visible lines, top to bottom, with each token's text, class and colour. */
export async function lineTokens(page) {
  return page.locator(`${EDITOR} .view-lines`).evaluate((root) => {
    const lines = [...root.querySelectorAll(':scope > .view-line')].map((el) => ({
      top: parseFloat(el.style.top) || 0,
      text: el.textContent.replace(/\u00a0/g, ' '),
      spans: [...el.querySelectorAll('span > span')].map((s) => ({
        text: s.textContent.replace(/\u00a0/g, ' '),
        cls: s.className,
        color: getComputedStyle(s).color,
      })),
    }));
    return lines.sort((a, b) => a.top - b.top);
  });
}

/** The active editor's text (visible lines), without inlay hints. */
export async function editorText(page) {
  return page.locator(`${EDITOR} .view-lines`).evaluate((root) => {
    const lines = [...root.querySelectorAll(':scope > .view-line')].map((el) => {
      const c = el.cloneNode(true);
      c.querySelectorAll('span[class*="dyn-rule"]').forEach((s) => s.remove());
      return { top: parseFloat(el.style.top) || 0, text: c.textContent.replace(/\u00a0/g, ' ') };
    });
    return lines.sort((a, b) => a.top - b.top).map((l) => l.text).join('\n');
  });
}

/** Texts of the inlay hints shown in the active editor. */
export async function inlayHints(page) {
  return page.locator(`${EDITOR} .view-lines span[class*="dyn-rule"]`).evaluateAll((els) =>
    els.map((e) => e.textContent.replace(/\u00a0/g, ' ').trim()).filter(Boolean),
  );
}

export async function toasts(page) {
  return page.locator('.notifications-toasts .notification-list-item').evaluateAll((els) => els.map((e) => e.innerText));
}

export async function waitForToast(page, re, timeout = 60_000) {
  return waitFor(page, async () => (await toasts(page)).find((t) => re.test(t)), `a notification matching ${re}`, timeout);
}

export async function waitForNoToast(page, re, timeout = 15_000) {
  return waitFor(page, async () => !(await toasts(page)).some((t) => re.test(t)), `no notification matching ${re}`, timeout);
}

/** Runs a command palette entry by its exact label ("cmdt: Run transcript"). */
export async function runCommand(page, label) {
  const input = page.locator('.quick-input-widget input');
  // F1 can be lost while the workbench is busy: press it again until the palette shows.
  await waitFor(page, async () => {
    if (await input.isVisible().catch(() => false)) {
      return true;
    }
    await page.keyboard.press('F1');
    return input.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false);
  }, 'the command palette', 30_000);
  await input.fill(`>${label}`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
  });
  await waitFor(page, () => row.count(), `the command "${label}" in the palette`, 30_000);
  await row.first().click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' }).catch(() => undefined);
}

export async function openFromExplorer(page, name) {
  const row = page.locator('.explorer-folders-view .monaco-list-row').filter({ hasText: new RegExp(`^${name.replace('.', '\\.')}$`) });
  await waitFor(page, () => row.count(), `${name} in the Explorer`, 30_000);
  await row.first().click();
  await openEditor(page, name);
}

/** Error/warning counts from the status bar's problems item. */
export async function problemCounts(page) {
  const label = (await page.locator('#status\\.problems').getAttribute('aria-label')) ?? '';
  const n = (re) => {
    const m = re.exec(label);
    return m ? parseInt(m[1], 10) : 0;
  };
  return { errors: n(/Errors?: (\d+)/i), warnings: n(/Warnings?: (\d+)/i), label };
}

export async function openProblems(page) {
  if (await page.locator('.markers-panel').isVisible().catch(() => false)) {
    return;
  }
  await page.locator('#status\\.problems').click();
  await page.locator('.markers-panel').waitFor({ state: 'visible' });
}

/** aria-labels of the Problems panel rows (markers carry their full message there). */
export async function problemRows(page) {
  await openProblems(page);
  return page.locator('.markers-panel .monaco-list-row').evaluateAll((els) =>
    els.map((e) => e.getAttribute('aria-label') || e.innerText),
  );
}

// Code lenses of the editor part. Not scoped to the active group's editor: there is one group here, and its
// "active" class comes and goes with focus (the Problems panel takes it), which hid lenses that were on screen.
const LENS = '.part.editor .monaco-editor .codelens-decoration';

/** Titles of the clickable code lenses (`a` elements: VS Code renders a lens without a command as a span). */
export async function lenses(page) {
  return page.locator(`${LENS} a`).evaluateAll((els) => els.map((e) => e.textContent.trim()));
}

/**
 * Under load VS Code sometimes renders the lenses it has as plain spans, without their commands (not clickable),
 * and keeps them so until the document changes (seen in 2 of 10 runs with the machine's cores busy; the server had
 * answered textDocument/codeLens once, with commands, and was not asked again). When only such spans have shown
 * the wanted title for 15 s, this edits the buffer and undoes it, which makes VS Code ask for the lenses again.
 * It returns whether it did (the caller keeps waiting for the clickable lens either way).
 */
let unclickableSince = 0;
export async function nudgeUnclickableLenses(page, title) {
  const spans = await page.locator(`${LENS} span`).evaluateAll((els) => els.map((e) => e.textContent.trim()));
  const stuck = spans.some((t) => t.startsWith(title)) && !(await lenses(page)).some((t) => t.startsWith(title));
  if (!stuck) {
    unclickableSince = 0;
    return false;
  }
  if (!unclickableSince) {
    unclickableSince = Date.now();
  }
  if (Date.now() - unclickableSince < 15_000) {
    return false;
  }
  unclickableSince = 0;
  log(`the lens "${title}" has shown without its command for 15 s: editing and undoing to have VS Code ask again`);
  await focusEditor(page);
  await page.keyboard.press('Control+End');
  await page.keyboard.type(' ');
  await page.keyboard.press('Control+Z');
  return true;
}

/** Every code lens element as TAG:text, for failure messages. */
export async function lensElements(page) {
  return page.locator(`${LENS} > *`).evaluateAll((els) => els.map((e) => `${e.tagName.toLowerCase()}:${e.textContent.trim()}`).filter((s) => !s.endsWith(':|')));
}

export async function hasLens(page, prefix) {
  return (await lenses(page)).some((l) => l.startsWith(prefix));
}

export async function clickLens(page, prefix, timeout = 60_000) {
  // Lenses are re-rendered whenever the server refreshes them (after a run, a status change): one found may be
  // replaced before the click lands. Find and click in one step, and try again until a click lands.
  let clicked = null;
  await waitFor(page, async () => {
    await nudgeUnclickableLenses(page, prefix);
    const all = page.locator(`${LENS} a`);
    const n = await all.count();
    for (let i = 0; i < n; i++) {
      const t = ((await all.nth(i).textContent({ timeout: 1_000 }).catch(() => '')) ?? '').trim();
      if (t.startsWith(prefix)) {
        await all.nth(i).click({ timeout: 5_000 });
        clicked = t;
        return true;
      }
    }
    return false;
  }, `a code lens "${prefix}…" to click`, timeout).catch(async (err) => {
    throw new AssertionFailed(`${err.message}; lens elements: ${JSON.stringify(await lensElements(page))}`);
  });
  log(`clicked lens "${clicked}"`);
  return clicked;
}

async function clickLine(page, text) {
  await focusEditor(page);
  await page.keyboard.press('Control+Home');
  const line = page.locator(`${EDITOR} .view-line`).filter({ hasText: text });
  await waitFor(page, () => line.count(), `an editor line containing "${text}"`, 30_000);
  await line.first().click();
}

export async function deleteLineContaining(page, text) {
  await clickLine(page, text);
  await page.keyboard.press('Control+Shift+K');
  await waitFor(page, async () => !(await editorText(page)).includes(text), `the line "${text}" to be deleted`, 10_000);
}

export async function save(page) {
  // Every caller has just edited the buffer: wait for the tab to be marked dirty, then save until it is clean.
  const dirty = page.locator('.part.editor .tab.active.dirty');
  await waitFor(page, () => dirty.count(), 'a dirty tab', 15_000);
  await waitFor(page, async () => {
    if ((await dirty.count()) === 0) {
      return true;
    }
    await page.keyboard.press('Control+S');
    return dirty.waitFor({ state: 'detached', timeout: 5_000 }).then(() => true, () => false);
  }, 'the file to be saved', 30_000);
}

/** Opens the quick-fix menu on the line containing `text` and applies the action whose title matches `re`. */
export async function quickFix(page, text, re) {
  const items = page.locator('.action-widget .monaco-list-row');
  // The menu needs the server's code actions for the line: under load they can come after the key press, and VS
  // Code then shows "No code actions available" and closes it. Ask again until the menu lists actions.
  await waitFor(page, async () => {
    if (await items.count()) {
      return true;
    }
    await page.keyboard.press('Escape');
    await clickLine(page, text);
    await page.keyboard.press('Control+Period');
    return items.first().waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false);
  }, 'the quick-fix menu', 60_000);
  const titles = await items.evaluateAll((els) => els.map((e) => e.innerText.trim()));
  const i = titles.findIndex((t) => re.test(t));
  if (i < 0) {
    throw new AssertionFailed(`no quick fix matching ${re}; offered: ${JSON.stringify(titles)}`);
  }
  log(`applying quick fix "${titles[i]}"`);
  await items.nth(i).click();
}

/** Types text on a new last line of the active editor. */
export async function typeAtEnd(page, text) {
  await focusEditor(page);
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
  await waitFor(page, async () => (await editorText(page)).includes(text), `"${text}" in the buffer`, 10_000);
}

/** Text of the extension's status-bar item (cmdt cache status), or null when it is not shown. */
export async function cmdtStatusItem(page) {
  // The DOM id is <publisher>.<extension name>.<item id>.
  const items = page.locator('.part.statusbar [id="cmdt-dev.cmdt.cmdt.status"]');
  if ((await items.count()) === 0) {
    return null;
  }
  return (await items.first().innerText()).trim();
}

/** Waits for a Problems panel row whose aria-label satisfies pred; fails listing the rows seen last. */
export async function waitForProblemRow(page, pred, what, timeout = 30_000) {
  let rows = [];
  try {
    return await waitFor(page, async () => {
      rows = await problemRows(page);
      return rows.find(pred);
    }, what, timeout);
  } catch (err) {
    throw new AssertionFailed(`${err.message}; Problems rows: ${JSON.stringify(rows)}`);
  }
}

/** Replaces the whole text of the first line containing `text` with `replacement` (typed, like a person). */
export async function replaceLine(page, text, replacement) {
  await clickLine(page, text);
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.type(replacement);
  await waitFor(page, async () => (await editorText(page)).split('\n').includes(replacement), `the line "${replacement}"`, 10_000);
}

/** The active editor's visible lines as {text, hints}: the text without inlay hints, and the hints on that line. */
export async function linesWithHints(page) {
  return page.locator(`${EDITOR} .view-lines`).evaluate((root) => {
    const clean = (s) => s.replace(/\u00a0/g, ' ');
    const lines = [...root.querySelectorAll(':scope > .view-line')].map((el) => {
      const c = el.cloneNode(true);
      c.querySelectorAll('span[class*="dyn-rule"]').forEach((s) => s.remove());
      const hints = [...el.querySelectorAll('span[class*="dyn-rule"]')].map((s) => clean(s.textContent).trim()).filter(Boolean);
      return { top: parseFloat(el.style.top) || 0, text: clean(c.textContent), hints };
    });
    return lines.sort((a, b) => a.top - b.top).map(({ text, hints }) => ({ text, hints }));
  });
}

/** The inlay hints on the first visible line that starts with `start` (null when there is no such line). */
export async function hintsOn(page, start) {
  const line = (await linesWithHints(page)).find((l) => l.text.startsWith(start));
  return line ? line.hints : null;
}

/** Hides the bottom panel (Problems, Output, ...) if it is shown. */
export async function closePanel(page) {
  const panel = page.locator('.part.panel');
  if (!(await panel.isVisible().catch(() => false))) {
    return;
  }
  await focusEditor(page);
  await page.keyboard.press('Control+J'); // View: Toggle Panel Visibility
  await waitFor(page, async () => !(await panel.isVisible().catch(() => false)), 'the panel to close', 10_000);
}
