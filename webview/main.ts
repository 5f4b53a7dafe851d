/**
 * The results panel UI (bundled by esbuild into dist/webview/main.js). It talks to the extension only by
 * postMessage, with the HostToPanel / PanelToHost types of src/protocol.ts. Themed with --vscode-* variables.
 * Shows live progress (phase, loss curve, kernel rows, ETA), then the comparison of one template's result: the
 * verdict with every figure it used (#verdict, #verdict-status, #evidence, #verdict-reason), the warnings (#warnings),
 * the per-seed table (#summary), what fine-tuning trained and its learning-rate grid (#trainable, #lr-grid), the
 * kernel regime per seed (#regime), the charts and the disagreements. The ids are what test/e2e reads.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import {
  Chart, LineController, LineElement, PointElement, ScatterController, LinearScale, LogarithmicScale, Tooltip, Legend,
} from 'chart.js';
import { evidenceCells, verdictLabel, verdictTone } from '../src/editor/format';
import type { HostToPanel, PanelState, PanelToHost } from '../src/protocol';
import type { KernelKind, RunEvent, Stat, TemplateReport, TrainableSet, Verdict, VerdictStatus } from '../src/engine/report/types';

Chart.register(LineController, LineElement, PointElement, ScatterController, LinearScale, LogarithmicScale, Tooltip, Legend);

declare function acquireVsCodeApi(): { postMessage(m: PanelToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
const KINDS: KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
const KIND_LABEL: Record<KernelKind, string> = { sgd: 'SGD', signgd: 'SignGD', 'asymmetric-signgd': 'A-SignGD' };

const css = getComputedStyle(document.body);
const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
Chart.defaults.color = color('--vscode-foreground', '#444');
Chart.defaults.borderColor = color('--vscode-panel-border', '#8884');
const ACCENT = color('--vscode-charts-blue', '#3794ff');
const ACCENT2 = color('--vscode-charts-orange', '#d18616');

const app = document.getElementById('app')!;
const charts: Chart[] = [];
let state: PanelState | undefined;
const live = { phase: '', step: '', eta: '', loss: [] as { x: number; y: number }[], kernelRows: '', log: [] as string[] };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
const pct = (x: number, d = 1) => (100 * x).toFixed(d);
const pm = (s?: Stat) => (s ? `${pct(s.mean)} ± ${pct(s.std)}` : '–');
function button(label: string, id: string, message: PanelToHost, secondary = false): HTMLElement {
  const b = el('vscode-button' as 'button', { id, ...(secondary ? { secondary: '' } : {}) }, label);
  b.addEventListener('click', () => vscode.postMessage(message));
  return b;
}

function lineChart(canvas: HTMLCanvasElement, label: string, data: { x: number; y: number }[], logY = false): Chart {
  const c = new Chart(canvas, {
    type: 'line',
    data: { datasets: [{ label, data, borderColor: ACCENT, pointRadius: 0, borderWidth: 1.5 }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      scales: { x: { type: 'linear' }, y: { type: logY ? 'logarithmic' : 'linear' } }, plugins: { legend: { display: false } } },
  });
  charts.push(c);
  return c;
}

function section(title: string, ...body: (Node | string)[]): HTMLElement {
  return el('section', {}, el('h2', {}, title), ...body);
}
function chartBox(id: string): [HTMLElement, HTMLCanvasElement] {
  const canvas = el('canvas', { id });
  return [el('div', { class: 'chart' }, canvas), canvas];
}

let lossChart: Chart | undefined;

function renderProgress(): HTMLElement {
  const [box, canvas] = chartBox('live-loss');
  const s = section('Progress',
    el('p', { id: 'phase' }, live.phase || 'waiting for the worker…'),
    el('p', { id: 'step' }, [live.step, live.eta].filter(Boolean).join(' · ')),
    el('p', { id: 'kernel-rows' }, live.kernelRows), box);
  queueMicrotask(() => (lossChart = lineChart(canvas, 'loss', live.loss)));
  return s;
}

function headlineKind(r: TemplateReport): KernelKind | undefined {
  return KINDS.find(k => r.summary.kernels[k]);
}

/** The status of a verdict; a report from before schema 2 has none: derived from `kernelLike`. */
function statusOf(v: Verdict | undefined): VerdictStatus | undefined {
  if (!v) return undefined;
  return v.status ?? (v.kernelLike === true ? 'kernel-like' : v.kernelLike === false ? 'not-kernel-like' : 'none');
}

