// `knetlab up --watch`: the scenario file and the files it names, watched through their folders
// (editors save by writing a new file and renaming it over the old), changes gathered for a moment.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** How long changes are gathered before one reload: an editor's save is several events. */
export const DEBOUNCE_MS = 300;

export interface Watcher {
  /** Watches these files (absolute paths) from now on instead. */
  set(files: readonly string[]): void;
  close(): void;
}

/** Calls `changed` with the files changed, DEBOUNCE_MS after the last event; `failed` hears of a folder that cannot be watched. */
export function watchFiles(files: readonly string[], changed: (files: string[]) => void, failed: (dir: string, why: string) => void, debounceMs = DEBOUNCE_MS): Watcher {
  const byDir = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  const seen = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const note = (dir: string, name: string | null, names: Set<string>) => {
    // No name (some file systems): any of the folder's files may have changed.
    const hit = name === null ? [...names] : names.has(name) ? [name] : [];
    if (!hit.length) return;
    for (const n of hit) seen.add(`${dir}/${n}`);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const all = [...seen];
      seen.clear();
      changed(all);
    }, debounceMs);
  };
  const set = (wanted: readonly string[]) => {
    const dirs = new Map<string, Set<string>>();
    for (const f of wanted) {
      const d = dirname(f);
      if (!dirs.has(d)) dirs.set(d, new Set());
      dirs.get(d)!.add(basename(f));
    }
    for (const [d, w] of byDir)
      if (!dirs.has(d)) {
        w.watcher.close();
        byDir.delete(d);
      }
    for (const [d, names] of dirs) {
      const had = byDir.get(d);
      if (had) {
        had.names.clear();
        names.forEach((n) => had.names.add(n));
        continue;
      }
      try {
        const watcher = watch(d, { persistent: true }, (_event, name) => note(d, name === null ? null : String(name), names));
        watcher.on('error', (err) => failed(d, err.message));
        byDir.set(d, { watcher, names });
      } catch (err) {
        failed(d, (err as NodeJS.ErrnoException).code ?? String(err));
      }
    }
  };
  set(files);
  return {
    set,
    close: () => {
      clearTimeout(timer);
      for (const w of byDir.values()) w.watcher.close();
      byDir.clear();
    },
  };
}
