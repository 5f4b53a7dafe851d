/**
 * One labelled input of a classification task, as read from a data file.
 *
 * `textA` is LM-BFF's `text_a` (`*sent_0*` in a template: the sentence, premise or first question);
 * `textB` is `text_b` (`*sent_1*`), present only for sentence-pair tasks. `label` is the label *value* as it appears
 * in the file (e.g. '0', 'entailment', '3'); its class index is its position in `TaskInfo.labels`.
 * `source` points at the record in the file it came from (1-based line), so that every later message can name it.
 */
export interface Example {
  textA: string;
  textB?: string;
  label: string;
  source: { file: string; line: number };
}

/**
 * A problem with a data file or folder. The message always names the file (and line when there is one) and says
 * what to do; `file` and `line` repeat them for programs (the editor's diagnostics, the run's error event).
 */
export class DataError extends Error {
  constructor(message: string, readonly file?: string, readonly line?: number) {
    super(message);
    this.name = 'DataError';
  }
}

/** `file:line: message`, the form every row-level data error uses. */
export function rowError(file: string, line: number, message: string): DataError {
  return new DataError(`${file}:${line}: ${message}`, file, line);
}
