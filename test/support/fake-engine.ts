/**
 * A fake engine module for tests ONLY (never shipped): the worker loads it through NTK_LENS_ENGINE. It has the
 * exports of src/engine/run/experiment.ts and behaves by the `mode-<name>` in the spec file name (else FAKE_ENGINE_MODE):
 *   ok (default) → a few phase/step events, then a small Report
 *   slow         → 1000 steps 5 ms apart, honouring the AbortSignal
 *   crash        → writes a line to stderr and exits with code 7 mid-run
 *   oom          → prints V8's OOM message and aborts (SIGABRT-like exit 134)
 *   hang         → busy-loops ignoring the signal (the client must kill it)
 */
import { ResultsStore, templateKey } from '../../src/engine/report/store';
import { summarise, verdict } from '../../src/engine/report/summary';
import type { Report, RunEvent, SeedResult, TemplateReport } from '../../src/engine/report/types';
import type { EngineDiagnostic } from '../../src/protocol';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** A small, deterministic seed result with every figure the panel draws (made-up numbers, clearly fake). */
export function fakeSeed(seed = 13): SeedResult {
  const M = 6, N = 4, C = 2;
  const text = ['a fine film', 'a dull film', 'warm and funny', 'cold and slow', 'great fun', 'flat and tired'];
  const gold = [1, 0, 1, 0, 1, 0];
  const ft = gold.map((g, m) => (m === 4 ? [0.3, -0.2] : g ? [-1 - m / 10, 1 + m / 10] : [1 + m / 10, -1 - m / 10]));
  const ks = ft.map((row, m) => row.map(v => (m === 4 ? -v : 0.8 * v)));
  const trainMatrix = Array.from({ length: N * C }, (_, i) => Array.from({ length: N * C }, (_, j) => (i === j ? 2 : i % C === j % C ? 0.5 : -0.3)));
  return {
    seed, split: { trainFile: 'train.tsv', devFile: 'dev.tsv', testFile: 'test.tsv', nTrain: N, nDev: N, nTest: M },
    finetune: {
      optimizer: 'sgd', learningRate: 0.01, steps: 10, batchSize: 2, bestStep: 10, dev: { acc: 0.75 }, test: { acc: 5 / 6 },
      grid: [{ learningRate: 0.01, devMetric: 0.75, bestStep: 10, trained: true }], trainable: { parameters: 'all', count: 100, tensors: 4 }, dropout: true,
      check: { trained: true, reasons: [], lossStart: 0.7, lossEnd: 0.07, devRange: 0.25, logitMove: 1 },
      before: { dev: { acc: 0.5 }, test: { acc: 0.5 } }, lossCurve: Array.from({ length: 10 }, (_, i) => ({ step: i + 1, loss: 0.7 / (i + 1) })),
      devCurve: [], testLogitsBefore: ft, testLogits: ft, seconds: 1,
    },
    kernels: {
      sgd: {
        kind: 'sgd', solver: 'lstsq', hyper: {}, dev: { acc: 0.75 }, test: { acc: 4 / 6 }, testScores: ks, agreement: 5 / 6, logitCorrelation: 0.9,
        spectrum: [4, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.01], trainMatrix, files: {}, parameterCount: 100, seconds: 1,
      },
    },
    diagnostics: { kernelChange: 0.1, linearization: { step: 10, ftToLinearized: 0.5, ftToInit: 2, relative: 0.25, test: { acc: 4 / 6 } } },
    test: { text, gold }, warnings: [{ code: 'truncated', message: 'max_length 8 cut 2 of 14 examples (fake)' }], seconds: 2,
  };
}

/**
 * A template report of fake seeds, summarised and judged by the real summary code; `acc` (optional) replaces the
 * kernel's mean accuracy in the summary (and FT's by acc + 0.01), for tests of the editor's one-line summaries.
 */
