import { strict as assert } from 'node:assert';
import {
  parseTemplate,
  templateProblems,
  templateTokens,
  validateTemplate,
  TemplateError,
  type SentencePiece,
} from '../../../../src/engine/template';

const SST2 = '*cls**sent_0*_It_was*mask*.*sep+*';

/** Assert that `fn` throws a TemplateError at [offset, offset+length) whose message/hint match. */
function assertTemplateError(fn: () => unknown, offset: number, length: number, message: RegExp, hint?: RegExp): TemplateError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof TemplateError, `expected a TemplateError, got ${String(caught)}`);
  assert.equal(caught.offset, offset, 'offset');
  assert.equal(caught.length, length, 'length');
  assert.match(caught.message, message);
  if (hint) assert.match(caught.hint, hint);
  return caught;
}

describe('parseTemplate', () => {
  it('splits the SST-2 template into pieces with their character offsets, skipping empty pieces', () => {
    const pieces = parseTemplate(SST2);
    assert.deepEqual(
      pieces.map((p) => [p.kind, p.text, p.offset, p.length]),
      [
        ['cls', 'cls', 1, 3],
        ['sentence', 'sent_0', 6, 6],
        ['literal', '_It_was', 13, 7],
        ['mask', 'mask', 21, 4],
        ['literal', '.', 26, 1],
        ['sep+', 'sep+', 28, 4],
      ],
    );
    const lit = pieces[2];
    assert.ok(lit.kind === 'literal');
    assert.equal(lit.value, ' It was');
  });

  it('reads all eight sentence forms: space in front, first-letter case, last character dropped, index', () => {
    const t = '*sent_0**+sent_1**sent-_0**sentl_1**+sentl_0**sentl-_1**sentu_0**+sentu_1**mask*';
    const s = parseTemplate(t).filter((p): p is SentencePiece => p.kind === 'sentence');
    assert.deepEqual(
      s.map((p) => [p.variant, p.index, p.addSpace, p.caseFirst, p.dropLastChar]),
      [
        ['sent', 0, false, null, false],
        ['+sent', 1, true, null, false],
        ['sent-', 0, false, null, true],
        ['sentl', 1, false, 'lower', false],
        ['+sentl', 0, true, 'lower', false],
        ['sentl-', 1, false, 'lower', true],
        ['sentu', 0, false, 'upper', false],
        ['+sentu', 1, true, 'upper', false],
      ],
    );
  });

  it('parses the MNLI, TREC, MRPC and AG News templates of the kernel paper', () => {
    const kinds = (t: string) => parseTemplate(t).map((p) => (p.kind === 'sentence' ? p.variant + '_' + p.index : p.kind === 'literal' ? JSON.stringify(p.value) : p.kind));
    assert.deepEqual(kinds('*cls**sent-_0*?*mask*,*+sentl_1**sep+*'), ['cls', 'sent-_0', '"?"', 'mask', '","', '+sentl_1', 'sep+']);
    assert.deepEqual(kinds('*cls**mask*:*+sent_0**sep+*'), ['cls', 'mask', '":"', '+sent_0', 'sep+']);
    assert.deepEqual(kinds('*cls**sent_0**mask*,*+sentl_1**sep+*'), ['cls', 'sent_0', 'mask', '","', '+sentl_1', 'sep+']);
    assert.deepEqual(kinds('*cls**sent_0*_This_article_is_about*mask*_news.*sep+*'), ['cls', 'sent_0', '" This article is about"', 'mask', '" news."', 'sep+']);
  });

  it('treats text inside a pair of stars as a literal, as LM-BFF does (*It_was* = "It was")', () => {
    const p = parseTemplate('*cls**sent_0**It_was**mask*');
    assert.deepEqual(p.map((x) => x.kind), ['cls', 'sentence', 'literal', 'mask']);
  });
});

