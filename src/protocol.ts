/**
 * The one contract between the extension host, the engine worker process and the results panel (webview).
 * Every message is a named type; plain JSON only. Changing any message type bumps PROTOCOL_VERSION, which the worker
 * announces in its `ready` message and the client checks before sending work.
 *
 * Architecture Invariant: no runtime imports here (only `import type`), so the webview bundle, the worker and the
 * extension host can all include it.
 */
import type { Report, RunEvent, TemplateReport } from './engine/report/types';
import type { RunOptions as EngineRunOptions } from './engine/run/experiment';

export const PROTOCOL_VERSION = 2;

export type { BackendName } from './engine/backend/init-backend';

/** Engine validator diagnostic, 1-based lines and columns (as SpecError). */
export interface EngineDiagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  severity: 'error' | 'warning' | 'info';
}

/** The run options that cross the process boundary: the engine's own, less callbacks, signals and internal modes. */
export type RunOptions = Pick<EngineRunOptions, 'templates' | 'seeds' | 'resultsDir' | 'backend' | 'memoryBudgetMB' | 'hubCacheDir'> & {
  /**
   * Processes for the run's unfinished (template, seed) pairs, as `ntk-lens run --workers N`: the worker runs them as
   * parallel jobs (child processes of the worker, through the local executor) and then summarises from the store.
   * 0 or absent: as many as the cores (lowered by the executor to fit memory); 1: all in the worker process itself.
   */
  workers?: number;
};

/**
 * Progress of a run's parallel jobs (workers > 1), before the run summarises: jobs done (or already in the store) of
 * all, and that as a line ("jobs 1/4 done, 2 running"); the executor's own lines come as `log` RunEvents. Only between
 * the worker and the host: the panel gets RunEvents only.
 */
export interface JobsProgressEvent {
  type: 'jobs';
  done: number;
  total: number;
  running: number;
  failed: number;
  message: string;
}

/** What a run streams to the host: the engine's RunEvents, and the parallel jobs' progress. */
export type WorkerRunEvent = RunEvent | JobsProgressEvent;

// ---- extension host → worker -------------------------------------------------------------------------------------
export interface RunRequest { type: 'run'; id: number; specFile: string; options: RunOptions }
export interface CancelRequest { type: 'cancel'; id: number }
export interface ValidateRequest { type: 'validate'; id: number; specFile: string; text: string }
export interface LabelTokensRequest { type: 'labelTokens'; id: number; specFile: string; text: string; words: string[]; hubCacheDir?: string }
export interface ShutdownRequest { type: 'shutdown' }
export type HostToWorker = RunRequest | CancelRequest | ValidateRequest | LabelTokensRequest | ShutdownRequest;

// ---- worker → extension host -------------------------------------------------------------------------------------
export interface ReadyMessage { type: 'ready'; protocolVersion: number; pid: number }
export interface EventMessage { type: 'event'; id: number; event: WorkerRunEvent }
export interface RunResultMessage { type: 'result'; id: number; report: Report }
export interface ValidateResultMessage { type: 'diagnostics'; id: number; diagnostics: EngineDiagnostic[] }
export interface LabelTokensResultMessage {
  type: 'labelTokens';
  id: number;
  model: string;
  tokens: { word: string; ids: number[]; pieces: string[] }[];
}
export interface ErrorMessage { type: 'error'; id: number; message: string; stack?: string }
export interface CancelledMessage { type: 'cancelled'; id: number }
export type WorkerToHost =
  | ReadyMessage
  | EventMessage
  | RunResultMessage
  | ValidateResultMessage
  | LabelTokensResultMessage
  | ErrorMessage
  | CancelledMessage;

// ---- extension host → panel --------------------------------------------------------------------------------------
/** What the panel shows: a result (maybe stale), the live run, or nothing yet. */
export interface PanelState {
  specFile: string;
  templateName: string;
  classes: string[];
  model: string;
  task: string;
  createdAt?: string;
  stale: boolean;
  report?: TemplateReport;
  running: boolean;
}
export interface PanelShowMessage { type: 'show'; state: PanelState }
export interface PanelEventMessage { type: 'event'; event: RunEvent }
export interface PanelErrorMessage { type: 'error'; message: string }
export type HostToPanel = PanelShowMessage | PanelEventMessage | PanelErrorMessage;

// ---- panel → extension host (untrusted input: checked with isPanelToHost) ----------------------------------------
export interface PanelReadyMessage { type: 'ready' }
export interface PanelCancelMessage { type: 'cancel' }
export interface PanelRunMessage { type: 'run' }
export interface PanelExportMessage { type: 'exportKernels' }
export type PanelToHost = PanelReadyMessage | PanelCancelMessage | PanelRunMessage | PanelExportMessage;

const PANEL_TO_HOST_TYPES: ReadonlySet<string> = new Set(['ready', 'cancel', 'run', 'exportKernels']);

/** True when `m` is exactly one of the PanelToHost messages (no extra keys: the webview is untrusted). */
export function isPanelToHost(m: unknown): m is PanelToHost {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const keys = Object.keys(m);
  const type = (m as { type?: unknown }).type;
  return keys.length === 1 && typeof type === 'string' && PANEL_TO_HOST_TYPES.has(type);
}

const WORKER_TO_HOST_TYPES: ReadonlySet<string> = new Set([
  'ready', 'event', 'result', 'diagnostics', 'labelTokens', 'error', 'cancelled',
]);

/** Structural check of a message from the worker (a stray console.log over IPC must not crash the client). */
export function isWorkerToHost(m: unknown): m is WorkerToHost {
  if (typeof m !== 'object' || m === null) return false;
  const { type, id } = m as { type?: unknown; id?: unknown };
  if (typeof type !== 'string' || !WORKER_TO_HOST_TYPES.has(type)) return false;
  return type === 'ready' ? typeof (m as ReadyMessage).protocolVersion === 'number' : typeof id === 'number';
}

const HOST_TO_WORKER_TYPES: ReadonlySet<string> = new Set(['run', 'cancel', 'validate', 'labelTokens', 'shutdown']);

export function isHostToWorker(m: unknown): m is HostToWorker {
  if (typeof m !== 'object' || m === null) return false;
  const { type, id } = m as { type?: unknown; id?: unknown };
  if (typeof type !== 'string' || !HOST_TO_WORKER_TYPES.has(type)) return false;
  return type === 'shutdown' || typeof id === 'number';
}