export function fakeTemplateReport(name: string, acc?: number): TemplateReport {
  const seeds = [fakeSeed()];
  const summary = summarise(seeds, 'acc');
  if (acc !== undefined) {
    summary.kernels.sgd = { mean: acc, std: 0, n: 1 };
    summary.finetune = { mean: acc + 0.01, std: 0, n: 1 };
    summary.agreement.sgd = { mean: 0.9, std: 0, n: 1 };
  }
  return {
    name, template: '*cls**sent_0*_It_was*mask*.*sep+*', mode: 'prompt', words: { negative: 'terrible', positive: 'great' },
    labelTokenIds: [11, 12], key: '0123456789abcdef', seeds, summary, trainable: seeds[0].finetune!.trainable, warnings: seeds[0].warnings,
    verdict: verdict(seeds, summary, 'sgd'),
  };
}

export async function runExperiment(specFile: string, opts: { onEvent: (e: RunEvent) => void; signal?: AbortSignal; templates?: string[]; resultsDir?: string }): Promise<Report> {
  const mode = /mode-(\w+)/.exec(specFile)?.[1] ?? process.env.FAKE_ENGINE_MODE ?? 'ok';
  const name = opts.templates?.[0] ?? 'manual';
  opts.onEvent({ type: 'phase', phase: 'load', template: name, message: `loading for ${specFile}` });
  if (mode === 'crash') {
    process.stderr.write('fake engine: something went badly wrong\n');
    await sleep(20);
    process.exit(7);
  }
  if (mode === 'oom') {
    process.stderr.write('FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n');
    await sleep(20);
    process.exit(134);
  }
  if (mode === 'hang') {
    opts.onEvent({ type: 'step', phase: 'finetune', template: name, step: 1, total: 10 });
    await sleep(20);
    for (;;) { /* ignores the signal */ }
  }
  const total = mode === 'slow' ? 1000 : Number(process.env.FAKE_ENGINE_STEPS ?? 3);
  const stepMs = mode === 'slow' ? 5 : Number(process.env.FAKE_ENGINE_STEP_MS ?? 1);
  for (let step = 1; step <= total; step++) {
    if (opts.signal?.aborted) throw new Error('aborted');
    opts.onEvent({ type: 'step', phase: 'finetune', template: name, seed: 13, step, total, loss: 1 / step, etaSeconds: ((total - step) * stepMs) / 1000 });
    await sleep(stepMs);
  }
  const t = fakeTemplateReport(name);
  if (opts.resultsDir) {
    // what the real engine does: store the result under its key so the editor finds it
    const fs = await import('fs');
    const { outlineSpec } = await import('../../src/editor/spec-outline');
    const item = outlineSpec(fs.readFileSync(specFile, 'utf8')).templates.find(x => x.name === name);
    if (item) Object.assign(t, { template: item.template, words: item.words });
    t.key = templateKey({ template: t.template, words: t.words, model: 'fake', task: 'custom', settings: {} });
    new ResultsStore(opts.resultsDir).writeTemplateReport(t.key, t, {
      specFile, templateName: name, model: 'fake-engine', task: 'custom', createdAt: new Date().toISOString(), classes: ['negative', 'positive'],
    });
  }
  opts.onEvent({ type: 'template-done', template: t });
  return {
    schemaVersion: 2, createdAt: '2026-01-01T00:00:00.000Z', specFile, task: 'custom', classes: ['negative', 'positive'],
    model: { id: 'fake', dir: '/nowhere', modelType: 'bert', parameterCount: 1 }, backend: 'cpu', templates: [t], outDir: '/nowhere', seconds: 0,
  };
}

export function validateSpecFile(specFile: string, text: string): { diagnostics: EngineDiagnostic[] } {
  const line = text.split('\n').findIndex(l => l.includes('template:') && !l.includes('*mask*'));
  return {
    diagnostics: line < 0 ? [] : [{ line: line + 1, column: 5, endLine: line + 1, endColumn: 20, message: `${specFile}: the template has no *mask*`, severity: 'error' }],
  };
}

export async function labelWordTokens(_specFile: string, _text: string, words: string[]) {
  return { model: 'fake-model', tokens: words.map((word, i) => ({ word, ids: word.length > 6 ? [100 + i, 200 + i] : [100 + i], pieces: [word] })) };
}
