/**
 * The study panel UI (bundled by esbuild into dist/webview/study.js). It talks to the extension only by postMessage,
 * with the HostToStudyPanel / StudyPanelToHost types of src/editor/study-protocol.ts, and is themed with --vscode-*
 * variables like the results panel. Shows the study's table (#table-<i>: rows = tasks, each mode's FT, kernels,
 * agreement, kernel change, linearisation and verdict side by side; missing and failed cells marked; a cell with a
 * result opens it in the results panel), the summary lines (#summary-<i>), the jobs with their state and log (#jobs),
 * and export buttons. The ids and data-* attributes are what test/e2e reads.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { cellHeads, cellState, cellTexts, summaryLines } from '../src/editor/study-format';
import { verdictTone } from '../src/editor/format';
import type { HostToStudyPanel, StudyJobRow, StudyPanelState, StudyPanelToHost, StudyTableJson } from '../src/editor/study-protocol';
import { TABLE_FORMATS } from '../src/editor/study-protocol';

declare function acquireVsCodeApi(): { postMessage(m: StudyPanelToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let state: StudyPanelState | undefined;
let lastError: string | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
function button(label: string, id: string, message: StudyPanelToHost, secondary = false): HTMLElement {
  const b = el('vscode-button' as 'button', { id, ...(secondary ? { secondary: '' } : {}) }, label);
  b.addEventListener('click', () => vscode.postMessage(message));
  return b;
}

const STATE_LABEL: Record<StudyJobRow['state'], string> = {
  queued: 'queued', started: 'running', done: 'done', failed: 'failed', skipped: 'done (stored)', retried: 'retrying', cancelled: 'cancelled', unknown: '',
};

function renderTable(t: StudyTableJson, i: number, modes: string[]): HTMLElement {
  const heads = cellHeads(t.kinds);
  const cellModes = t.rows[0]?.cells.map(c => c.mode) ?? modes;
  const top = el('tr', {}, el('th', { rowspan: '2' }, 'task'), el('th', { rowspan: '2' }, 'metric'),
    ...cellModes.map(m => el('th', { colspan: String(heads.length), class: 'mode' }, m === 'standard' ? 'standard (no prompt)' : m)));
  const sub = el('tr', {}, ...cellModes.flatMap(() => heads.map((h, j) => el('th', { class: j === 0 ? 'first' : '' }, h))));
  const rows = t.rows.map(r => el('tr', { 'data-task': r.task }, el('td', { class: 'task' }, r.task), el('td', {}, r.metric),
    ...r.cells.flatMap(c => {
      const texts = cellTexts(c, t.kinds);
      const st = cellState(c);
      const open = c.summary && c.key ? c.key : undefined;
      return texts.map((text, j) => {
        const last = j === texts.length - 1;
        const cls = [`cell-${st}`, j === 0 ? 'first' : '', last ? `verdict ${verdictTone(c.verdict?.status)}` : 'num', open ? 'clickable' : ''].filter(Boolean).join(' ');
        const td = el('td', { class: cls, 'data-mode': c.mode, 'data-col': heads[j], ...(open ? { 'data-key': open, title: 'Open this cell\'s result' } : {}) }, text);
        if (open) td.addEventListener('click', () => vscode.postMessage({ type: 'openCell', key: open }));
        return td;
      });
    })));
  const title = `${t.model}, ${t.shots}-shot`;
  return el('section', { class: 'study-table' },
    el('h2', {}, title, el('span', { class: 'hint' }, ` test metric (%), mean ± std over seeds`)),
    el('div', { class: 'scroll' }, el('table', { id: `table-${i}`, class: 'study' }, el('thead', {}, top, sub), el('tbody', {}, ...rows))),
    el('ul', { id: `summary-${i}`, class: 'summary-lines' }, ...summaryLines(t).map(l => el('li', {}, l))));
}

function renderJobs(jobs: StudyJobRow[]): HTMLElement {
  const done = jobs.filter(j => j.state === 'done' || j.state === 'skipped').length;
  const failed = jobs.filter(j => j.state === 'failed').length;
  const rows = jobs.map(j => {
    const ran = j.state !== 'queued' && j.state !== 'unknown' && j.state !== 'skipped'; // a queued job's log does not exist yet
    const log = j.logFile && ran ? el('a', { href: '#', class: 'log', title: j.logFile }, 'log') : '';
    if (log) log.addEventListener('click', ev => { ev.preventDefault(); vscode.postMessage({ type: 'openLog', index: j.index }); });
    const code = j.exitCode !== undefined && j.exitCode !== null ? `exit code ${j.exitCode}` : '';
    const why = j.state !== 'failed' ? '' : j.reason ? (code && !j.reason.includes(code) ? `${code}: ${j.reason}` : j.reason) : code;
    return el('tr', { 'data-index': String(j.index), 'data-state': j.state }, el('td', {}, String(j.index)), el('td', {}, j.label),
      el('td', { class: `job-state ${j.state}` }, STATE_LABEL[j.state]), el('td', {}, log, why ? el('span', { class: 'hint' }, ` ${why}`) : ''));
  });
  return el('details', { id: 'jobs-section', ...(jobs.length <= 40 || failed ? { open: '' } : {}) },
    el('summary', {}, `Jobs: ${done} of ${jobs.length} done${failed ? `, ${failed} failed` : ''}`),
    el('table', { id: 'jobs' }, el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'job'), el('th', {}, 'state'), el('th', {}, 'log'))), el('tbody', {}, ...rows)));
}

function render(): void {
  app.replaceChildren();
  if (!state) return void app.append(el('p', { id: 'empty' }, 'No study selected.'));
  const s = state;
  const name = s.studyFile.split(/[\\/]/).pop() ?? s.studyFile;
  const fin = s.finished;
  const status = s.running
    ? `running${s.workers ? ` on ${s.workers} worker${s.workers === 1 ? '' : 's'}` : ''}`
    : fin?.error ? `stopped: ${fin.error}` : fin ? `${fin.cancelled ? 'cancelled: ' : 'last run: '}${fin.done} done, ${fin.failed} failed` : '';
  app.append(el('header', {},
    el('h1', { id: 'title' }, name, s.running ? el('vscode-badge' as 'span', { id: 'running' }, 'running') : ''),
    el('p', { class: 'meta', id: 'status' }, [`${s.jobs.length} jobs`, s.modes.join(' vs '), status].filter(Boolean).join(' · ')),
    el('div', { class: 'actions' },
      s.running ? button('Cancel', 'cancel', { type: 'cancel' }) : button('Run study', 'run', { type: 'run' }),
      button('Refresh', 'refresh', { type: 'refresh' }, true),
      ...TABLE_FORMATS.map(f => button(`Export ${f}`, `export-${f}`, { type: 'export', format: f }, true)))));
  if (lastError) app.append(el('p', { class: 'error', id: 'error' }, lastError));
  if (s.tables?.length) s.tables.forEach((t, i) => app.append(renderTable(t, i, s.modes)));
  else app.append(el('p', { id: 'no-table' }, s.running ? 'The table fills in as jobs finish.' : 'No table yet: Refresh reads it from the results store; Run study computes it.'));
  if (s.jobs.length) app.append(renderJobs(s.jobs));
}

window.addEventListener('message', (ev: MessageEvent<HostToStudyPanel>) => {
  const m = ev.data;
  if (m.type === 'show') {
    if (state?.studyFile !== m.state.studyFile || m.state.running) lastError = undefined;
    state = m.state;
    vscode.setState(state);
    render();
  } else if (m.type === 'error') {
    lastError = m.message;
    render();
  }
});

state = vscode.getState() as StudyPanelState | undefined;
render();
vscode.postMessage({ type: 'ready' });
