import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildCorpus, stripBrownTags, stripProsConsTags, type Corpus } from '../../../../src/engine/pretrain/corpus';
import { OverlapIndex, normaliseForOverlap, readAllTestSentences, listTestFiles } from '../../../../src/engine/pretrain/leakage';

// The repo root's parent holds shared/.
const DATA = path.resolve(__dirname, '../../../..', '../shared/data');

describe('pretrain/corpus cleaning', () => {
  it('strips Brown POS tags, keeping words that contain slashes, and turns `` and \'\' into "', () => {
    assert.equal(stripBrownTags("\tThe/at jury/nn said/vbd ``/`` 1/2/cd ''/'' ./."), 'The jury said " 1/2 " .');
  });
  it('strips <Pros>/<Cons> tags', () => {
    assert.equal(stripProsConsTags('   <Pros>Easy to use, economical!</Pros>'), 'Easy to use, economical!');
    assert.equal(stripProsConsTags('<Cons>short battery life</Cons>'), 'short battery life');
  });
});

describe('pretrain/leakage index', () => {
  const idx = new OverlapIndex(["it 's a charming and often affecting journey .", 'family fare .', 'What is the capital of Peru?']);
  it('normalises case, whitespace and punctuation', () => {
    assert.equal(normaliseForOverlap("  It's   a\tCHARMING-journey! "), 'it s a charming journey');
  });
  it('matches equal lines of any length and contained sentences of 8+ words, nothing else', () => {
    assert.equal(idx.matches('Family   Fare.').length, 1, 'short sentence, equal line');
    assert.equal(idx.matches('a family fare . with kids').length, 0, 'a short sentence inside a longer line is not a leak');
    assert.equal(idx.matches("I said: It's a charming and often affecting journey. Really.").length, 1, 'long sentence contained');
    assert.equal(idx.matches("it 's a charming and often affecting trip .").length, 0, 'one word differs');
    assert.equal(idx.matches('what is the capital of peru').length, 1);
  });
});

describe('pretrain/corpus on the shared data (leakage check)', function () {
  this.timeout(120_000);
  let corpus: Corpus;
  let index: OverlapIndex;
  before(function () {
    if (!fs.existsSync(path.join(DATA, 'corpus')) || !fs.existsSync(path.join(DATA, 'lm-bff'))) {
      this.skip(); // shared data absent: ../shared/data/{corpus,lm-bff} next to the repo
    }
    index = new OverlapIndex(readAllTestSentences(path.join(DATA, 'lm-bff')).map((s) => s.text));
    corpus = buildCorpus(DATA, { index });
  });

  it('reads the test files of all 14 tasks, and never a pool, train or dev file', () => {
    const files = listTestFiles(path.join(DATA, 'lm-bff'));
    const tasks = new Set(files.map((f) => f.split('/')[0]));
    for (const t of ['SST-2', 'sst-5', 'mr', 'cr', 'mpqa', 'subj', 'trec', 'agnews', 'MNLI', 'SNLI', 'QNLI', 'RTE', 'MRPC', 'QQP']) assert.ok(tasks.has(t), `no test file for ${t}`);
    const name = (f: string): string => f.split('/').pop()!;
    assert.ok(files.every((f) => !/\/(pool|_harvardnlp)\//.test(f) && /^test|SURROGATE|_hf\.tsv$/.test(name(f))), files.join(', '));
    assert.ok(files.includes('MNLI/original/dev_matched_SURROGATE_from_train.tsv') && files.includes('SST-2/test-1k/test.tsv'));
  });

  it('contains no test sentence of any task (normalised), reporting how many pool/corpus lines were dropped', () => {
    let overlap = 0;
    for (const doc of [...corpus.train, ...corpus.heldOut]) for (const line of doc.lines) if (index.matches(line).length > 0) overlap++;
    const dropped = Object.fromEntries(Object.entries(corpus.stats).map(([g, s]) => [g, s.droppedLines]));
    console.log(`      test sentences checked: ${index.sentences.length}; overlap after filtering: ${overlap}; lines dropped: ${JSON.stringify(dropped)}`);
    assert.equal(overlap, 0);
    assert.ok(Object.values(dropped).reduce((a, b) => a + b, 0) > 0, 'the filter found duplicates in the original data');
  });

  it('uses only the text of pool/train.json (never labels, dev or test files) and holds out about 1% of documents', () => {
    const poolSources = corpus.train.concat(corpus.heldOut).map((d) => d.source).filter((s) => s.startsWith('lm-bff/'));
    assert.ok(poolSources.length > 0 && poolSources.every((s) => /^lm-bff\/[^/]+\/pool\/train\.json#/.test(s)));
    const sst2 = JSON.parse(fs.readFileSync(path.join(DATA, 'lm-bff/SST-2/pool/train.json'), 'utf8')) as Record<string, { text_a: string; label: string }>;
    const doc = corpus.train.concat(corpus.heldOut).find((d) => d.source === 'lm-bff/SST-2/pool/train.json#0');
    if (doc) assert.deepEqual(doc.lines, [sst2['0'].text_a.trim()], 'a pool document is its text_a only');
    const frac = corpus.heldOut.length / (corpus.train.length + corpus.heldOut.length);
    assert.ok(frac > 0.005 && frac < 0.02, `held-out fraction ${frac}`);
    assert.ok(corpus.stats.brown.characters > 5e6 && corpus.stats.movie_reviews.documents === 2000);
    const brownDoc = corpus.train.concat(corpus.heldOut).find((d) => d.source.startsWith('corpus/brown/'))!;
    assert.ok(!/\/(at|nn|vbd|in)\b/.test(brownDoc.lines.join(' ')), 'Brown tags are stripped');
    assert.ok(corpus.train.concat(corpus.heldOut).every((d) => d.lines.every((l) => !/<\/?(Pros|Cons)>/.test(l))), 'pros/cons tags are stripped');
  });
});