/** What each evidence figure measures (shown small beside its name). */
function evidenceHint(name: string, kind: string | undefined, metric: string): string {
  switch (name) {
    case 'gap': return `FT − ${kind ? `K[${kind}]` : 'kernel'}, test ${metric}`;
    case 'agreement': return 'same prediction as FT';
    case 'kernel change': return '‖K_end − K_0‖ / ‖K_0‖';
    case 'linearisation': return '‖f_FT − f_lin‖ / ‖f_FT − f_0‖';
    default: return '';
  }
}

/**
 * The verdict block: its status (styled good / bad / neutral), what it compared, one table row per evidence figure
 * (value with its 95 % interval or ± std over seeds, the threshold, pass / fail / undecided), then the reason.
 */
function renderVerdict(r: TemplateReport): HTMLElement {
  const v = r.verdict;
  const legacy = v.status === undefined; // report schema 1: no status, evidence without units
  const status = statusOf(v)!;
  const tone = verdictTone(status);
  const basis = /K\[([^\]]+)\] vs FT \([^)]*\)/.exec(v.text);
  const body: (Node | string)[] = [el('div', { class: 'verdict-head' },
    el('span', { class: 'verdict-label' }, 'Verdict'),
    el('span', { id: 'verdict-status', class: `status ${tone}` }, verdictLabel(status)),
    basis ? el('span', { id: 'verdict-basis', class: 'hint' }, basis[0]) : '')];
  if (!legacy && v.evidence.length) {
    const rows = v.evidence.map(e => {
      const c = evidenceCells(e);
      const hint = evidenceHint(e.name, basis?.[1], r.summary.metric);
      return el('tr', { 'data-figure': e.name },
        el('td', { class: 'figure' }, c.name, hint ? el('span', { class: 'hint sub' }, hint) : ''),
        el('td', { class: 'value' }, c.value),
        el('td', { class: 'threshold' }, c.threshold),
        el('td', { class: `result ${verdictTone(e.pass)}` }, c.result));
    });
    body.push(el('table', { id: 'evidence', class: 'evidence' },
      el('thead', {}, el('tr', {}, el('th', {}, 'figure'), el('th', {}, 'value [95 % interval] / ± std'), el('th', {}, 'threshold'), el('th', {}, 'result'))),
      el('tbody', {}, ...rows)));
  } else {
    body.push(el('p', { id: 'verdict-text' }, v.text));
  }
  if (v.reason) body.push(el('p', { id: 'verdict-reason' }, el('strong', {}, 'why: '), v.reason));
  if (legacy) body.push(el('p', { id: 'verdict-legacy', class: 'hint' }, 'Computed by an earlier ntk-lens (report schema 1): run it again for the figures with their intervals and thresholds.'));
  return el('section', { id: 'verdict', class: `verdict ${tone}`, title: v.text }, ...body);
}

function renderWarnings(r: TemplateReport): HTMLElement | undefined {
  const w = r.warnings ?? [];
  if (!w.length) return undefined;
  return el('section', { id: 'warnings-section', class: 'warnings' },
    el('h2', {}, `Warnings (${w.length})`),
    el('ul', { id: 'warnings' }, ...w.map(x => el('li', { 'data-code': x.code }, x.message))));
}

/** "all: 2,412,290 parameters in 52 tensors" (LoRA: with its rank and α). */
function trainableText(t: TrainableSet): string {
  const lora = t.lora ? ` (LoRA rank ${t.lora.rank}, α ${t.lora.alpha})` : '';
  return `${t.parameters}${lora}: ${t.count.toLocaleString('en-US')} parameters in ${t.tensors} tensor${t.tensors === 1 ? '' : 's'}`;
}

