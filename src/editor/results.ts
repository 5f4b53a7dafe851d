/**
 * Looks up stored results for the templates of a file, and decides whether a result is stale (the template text or
 * the label words changed since it was computed). Pure (no vscode).
 */
import { ResultsStore, canonicalJson, type IndexEntry } from '../engine/report/store';
import type { TemplateOutline } from './spec-outline';

export interface TemplateResult {
  entry: IndexEntry;
  stale: boolean;
}

/** A name-only item (`- manual`) uses the task's default template: its text is not in the file, so it is never stale. */
export function isStale(entry: Pick<IndexEntry, 'template' | 'words'>, t: Pick<TemplateOutline, 'template' | 'words'>): boolean {
  if (t.template === null && t.words === null && entry.template !== null) return false;
  return entry.template !== t.template || canonicalJson(entry.words) !== canonicalJson(t.words);
}

export function latestResult(store: ResultsStore, specFile: string, t: TemplateOutline): TemplateResult | undefined {
  let entry: IndexEntry | undefined;
  try {
    entry = store.latest(specFile, t.name);
  } catch {
    return undefined; // a damaged index.json: the CodeLens just shows no result (the panel/hover report the error)
  }
  return entry && { entry, stale: isStale(entry, t) };
}
