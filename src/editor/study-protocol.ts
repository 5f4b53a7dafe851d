/**
 * The study panel's contract: the JSON the study CLI prints (`study run --events` lines, the json format of
 * `study report`), what the host shows in the panel, and the panel's messages back (untrusted: checked with
 * isStudyPanelToHost). No vscode and no runtime imports, so the webview bundle, the host and plain mocha share it.
 */
import type { KernelKind, TemplateReport, Verdict } from '../engine/report/types';
import type { StudyCell, StudyTable } from '../engine/study/table';

// ---- the CLI's json table (formatTables(tables, study, 'json')): each cell's report reduced to summary + verdict ----
export type StudyCellJson = Omit<StudyCell, 'report'> & { summary?: TemplateReport['summary']; verdict?: Verdict };
export interface StudyRowJson { task: string; metric: 'acc' | 'f1'; cells: StudyCellJson[] }
export type StudyTableJson = Omit<StudyTable, 'rows' | 'kinds'> & { kinds: KernelKind[]; rows: StudyRowJson[] };

// ---- `ntk-lens study run FILE --out DIR --events`: one JSON object per stdout line --------------------------------
export type StudyJobState = 'queued' | 'started' | 'done' | 'failed' | 'skipped' | 'retried' | 'cancelled';
export type StudyEvent =
  | { type: 'plan'; jobs: number; workers: number }
  | { type: 'job'; index: number; state: StudyJobState; label?: string; logFile?: string; exitCode?: number | null; reason?: string }
  | { type: 'table'; tables: StudyTableJson[] }
  | { type: 'done'; done: number; failed: number }
  | { type: 'warning'; message: string }
  /** What the executor did on a cancel (SIGINT to running jobs, SIGKILL after the grace period): for the log. */
  | { type: 'note'; message: string };

// ---- host → study panel -----------------------------------------------------------------------------------------
export interface StudyJobRow {
  index: number;
  label: string;
  state: StudyJobState | 'unknown';
  logFile?: string;
  exitCode?: number | null;
  reason?: string;
}

export interface StudyPanelState {
  studyFile: string;
  /** The study's modes in file order (the table's column groups). */
  modes: string[];
  jobs: StudyJobRow[];
  /** Undefined until `study report` answered or a `table` event arrived. */
  tables?: StudyTableJson[];
  running: boolean;
  /** Worker processes of the running study (from its plan event). */
  workers?: number;
  /** The last run's end: counts, or why it stopped. */
  finished?: { done: number; failed: number; cancelled?: boolean; error?: string };
  /** Where the table came from last: the run's `table` event or `study report`. */
  tableSource?: 'event' | 'report';
}
export type HostToStudyPanel = { type: 'show'; state: StudyPanelState } | { type: 'error'; message: string };

// ---- study panel → host (untrusted input) -------------------------------------------------------------------------
export const TABLE_FORMATS = ['md', 'csv', 'tex', 'json'] as const;
export type TableFormatName = (typeof TABLE_FORMATS)[number];
export type StudyPanelToHost =
  | { type: 'ready' }
  | { type: 'run' }
  | { type: 'cancel' }
  | { type: 'refresh' }
  | { type: 'export'; format: TableFormatName }
  | { type: 'openCell'; key: string }
  | { type: 'openLog'; index: number };

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m);
const hasKeys = (m: Record<string, unknown>, keys: string[]) => {
  const k = Object.keys(m);
  return k.length === keys.length && keys.every(x => k.includes(x));
};

/** True when `m` is exactly one StudyPanelToHost message: known type, exactly its keys, values of the right shape. */
export function isStudyPanelToHost(m: unknown): m is StudyPanelToHost {
  if (!isObject(m) || typeof m.type !== 'string') return false;
  switch (m.type) {
    case 'ready': case 'run': case 'cancel': case 'refresh':
      return hasKeys(m, ['type']);
    case 'export':
      return hasKeys(m, ['type', 'format']) && (TABLE_FORMATS as readonly unknown[]).includes(m.format);
    case 'openCell':
      return hasKeys(m, ['type', 'key']) && typeof m.key === 'string' && /^[0-9a-f]{16}$/.test(m.key);
    case 'openLog':
      return hasKeys(m, ['type', 'index']) && Number.isInteger(m.index) && (m.index as number) >= 0 && (m.index as number) < 1e7;
    default:
      return false;
  }
}