/** What fine-tuning trained and how: the parameter set, optimizer and steps, the learning rate (and its grid). */
function renderFinetune(r: TemplateReport): HTMLElement | undefined {
  const fts = r.seeds.filter(s => s.finetune);
  const trainable = r.trainable ?? fts[0]?.finetune!.trainable;
  if (!fts.length && !trainable) return undefined;
  const items: [string, Node | string][] = [];
  if (trainable) items.push(['trained (= kernel) parameters', el('span', { id: 'trainable' }, trainableText(trainable))]);
  const f0 = fts[0]?.finetune;
  if (f0) items.push(['optimizer', `${f0.optimizer}, ${f0.steps} steps, batch ${f0.batchSize}, dropout ${f0.dropout ? 'on' : 'off'}`]);
  const searched = fts.some(s => (s.finetune!.grid?.length ?? 0) > 1);
  if (f0) {
    items.push(['learning rate', el('span', { id: 'learning-rate' }, searched
      ? `chosen on dev per seed: ${fts.map(s => `seed ${s.seed}: ${s.finetune!.learningRate}`).join(', ')}`
      : Array.from(new Set(fts.map(s => String(s.finetune!.learningRate)))).join(', '))]);
  }
  const body: (Node | string)[] = [el('dl', { class: 'facts' }, ...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))];
  if (searched) {
    const rates = Array.from(new Set(fts.flatMap(s => (s.finetune!.grid ?? []).map(g => g.learningRate)))).sort((a, b) => a - b);
    const rows = rates.map(lr => el('tr', { 'data-lr': String(lr) }, el('td', {}, String(lr)), ...fts.map(s => {
      const g = s.finetune!.grid?.find(x => x.learningRate === lr);
      if (!g) return el('td', {}, '–');
      const chosen = lr === s.finetune!.learningRate;
      return el('td', { class: chosen ? 'chosen' : '' }, `${pct(g.devMetric)}${chosen ? ' ✓' : ''}`,
        el('span', { class: 'hint' }, `step ${g.bestStep}${g.trained ? '' : ', did not train'}`));
    })));
    body.push(el('p', { class: 'hint' }, `Learning-rate grid: best dev ${r.summary.metric} (%) of each rate and the step it was reached at; ✓ the rate chosen on dev.`),
      el('table', { id: 'lr-grid' }, el('thead', {}, el('tr', {}, el('th', {}, 'learning rate'), ...fts.map(s => el('th', {}, `seed ${s.seed}`)))), el('tbody', {}, ...rows)));
  }
  return section('Fine-tuning', ...body);
}

/** Kernel change and the linearisation's raw distances per seed, at the step both models are compared at. */
function renderRegime(r: TemplateReport): HTMLElement | undefined {
  const seeds = r.seeds.filter(s => s.diagnostics.kernelChange !== undefined || s.diagnostics.linearization);
  if (!seeds.length) return undefined;
  const num = (x: number | undefined, f: (x: number) => string) => (x === undefined || !Number.isFinite(x) ? '–' : f(x));
  const rows = seeds.map(s => {
    const l = s.diagnostics.linearization;
    return el('tr', {}, el('td', {}, String(s.seed)),
      el('td', {}, num(s.diagnostics.kernelChange, x => x.toFixed(2))),
      el('td', {}, l ? String(l.step) : '–'),
      el('td', {}, num(l?.ftToLinearized, x => x.toPrecision(3))),
      el('td', {}, num(l?.ftToInit, x => x.toPrecision(3))),
      el('td', {}, num(l?.relative, x => x.toFixed(2))),
      el('td', {}, l ? pct(l.test.acc) : '–'));
  });
  return section('Kernel regime (per seed)',
    el('p', { class: 'hint' }, 'Kernel change ‖K_end − K_0‖_F / ‖K_0‖_F of the SGD train kernel over the trained parameters. The linearised model f_0 + J(θ − θ_0), trained with the same batches, is compared with fine-tuning at the step fine-tuning kept (best dev); distances over all test examples × classes, in logit units.'),
    el('table', { id: 'regime' },
      el('thead', {}, el('tr', {}, el('th', {}, 'seed'), el('th', {}, 'kernel change'), el('th', {}, 'compared at step'), el('th', {}, '‖f_FT − f_lin‖'),
        el('th', {}, '‖f_FT − f_0‖'), el('th', {}, 'ratio'), el('th', {}, 'linearised test acc'))),
      el('tbody', {}, ...rows)));
}

