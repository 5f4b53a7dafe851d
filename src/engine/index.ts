/**
 * The engine's public surface. Everything numeric lives under src/engine/ and runs in the worker process or the CLI.
 *
 * Architecture Invariants:
 * - Nothing under src/engine/ imports `vscode`, src/editor/*, src/worker-client.ts or webview/*.
 * - `runExperiment` is the one entry for "run this experiment, stream progress events, return a report";
 *   the CLI (run/cli.ts), the worker (run/worker-main.ts) and the tests call it.
 * - Bottom folders (template, data, report, model, solve) import no other engine folder except model → backend.
 */
export { runExperiment, validateSpecFile, labelWordTokens, builtinModelDir, type RunOptions } from './run/experiment';
export type { Report, RunEvent, RunPhase, SeedResult, TemplateReport, KernelKind, KernelResult, FinetuneResult, Diagnostics, Verdict, Stat, Scores } from './report/types';
export { REPORT_SCHEMA_VERSION } from './report/types';
export { VERDICT_THRESHOLDS } from './report/summary';
export { loadSpec, parseSpec, type ExperimentSpec, type SpecError } from './spec';
export { initBackend, type BackendName } from './backend';
export { loadCheckpoint, saveCheckpoint } from './model';
export { resolveModel } from './model/hub';
export { loadTokenizer } from './tokenize';
export { empiricalNtkFn } from './kernel';