describe('template errors (TemplateError with offset, length, message, hint)', () => {
  it('no *mask*: spans the template and hints where to add it', () => {
    assertTemplateError(() => parseTemplate('*cls**sent_0*_It_was.*sep+*'), 0, 27, /no \*mask\*/, /Add \*mask\* where the label word goes/);
  });

  it('an unbalanced star: points at the last star', () => {
    assertTemplateError(() => parseTemplate('*cls**sent_0*_It_was*mask*.*sep+'), 27, 1, /odd number/, /missing star/);
  });

  it('an unknown sentence index: *sent_x*', () => {
    assertTemplateError(() => parseTemplate('*cls**sent_x**mask*'), 6, 6, /Unknown piece \*sent_x\*.*not a number/, /sent_0 .* sent_1/);
  });

  it('demonstration pieces *label_0* and *labelx_0* are unsupported', () => {
    assertTemplateError(() => parseTemplate('*cls**mask**label_0*'), 12, 7, /label_0.*not supported/);
    assertTemplateError(() => parseTemplate('*cls**mask**labelx_1*'), 12, 8, /labelx_1.*not supported/);
  });

  it('a sentence form LM-BFF does not have: *+sent-_0*', () => {
    assertTemplateError(() => parseTemplate('*cls**+sent-_0**mask*'), 6, 8, /"\+sent-" is not one of/);
  });

  it('a literal LM-BFF would read as a sentence reference (and crash on): _sentiment', () => {
    assertTemplateError(() => parseTemplate('*cls**sent_0*_sentiment:*mask*'), 13, 11, /"sent" at its start/, /capitalise/);
  });

  it('a misspelt variable between stars: *CLS*, *mask_0*', () => {
    assertTemplateError(() => parseTemplate('*CLS**mask*'), 1, 3, /Unknown piece \*CLS\*/);
    assertTemplateError(() => parseTemplate('*cls**mask_0*'), 6, 6, /Unknown piece \*mask_0\*/);
  });

  it('*sent_1* in a one-sentence task (validateTemplate with numSentences: 1)', () => {
    const t = '*cls**sent_0**mask*,*+sentl_1**sep+*';
    assertTemplateError(() => validateTemplate(t, { numSentences: 1 }), 21, 8, /\+sentl_1\* refers to the second sentence .*one sentence/, /\+sentl_0/);
    assert.equal(validateTemplate(t, { numSentences: 2 }).length, 6);
  });

  it('templateProblems lists every problem instead of stopping at the first', () => {
    const problems = templateProblems('*cls**sent_x**label_0**sent_1*', { numSentences: 1 });
    assert.deepEqual(problems.map((p) => p.offset), [6, 14, 0, 23]); // sent_x, label_0, no mask, sent_1
  });

  it('format() shows the column, the underlined span and the hint', () => {
    const e = assertTemplateError(() => parseTemplate('*cls**sent_x**mask*'), 6, 6, /sent_x/);
    assert.equal(e.format('*cls**sent_x**mask*').split('\n')[2], '        ^^^^^^');
    assert.match(e.format('*cls**sent_x**mask*'), /^template, column 7: /);
  });
});

describe('templateTokens (editor colouring)', () => {
  it('gives every star and piece with kind and offset', () => {
    const toks = templateTokens(SST2).map((t) => `${t.kind}@${t.offset}+${t.length}`);
    assert.deepEqual(toks, [
      'star@0+1', 'cls@1+3', 'star@4+1', 'star@5+1', 'sentence@6+6', 'star@12+1', 'literal@13+7', 'star@20+1',
      'mask@21+4', 'star@25+1', 'literal@26+1', 'star@27+1', 'sep+@28+4', 'star@32+1',
    ]);
  });

  it('marks a bad piece invalid instead of throwing', () => {
    const toks = templateTokens('*cls**sent_q*');
    assert.deepEqual(toks.filter((t) => t.kind !== 'star').map((t) => [t.kind, t.text]), [['cls', 'cls'], ['invalid', 'sent_q']]);
  });
});