function renderReport(r: TemplateReport, st: PanelState): HTMLElement[] {
  const kinds = KINDS.filter(k => r.summary.kernels[k]);
  const out: HTMLElement[] = [renderVerdict(r)];
  const warnings = renderWarnings(r);
  if (warnings) out.push(warnings);

  // per-seed table (with each seed's own verdict) + mean ± std (with the template's verdict)
  const verdictCell = (v: Verdict | undefined) => { const s = statusOf(v); return el('td', { class: `status-cell ${verdictTone(s)}` }, verdictLabel(s)); };
  const head = el('tr', {}, el('th', {}, 'seed'), el('th', {}, 'FT'), ...kinds.flatMap(k => [el('th', {}, `kernel ${KIND_LABEL[k]}`), el('th', {}, `agree ${KIND_LABEL[k]}`)]), el('th', {}, 'verdict'));
  const rows = r.seeds.map(s => el('tr', {}, el('td', {}, String(s.seed)), el('td', {}, s.finetune ? pct(s.finetune.test.acc) : '–'),
    ...kinds.flatMap(k => [el('td', {}, s.kernels[k] ? pct(s.kernels[k]!.test.acc) : '–'), el('td', {}, s.kernels[k] ? `${pct(s.kernels[k]!.agreement, 0)}%` : '–')]),
    verdictCell(s.verdict)));
  const mean = el('tr', { class: 'mean' }, el('td', {}, 'mean ± std'), el('td', {}, pm(r.summary.finetune)),
    ...kinds.flatMap(k => [el('td', {}, pm(r.summary.kernels[k])), el('td', {}, r.summary.agreement[k] ? `${pct(r.summary.agreement[k]!.mean, 0)}%` : '–')]),
    verdictCell(r.verdict));
  out.push(section(`Test ${r.summary.metric} (%)`, el('table', { id: 'summary' }, el('thead', {}, head), el('tbody', {}, ...rows, mean))));

  const ft = renderFinetune(r);
  if (ft) out.push(ft);
  const regime = renderRegime(r);
  if (regime) out.push(regime);

  const kind = headlineKind(r);
  const seed = r.seeds[0];
  const kr = kind && seed?.kernels[kind];
  if (seed && kr && seed.finetune) {
    // the correlation is of class-centred logits (report/metrics.ts marginCorrelation): plot what it correlates
    const C = seed.finetune.testLogits[0]?.length ?? 0;
    const centred = (row: number[]) => { const m = row.reduce((a, b) => a + b, 0) / (row.length || 1); return row.map(v => v - m); };
    const label = (i: number) => st.classes[i] ?? `class ${i}`;
    const pts = C === 2
      ? seed.finetune.testLogits.map((row, m) => ({ x: row[1] - row[0], y: (kr.testScores[m]?.[1] ?? 0) - (kr.testScores[m]?.[0] ?? 0) }))
      : seed.finetune.testLogits.flatMap((row, m) => { const k = centred(kr.testScores[m] ?? row.map(() => 0)); return centred(row).map((v, c) => ({ x: v, y: k[c] ?? 0 })); });
    const what = C === 2 ? `the margins ${label(1)} − ${label(0)}` : 'each minus its mean over classes';
    const [box, canvas] = chartBox('scatter');
    out.push(section(`FT vs ${KIND_LABEL[kind!]} kernel, test, seed ${seed.seed}: r = ${kr.logitCorrelation.toFixed(2)} between class-centred logits (${what})`, box));
    const axis = (who: string) => (C === 2 ? `${who} margin` : `${who} − class mean`);
    queueMicrotask(() => charts.push(new Chart(canvas, {
      type: 'scatter',
      data: { datasets: [{ label: C === 2 ? 'test example' : 'test example × class', data: pts, backgroundColor: ACCENT, pointRadius: 2 }] },
      options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: axis('fine-tuned logit') } }, y: { title: { display: true, text: axis('kernel score') } } } },
    })));
  }
  if (kr?.trainMatrix) {
    const canvas = el('canvas', { id: 'heatmap', class: 'heatmap' });
    out.push(section(`Train kernel matrix (${kr.trainMatrix.length}×${kr.trainMatrix.length})`, canvas));
    queueMicrotask(() => drawHeatmap(canvas, kr.trainMatrix!));
  }
  if (kr?.spectrum.length) {
    const [box, canvas] = chartBox('spectrum');
    out.push(section('Eigenvalue spectrum', box));
    queueMicrotask(() => lineChart(canvas, 'eigenvalue', kr.spectrum.map((y, x) => ({ x: x + 1, y: Math.max(y, 1e-12) })), true));
  }
  if (seed?.finetune?.lossCurve.length) {
    const [box, canvas] = chartBox('loss');
    out.push(section('Fine-tuning loss', box));
    queueMicrotask(() => lineChart(canvas, 'loss', seed.finetune!.lossCurve.map(p => ({ x: p.step, y: p.loss }))));
  }
  if (seed && kr && seed.finetune) {
    const argmax = (row: number[]) => row.reduce((b, v, i) => (v > row[b] ? i : b), 0);
    const label = (i: number) => st.classes[i] ?? String(i);
    const dis = seed.test.text.map((text, m) => ({ text, gold: seed.test.gold[m], ft: argmax(seed.finetune!.testLogits[m]), k: argmax(kr.testScores[m]) }))
      .filter(d => d.ft !== d.k);
    out.push(section(`Disagreements (${dis.length} of ${seed.test.text.length} test examples, seed ${seed.seed})`,
      el('table', { id: 'disagreements' }, el('thead', {}, el('tr', {}, el('th', {}, 'text'), el('th', {}, 'gold'), el('th', {}, 'FT'), el('th', {}, 'kernel'))),
        el('tbody', {}, ...dis.slice(0, 200).map(d => el('tr', {}, el('td', {}, d.text), el('td', {}, label(d.gold)), el('td', {}, label(d.ft)), el('td', {}, label(d.k))))))));
  }
  return out;
}

