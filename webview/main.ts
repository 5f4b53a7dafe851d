/**
 * The results panel UI (bundled by esbuild into dist/webview/main.js). It talks to the extension only by
 * postMessage, with the HostToPanel / PanelToHost types of src/protocol.ts. Themed with --vscode-* variables.
 * Shows live progress (phase, loss curve, kernel rows, ETA), then the comparison of one template's result.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import {
  Chart, LineController, LineElement, PointElement, ScatterController, LinearScale, LogarithmicScale, Tooltip, Legend,
} from 'chart.js';
import type { HostToPanel, PanelState, PanelToHost } from '../src/protocol';
import type { KernelKind, RunEvent, Stat, TemplateReport } from '../src/engine/report/types';

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

function renderReport(r: TemplateReport, st: PanelState): HTMLElement[] {
  const kinds = KINDS.filter(k => r.summary.kernels[k]);
  const out: HTMLElement[] = [];
  out.push(el('p', { id: 'verdict', class: r.verdict.kernelLike ? 'good' : r.verdict.kernelLike === false ? 'bad' : '' }, r.verdict.text));

  // per-seed table + mean ± std
  const head = el('tr', {}, el('th', {}, 'seed'), el('th', {}, 'FT'), ...kinds.flatMap(k => [el('th', {}, `kernel ${KIND_LABEL[k]}`), el('th', {}, `agree ${KIND_LABEL[k]}`)]));
  const rows = r.seeds.map(s => el('tr', {}, el('td', {}, String(s.seed)), el('td', {}, s.finetune ? pct(s.finetune.test.acc) : '–'),
    ...kinds.flatMap(k => [el('td', {}, s.kernels[k] ? pct(s.kernels[k]!.test.acc) : '–'), el('td', {}, s.kernels[k] ? `${pct(s.kernels[k]!.agreement, 0)}%` : '–')])));
  const mean = el('tr', { class: 'mean' }, el('td', {}, 'mean ± std'), el('td', {}, pm(r.summary.finetune)),
    ...kinds.flatMap(k => [el('td', {}, pm(r.summary.kernels[k])), el('td', {}, r.summary.agreement[k] ? `${pct(r.summary.agreement[k]!.mean, 0)}%` : '–')]));
  out.push(section(`Test ${r.summary.metric} (%)`, el('table', { id: 'summary' }, el('thead', {}, head), el('tbody', {}, ...rows, mean))));

  const kind = headlineKind(r);
  const seed = r.seeds[0];
  const kr = kind && seed?.kernels[kind];
  if (seed && kr && seed.finetune) {
    const [box, canvas] = chartBox('scatter');
    const pts = seed.finetune.testLogits.flatMap((row, m) => row.map((v, c) => ({ x: v, y: kr.testScores[m]?.[c] ?? 0 })));
    out.push(section(`FT logits vs ${KIND_LABEL[kind!]} kernel scores (test, seed ${seed.seed}, r = ${kr.logitCorrelation.toFixed(2)})`, box));
    queueMicrotask(() => charts.push(new Chart(canvas, {
      type: 'scatter',
      data: { datasets: [{ label: 'test example × class', data: pts, backgroundColor: ACCENT, pointRadius: 2 }] },
      options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'fine-tuned logit' } }, y: { title: { display: true, text: 'kernel score' } } } },
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
