/** Walks the YAML tree of an experiment file, collecting SpecErrors with their source ranges. */
import { isMap, isScalar, LineCounter, Scalar } from 'yaml';
import type { Node, Pair, YAMLMap } from 'yaml';
import { didYouMean } from './suggest';
import { SourceRange, SpecError } from './types';

export type Field = { key: Scalar; value: Node | null; pair: Pair };

/** Collects errors with ranges while walking the YAML tree. */
export class Checker {
  readonly errors: SpecError[] = [];
  constructor(readonly file: string, readonly lines: LineCounter, readonly source: string) {}

  /** The range of [start, end), with trailing whitespace and newlines (which YAML block nodes include) left out. */
  rangeOf(start: number, end: number): SourceRange {
    while (end > start && /\s/.test(this.source[end - 1])) end--;
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col, offset: start, endOffset: Math.max(start, end) };
  }

  nodeRange(node: Node | Pair | null | undefined, fallback?: SourceRange): SourceRange {
    const r = nodeOffsets(node);
    if (r) return this.rangeOf(r[0], r[1]);
    return fallback ?? this.rangeOf(0, 0);
  }

  error(at: SourceRange, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.errors.push({ file: this.file, line: at.line, column: at.column, endLine: at.endLine, endColumn: at.endColumn, message, severity });
  }

  at(node: Node | Pair | null | undefined, message: string, fallback?: SourceRange): void {
    this.error(this.nodeRange(node, fallback), message);
  }

  /** The fields of a mapping; unknown keys are errors with a hint. Undefined when `node` is not a mapping. */
  fields(node: Node | null, what: string, known: readonly string[], where: SourceRange): Map<string, Field> | undefined {
    if (!isMap(node)) {
      this.error(node ? this.nodeRange(node) : where, `${what} must be a mapping of keys (${known.join(', ')}).`);
      return undefined;
    }
    const out = new Map<string, Field>();
    for (const pair of (node as YAMLMap).items as Pair[]) {
      if (!isScalar(pair.key)) { this.at(pair.key as Node, `${what}: keys must be plain names.`); continue; }
      const key = String(pair.key.value);
      if (!known.includes(key)) {
        this.at(pair.key, `Unknown key '${key}' in ${what}.${didYouMean(key, known)} Allowed: ${known.join(', ')}.`);
        continue;
      }
      out.set(key, { key: pair.key, value: (pair.value as Node | null) ?? null, pair });
    }
    return out;
  }

  /** The scalar value of a field (errors when missing or not a scalar). */
  scalar(f: Field, name: string): Scalar | undefined {
    if (f.value === null || (isScalar(f.value) && f.value.value === null)) { this.at(f.key, `'${name}' needs a value.`); return undefined; }
    if (!isScalar(f.value)) { this.at(f.value, `'${name}' must be a single value, not a list or mapping.`); return undefined; }
    return f.value;
  }

  str(f: Field, name: string): string | undefined {
    const s = this.scalar(f, name);
    if (!s) return undefined;
    if (typeof s.value !== 'string' || s.value.trim() === '') { this.at(s, `'${name}' must be a non-empty string.`); return undefined; }
    return s.value;
  }

  int(f: Field, name: string, min: number): number | undefined {
    const s = this.scalar(f, name);
    if (!s) return undefined;
    if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < min) { this.at(s, `'${name}' must be an integer ≥ ${min}.`); return undefined; }
    return s.value;
  }

  num(f: Field, name: string, min: number, exclusive = false): number | undefined {
    const s = this.scalar(f, name);
    if (!s) return undefined;
    const v = s.value;
    if (typeof v !== 'number' || !Number.isFinite(v) || (exclusive ? v <= min : v < min)) {
      this.at(s, `'${name}' must be a number ${exclusive ? '>' : '≥'} ${min}${typeof v === 'string' ? ` (got the text '${v}')` : ''}.`);
      return undefined;
    }
    return v;
  }

  bool(f: Field, name: string): boolean | undefined {
    const s = this.scalar(f, name);
    if (!s) return undefined;
    if (typeof s.value !== 'boolean') { this.at(s, `'${name}' must be true or false.`); return undefined; }
    return s.value;
  }

  oneOf<T extends string>(f: Field, name: string, allowed: readonly T[]): T | undefined {
    const s = this.scalar(f, name);
    if (!s) return undefined;
    const v = String(s.value);
    if (!(allowed as readonly string[]).includes(v)) { this.at(s, `'${name}' must be one of ${allowed.join(', ')}; got '${v}'.${didYouMean(v, allowed)}`); return undefined; }
    return v as T;
  }
}

export function nodeOffsets(node: Node | Pair | null | undefined): [number, number] | undefined {
  if (!node) return undefined;
  if ('range' in node && node.range) return [node.range[0], node.range[1]];
  if ('key' in node) {
    const k = nodeOffsets(node.key as Node);
    const v = nodeOffsets(node.value as Node);
    if (k && v) return [k[0], v[1]];
    return k ?? v;
  }
  return undefined;
}