/** Diverging heatmap of a square matrix, one pixel per entry, scaled by the largest magnitude. */
function drawHeatmap(canvas: HTMLCanvasElement, m: number[][]): void {
  const n = m.length;
  canvas.width = n;
  canvas.height = n;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(n, n);
  const max = Math.max(1e-12, ...m.flat().map(Math.abs));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const v = m[i][j] / max;
    const o = 4 * (i * n + j);
    img.data[o] = v > 0 ? 255 : Math.round(255 * (1 + v));
    img.data[o + 1] = Math.round(255 * (1 - Math.abs(v)));
    img.data[o + 2] = v < 0 ? 255 : Math.round(255 * (1 - v));
    img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function render(): void {
  for (const c of charts.splice(0)) c.destroy();
  lossChart = undefined;
  app.replaceChildren();
  if (!state) return void app.append(el('p', { id: 'empty' }, 'No template selected.'));
  const badges = [state.stale ? el('vscode-badge' as 'span', { id: 'stale' }, 'stale') : '', state.running ? el('vscode-badge' as 'span', { id: 'running' }, 'running') : ''];
  app.append(
    el('header', {},
      el('h1', { id: 'title' }, `${state.templateName}`, ...badges),
      el('p', { class: 'meta' }, [state.task && `task ${state.task}`, state.model && `model ${state.model}`, state.createdAt && `computed ${state.createdAt.replace('T', ' ').slice(0, 16)}`].filter(Boolean).join(' · ')),
      el('div', { class: 'actions' },
        state.running ? button('Cancel', 'cancel', { type: 'cancel' }) : button('Run', 'run', { type: 'run' }),
        state.report ? button('Export kernels (.npy)', 'export', { type: 'exportKernels' }, true) : '')),
  );
  if (state.running) app.append(renderProgress());
  if (state.report) app.append(...renderReport(state.report, state));
  else if (!state.running) app.append(el('p', { id: 'empty' }, 'No result yet: press Run (or the ▶ CodeLens above the template).'));
}

function onEvent(e: RunEvent): void {
  if (!state) return;
  if (!state.running && e.type !== 'template-done') {
    state.running = true;
    render();
  }
  const set = (id: string, text: string) => { const n = document.getElementById(id); if (n) n.textContent = text; };
  switch (e.type) {
    case 'phase':
      live.phase = `${e.template ? e.template + ': ' : ''}${e.message}`;
      set('phase', live.phase);
      break;
    case 'step':
      live.step = `${e.phase} ${e.step}/${e.total}${e.seed !== undefined ? ` (seed ${e.seed})` : ''}`;
      live.eta = e.etaSeconds !== undefined ? `ETA ${Math.round(e.etaSeconds)} s` : '';
      set('step', [live.step, live.eta].filter(Boolean).join(' · '));
      if (e.phase === 'kernel') set('kernel-rows', (live.kernelRows = `kernel rows done: ${e.step} of ${e.total}`));
      if (e.phase === 'finetune' && e.loss !== undefined) {
        live.loss.push({ x: e.step, y: e.loss });
        lossChart?.update('none');
      }
      break;
    case 'template-done':
      if (e.template.name === state.templateName) {
        state = { ...state, report: e.template, running: false, stale: false, createdAt: new Date().toISOString() };
        live.loss = [];
        render();
      }
      break;
    case 'log':
      if (e.level !== 'info') live.log.push(e.message);
      break;
  }
}

window.addEventListener('message', (ev: MessageEvent<HostToPanel>) => {
  const m = ev.data;
  if (m.type === 'show') {
    if (!state || state.specFile !== m.state.specFile || state.templateName !== m.state.templateName) live.loss = [];
    state = m.state;
    vscode.setState(state);
    render();
  } else if (m.type === 'event') onEvent(m.event);
  else if (m.type === 'error') app.prepend(el('p', { class: 'error' }, m.message));
});

state = vscode.getState() as PanelState | undefined;
render();
vscode.postMessage({ type: 'ready' });
