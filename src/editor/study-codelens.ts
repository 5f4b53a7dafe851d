/**
 * CodeLens above the first line of a study file: "▶ Run study (N jobs, ~T)" (N from expanding the file's jobs here;
 * T, and how many are done, from the engine's estimate, `study jobs --json`, once the CLI answered), "Submit to
 * Slurm…" and "Open table". While the study runs: its progress and Cancel. A file with problems gets one lens that
 * says so (they are in the Problems view).
 */
import * as vscode from 'vscode';
import { expandJobs } from '../engine/study/jobs';
import { parseStudy } from '../engine/study/study-file';
import type { StudyJobInfo } from './study-cli';
import { jobCounts } from './study-events';
import { formatDuration, runLensTitle, runningLensTitle } from './study-format';
import type { StudyController } from './study-runs';

export type StudyLensSource = Pick<StudyController, 'isRunning' | 'session' | 'estimate'>;

/** The estimate of the jobs still to compute, when `info` lists exactly these jobs (same labels, same order). */
export function remainingEstimate(labels: string[], info: StudyJobInfo[] | undefined): { seconds: number; done: number; memoryMB: number } | undefined {
  if (!info || info.length !== labels.length || info.some((j, i) => j.label !== labels[i])) return undefined;
  const todo = info.filter(j => !j.done);
  return {
    seconds: todo.reduce((a, j) => a + j.estimate.seconds, 0),
    done: info.length - todo.length,
    memoryMB: Math.max(0, ...todo.map(j => j.estimate.memoryMB)),
  };
}

export class StudyCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly studies: StudyLensSource) {}

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const file = doc.uri.fsPath;
    const top = new vscode.Range(0, 0, 0, 0);
    const lens = (title: string, command: string, args: unknown[], tooltip?: string) => new vscode.CodeLens(top, { title, command, arguments: args, tooltip });
    const parsed = parseStudy(doc.getText(), file);
    if (!parsed.study) {
      const n = parsed.errors.filter(e => e.severity === 'error').length;
      return [lens(`$(error) ${n} problem${n === 1 ? '' : 's'} in this study file`, 'workbench.actions.view.problems', [], parsed.errors.slice(0, 5).map(e => `${e.line}:${e.column} ${e.message}`).join('\n'))];
    }
    if (this.studies.isRunning(file)) {
      return [
        lens(runningLensTitle(jobCounts(this.studies.session(file).jobs)), 'ntkLens.openStudyTable', [file], 'Show the study table and each job'),
        lens('Cancel', 'ntkLens.cancelStudy', [file], 'Stop the study: running jobs stop after their current step and keep their finished seeds'),
      ];
    }
    const labels = expandJobs(parsed.study).map(j => j.label);
    const est = remainingEstimate(labels, this.studies.estimate(file));
    const tooltip = est
      ? `Runs every unfinished job on this machine (ntk-lens study run): about ${formatDuration(est.seconds)} of compute at one core per job ` +
        `(the engine's rough estimate; jobs run in parallel, as many as cores and memory allow), the largest job ~${est.memoryMB} MB`
      : 'Runs every unfinished job on this machine (ntk-lens study run)';
    return [
      lens(runLensTitle(labels.length, est), 'ntkLens.runStudy', [file], tooltip),
      lens('Submit to Slurm…', 'ntkLens.submitStudy', [file], 'A Slurm job array of the unfinished jobs and a dependent job that writes the table (ntk-lens study submit --slurm)'),
      lens('Open table', 'ntkLens.openStudyTable', [file], 'The study table from the results store (ntk-lens study report)'),
    ];
  }

  dispose(): void {
    this.changed.dispose();
  }
}
