// Finding the cmdt-lsp executable. Pure logic (no 'vscode' import) so it can be unit-tested with node --test.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const SERVER_NAME = 'cmdt-lsp';
export const INSTALL_COMMAND = 'go install github.com/cmdt-dev/cmdt/cmd/cmdt-lsp@latest';

export interface ResolveEnv {
  /** Value of the cmdt.server.path setting ('' or undefined: not set). */
  configured?: string;
  /** Environment variables (PATH, GOBIN, GOPATH, HOME...). */
  env: Record<string, string | undefined>;
  /** First workspace folder's file system path, if any. */
  workspaceFolder?: string;
  platform?: NodeJS.Platform;
  homedir?: string;
  /** Returns true if p is an executable regular file. Default: fs.accessSync(X_OK) + isFile. */
  isExecutable?: (p: string) => boolean;
  /** Returns true if anything exists at p. Default: fs.statSync. */
  exists?: (p: string) => boolean;
}

export type Resolution =
  | { ok: true; path: string; source: 'setting' | 'PATH' | 'go-bin' }
  | { ok: false; reason: 'setting-not-found' | 'not-executable' | 'not-on-path'; tried: string[]; message: string };

export function defaultIsExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Expands a leading ~ and ${workspaceFolder}/${env:NAME}; makes a relative path absolute from the workspace folder. */
export function expandConfiguredPath(
  configured: string,
  opts: { env: Record<string, string | undefined>; workspaceFolder?: string; homedir?: string; platform?: NodeJS.Platform },
): string {
  const home = opts.homedir ?? os.homedir();
  let p = configured.trim();
  p = p.replace(/\$\{workspaceFolder\}/g, opts.workspaceFolder ?? '');
  p = p.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => opts.env[name] ?? '');
  p = p.replace(/\$\{userHome\}/g, home);
  if (p === '~') {
    p = home;
  } else if (p.startsWith('~/') || p.startsWith('~\\')) {
    p = path.join(home, p.slice(2));
  }
  const pathApi = (opts.platform ?? process.platform) === 'win32' ? path.win32 : path.posix;
  if (!pathApi.isAbsolute(p) && opts.workspaceFolder && p.includes(pathApi.sep)) {
    p = pathApi.join(opts.workspaceFolder, p);
  }
  return p;
}

function exeNames(name: string, platform: NodeJS.Platform, env: Record<string, string | undefined>): string[] {
  if (platform !== 'win32' || path.extname(name)) {
    return [name];
  }
  const exts = (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean);
  return [name, ...exts.map((e) => name + e.toLowerCase()), ...exts.map((e) => name + e)];
}

/** Directories that `go install` writes to: $GOBIN, else each $GOPATH entry's bin, else ~/go/bin. */
export function goBinDirs(env: Record<string, string | undefined>, homedir: string, platform: NodeJS.Platform): string[] {
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  const dirs: string[] = [];
  if (env.GOBIN) {
    dirs.push(env.GOBIN);
  }
  const gopath = env.GOPATH;
  if (gopath) {
    for (const p of gopath.split(platform === 'win32' ? ';' : ':')) {
      if (p) {
        dirs.push(pathApi.join(p, 'bin'));
      }
    }
  } else {
    dirs.push(pathApi.join(homedir, 'go', 'bin'));
  }
  return dirs;
}

/** Looks a program name up in a PATH-like list of directories. */
export function which(
  name: string,
  dirs: string[],
  platform: NodeJS.Platform,
  env: Record<string, string | undefined>,
  isExecutable: (p: string) => boolean,
  tried: string[] = [],
): string | undefined {
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  for (const dir of dirs) {
    if (!dir) {
      continue;
    }
    for (const n of exeNames(name, platform, env)) {
      const candidate = pathApi.join(dir, n);
      tried.push(candidate);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/**
 * Resolves the server executable: the cmdt.server.path setting if set (a path, or a bare program name looked up
 * on PATH), else `cmdt-lsp` on PATH, else in Go's install directories.
 */
export function resolveServerPath(r: ResolveEnv): Resolution {
  const platform = r.platform ?? process.platform;
  const homedir = r.homedir ?? os.homedir();
  const isExecutable = r.isExecutable ?? defaultIsExecutable;
  const exists = r.exists ?? pathExists;
  const pathDirs = (r.env.PATH ?? r.env.Path ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  const tried: string[] = [];

  const configured = (r.configured ?? '').trim();
  if (configured) {
    const p = expandConfiguredPath(configured, { env: r.env, workspaceFolder: r.workspaceFolder, homedir, platform });
    const isBareName = !p.includes('/') && !(platform === 'win32' && p.includes('\\'));
    if (isBareName) {
      const found = which(p, pathDirs, platform, r.env, isExecutable, tried);
      if (found) {
        return { ok: true, path: found, source: 'setting' };
      }
      return {
        ok: false,
        reason: 'setting-not-found',
        tried,
        message: `cmdt: the language server "${p}" (setting cmdt.server.path) was not found on PATH. ` +
          `Install it with: ${INSTALL_COMMAND}`,
      };
    }
    tried.push(p);
    if (isExecutable(p)) {
      return { ok: true, path: p, source: 'setting' };
    }
    return {
      ok: false,
      reason: exists(p) ? 'not-executable' : 'setting-not-found',
      tried,
      message: exists(p)
        ? `cmdt: the language server at ${p} (setting cmdt.server.path) is not an executable file.`
        : `cmdt: the language server was not found at ${p} (setting cmdt.server.path). ` +
          `Install it with: ${INSTALL_COMMAND} — or fix the setting.`,
    };
  }

  const onPath = which(SERVER_NAME, pathDirs, platform, r.env, isExecutable, tried);
  if (onPath) {
    return { ok: true, path: onPath, source: 'PATH' };
  }
  const inGoBin = which(SERVER_NAME, goBinDirs(r.env, homedir, platform).filter((d) => !pathDirs.includes(d)), platform,
    r.env, isExecutable, tried);
  if (inGoBin) {
    return { ok: true, path: inGoBin, source: 'go-bin' };
  }
  return {
    ok: false,
    reason: 'not-on-path',
    tried,
    message: `cmdt: the language server ${SERVER_NAME} was not found on PATH. ` +
      `Install it with: ${INSTALL_COMMAND} — or set cmdt.server.path.`,
  };
}

function pathExists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}
