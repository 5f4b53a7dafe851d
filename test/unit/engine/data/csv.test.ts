import { strict as assert } from 'node:assert';
import { parseDelimited } from '../../../../src/engine/data/csv';
import { DataError } from '../../../../src/engine/data/example';

const csv = (text: string) => parseDelimited(text, { delimiter: ',', quoting: true, file: 'f.csv' });

describe('data/csv parseDelimited', () => {
  it('splits plain fields and numbers records by their starting line', () => {
    const r = csv('0,abc\n1,def\n');
    assert.deepEqual(r, [{ fields: ['0', 'abc'], line: 1 }, { fields: ['1', 'def'], line: 2 }]);
  });

  it('keeps commas inside quoted fields and turns doubled quotes into one quote', () => {
    const r = csv('1,"a, b ""c"" d"\n');
    assert.deepEqual(r[0].fields, ['1', 'a, b "c" d']);
  });

  it('keeps newlines inside quotes; the next record starts on the right line', () => {
    const r = csv('0,"two\nlines"\n1,after\n');
    assert.deepEqual(r.map((x) => [x.fields, x.line]), [[['0', 'two\nlines'], 1], [['1', 'after'], 3]]);
  });

  it('handles CRLF, a byte-order mark, a missing final newline and empty quoted fields', () => {
    const r = csv('\uFEFF0,"x"\r\n1,""\r\n2,last');
    assert.deepEqual(r.map((x) => x.fields), [['0', 'x'], ['1', ''], ['2', 'last']]);
  });

  it('treats a quote inside an unquoted field as an ordinary character (as pandas does)', () => {
    assert.deepEqual(csv('0,say "hi" now\n')[0].fields, ['0', 'say "hi" now']);
  });

  it('reports an unterminated quote with the line where it opened', () => {
    assert.throws(() => csv('0,ok\n1,"never closed\nmore\n'), (e: DataError) => e instanceof DataError && e.line === 2 && /f\.csv:2: unterminated/.test(e.message));
  });

  it('rejects text after a closing quote, naming the line', () => {
    assert.throws(() => csv('0,ok\n1,"a"b\n'), /f\.csv:2: unexpected text after a closing quote/);
  });

  it('keeps a blank line in the middle as a one-empty-field record but drops trailing blank lines', () => {
    const r = csv('0,a\n\n1,b\n\n\n');
    assert.deepEqual(r.map((x) => x.fields), [['0', 'a'], [''], ['1', 'b']]);
  });

  it('GLUE TSV mode splits on tabs only and keeps quotes literally', () => {
    const r = parseDelimited('a\tb\n"x\ty"\t"z\n', { delimiter: '\t', quoting: false });
    assert.deepEqual(r.map((x) => x.fields), [['a', 'b'], ['"x', 'y"', '"z']]);
  });
});
