/**
 * An error in an LM-BFF template or in the label words, located by character offset so the editor can underline it.
 *
 * `source: 'template'`: `offset`/`length` are characters of the template text.
 * `source: 'labelWord'`: they are characters of label word number `labelIndex` (class order).
 */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    message: string,
    readonly offset: number,
    readonly length: number,
    /** What to do about it. */
    readonly hint: string,
    readonly source: 'template' | 'labelWord' = 'template',
    readonly labelIndex?: number,
  ) {
    super(message);
  }

  /**
   * A readable report for a terminal: where (1-based column), the text with the span underlined, and the hint.
   * `text` is the template (or, for a label-word error, that label word).
   */
  format(text: string): string {
    const where = this.source === 'template' ? `template, column ${this.offset + 1}` : `label word ${this.labelIndex ?? '?'} ("${text}")`;
    const caret = ' '.repeat(this.offset) + '^'.repeat(Math.max(1, this.length));
    return `${where}: ${this.message}\n  ${text}\n  ${caret}\n  hint: ${this.hint}`;
  }
}
